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
    stopped on :meth:`close` only then).

    A created table is computed once, like a DuckDB temp table, and cut from the plan
    that made it (a local checkpoint: kept by the executors' block managers, memory
    then disk). Without the cut, an iterative step (connected components) nests every
    earlier round's plan into the next, several times over. Local
    checkpoints are lost with an executor; on a cluster that loses executors, set
    ``reliable`` (checkpoints to the directory of ``SparkContext.setCheckpointDir``).
    A replaced table's blocks are freed by Spark's context cleaner once unreferenced.
    """

    name = "spark"
    dialect = "spark"

    def __init__(
        self, spark: SparkSession | None = None, *, reliable: bool = False, **session: Any
    ) -> None:
        require_pyspark()
        self.reliable = reliable
        self._own = spark is None
        self.spark = spark if spark is not None else local_session(**session)

    def frame(self, name: str) -> DataFrame:
        """The table ``name`` as a DataFrame, for steps written against Spark itself."""
        return self.spark.table(name)

    def put(self, name: str, frame: DataFrame) -> None:
        """Compute ``frame`` now as the table ``name``, replacing it."""
        frame = frame.checkpoint() if self.reliable else frame.localCheckpoint()
        frame.createOrReplaceTempView(name)

    def read_parquet(self, name: str, paths: Sequence[str]) -> None:
        self.spark.read.parquet(*[str(p) for p in paths]).createOrReplaceTempView(name)

    def register_arrow(self, name: str, data: pa.Table) -> None:
        self.spark.createDataFrame(data).createOrReplaceTempView(name)

    def _create(self, name: str, sql: str, view: bool) -> None:
        if view:
            self.spark.sql(sql).createOrReplaceTempView(name)
        else:
            self.put(name, self.spark.sql(sql))

    def _fetch(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def close(self) -> None:
        if self._own:
            self.spark.stop()
