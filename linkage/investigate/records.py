"""Rows as records: the SQL column lists and the node and campaign records every query
module returns (JSON-ready, timestamps as ISO text in UTC)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from linkage.result import iso_utc, iso_utc_sql
from linkage.schema import ENTITY_LABELS

__all__ = [
    "ACCOUNT_COLUMNS",
    "ENTITY_COLUMNS",
    "account_node",
    "campaign_record",
    "entity_node",
    "iso_column",
]


def iso_column(col: str) -> str:
    """SQL selecting TIMESTAMPTZ column ``col`` as ISO text in UTC, under its own name."""
    return f"{iso_utc_sql(col)} AS {col}"


ACCOUNT_COLUMNS = (
    f"account_id, {iso_column('created_at')}, email_domain, country, status, "
    f"{iso_column('banned_at')}, request_count, {iso_column('first_seen')}, "
    f"{iso_column('last_seen')}, campaign_id, score, flagged"
)
"""``graph_accounts`` columns of an account record."""

ENTITY_COLUMNS = (
    f"eid, entity_type, entity, accounts, uses, {iso_column('first_seen')}, "
    f"{iso_column('last_seen')}, weight, kind, parent_eid"
)
"""``graph_entities`` columns of an entity record."""


def campaign_record(r: pd.Series) -> dict[str, Any]:
    """A ``campaigns.parquet`` row as a record."""
    return {
        "campaign_id": r["campaign_id"],
        "size": int(r["size"]),
        "score": float(r["score"]),
        "reasons": [str(x) for x in r["reasons"]],
        "first_seen": iso_utc(r["first_seen"]),
        "last_seen": iso_utc(r["last_seen"]),
        "request_count": int(r["request_count"]),
        "contributions": {str(k): float(v) for k, v in r["contributions"].items()},
        "lineage": str(r["lineage"]),
        "previous_campaign_ids": [str(x) for x in r["previous_campaign_ids"]],
    }


def account_node(row: dict[str, Any]) -> dict[str, Any]:
    """An ``Account`` node from an account record (``aid`` dropped)."""
    props = {k: v for k, v in row.items() if k != "aid"}
    return {
        "id": f"account:{row['account_id']}",
        "label": "Account",
        "key": row["account_id"],
        "properties": props,
    }


def entity_node(
    row: dict[str, Any], keys: dict[str, str], text: Callable[[str, str], str]
) -> dict[str, Any]:
    """An entity node (label per the schema, its key property named by ``keys``,
    ``text`` as ``text(entity_type, entity)`` renders it)."""
    etype = row["entity_type"]
    label = ENTITY_LABELS.get(etype, etype)
    props = {
        keys.get(label, "key"): row["entity"],
        "entity_type": etype,
        "text": text(etype, row["entity"]),
        "accounts": row["accounts"],
        "uses": row["uses"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "weight": row["weight"],
        "kind": row["kind"],
    }
    return {
        "id": f"{etype}:{row['entity']}",
        "label": label,
        "key": row["entity"],
        "properties": props,
    }
