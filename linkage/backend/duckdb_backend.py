"""The default backend: DuckDB, in process (the engine the pipeline runs on today)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd
import pyarrow as pa

from linkage.backend.base import ArrowFn, Backend

__all__ = ["DuckDBBackend"]


class DuckDBBackend(Backend):
    """Tables as DuckDB temp tables and views on ``con`` (a new in-memory database
    when none is given; closed on :meth:`close` only then)."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self._own = con is None
        self.con = con if con is not None else duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")

    def read_parquet(self, name: str, paths: Sequence[str]) -> None:
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        self.con.execute(
            f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM read_parquet([{files}])'
        )

    def register_arrow(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        self.con.register(name, data)

    def names(self) -> set[str]:
        rows = self.con.execute(
            """SELECT table_name FROM duckdb_tables() WHERE temporary
               UNION SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"""
        ).fetchall()
        return {r[0] for r in rows}

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def drop(self, name: str) -> None:
        try:
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
        except duckdb.CatalogException:  # a view
            self.con.execute(f'DROP VIEW IF EXISTS "{name}"')

    def _create(self, name: str, sql: str, view: bool) -> None:
        kind = "VIEW" if view else "TABLE"
        self.con.execute(f'CREATE OR REPLACE TEMP {kind} "{name}" AS {sql}')

    def _insert(self, name: str, sql: str) -> None:
        self.con.execute(f'INSERT INTO "{name}" {sql}')

    def _fetch(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def map_arrow(
        self, sql: str, fn: ArrowFn, schema: pa.Schema, order: Sequence[str] = ()
    ) -> pa.Table:
        """``fn`` over all the rows of ``sql`` (sorted by ``order``), here, as Arrow:
        what :meth:`map_by` makes its table of. The rows come in one chunk per column,
        so that ``fn`` reads them as numpy without a copy."""
        if order:
            sql = f"SELECT * FROM ({sql}) ORDER BY {', '.join(order)}"
        return fn(self.con.sql(sql).to_arrow_table().combine_chunks()).cast(schema)

    def _map_by(
        self,
        out: str,
        sql: str,
        key: Sequence[str],
        fn: ArrowFn,
        schema: pa.Schema,
        order: Sequence[str],
    ) -> None:
        got = self.map_arrow(sql, fn, schema, order)
        self.con.register(f"{out}_arrow", got)
        try:
            self._create(out, f'SELECT * FROM "{out}_arrow"', view=False)
        finally:
            self.con.unregister(f"{out}_arrow")

    def write_parquet(self, name: str, path: str) -> None:
        target = str(path).replace("'", "''")
        self.con.execute(f"""COPY "{name}" TO '{target}' (FORMAT parquet)""")

    def close(self) -> None:
        if self._own:
            self.con.close()
