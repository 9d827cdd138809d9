"""Entity queries: every account that used an IP, prefix, device, card, BIN, domain, ..."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from linkage.errors import LinkageError
from linkage.ingest.normalize import (
    IpNormalizer,
    clean_strings,
    lower_code,
    normalize_domain,
    parse_cidrs,
)
from linkage.investigate.context import NotFoundError, ResultContext
from linkage.investigate.limits import ENTITY_TYPES, MAX_OFFSET, MAX_PAGE, check_range
from linkage.investigate.records import ENTITY_COLUMNS, iso_column
from linkage.schema import ENTITY_LABELS

__all__ = ["EntityQueries", "normalize_entity"]


def _one(arr: pa.Array) -> str | None:
    value = arr[0].as_py()
    return value if isinstance(value, str) else None


def normalize_entity(entity_type: str, value: str) -> str:
    """``value`` as ingest stores an entity of ``entity_type``, with ingest's own
    functions: canonical addresses (IPv4-mapped IPv6 as IPv4), canonical networks,
    lower-case e-mail domains, lower-case identifier kinds, trimmed text. A value
    ingest could not parse is returned trimmed (and then not found).

    >>> normalize_entity("ip", " ::ffff:82.149.248.67 ")
    '82.149.248.67'
    >>> normalize_entity("email_domain", "Someone@GMAIL.COM")
    'gmail.com'
    >>> normalize_entity("prefix", "82.149.248.67/24")
    '82.149.248.0/24'
    """
    text = _one(clean_strings(pa.array([value], pa.string()))) or value.strip()
    if entity_type == "ip":
        parsed = IpNormalizer.parse_one(text)
        return parsed[0] if parsed else text
    if entity_type == "prefix":
        return _one(parse_cidrs(pa.array([text]))[0]["cidr"]) or text
    if entity_type == "email_domain":
        return _one(normalize_domain(pa.array([text]))) or text
    if entity_type == "identifier" and ":" in text:
        kind, rest = text.split(":", 1)
        return f"{_one(lower_code(pa.array([kind]))) or kind}:{rest}"
    return text


class EntityQueries:
    """Queries about one entity of ``graph_entities``."""

    def __init__(self, ctx: ResultContext) -> None:
        self.ctx = ctx

    def entity(
        self, entity_type: str, value: str, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """Every account that used an entity (IP, prefix, device, card fingerprint,
        BIN, email domain, ...), most uses first (ties by account id), with its
        campaign, score, uses and first / last use; ``accounts_total`` counts them."""
        if entity_type not in ENTITY_LABELS:
            raise LinkageError(
                f"entity type must be one of {', '.join(ENTITY_TYPES)}, got {entity_type!r}"
            )
        check_range("limit", limit, 1, MAX_PAGE)
        check_range("offset", offset, 0, MAX_OFFSET)
        value = normalize_entity(entity_type, value)
        found = self.ctx.rows(
            f"SELECT {ENTITY_COLUMNS} FROM graph_entities WHERE entity_type = ? AND entity = ?",
            [entity_type, value],
        )
        if not found:
            raise NotFoundError(f"no {entity_type} {value!r} in this result")
        ent = found[0]
        eid, parent = ent.pop("eid"), ent.pop("parent_eid")
        ent["label"] = ENTITY_LABELS[entity_type]
        ent["text"] = self.ctx.text(entity_type, value)
        ent["parent"] = None
        if parent is not None:
            p = self.ctx.adjacency.entity_rows([int(parent)])[int(parent)]
            ent["parent"] = {"entity_type": p["entity_type"], "entity": p["entity"]}
        adj = self.ctx.adjacency
        accounts = [
            {
                **adj.account_summary(r["aid"]),
                "uses": r["uses"],
                "first_seen": r["first_seen"],
                "last_seen": r["last_seen"],
            }
            for r in self._links(eid, int(ent["accounts"]), limit, offset)
        ]
        return {"entity": ent, "accounts": accounts, "accounts_total": ent["accounts"]}

    def _links(self, eid: int, n_accounts: int, limit: int, offset: int) -> list[dict[str, Any]]:
        """A page of the entity's ``graph_links`` rows, most uses first (ties by aid)."""
        lo = self.ctx.adjacency.link_lo
        columns = f"aid, uses, {iso_column('first_seen')}, {iso_column('last_seen')}"
        if lo is not None:  # the page is a row range: no sort of a big entity
            start = int(lo[eid]) + offset
            stop = int(lo[eid]) + min(offset + limit, n_accounts)
            return self.ctx.rows(
                f"SELECT {columns} FROM graph_links WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
                [start, stop],
            )
        return self.ctx.rows(
            f"SELECT {columns} FROM graph_links WHERE eid = ? "
            "ORDER BY uses DESC, aid LIMIT ? OFFSET ?",
            [eid, limit, offset],
        )
