"""Longest-prefix match of addresses and prefixes against the ``ip_intel`` table."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import pyarrow as pa

from linkage.graph.events import Events
from linkage.graph.workspace import Workspace, WorkTable, tables_of

__all__ = ["IpKinds", "annotate_ip_kinds", "match_v6"]

_V4_INT = """(split_part({c}, '.', 1)::BIGINT << 24) + (split_part({c}, '.', 2)::BIGINT << 16)
           + (split_part({c}, '.', 3)::BIGINT << 8) + split_part({c}, '.', 4)::BIGINT"""

MATCH_SCHEMA = pa.schema(
    [("etype", pa.string()), ("ekey", pa.string()), ("prefix_len", pa.int64()),
     ("kind", pa.string())]
)  # fmt: skip
"""Columns of :func:`match_v6`."""


@dataclass(frozen=True)
class IpKinds:
    """Output of stage ``ip intel``: ``entity_kind``, one row per address entity."""

    addresses: int
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("ip intel")


def annotate_ip_kinds(ws: Workspace, events: Events) -> IpKinds:
    """Create ``entity_kind(etype, ekey, kind)`` for the ``ip`` and ``prefix`` entities.

    The kind is that of the most specific ``ip_intel`` network containing the
    address (for a prefix: containing the whole prefix), else ``unknown``. IPv4 is
    matched in SQL, one join per prefix length; IPv6 by :func:`match_v6` on the
    backend's workers, against the IPv6 networks (few) brought to the driver.
    """
    ws.create(
        "intel4",
        f"""SELECT prefix_len, ({_V4_INT.format(c="network")}) >> (32 - prefix_len) AS key, kind
            FROM ip_intel WHERE ip_version = 4""",
    )
    ws.create("addr", "SELECT DISTINCT etype, ekey FROM events WHERE etype IN ('ip', 'prefix')")
    ws.create(
        "addr4",
        f"""SELECT etype, ekey, ({_V4_INT.format(c="split_part(ekey, '/', 1)")}) AS num,
                   CASE WHEN etype = 'prefix' THEN 24 ELSE 32 END AS own_len
            FROM addr WHERE NOT contains(ekey, ':')""",
    )
    lengths = ws.fetch("SELECT DISTINCT prefix_len FROM intel4").column(0).to_pylist()
    matches = [
        f"""SELECT a.etype, a.ekey, i.prefix_len, i.kind FROM addr4 a JOIN intel4 i
            ON i.prefix_len = {int(length)} AND a.own_len >= {int(length)}
           AND (a.num >> {32 - int(length)}) = i.key"""
        for length in lengths
    ]
    nets = ws.fetch("SELECT network, prefix_len, kind FROM ip_intel WHERE ip_version = 6")
    ws.backend.map_by(
        "v6_matches",
        "SELECT etype, ekey FROM addr WHERE contains(ekey, ':')",
        [],
        partial(match_v6, _v6_networks(nets)),
        MATCH_SCHEMA,
    )
    union = " UNION ALL ".join([*matches, "SELECT etype, ekey, prefix_len, kind FROM v6_matches"])
    ws.create(
        "entity_kind",
        f"""WITH m AS ({union})
            SELECT e.etype, e.ekey, coalesce(arg_max(m.kind, m.prefix_len), 'unknown') AS kind
            FROM addr e LEFT JOIN m USING (etype, ekey) GROUP BY e.etype, e.ekey""",
    )
    ws.drop("intel4", "addr", "addr4", "v6_matches")
    return IpKinds(ws.count("entity_kind"))


def _v6_networks(nets: pa.Table) -> dict[int, dict[int, str]]:
    """The IPv6 networks ``nets`` (``network, prefix_len, kind``) by prefix length, each
    as its network number (the address's top ``prefix_len`` bits) to its kind."""
    by_len: dict[int, dict[int, str]] = {}
    for network, plen, kind in zip(*(nets.column(i).to_pylist() for i in range(3)), strict=True):
        by_len.setdefault(int(plen), {})[
            int(ipaddress.IPv6Address(network)) >> (128 - int(plen))
        ] = kind
    return by_len


def match_v6(by_len: dict[int, dict[int, str]], rows: pa.Table) -> pa.Table:
    """For each IPv6 address or prefix entity of ``rows`` (``etype, ekey``), its most
    specific network of ``by_len`` (:func:`_v6_networks`), if any: ``(etype, ekey,
    prefix_len, kind)``. In Python: few distinct addresses and networks."""
    out: list[tuple[str, str, int, str]] = []
    if by_len:
        for etype, ekey in zip(*(rows.column(i).to_pylist() for i in range(2)), strict=True):
            net = ipaddress.IPv6Network(ekey, strict=False)
            value = int(net.network_address)
            for plen in sorted(by_len, reverse=True):
                if plen <= net.prefixlen and (value >> (128 - plen)) in by_len[plen]:
                    out.append((etype, ekey, plen, by_len[plen][value >> (128 - plen)]))
                    break
    return pa.Table.from_pylist(
        [dict(zip(MATCH_SCHEMA.names, r, strict=True)) for r in out], schema=MATCH_SCHEMA
    )
