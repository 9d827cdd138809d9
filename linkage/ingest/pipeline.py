"""``ingest``: validate a data directory and load it into the embedded store.

Tables are read in the order accounts, ip_intel, requests, payments,
identifiers, batch by batch: each batch is validated (``validate``), its good
rows appended to the DuckDB store and its bad rows to ``quarantine/``. The
store and quarantine are built in a temporary folder inside ``out_dir`` and
moved into place only when the run succeeds.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.contract import CONTRACT_VERSION, FORMATS, INPUT_TABLES
from linkage.errors import ContractError
from linkage.ingest.quarantine import QuarantineWriter, render_records
from linkage.ingest.readers import BadRow, TableReader, open_reader
from linkage.ingest.store import STORE_VERSION, create_store, insert_arrow
from linkage.ingest.summary import IngestSummary, TableSummary
from linkage.ingest.validate import Context, validate_batch
from linkage.result import INGEST_SUMMARY_FILE, QUARANTINE_DIR, STORE_FILE, ResultDir

__all__ = [
    "INGEST_ORDER",
    "Progress",
    "find_tables",
    "ingest",
    "ingest_meta",
    "require_columns",
    "table_files",
]

log = logging.getLogger(__name__)

INGEST_ORDER: tuple[str, ...] = ("accounts", "ip_intel", "requests", "payments", "identifiers")
"""Tables ingested, in order (accounts first; ``labels`` is never ingested)."""

_TMP_DIR = ".ingest-tmp"

Progress = Callable[[str, int, int], None]


def table_files(where: str, is_file: Callable[[str], bool]) -> dict[str, str]:
    """The file name of each contract table present in the directory ``where``
    (``labels`` excluded), ``is_file(name)`` saying whether a file of that name is there.

    Raises ``ContractError`` when a table is given by more than one file or a
    required table is missing.
    """
    found: dict[str, str] = {}
    for table in INGEST_ORDER:
        names = [f"{table}.{ext}" for ext in FORMATS]
        present = [n for n in names if is_file(n)]
        if len(present) > 1:
            raise ContractError(
                f"table '{table}' is given by more than one file in {where}: "
                f"{', '.join(present)}; keep exactly one"
            )
        if present:
            found[table] = present[0]
        elif INPUT_TABLES[table].required:
            raise ContractError(
                f"required table '{table}' is missing from {where}: "
                f"expected one of {', '.join(names)}"
            )
    return found


def find_tables(data_dir: Path) -> dict[str, Path]:
    """The file of each contract table present in ``data_dir`` (``labels`` excluded).

    Raises ``ContractError`` when a table is given by more than one file or a
    required table is missing.
    """
    names = table_files(str(data_dir), lambda name: (data_dir / name).is_file())
    return {table: data_dir / name for table, name in names.items()}


def require_columns(file: str, table: str, columns: list[str]) -> None:
    """Raise ``ContractError`` naming ``file`` and the column when ``columns`` (those the
    file has) lack a required column of ``table``."""
    for column in INPUT_TABLES[table].required_columns:
        if column not in columns:
            raise ContractError(f"{file}: missing required column '{column}' of table '{table}'")


def _open_readers(files: dict[str, Path], batch_rows: int) -> dict[str, TableReader]:
    readers = {}
    for table, path in files.items():
        reader = open_reader(path, INPUT_TABLES[table], batch_rows)
        require_columns(path.name, table, reader.columns)
        readers[table] = reader
    return readers


def _ingest_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    reader: TableReader,
    ctx: Context,
    quarantine_dir: Path,
    progress: Progress | None,
) -> TableSummary:
    spec = INPUT_TABLES[table]
    summary = TableSummary(table, reader.name, reader.format)
    # one batch is inserted (DuckDB, without the GIL) while the next is read and validated
    with (
        QuarantineWriter(quarantine_dir, table, reader.name) as quarantine,
        ThreadPoolExecutor(max_workers=1) as inserter,
    ):
        inserted: Future[None] | None = None
        for batch in reader.batches():
            result = validate_batch(table, batch.data, batch.rows, ctx)
            if inserted is not None:
                inserted.result()
            inserted = inserter.submit(insert_arrow, con, table, result.good)
            flags = result.flags
            bad_idx = np.flatnonzero(~flags.ok)
            records = render_records(batch.data, bad_idx, spec)
            bad = list(batch.bad)
            bad += [
                BadRow(int(batch.rows[i]), flags.reason[i], rec, flags.kind[i])
                for i, rec in zip(bad_idx.tolist(), records, strict=True)
            ]
            bad.sort(key=lambda b: b.row)
            quarantine.write(bad)
            for b in bad:
                summary.add_reason(b.reason_kind)
            summary.rows_read += batch.data.num_rows + len(batch.bad)
            summary.rows_kept += result.good.num_rows
            summary.rows_quarantined += len(bad)
            summary.cards_redacted += result.cards_redacted
            if progress is not None:
                progress(table, batch.done, batch.total)
        if inserted is not None:
            inserted.result()
    log.info(
        "ingested %s from %s: %d rows read, %d kept, %d quarantined",
        table,
        reader.name,
        summary.rows_read,
        summary.rows_kept,
        summary.rows_quarantined,
    )
    return summary


def _account_index(con: duckdb.DuckDBPyConnection) -> pd.Index:
    """Kept account ids in sorted order: an id's position is its dense ``aid``."""
    ids = con.sql("SELECT account_id FROM accounts ORDER BY account_id").to_arrow_table().column(0)
    return pd.Index(ids.to_pandas())


def ingest_meta(embedding_dim: int | None) -> pa.Table:
    """The one row of the store table ``ingest_meta``."""
    return pa.table(
        {
            "store_version": pa.array([STORE_VERSION], pa.int32()),
            "contract_version": pa.array([CONTRACT_VERSION], pa.string()),
            "embedding_dim": pa.array([embedding_dim], pa.int32()),
        }
    )


def _replace(src: Path, dst: Path) -> None:
    if dst.is_dir():
        shutil.rmtree(dst)
    elif dst.exists():
        dst.unlink()
    os.replace(src, dst)


def ingest(
    data_dir: Path,
    out_dir: Path,
    *,
    batch_rows: int = 500_000,
    progress: Progress | None = None,
) -> IngestSummary:
    """Validate the contract tables in ``data_dir`` and load them into a store.

    Writes ``out_dir/linkage.duckdb`` (see ``linkage.ingest.store``), one
    ``out_dir/quarantine/<table>.jsonl`` per table given (rows that break the
    contract, with the reason) and ``out_dir/ingest_summary.json``. Files are
    streamed in batches of ``batch_rows`` rows; ``progress(table, done, total)``
    is called after each batch (rows for Parquet, bytes for CSV and JSONL).

    Raises ``ContractError`` for a missing required table or column, or a
    table given by more than one file.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    if not data_dir.is_dir():
        raise ContractError(f"data directory {data_dir} does not exist or is not a directory")
    readers = _open_readers(find_tables(data_dir), batch_rows)

    out_dir.mkdir(parents=True, exist_ok=True)
    ResultDir(out_dir).mark_incomplete()  # a new store: an older result is no longer whole
    tmp = out_dir / _TMP_DIR
    if tmp.exists():
        shutil.rmtree(tmp)
    quarantine_dir = tmp / QUARANTINE_DIR
    quarantine_dir.mkdir(parents=True)
    store_path = out_dir / STORE_FILE
    summary = IngestSummary(CONTRACT_VERSION, str(store_path))
    con = create_store(tmp / STORE_FILE)
    try:
        ctx = Context()
        for table in INGEST_ORDER:
            if table in readers:
                result = _ingest_table(con, table, readers[table], ctx, quarantine_dir, progress)
            else:
                result = TableSummary(table)
            summary.tables[table] = result
            if table == "accounts":
                ctx.accounts = _account_index(con)
        summary.embedding_dim = ctx.embedding_dim
        insert_arrow(con, "ingest_meta", ingest_meta(ctx.embedding_dim))
        con.execute("CHECKPOINT")
        con.close()
        wal = out_dir / f"{STORE_FILE}.wal"
        if wal.exists():
            wal.unlink()
        _replace(tmp / STORE_FILE, store_path)
        _replace(quarantine_dir, out_dir / QUARANTINE_DIR)
        with open(out_dir / INGEST_SUMMARY_FILE, "w", encoding="utf-8") as fh:
            json.dump(summary.to_dict(), fh, indent=2)
            fh.write("\n")
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary
