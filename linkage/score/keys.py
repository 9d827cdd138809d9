"""The entity keys of new accounts, keyed as detection keys them: in SQL over a store
(:func:`account_keys`, ``linkage score``), or in plain Python over one account's
validated rows (:func:`record_keys`, the service's ``POST /score``; the same keys,
which ``tests/test_score_keys.py`` checks)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

from linkage.graph import Workspace
from linkage.graph.events import ACCT_SQL, REQ_SQL, entity_events_sql
from linkage.graph.templates import skeleton_sql, template_id, template_id_sql
from linkage.ingest.account import Rows
from linkage.result import INDEX_TYPES

__all__ = ["Keys", "account_keys", "record_keys"]


@dataclass(frozen=True)
class Keys:
    """``(account_id, entity_type, entity)`` rows as three object arrays."""

    account_id: np.ndarray
    entity_type: np.ndarray
    entity: np.ndarray

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, str]]) -> Keys:
        cols = tuple(zip(*rows, strict=True)) or ((), (), ())
        return cls(*(np.array(c, dtype=object) for c in cols))

    def __len__(self) -> int:
        return len(self.account_id)


def account_keys(ws: Workspace) -> Keys:
    """The keys of the indexed types for every account of the store on ``ws`` (or of
    tables registered under the store's names): the entity events of
    :func:`linkage.graph.build_events` and each prompt's template id (whether or not
    the template is shared here: the index says which are). One query, no working
    tables."""
    rows = ws.execute(
        f"""
        WITH acct AS ({ACCT_SQL}), req AS ({REQ_SQL}), events AS ({entity_events_sql()})
        SELECT a.account_id, e.etype AS entity_type, e.ekey AS entity
        FROM events e JOIN acct a USING (aid) WHERE list_contains(?::VARCHAR[], e.etype)
        UNION
        SELECT a.account_id, 'template', {template_id_sql("p.skeleton")}
        FROM (SELECT DISTINCT aid, {skeleton_sql("prompt_text")} AS skeleton
              FROM req WHERE prompt_text IS NOT NULL) p JOIN acct a USING (aid)
        """,
        [list(INDEX_TYPES)],
    ).fetchnumpy()
    return Keys(
        *(np.asarray(rows[c], dtype=object) for c in ("account_id", "entity_type", "entity"))
    )


def record_keys(rows: Rows, types: Collection[str] = INDEX_TYPES) -> Keys:
    """The keys of ``types`` of one account's rows as
    :func:`~linkage.ingest.records.validate_account` keeps them, made in plain Python
    as :func:`account_keys` makes them."""
    (account,) = rows["accounts"]
    requests, payments = rows["requests"], rows["payments"]
    found: dict[str, Iterable[str | None]] = {
        "ip": (r["ip"] for r in requests),
        "prefix": (r["ip_prefix"] for r in requests),
        "device": (r["device_fp"] for r in requests),
        "api_key": (r["api_key_id"] for r in requests),
        "card": (p["instrument_fp"] for p in payments),
        "bin": (p["bin"] for p in payments),
        "email_domain": (account["email_domain"],),
        "identifier": (f"{i['kind']}:{i['value']}" for i in rows["identifiers"]),
        "template": (template_id(p) for p in {r["prompt_text"] for r in requests} if p is not None),
    }
    keys = {(t, k) for t in types if t in found for k in found[t] if k is not None}
    aid = account["account_id"]
    return Keys.of((aid, t, k) for t, k in sorted(keys))
