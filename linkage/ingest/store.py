"""The embedded store: one DuckDB file that ingest writes and later stages read.

The store holds the contract tables after validation and normalisation (see
``STORE_TABLES`` for the columns) plus ``ingest_meta``, one row with the store
layout version, the contract version and the embedding dimension. Every
connection runs with ``TimeZone='UTC'``. ``requests.aid`` is the dense account
number (the account's position among all kept account ids in sorted order), so
later stages need no join on the account id string.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from linkage.errors import LinkageError
from linkage.result.connect import configure
from linkage.result.layout import STORE_FILE

__all__ = [
    "STORE_FILE",
    "STORE_TABLES",
    "STORE_VERSION",
    "StoreColumn",
    "arrow_schema",
    "create_store",
    "ddl",
    "insert_arrow",
    "limit_memory",
    "open_store",
]

STORE_VERSION = 2

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class StoreColumn:
    """One column of a store table: its SQL type, Arrow type and nullability."""

    name: str
    sql: str
    arrow: pa.DataType
    nullable: bool = True


def _col(name: str, sql: str, arrow: pa.DataType, nullable: bool = True) -> StoreColumn:
    return StoreColumn(name, sql, arrow, nullable)


STORE_TABLES: dict[str, tuple[StoreColumn, ...]] = {
    "accounts": (
        _col("account_id", "VARCHAR", pa.string(), False),
        _col("created_at", "TIMESTAMPTZ", _TS, False),
        _col("email_domain", "VARCHAR", pa.string()),
        _col("country", "VARCHAR", pa.string()),
        _col("status", "VARCHAR", pa.string(), False),
        _col("banned_at", "TIMESTAMPTZ", _TS),
    ),
    "requests": (
        _col("account_id", "VARCHAR", pa.string(), False),
        _col("aid", "INTEGER", pa.int32(), False),
        _col("ts", "TIMESTAMPTZ", _TS, False),
        _col("ip", "VARCHAR", pa.string(), False),
        _col("ip_version", "TINYINT", pa.int8(), False),
        _col("ip_prefix", "VARCHAR", pa.string(), False),
        _col("device_fp", "VARCHAR", pa.string()),
        _col("api_key_id", "VARCHAR", pa.string()),
        _col("user_agent", "VARCHAR", pa.string()),
        _col("prompt_text", "VARCHAR", pa.string()),
        _col("prompt_embedding", "FLOAT[]", pa.list_(pa.float32())),
        _col("input_tokens", "BIGINT", pa.int64()),
        _col("output_tokens", "BIGINT", pa.int64()),
    ),
    "payments": (
        _col("account_id", "VARCHAR", pa.string(), False),
        _col("ts", "TIMESTAMPTZ", _TS, False),
        _col("instrument_fp", "VARCHAR", pa.string(), False),
        _col("bin", "VARCHAR", pa.string()),
        _col("card_country", "VARCHAR", pa.string()),
        _col("amount_usd", "DOUBLE", pa.float64()),
    ),
    "ip_intel": (
        _col("cidr", "VARCHAR", pa.string(), False),
        _col("network", "VARCHAR", pa.string(), False),
        _col("prefix_len", "SMALLINT", pa.int16(), False),
        _col("ip_version", "TINYINT", pa.int8(), False),
        _col("kind", "VARCHAR", pa.string(), False),
        _col("asn", "BIGINT", pa.int64()),
        _col("org", "VARCHAR", pa.string()),
        _col("country", "VARCHAR", pa.string()),
    ),
    "identifiers": (
        _col("account_id", "VARCHAR", pa.string(), False),
        _col("kind", "VARCHAR", pa.string(), False),
        _col("value", "VARCHAR", pa.string(), False),
        _col("ts", "TIMESTAMPTZ", _TS),
    ),
    "ingest_meta": (
        _col("store_version", "INTEGER", pa.int32(), False),
        _col("contract_version", "VARCHAR", pa.string(), False),
        _col("embedding_dim", "INTEGER", pa.int32()),
    ),
}
"""Every store table and its columns, in order. The DDL is generated from this."""


def ddl(table: str) -> str:
    """The ``CREATE TABLE`` statement of one store table."""
    cols = ",\n    ".join(
        f"{c.name} {c.sql}{'' if c.nullable else ' NOT NULL'}" for c in STORE_TABLES[table]
    )
    return f"CREATE TABLE {table} (\n    {cols}\n)"


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema matching one store table."""
    return pa.schema([pa.field(c.name, c.arrow, c.nullable) for c in STORE_TABLES[table]])


def limit_memory(con: duckdb.DuckDBPyConnection, gigabytes: float) -> None:
    """Cap DuckDB's working memory (it spills to disk beyond it) for heavy graph work."""
    con.execute(f"SET memory_limit = '{float(gigabytes)}GB'")
    con.execute("SET preserve_insertion_order = false")


def create_store(path: Path) -> duckdb.DuckDBPyConnection:
    """Create a fresh store at ``path`` (which must not exist) with every table empty."""
    path = Path(path)
    if path.exists():
        raise LinkageError(f"store {path} already exists; remove it first")
    con = configure(duckdb.connect(str(path)))
    for table in STORE_TABLES:
        con.execute(ddl(table))
    return con


def open_store(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open an existing store written by ``ingest``; ``path`` is the file or its directory.

    The connection uses ``TimeZone='UTC'``. Open read-only (the default) unless
    the caller writes to the store.
    """
    path = Path(path)
    if path.is_dir():
        path = path / STORE_FILE
    if not path.is_file():
        raise LinkageError(f"no store at {path}; run ingest on the data directory first")
    return configure(duckdb.connect(str(path), read_only=read_only))


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """Append an Arrow table whose columns match the store table ``table``."""
    if data.num_rows == 0:
        return
    cols = ", ".join(c.name for c in STORE_TABLES[table])
    con.register("_ingest_batch", data)
    try:
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _ingest_batch")
    finally:
        con.unregister("_ingest_batch")
