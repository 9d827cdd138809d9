"""Evidence-weighted projection of account-entity events onto account pairs.

Each shared entity contributes ``type weight x IP-kind weight / ln(1 + degree)``
to every pair of accounts it links, times ``distant_factor`` when the two
accounts used it more than ``cotemporal_days`` apart. Entities shared by at
most ``clique_max_degree`` accounts link every pair of their accounts; larger
ones (hubs: carrier NAT, popular devices, busy proxy exits) link each account
only to its ``hub_neighbours`` nearest accounts on either side in order of
first use. So the pair count is bounded by
``sum(d^2 / 2 for d <= clique_max_degree) + hub_neighbours * sum(d for hubs)``.
Every edge keeps its per-entity evidence. Edge weights are summed in fixed
point (1e-9), so they do not depend on the order parallel threads add them.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from linkage.settings import DetectSettings

__all__ = ["project_pairs"]


def project_pairs(con: duckdb.DuckDBPyConnection, settings: DetectSettings) -> int:
    """Create ``entity_weight``, ``pair_evidence`` and ``edges`` temp tables; return edge count.

    ``entity_weight(eid, etype, ekey, degree, kind, w)`` numbers the entities;
    ``pair_evidence(src, dst, eid, w)`` refers to them by ``eid`` (integer joins).

    Needs ``events`` and ``entity_kind`` (see :mod:`linkage.graph.events`,
    :mod:`linkage.graph.ipintel`).
    """
    s = settings
    con.register("type_w", pd.DataFrame(list(s.type_weights.items()), columns=["etype", "tw"]))
    con.register("kind_w", pd.DataFrame(list(s.ip_kind_weights.items()), columns=["kind", "kw"]))
    default_type = s.type_weights.get("identifier", 1.0)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE entity_weight AS
        SELECT (row_number() OVER (ORDER BY e.etype, e.ekey))::INTEGER AS eid,
               e.etype, e.ekey, e.degree, k.kind,
               coalesce(t.tw, ?) * coalesce(kw.kw, 1.0) / ln(1 + e.degree) AS w
        FROM (SELECT etype, ekey, count(*) AS degree FROM events GROUP BY etype, ekey
              HAVING count(*) BETWEEN 2 AND ?) e
        LEFT JOIN type_w t USING (etype)
        LEFT JOIN entity_kind k USING (etype, ekey)
        LEFT JOIN kind_w kw ON kw.kind = k.kind
        """,
        [default_type, s.hub_max_degree],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ev AS
        SELECT e.aid, w.eid, e.first_ts, e.last_ts, w.w, w.degree,
               row_number() OVER (PARTITION BY w.eid ORDER BY e.first_ts, e.aid) AS r
        FROM events e JOIN entity_weight w USING (etype, ekey) WHERE w.w > 0
        """
    )
    near = f"INTERVAL '{float(s.cotemporal_days) * 86400:.0f} seconds'"
    factor = f"""CASE WHEN a.first_ts <= b.last_ts + {near} AND b.first_ts <= a.last_ts + {near}
                      THEN 1.0 ELSE {float(s.distant_factor)} END"""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE pair_evidence AS
        SELECT least(a.aid, b.aid) AS src, greatest(a.aid, b.aid) AS dst, a.eid,
               a.w * {factor} AS w
        FROM ev a JOIN ev b ON a.eid = b.eid AND a.aid < b.aid
        WHERE a.degree <= ?
        UNION ALL
        SELECT least(a.aid, b.aid), greatest(a.aid, b.aid), a.eid, a.w * {factor}
        FROM (SELECT *, unnest(range(1, ? + 1)) AS off FROM ev WHERE degree > ?) a
        JOIN ev b ON a.eid = b.eid AND b.r = a.r + a.off
        """,
        [s.clique_max_degree, s.hub_neighbours, s.clique_max_degree],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE edges AS
        SELECT p.src, p.dst, (sum(round(p.w * 1e9)::BIGINT) / 1e9)::DOUBLE AS weight,
               count(*) AS n_entities, list(DISTINCT e.etype ORDER BY e.etype) AS signals
        FROM pair_evidence p JOIN entity_weight e USING (eid)
        GROUP BY p.src, p.dst HAVING weight >= ?
        """,
        [s.min_edge_weight],
    )
    con.unregister("type_w")
    con.unregister("kind_w")
    return int(con.execute("SELECT count(*) FROM edges").fetchone()[0])  # type: ignore[index]
