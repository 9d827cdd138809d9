"""Account-entity events: who used which IP, prefix, device, key, card, BIN,
email domain and identifier, how often and when (prompt templates are added by
:func:`linkage.graph.templates.build_templates`).

An account's activity rhythm is an entity too: ``rhythm`` with key ``h`` plus the
24-bit mask of the hours of day (UTC) in which it is active. Accounts run by
one scheduler share a rare mask; the 24/7 mask and office-hours masks are
shared by thousands and weigh little, like any other hub.

Everything stays in DuckDB; the result is the temp table ``events(aid, etype,
ekey, n, first_ts, last_ts)`` plus ``acct(aid, account_id, ...)``, where
``aid`` is a dense integer id (accounts ordered by ``account_id``), handed on
as :class:`Events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from linkage.errors import LinkageError
from linkage.graph.workspace import Workspace, WorkTable, tables_of
from linkage.ingest.store import STORE_VERSION

__all__ = [
    "ACCT_HOURS_SQL",
    "ACCT_SQL",
    "REQ_SQL",
    "RHYTHM_HOUR_SHARE",
    "RHYTHM_MIN_REQUESTS",
    "RHYTHM_SQL",
    "Events",
    "build_events",
    "entity_events_sql",
    "events_sql",
]

RHYTHM_MIN_REQUESTS = 24
"""Accounts with fewer requests get no activity-rhythm signature."""

RHYTHM_HOUR_SHARE = 0.03
"""An hour of day belongs to an account's rhythm when it holds this share of its
requests (and at least 2)."""

_REQUEST_ENTITIES = (
    ("ip", "ip"),
    ("prefix", "ip_prefix"),
    ("device", "device_fp"),
    ("api_key", "api_key_id"),
)


ACCT_SQL = """
    SELECT (row_number() OVER (ORDER BY account_id) - 1)::INTEGER AS aid,
           account_id, created_at, email_domain, coalesce(status, 'active') AS status, banned_at
    FROM accounts"""
"""``acct``: the store's accounts with their dense ``aid``."""

REQ_SQL = """
    SELECT aid, ts, ip, ip_version, ip_prefix, device_fp, api_key_id, prompt_text,
           input_tokens, output_tokens
    FROM requests"""
"""``req``: the store's requests by ``aid``."""


STORE_VERSION_SQL = "SELECT max(store_version) AS v FROM ingest_meta"

ACCT_HOURS_SQL = """
    SELECT aid, hour(ts) AS hr, count(*) AS c, min(ts) AS first_ts, max(ts) AS last_ts
    FROM req GROUP BY aid, hour(ts)"""
"""``acct_hours``: requests per account and hour of day."""

RHYTHM_SQL = f"""
    SELECT aid, 'rhythm', printf('h%06x', bit_or(1::BIGINT << hr) FILTER (
               WHERE c >= greatest(2, {RHYTHM_HOUR_SHARE} * total))),
           sum(c), min(first_ts), max(last_ts)
    FROM (SELECT *, sum(c) OVER (PARTITION BY aid) AS total FROM acct_hours)
    WHERE total >= {RHYTHM_MIN_REQUESTS} GROUP BY aid"""
"""The ``rhythm`` events, over ``acct_hours``."""


def events_sql() -> str:
    """``events``: every entity's events (:func:`entity_events_sql`) and the rhythms."""
    return f"{entity_events_sql()} UNION ALL {RHYTHM_SQL}"


def entity_events_sql() -> str:
    """The events of every entity an account holds (addresses, networks, devices, keys,
    cards, BINs, email domain, identifiers), as ``(aid, etype, ekey, n, first_ts,
    last_ts)`` over ``req``, ``acct``, ``payments`` and ``identifiers``: the one way an
    entity's key is made (``linkage score`` keys new accounts with it too)."""
    parts = [
        f"""SELECT aid, '{etype}' AS etype, {col} AS ekey, count(*) AS n,
                   min(ts) AS first_ts, max(ts) AS last_ts
            FROM req WHERE {col} IS NOT NULL GROUP BY aid, {col}"""
        for etype, col in _REQUEST_ENTITIES
    ]
    parts += [
        """SELECT a.aid, 'card', p.instrument_fp, count(*), min(p.ts), max(p.ts)
           FROM payments p JOIN acct a USING (account_id) GROUP BY a.aid, p.instrument_fp""",
        """SELECT a.aid, 'bin', p.bin, count(*), min(p.ts), max(p.ts)
           FROM payments p JOIN acct a USING (account_id) WHERE p.bin IS NOT NULL
           GROUP BY a.aid, p.bin""",
        """SELECT aid, 'email_domain', email_domain, 1, created_at, created_at
           FROM acct WHERE email_domain IS NOT NULL""",
        """SELECT a.aid, 'identifier', i.kind || ':' || i.value, count(*),
                  coalesce(min(i.ts), min(a.created_at)), coalesce(max(i.ts), min(a.created_at))
           FROM identifiers i JOIN acct a USING (account_id) GROUP BY a.aid, i.kind, i.value""",
    ]
    return " UNION ALL ".join(parts)


@dataclass(frozen=True)
class Events:
    """Output of stage ``events``: ``acct``, ``req``, ``acct_hours`` and ``events``.

    Accounts are ``aid`` ``0..accounts-1``. Evidence stages append to ``events``.
    """

    accounts: int
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("events")


def build_events(ws: Workspace) -> Events:
    """Create the ``acct``, ``acct_hours`` and ``events`` tables and the ``req`` view
    (requests by ``aid``) over the store tables of ``ws``, on its backend."""
    ws.create("acct", ACCT_SQL)
    version = ws.fetch(STORE_VERSION_SQL)
    _check_store(tuple(c[0].as_py() for c in version.columns) if version.num_rows else None)
    ws.create("req", REQ_SQL, view=True)
    ws.create("acct_hours", ACCT_HOURS_SQL)
    ws.create("events", events_sql())
    return Events(ws.count("acct"))


def _check_store(version: tuple[Any, ...] | None) -> None:
    if version is None or version[0] is None or version[0] < STORE_VERSION:
        raise LinkageError(
            "the store was written by an older linkage (no requests.aid); run ingest again"
        )
