"""The Spark backend: tables as cached temp views of one ``SparkSession``.

pyspark is imported only when a Spark backend is made; without it the error names
the ``spark`` extra. In tests and on one machine, :func:`local_session` starts Spark
in local mode with settings fit for small data.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from linkage.backend.base import Backend
from linkage.errors import LinkageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkBackend", "local_session", "require_pyspark"]


def require_pyspark() -> Any:
    """The ``pyspark.sql`` module, or an error that says which extra to install."""
    try:
        import pyspark.sql
    except ImportError as e:
        raise LinkageError(
            "the spark backend needs pyspark (and Java 17+): pip install 'linkage[spark]'"
        ) from e
    return pyspark.sql


def local_session(
    master: str = "local[2]", driver_memory: str = "2g", shuffle_partitions: int = 4
) -> SparkSession:
    """A ``SparkSession`` in local mode: UTC, no web UI, few shuffle partitions, and
    Python workers on this interpreter (not whatever ``python3`` is on ``PATH``)."""
    sql = require_pyspark()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        sql.SparkSession.builder.master(master)
        .appName("linkage")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkBackend(Backend):
    """Tables as temp views of ``spark`` (a :func:`local_session` when none is given;
    stopped on :meth:`close` only then). A created table is persisted (memory, then
    disk) and counted, so that it is computed once, like a DuckDB temp table."""

    name = "spark"
    dialect = "spark"

    def __init__(self, spark: SparkSession | None = None, **session: Any) -> None:
        require_pyspark()
        self._own = spark is None
        self.spark = spark if spark is not None else local_session(**session)
        self._cached: dict[str, DataFrame] = {}

    def frame(self, name: str) -> DataFrame:
        """The table ``name`` as a DataFrame, for steps written against Spark itself."""
        return self.spark.table(name)

    def put(self, name: str, frame: DataFrame) -> None:
        """Persist ``frame`` as the table ``name``, replacing (and unpersisting) it."""
        frame = frame.persist()
        frame.count()
        old = self._cached.pop(name, None)
        frame.createOrReplaceTempView(name)
        if old is not None:
            old.unpersist()
        self._cached[name] = frame

    def read_parquet(self, name: str, paths: Sequence[str]) -> None:
        self.spark.read.parquet(*[str(p) for p in paths]).createOrReplaceTempView(name)

    def register_arrow(self, name: str, data: pa.Table) -> None:
        self.spark.createDataFrame(data).createOrReplaceTempView(name)

    def _create(self, name: str, sql: str, view: bool) -> None:
        if not view:
            self.put(name, self.spark.sql(sql))
            return
        old = self._cached.pop(name, None)
        self.spark.sql(sql).createOrReplaceTempView(name)
        if old is not None:
            old.unpersist()

    def _fetch(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def close(self) -> None:
        for frame in self._cached.values():
            frame.unpersist()
        self._cached.clear()
        if self._own:
            self.spark.stop()
