"""Open a result directory's store read-only for an export, checking what it needs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from linkage.detect.persist import check_result_dir
from linkage.errors import LinkageError
from linkage.ingest import STORE_FILE, open_store

__all__ = ["open_result_store"]


def open_result_store(
    result_dir: str | Path, tables: tuple[str, ...] = ()
) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``RESULT_DIR/linkage.duckdb``; raise :class:`LinkageError`
    naming the directory and the missing file or table when it is not a complete result."""
    result_dir = check_result_dir(result_dir)
    con = open_store(result_dir / STORE_FILE, read_only=True)
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    missing = [t for t in tables if t not in present]
    if missing:
        con.close()
        raise LinkageError(
            f"{result_dir / STORE_FILE} has no table {missing[0]} (a result of an older "
            "linkage); run `linkage detect` again to write the investigation graph"
        )
    return con
