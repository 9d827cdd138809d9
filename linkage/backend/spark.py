"""The Spark backend: tables as cached temp views of one ``SparkSession``.

pyspark is imported only when a Spark backend is made; without it the error names
the ``spark`` extra. In tests and on one machine, :func:`local_session` starts Spark
in local mode with settings fit for small data.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from linkage.backend.base import ArrowFn, Backend
from linkage.errors import LinkageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkBackend", "local_defaults", "local_session", "require_pyspark"]


def require_pyspark() -> Any:
    """The ``pyspark.sql`` module, or an error that says which extra to install."""
    try:
        import pyspark.sql
    except ImportError as e:
        raise LinkageError(
            "the spark backend needs pyspark (and Java 17+): pip install 'linkage[spark]'"
        ) from e
    return pyspark.sql


def local_defaults() -> dict[str, Any]:
    """:func:`local_session`'s settings for detection on this machine: every core, half
    its memory, four shuffle partitions a core (adaptive execution merges small ones)."""
    cores = os.cpu_count() or 2
    gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "master": "local[*]",
        "driver_memory": f"{max(2, int(gib / 2))}g",
        "shuffle_partitions": max(8, 4 * cores),
    }


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
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


_RUNTIME = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
"""Session settings the backend relies on: timestamps in UTC, written as microseconds."""


def _whole_partition(
    fn: ArrowFn, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """``fn`` once over all the rows of a partition (so over whole keys)."""
    got = list(batches)
    if got and sum(b.num_rows for b in got):
        yield from fn(pa.Table.from_batches(got)).cast(schema).to_batches()


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
        self,
        spark: SparkSession | None = None,
        *,
        reliable: bool = False,
        partitions: int | None = None,
        **session: Any,
    ) -> None:
        require_pyspark()
        self.reliable = reliable
        self.partitions = partitions
        """Partitions of :meth:`map_by` (default: ``spark.sql.shuffle.partitions``)."""
        self._own = spark is None
        self.spark = spark if spark is not None else local_session(**session)
        for key, value in _RUNTIME.items():  # a session spark-submit started, too
            self.spark.conf.set(key, value)

    def frame(self, name: str) -> DataFrame:
        """The table ``name`` as a DataFrame, for steps written against Spark itself."""
        return self.spark.table(name)

    def put(self, name: str, frame: DataFrame) -> None:
        """Compute ``frame`` now as the table ``name``, replacing it."""
        frame = frame.checkpoint() if self.reliable else frame.localCheckpoint()
        frame.createOrReplaceTempView(name)

    def read_parquet(self, name: str, paths: Sequence[str]) -> None:
        self.spark.read.parquet(*[str(p) for p in paths]).createOrReplaceTempView(name)

    def register_arrow(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        self.spark.createDataFrame(data).createOrReplaceTempView(name)

    def names(self) -> set[str]:
        return {t.name for t in self.spark.catalog.listTables() if t.isTemporary}

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def _create(self, name: str, sql: str, view: bool) -> None:
        if view:
            self.spark.sql(sql).createOrReplaceTempView(name)
        else:
            self.put(name, self.spark.sql(sql))

    def _insert(self, name: str, sql: str) -> None:
        self.put(name, self.spark.sql(f"SELECT * FROM {name} UNION ALL {sql}"))

    def _fetch(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def _map_by(
        self,
        out: str,
        sql: str,
        key: Sequence[str],
        fn: ArrowFn,
        schema: pa.Schema,
        order: Sequence[str],
    ) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        by_key = self.by_key(self.spark.sql(sql), key, order)
        self.put(
            out, by_key.mapInArrow(partial(_whole_partition, fn, schema), from_arrow_schema(schema))
        )

    def by_key(self, rows: DataFrame, key: Sequence[str], order: Sequence[str] = ()) -> DataFrame:
        """``rows`` shuffled so that each partition holds whole keys, sorted by ``order``
        within a partition.

        The shuffle is by a hash of the key, not by the key: Spark drops a repartition by
        the key when the plan already claims that partitioning (a sort-merge join on it),
        and adaptive execution may then turn the join into a broadcast join that reads
        the other side's shuffle map-side ("local shuffle reader"), so one key's rows
        reach several partitions (seen at 30k accounts: an account's tokens split between
        two MinHash calls). No plan claims partitioning by ``xxhash64(key)``."""
        from pyspark.sql import functions as F

        parts = self.partitions or int(self.spark.conf.get("spark.sql.shuffle.partitions") or 4)
        out = rows.repartition(parts, F.xxhash64(*key)) if key else rows
        return out.sortWithinPartitions(*order) if order else out

    def write_parquet(self, name: str, path: str) -> None:
        self.spark.table(name).write.mode("overwrite").parquet(str(path))

    def close(self) -> None:
        if self._own:
            self.spark.stop()
