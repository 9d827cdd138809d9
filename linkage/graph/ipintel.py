"""Longest-prefix match of addresses and prefixes against the ``ip_intel`` table."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar

import duckdb
import pandas as pd

from linkage.graph.events import Events
from linkage.graph.workspace import Workspace, WorkTable, tables_of

__all__ = ["IpKinds", "annotate_ip_kinds"]

_V4_INT = """(split_part({c}, '.', 1)::UBIGINT << 24) + (split_part({c}, '.', 2)::UBIGINT << 16)
           + (split_part({c}, '.', 3)::UBIGINT << 8) + split_part({c}, '.', 4)::UBIGINT"""


@dataclass(frozen=True)
class IpKinds:
    """Output of stage ``ip intel``: ``entity_kind``, one row per address entity."""

    addresses: int
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("ip intel")


def annotate_ip_kinds(ws: Workspace, events: Events) -> IpKinds:
    """Create ``entity_kind(etype, ekey, kind)`` for the ``ip`` and ``prefix`` entities.

    The kind is that of the most specific ``ip_intel`` network containing the
    address (for a prefix: containing the whole prefix), else ``unknown``.
    """
    con = ws.con
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE intel4 AS
        SELECT prefix_len, ({_V4_INT.format(c="network")}) >> (32 - prefix_len) AS key, kind
        FROM ip_intel WHERE ip_version = 4
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE addr AS
        SELECT DISTINCT etype, ekey FROM events WHERE etype IN ('ip', 'prefix')
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE addr4 AS
        SELECT etype, ekey, ({_V4_INT.format(c="split_part(ekey, '/', 1)")}) AS num,
               CASE WHEN etype = 'prefix' THEN 24 ELSE 32 END AS own_len
        FROM addr WHERE NOT contains(ekey, ':')
    """)
    lengths = [r[0] for r in con.execute("SELECT DISTINCT prefix_len FROM intel4").fetchall()]
    matches = [
        f"""SELECT a.etype, a.ekey, i.prefix_len, i.kind FROM addr4 a JOIN intel4 i
            ON i.prefix_len = {int(length)} AND a.own_len >= {int(length)}
           AND (a.num >> {32 - int(length)}) = i.key"""
        for length in lengths
    ]
    v6 = _match_v6(con)
    con.register("v6_matches", v6)
    union = " UNION ALL ".join([*matches, "SELECT etype, ekey, prefix_len, kind FROM v6_matches"])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE entity_kind AS
        WITH m AS ({union})
        SELECT e.etype, e.ekey, coalesce(arg_max(m.kind, m.prefix_len), 'unknown') AS kind
        FROM addr e LEFT JOIN m USING (etype, ekey) GROUP BY e.etype, e.ekey
    """)
    con.unregister("v6_matches")
    for scratch in ("intel4", "addr", "addr4"):
        con.execute(f"DROP TABLE {scratch}")
    return IpKinds(ws.count("entity_kind"))


def _match_v6(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """IPv6 matches in Python: few distinct addresses and networks."""
    nets = con.execute(
        "SELECT network, prefix_len, kind FROM ip_intel WHERE ip_version = 6"
    ).fetchall()
    rows: list[tuple[str, str, int, str]] = []
    if nets:
        by_len: dict[int, dict[int, str]] = {}
        for network, plen, kind in nets:
            by_len.setdefault(int(plen), {})[
                int(ipaddress.IPv6Address(network)) >> (128 - plen)
            ] = kind
        addrs = con.execute("SELECT etype, ekey FROM addr WHERE contains(ekey, ':')").fetchall()
        for etype, ekey in addrs:
            net = ipaddress.IPv6Network(ekey, strict=False)
            value = int(net.network_address)
            for plen in sorted(by_len, reverse=True):
                if plen <= net.prefixlen and (value >> (128 - plen)) in by_len[plen]:
                    rows.append((etype, ekey, plen, by_len[plen][value >> (128 - plen)]))
                    break
    return pd.DataFrame(rows, columns=["etype", "ekey", "prefix_len", "kind"])
