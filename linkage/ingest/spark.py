"""Ingest on Spark: the contract tables validated on the executors, the store as Parquet.

:func:`ingest_on` does what :func:`linkage.ingest.ingest` does, with Spark reading the
data directory (a local path or any URL the cluster reads: ``file://``, ``s3a://``,
``gs://``, ``abfss://``) and the same functions checking every row
(:func:`linkage.ingest.validate.validate_batch`, then
:func:`~linkage.ingest.quarantine.render_records` and
:func:`~linkage.ingest.quarantine.quarantine_line` for the rows it rejects), run on the
executors through ``mapInArrow``. It writes the same quarantine files and summary, and
the store tables as Parquet (``<store>/<table>.parquet``); :func:`load_store` loads them
into a DuckDB store equal to the one ``ingest`` writes.

How the DuckDB ingest's results are kept on Spark:

- **What is refused.** The files are found, and their Parquet footers read, on the
  driver (through Hadoop's ``FileSystem``, so any URL Spark reads), then checked with
  the DuckDB ingest's own functions: a missing required table or column, a table given
  twice, a column of the wrong type, an unreadable file are the same errors. Only
  Parquet is read; a table given as CSV or JSONL is an error naming the file.
- **Values as read.** Spark is told each contract column's type from the footer (so
  extra columns are never read and nanosecond timestamps, which Spark cannot read as
  timestamps, come as integers) and every batch is cast back to the Arrow types
  ``pyarrow`` reads from the file before it is checked, so values, and the records of
  quarantined rows, are those of the DuckDB ingest.
- **Row numbers.** ``_metadata.row_index`` (the row's position in its file) + 1.
- **State across batches.** The checks of one row are independent of other rows but
  for three things, done here on the whole table: the embedding dimension (the first
  usable embedding of the file, found by a first pass over that column unless the
  column is a ``fixed_size_list``: it is then given to every batch), duplicate
  account ids (among the rows that pass every other check, the first in the file is
  kept) and unknown accounts (a join with the kept accounts, which also gives
  ``requests.aid``: the position of the id among the kept ids in sorted order). Both
  cross-row checks come last in ``validate_batch``, so a row they reject has passed
  every other check, as in the DuckDB ingest. Their rows are read again to render
  the record as read; when there are none, nothing is read twice.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkage.contract import CONTRACT_VERSION, INPUT_TABLES
from linkage.errors import ContractError, LinkageError
from linkage.ingest.normalize import parse_embeddings
from linkage.ingest.pipeline import (
    _TMP_DIR,
    INGEST_ORDER,
    Progress,
    _replace,
    ingest_meta,
    require_columns,
    table_files,
)
from linkage.ingest.quarantine import quarantine_line, render_records
from linkage.ingest.readers import BadRow, complete_columns, open_parquet, parquet_columns
from linkage.ingest.store import STORE_TABLES, arrow_schema, create_store, insert_arrow
from linkage.ingest.summary import IngestSummary, TableSummary
from linkage.ingest.validate import Context, DuplicateTracker, RowFlags, validate_batch
from linkage.result import (
    INGEST_SUMMARY_FILE,
    PARQUET_STORE_DIR,
    QUARANTINE_DIR,
    STORE_FILE,
    ResultDir,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from linkage.backend.spark import SparkBackend

__all__ = ["ingest_on", "load_store"]

log = logging.getLogger(__name__)

EMBEDDING = "prompt_embedding"
# columns of the intermediate tables (store columns never start with "_")
_ROW = "_row"  # the row number in the file, as the DuckDB ingest counts it
_KIND = "_kind"  # a rejected row's reason without per-row detail (the summary's key)
_REASON = "_reason"  # the reason of a row rejected by a check over the whole table
_LINE = "_line"  # a rejected row's quarantine line
_REDACTED = "_redacted"  # a card number was masked in the row's text
_AID = "_aid"
_DUPLICATE = "duplicate account_id"
_UNKNOWN = "unknown account"
_ID_BITS = 33  # monotonically_increasing_id: partition << 33 | position in the partition
_TIMESTAMP_TYPE = "spark.sql.parquet.outputTimestampType"


# --- files through Hadoop's FileSystem (whatever Spark reads) --------------------------------


def _join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def _is_local(url: str) -> bool:
    return urlparse(url).scheme in ("", "file")


def _local_path(url: str) -> Path:
    parsed = urlparse(url)
    return Path(parsed.path if parsed.scheme == "file" else url)


class _Files:
    """Paths and URLs as Spark's Hadoop ``FileSystem`` sees them, from the driver."""

    def __init__(self, spark: SparkSession) -> None:
        self._jvm: Any = spark._jvm  # type: ignore[attr-defined]
        self._conf = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]

    def _fs(self, url: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(url)
        return path, path.getFileSystem(self._conf)

    def kind(self, url: str) -> str | None:
        """``file``, ``dir`` or None when nothing is there."""
        path, fs = self._fs(url)
        if not fs.exists(path):
            return None
        return "dir" if fs.getFileStatus(path).isDirectory() else "file"

    def open(self, url: str) -> _HadoopFile:
        path, fs = self._fs(url)
        return _HadoopFile(self._jvm, fs.open(path), fs.getFileStatus(path).getLen())

    def copy_to_local(self, url: str, dst: Path) -> None:
        """Copy the file or directory ``url`` to the local path ``dst``."""
        path, fs = self._fs(url)
        local = self._jvm.org.apache.hadoop.fs.Path(str(dst))
        fs.copyToLocalFile(False, path, local, True)


class _HadoopFile(io.RawIOBase):
    """A Hadoop input stream as a seekable Python file, for ``pq.ParquetFile`` to read a
    footer from (a few small reads)."""

    def __init__(self, jvm: Any, stream: Any, size: int) -> None:
        super().__init__()
        self._jvm, self._stream, self._size, self._pos = jvm, stream, int(size), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        n = self._size - self._pos if size is None or size < 0 else size
        n = max(0, min(n, self._size - self._pos))
        if not n:
            return b""
        self._stream.seek(self._pos)
        data = bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(self._stream, n))
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


# --- one table's file: what the driver learns from its footer ---------------------------------


@dataclass(frozen=True)
class _Source:
    """One table's Parquet file: its contract columns as ``pyarrow`` reads them, and the
    Spark schema that reads them (pickled to the executors)."""

    table: str
    url: str
    name: str
    schema: pa.Schema
    read: str
    rows: int


def _timestamp_ddl(column: Any) -> str:
    """Spark's type for a Parquet timestamp column: nanoseconds as integers (Spark does
    not read them as timestamps), UTC-adjusted ones as ``timestamp``, others as
    ``timestamp_ntz``."""
    if column.physical_type == "INT96":
        return "timestamp"
    logical = json.loads(column.logical_type.to_json()) if column.logical_type else {}
    if logical.get("Type") != "Timestamp":
        return "timestamp"  # legacy TIMESTAMP_MILLIS/MICROS: UTC-adjusted
    if logical.get("timeUnit") == "nanoseconds":
        return "bigint"
    return "timestamp" if logical.get("isAdjustedToUTC") else "timestamp_ntz"


_SIMPLE_DDL = {
    pa.null(): "int",
    pa.bool_(): "boolean",
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.uint8(): "smallint",
    pa.uint16(): "int",
    pa.uint32(): "bigint",
    pa.uint64(): "decimal(20,0)",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.string_view(): "string",
    pa.date32(): "date",
    pa.date64(): "date",
}


def _value_ddl(typ: pa.DataType) -> str | None:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_decimal128(typ):
        return f"decimal({typ.precision},{typ.scale})"
    return _SIMPLE_DDL.get(typ)


def _spark_ddl(source: str, name: str, typ: pa.DataType, file: pq.ParquetFile) -> str:
    """Spark's type reading the contract column ``name`` of Arrow type ``typ``."""
    ddl: str | None
    if pa.types.is_timestamp(typ):
        leaf = next(c for c in file.schema if c.path == name)
        ddl = _timestamp_ddl(leaf)
    elif pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        value = _value_ddl(typ.value_type)
        ddl = None if value is None else f"array<{value}>"
    else:
        ddl = _value_ddl(typ)
    if ddl is None:
        raise ContractError(
            f"{source}: column '{name}' has type {typ}, which Spark does not read; "
            "convert the column, or ingest with DuckDB (linkage.ingest.ingest)"
        )
    return f"`{name}` {ddl}"


def _open_source(files: _Files, table: str, url: str, name: str) -> _Source:
    """The file of ``table``, its footer checked as the DuckDB ingest checks it."""
    if not name.endswith(".parquet"):
        raise ContractError(
            f"{name}: ingest on Spark reads Parquet only; convert table '{table}' to "
            f"{table}.parquet, or ingest with DuckDB (linkage.ingest.ingest)"
        )
    spec = INPUT_TABLES[table]
    with files.open(url) as fh:
        file = open_parquet(name, fh)
        schema = file.schema_arrow
        present = parquet_columns(name, schema, spec)
        require_columns(name, table, present)
        read = ", ".join(_spark_ddl(name, c, schema.field(c).type, file) for c in present)
        rows = file.metadata.num_rows
    return _Source(table, url, name, pa.schema([schema.field(c) for c in present]), read, rows)


# --- on the executors -------------------------------------------------------------------------


def _as_read(data: pa.Table, schema: pa.Schema, table: str) -> pa.Table:
    """The contract columns of a batch from Spark as ``pyarrow`` reads them from the file
    (``schema``), completed as the DuckDB ingest's readers complete them."""
    cols = []
    for field in schema:
        col = data.column(field.name).combine_chunks()
        typ = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if pa.types.is_null(typ):
            col = pa.nulls(len(col))
        elif col.type != typ:
            col = col.cast(typ)
        cols.append(col)
    return complete_columns(pa.Table.from_arrays(cols, names=schema.names), INPUT_TABLES[table])


def _tables(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """The batches of a partition gathered into tables of at least ``rows`` rows."""
    got: list[pa.RecordBatch] = []
    n = 0
    for b in batches:
        got.append(b)
        n += b.num_rows
        if n >= rows:
            yield pa.Table.from_batches(got)
            got, n = [], 0
    if n:
        yield pa.Table.from_batches(got)


def _row_numbers(data: pa.Table) -> np.ndarray:
    return np.asarray(data.column(_ROW).to_numpy(), dtype=np.int64)


def _first_embedding(src: _Source, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The row and length of the first usable embedding of a partition (none if none)."""
    typ = src.schema.field(EMBEDDING).type
    found = None
    for data in _tables(batches, 1):
        if found is not None:
            continue  # rows come in file order: the first one found is the partition's
        col = data.column(EMBEDDING).combine_chunks()
        col = pa.nulls(len(col)) if pa.types.is_null(typ) else col.cast(typ)
        out, lengths, _, _ = parse_embeddings(col)
        usable = np.flatnonzero(np.asarray(pc.is_valid(out).to_numpy(zero_copy_only=False)))
        if len(usable):
            i = int(usable[0])
            found = (int(_row_numbers(data)[i]), int(lengths[i]))
    if found is not None:
        yield pa.record_batch({_ROW: [found[0]], "dim": [found[1]]})


class _NotTracked(DuplicateTracker):
    """No duplicate check per batch: duplicates are found over the whole table."""

    def check(self, ids: pa.Array, rows: np.ndarray, flags: RowFlags) -> None:
        return


def _checked_schema(table: str) -> pa.Schema:
    """Stage one's rows: each kept row in store layout, or a rejected row's quarantine
    line and reason."""
    store = [pa.field(f.name, f.type) for f in arrow_schema(table)]
    extra = [(_ROW, pa.int64()), (_KIND, pa.string()), (_LINE, pa.string())]
    return pa.schema([*extra, (_REDACTED, pa.bool_()), *store])


def _check(
    src: _Source, dim: int | None, batch_rows: int, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """``validate_batch`` over a partition, with the embedding dimension of the file and
    no duplicate check (both need the whole table)."""
    table = src.table
    spec = INPUT_TABLES[table]
    schema = _checked_schema(table)
    ctx = Context(embedding_dim=dim, duplicates=_NotTracked())
    for data in _tables(batches, batch_rows):
        raw = _as_read(data, src.schema, table)
        rows = _row_numbers(data)
        checked = validate_batch(table, raw, rows, ctx)
        ok = checked.flags.ok
        good = checked.good
        n = good.num_rows
        yield from pa.Table.from_arrays(
            [
                pa.array(rows[ok]),
                pa.nulls(n, pa.string()),
                pa.nulls(n, pa.string()),
                pa.array(checked.redacted, pa.bool_()),
                *good.columns,
            ],
            schema=schema,
        ).to_batches()
        bad = np.flatnonzero(~ok)
        if not len(bad):
            continue
        records = render_records(raw, bad, spec)
        flags = checked.flags
        lines = [
            quarantine_line(
                table, src.name, BadRow(int(rows[i]), flags.reason[i], rec, flags.kind[i])
            )
            for i, rec in zip(bad.tolist(), records, strict=True)
        ]
        m = len(bad)
        yield from pa.Table.from_arrays(
            [
                pa.array(rows[bad]),
                pa.array(flags.kind[bad].tolist(), pa.string()),
                pa.array(lines, pa.string()),
                pa.nulls(m, pa.bool_()),
                *[pa.nulls(m, f.type) for f in schema][4:],
            ],
            schema=schema,
        ).to_batches()


_LINES = pa.schema([(_ROW, pa.int64()), (_KIND, pa.string()), (_LINE, pa.string())])


def _render(src: _Source, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Quarantine lines of rows rejected over the whole table (with ``_reason``), from
    their columns as read."""
    spec = INPUT_TABLES[src.table]
    for data in _tables(batches, 10_000):
        raw = _as_read(data, src.schema, src.table)
        records = render_records(raw, np.arange(data.num_rows), spec)
        rows = _row_numbers(data)
        kinds = data.column(_KIND).to_pylist()
        reasons = data.column(_REASON).to_pylist()
        lines = [
            quarantine_line(src.table, src.name, BadRow(int(r), reason, rec, kind))
            for r, reason, rec, kind in zip(rows, reasons, records, kinds, strict=True)
        ]
        yield pa.record_batch([pa.array(rows), pa.array(kinds), pa.array(lines)], schema=_LINES)


# --- on the driver ----------------------------------------------------------------------------


def _spark_schema(schema: pa.Schema) -> Any:
    """Spark's ``StructType`` of an Arrow schema."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


class _Run:
    """One ``ingest_on``: the session, the frames it cached, the kept accounts' ids."""

    def __init__(self, backend: SparkBackend, store: str, batch_rows: int) -> None:
        self.backend = backend
        self.spark = backend.spark
        self.store = store
        self.batch_rows = batch_rows
        self.kept: list[DataFrame] = []
        self.aid: DataFrame | None = None

    def keep(self, frame: DataFrame) -> DataFrame:
        """``frame`` cached where first computed (it is read several times)."""
        from pyspark import StorageLevel

        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        self.kept.append(frame)
        return frame

    def read(self, src: _Source) -> DataFrame:
        """The contract columns of ``src`` as Spark reads them, with each row's number."""
        from pyspark.sql import functions as F

        frame = (
            self.spark.read.schema(src.read)
            .option("datetimeRebaseMode", "CORRECTED")
            .option("int96RebaseMode", "CORRECTED")
            .parquet(src.url)
        )
        return frame.select(
            *[F.col(f"`{c}`") for c in src.schema.names],
            (F.col("_metadata.row_index") + 1).alias(_ROW),
        )

    def embedding_dim(self, src: _Source) -> int | None:
        """The DuckDB ingest's embedding dimension of ``src``: the size of a
        ``fixed_size_list`` column, or the length of the file's first usable embedding."""
        if EMBEDDING not in src.schema.names:
            return None
        typ = src.schema.field(EMBEDDING).type
        if pa.types.is_fixed_size_list(typ):
            return int(typ.list_size)
        firsts = (
            self.read(src)
            .select(EMBEDDING, _ROW)
            .mapInArrow(partial(_first_embedding, src), f"{_ROW} bigint, dim bigint")
        )
        got = firsts.orderBy(_ROW).limit(1).collect()
        return int(got[0]["dim"]) if got else None

    def table(self, src: _Source, dim: int | None, quarantine_dir: Path) -> TableSummary:
        """Validate one table: its kept rows to the store, its rejected rows to
        ``quarantine_dir/<table>.jsonl``; the summary of it."""
        from pyspark.sql import functions as F

        table = src.table
        checked = self.keep(
            self.read(src).mapInArrow(
                partial(_check, src, dim, self.batch_rows),
                _spark_schema(_checked_schema(table)),
            ),
        )
        crossed = self._cross(table, checked.where(F.col(_KIND).isNull()).drop(_KIND, _LINE))
        kept = crossed.where(F.col(_REASON).isNull())
        if table == "accounts":
            self.aid = self._dense_ids(kept)
        ok = F.col(_REASON).isNull()
        n_kept, n_rejected, redacted = crossed.agg(
            F.count_if(ok), F.count_if(~ok), F.sum(F.when(ok, F.col(_REDACTED).cast("int")))
        ).collect()[0]

        lines = checked.where(F.col(_KIND).isNotNull()).select(_ROW, _KIND, _LINE)
        if n_rejected:  # read their rows again to render them as read
            rejected = crossed.where(~ok).select(_ROW, _KIND, _REASON)
            rendered = (
                self.read(src)
                .join(rejected, _ROW)
                .mapInArrow(partial(_render, src), _spark_schema(_LINES))
            )
            lines = lines.unionByName(self.keep(rendered))
        summary = TableSummary(table, src.name, "parquet", rows_read=src.rows)
        summary.rows_kept, summary.cards_redacted = int(n_kept), int(redacted or 0)
        with open(quarantine_dir / f"{table}.jsonl", "w", encoding="utf-8") as fh:
            for kind, line in lines.orderBy(_ROW).select(_KIND, _LINE).toLocalIterator():
                fh.write(line)
                summary.add_reason(kind)
                summary.rows_quarantined += 1
        if summary.rows_kept + summary.rows_quarantined != summary.rows_read:
            raise LinkageError(
                f"{src.name}: read {summary.rows_read} rows but checked "
                f"{summary.rows_kept + summary.rows_quarantined}; was it changed during ingest?"
            )
        self.write(table, kept.orderBy(_ROW).select(*arrow_schema(table).names))
        return summary

    def _cross(self, table: str, good: DataFrame) -> DataFrame:
        """The rows of ``table`` that passed ``validate_batch``, with ``_reason`` and
        ``_kind`` for those the checks over the whole table reject: duplicate account
        ids, unknown accounts (and ``requests.aid`` from the kept accounts)."""
        from pyspark.sql import functions as F
        from pyspark.sql.window import Window

        if table == "accounts":
            first = F.min(_ROW).over(Window.partitionBy("account_id"))
            dup = F.col(_ROW) > first
            reason = F.format_string(f"{_DUPLICATE} (first at row %d)", first)
            crossed = good.withColumn(_REASON, F.when(dup, reason))
            kind = _DUPLICATE
        elif INPUT_TABLES[table].references_accounts:
            assert self.aid is not None, "accounts are ingested first"
            crossed = good.join(self.aid, "account_id", "left")
            reason = F.concat(F.lit(f"{_UNKNOWN}: "), F.col("account_id"))
            crossed = crossed.withColumn(_REASON, F.when(F.col(_AID).isNull(), reason))
            if "aid" in crossed.columns:
                crossed = crossed.withColumn("aid", F.col(_AID))
            crossed = crossed.drop(_AID)
            kind = _UNKNOWN
        else:  # nothing to check across rows: nothing to compute again
            return good.withColumn(_REASON, F.lit(None).cast("string")).withColumn(
                _KIND, F.lit(None).cast("string")
            )
        crossed = crossed.withColumn(_KIND, F.when(F.col(_REASON).isNotNull(), F.lit(kind)))
        return self.keep(crossed)

    def _dense_ids(self, kept: DataFrame) -> DataFrame:
        """``(account_id, _aid)``: each kept id's position among them in sorted order,
        computed per range partition (no single-partition sort)."""
        from pyspark.sql import functions as F

        parts = self.backend.partitions or int(
            self.spark.conf.get("spark.sql.shuffle.partitions") or 4
        )
        # computed once (positions must not change if computed again)
        ids = (
            kept.select("account_id")
            .repartitionByRange(parts, "account_id")
            .sortWithinPartitions("account_id")
            .withColumn("_m", F.monotonically_increasing_id())
            .localCheckpoint()
        )
        part = F.shiftright(F.col("_m"), _ID_BITS)
        counts = sorted(
            (int(r["_p"]), int(r["count"])) for r in ids.groupBy(part.alias("_p")).count().collect()
        )
        offsets, start = [], 0
        for p, count in counts:
            offsets.append((p, start))
            start += count
        offset = self.spark.createDataFrame(offsets or [(0, 0)], "_p bigint, _off bigint")
        local = F.col("_m").bitwiseAND(F.lit((1 << _ID_BITS) - 1))
        return self.keep(
            ids.join(F.broadcast(offset), part == F.col("_p")).select(
                "account_id", (F.col("_off") + local).cast("int").alias(_AID)
            )
        )

    def write(self, table: str, frame: DataFrame) -> None:
        """``frame`` (the columns of store table ``table``) as ``<store>/<table>.parquet``,
        timestamps as UTC microseconds (Spark's default is the legacy INT96)."""
        before = self.spark.conf.get(_TIMESTAMP_TYPE)
        self.spark.conf.set(_TIMESTAMP_TYPE, "TIMESTAMP_MICROS")
        try:
            frame.write.mode("overwrite").parquet(_join(self.store, f"{table}.parquet"))
        finally:
            if before is None:
                self.spark.conf.unset(_TIMESTAMP_TYPE)
            else:
                self.spark.conf.set(_TIMESTAMP_TYPE, before)

    def write_arrow(self, table: str, data: pa.Table) -> None:
        """A small store table made on the driver (``ingest_meta``, an empty one)."""
        schema = pa.schema([(f.name, f.type) for f in arrow_schema(table)])
        frame = self.spark.createDataFrame(data.cast(schema), _spark_schema(schema))
        self.write(table, frame.coalesce(1))

    def close(self) -> None:
        for frame in self.kept:
            frame.unpersist()


def ingest_on(
    backend: SparkBackend,
    data: str | Path,
    out: Path,
    *,
    store: str | None = None,
    duckdb: bool = False,
    batch_rows: int = 100_000,
    progress: Progress | None = None,
) -> IngestSummary:
    """Validate the contract tables of ``data`` on Spark and write the store as Parquet.

    ``data`` is a data directory of Parquet tables (a path or a URL Spark reads). Writes
    ``out/quarantine/<table>.jsonl`` and ``out/ingest_summary.json`` as
    :func:`linkage.ingest.ingest` does, and each store table as
    ``<store>/<table>.parquet`` (a directory of Parquet files, rows in file order;
    ``store`` defaults to ``out/parquet_store``, moved into place at the end; a ``store``
    given is written in place, table by table; give a URL on a cluster), registered on
    ``backend`` under the table's name. With ``duckdb``, also loads them into
    ``out/linkage.duckdb`` (:func:`load_store`); otherwise an older store there is
    removed. Executors check ``batch_rows`` rows at a time; ``progress(table, rows,
    rows)`` is called when a table is done.

    Raises ``ContractError`` as ``ingest`` does (a missing required table or column, a
    table given by more than one file, a column of the wrong type) and for a table
    not given as Parquet.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    out = Path(out)
    data = str(data)
    files = _Files(backend.spark)
    if files.kind(data) != "dir":
        raise ContractError(f"data directory {data} does not exist or is not a directory")
    names = table_files(data, lambda name: files.kind(_join(data, name)) == "file")
    sources = {t: _open_source(files, t, _join(data, n), n) for t, n in names.items()}

    out.mkdir(parents=True, exist_ok=True)
    ResultDir(out).mark_incomplete()
    tmp = out / _TMP_DIR
    if tmp.exists():
        shutil.rmtree(tmp)
    quarantine_dir = tmp / QUARANTINE_DIR
    quarantine_dir.mkdir(parents=True)
    final = store or str((out / PARQUET_STORE_DIR).absolute())
    summary = IngestSummary(CONTRACT_VERSION, final)
    run = _Run(backend, store or str((tmp / PARQUET_STORE_DIR).absolute()), batch_rows)
    try:
        dim = run.embedding_dim(sources["requests"])
        for table in INGEST_ORDER:
            if table not in sources:
                summary.tables[table] = TableSummary(table)
                continue
            src = sources[table]
            summary.tables[table] = run.table(src, dim, quarantine_dir)
            if progress is not None:
                progress(table, src.rows, src.rows)
            log.info(
                "ingested %s from %s on Spark: %d rows read, %d kept, %d quarantined",
                table,
                src.name,
                summary.tables[table].rows_read,
                summary.tables[table].rows_kept,
                summary.tables[table].rows_quarantined,
            )
        summary.embedding_dim = dim
        for table in STORE_TABLES:
            if table not in sources and table != "ingest_meta":
                run.write_arrow(table, arrow_schema(table).empty_table())
        run.write_arrow("ingest_meta", ingest_meta(dim))
        if store is None:
            _replace(tmp / PARQUET_STORE_DIR, out / PARQUET_STORE_DIR)
        _replace(quarantine_dir, out / QUARANTINE_DIR)
    finally:
        run.close()
        shutil.rmtree(tmp, ignore_errors=True)
    for table in STORE_TABLES:
        backend.read_parquet(table, [_join(final, f"{table}.parquet")])
    if duckdb:
        summary.store = str(load_store(final, out, backend))
    elif (out / STORE_FILE).exists():
        (out / STORE_FILE).unlink()  # an older ingest's: no longer this data
    with open(out / INGEST_SUMMARY_FILE, "w", encoding="utf-8") as fh:
        json.dump(summary.to_dict(), fh, indent=2)
        fh.write("\n")
    return summary


def load_store(store: str | Path, out: Path, backend: SparkBackend | None = None) -> Path:
    """Load the Parquet store ``store`` written by :func:`ingest_on` into
    ``out/linkage.duckdb``: the store :func:`linkage.ingest.ingest` writes for the same
    data (same tables, rows in the same order). A store on an object store is copied to
    a temporary folder in ``out`` first, through ``backend``'s Hadoop file system.
    Returns the store's path."""
    store = str(store)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".load-store-", dir=out))
    try:
        if _is_local(store):
            local = _local_path(store)
        else:
            if backend is None:
                raise LinkageError(f"{store} is not a local path: give the Spark backend")
            local = tmp / "parquet"
            local.mkdir()
            files = _Files(backend.spark)
            for table in STORE_TABLES:
                url = _join(store, f"{table}.parquet")
                if files.kind(url) == "dir":
                    files.copy_to_local(url, local / f"{table}.parquet")
        con = create_store(tmp / STORE_FILE)
        try:
            for table in STORE_TABLES:
                _load_table(con, table, local / f"{table}.parquet")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        wal = out / f"{STORE_FILE}.wal"
        if wal.exists():
            wal.unlink()
        _replace(tmp / STORE_FILE, out / STORE_FILE)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / STORE_FILE


def _load_table(con: Any, table: str, folder: Path) -> None:
    """Append the part files of ``folder`` (in name order: Spark's partition order) to
    the store table ``table``."""
    if not folder.is_dir():
        raise LinkageError(f"{folder} is missing: not a store written by ingest_on")
    for part in sorted(p for p in folder.glob("*.parquet") if p.is_file()):
        insert_arrow(con, table, pq.read_table(part).select(arrow_schema(table).names))
