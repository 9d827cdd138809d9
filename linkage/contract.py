"""The data contract (v1) as data: tables, columns, types and which are required.

This mirrors ``CONTRACT.md``; ingest, the simulator and the tests all read it
from here so there is one definition of every table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CONTRACT_VERSION",
    "FORMATS",
    "INPUT_TABLES",
    "IP_KINDS",
    "STATUSES",
    "Column",
    "ColumnType",
    "TableSpec",
]

CONTRACT_VERSION = "1"

ColumnType = Literal["string", "timestamp", "integer", "float", "embedding"]

FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl")

IP_KINDS: frozenset[str] = frozenset(
    {"residential", "mobile", "hosting", "vpn", "proxy", "tor", "corporate", "education"}
)
STATUSES: frozenset[str] = frozenset({"active", "banned"})


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    type: ColumnType
    required: bool = False


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its columns and whether the table itself must exist."""

    name: str
    columns: tuple[Column, ...]
    required: bool = False
    references_accounts: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, type_: ColumnType, required: bool = False) -> Column:
    return Column(name, type_, required)


INPUT_TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "accounts",
            (
                _c("account_id", "string", True),
                _c("created_at", "timestamp", True),
                _c("email_domain", "string"),
                _c("country", "string"),
                _c("status", "string"),
                _c("banned_at", "timestamp"),
            ),
            required=True,
            references_accounts=False,
        ),
        TableSpec(
            "requests",
            (
                _c("account_id", "string", True),
                _c("ts", "timestamp", True),
                _c("ip", "string", True),
                _c("device_fp", "string"),
                _c("api_key_id", "string"),
                _c("user_agent", "string"),
                _c("prompt_text", "string"),
                _c("prompt_embedding", "embedding"),
                _c("input_tokens", "integer"),
                _c("output_tokens", "integer"),
            ),
            required=True,
        ),
        TableSpec(
            "payments",
            (
                _c("account_id", "string", True),
                _c("ts", "timestamp", True),
                _c("instrument_fp", "string", True),
                _c("bin", "string"),
                _c("card_country", "string"),
                _c("amount_usd", "float"),
            ),
        ),
        TableSpec(
            "ip_intel",
            (
                _c("cidr", "string", True),
                _c("kind", "string", True),
                _c("asn", "integer"),
                _c("org", "string"),
                _c("country", "string"),
            ),
            references_accounts=False,
        ),
        TableSpec(
            "identifiers",
            (
                _c("account_id", "string", True),
                _c("kind", "string", True),
                _c("value", "string", True),
                _c("ts", "timestamp"),
            ),
        ),
        TableSpec(
            "labels",
            (_c("account_id", "string", True), _c("campaign_id", "string")),
            references_accounts=False,
        ),
    )
}
