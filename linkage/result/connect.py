"""Connections to the result store (``RESULT_DIR/linkage.duckdb``), configured alike."""

from __future__ import annotations

from pathlib import Path

import duckdb

__all__ = ["configure", "connect"]


def configure(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Every store connection runs in UTC without DuckDB's progress bar."""
    con.execute("SET TimeZone='UTC'")
    # Stages report their own progress. Inside Jupyter the bar is already off, and DuckDB
    # refuses to change the setting there at all unless ipywidgets is installed.
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchall() != [(False,)]:
        con.execute("SET enable_progress_bar = false")
    return con


def connect(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A configured connection to the DuckDB file ``path``."""
    return configure(duckdb.connect(str(path), read_only=read_only))
