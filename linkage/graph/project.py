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
    """Create the projection temp tables; return the number of edges.

    - ``entities(eid, etype, ekey, degree, uses, first_ts, last_ts, kind)``: every
      entity, numbered densely in ``(etype, ekey)`` order;
    - ``links(aid, eid, n, first_ts, last_ts)``: ``events`` by entity id;
    - ``entity_weight(eid, etype, ekey, degree, kind, w)``: the entities that can
      link accounts (degree 2 to ``hub_max_degree``) and their weight;
    - ``pair_evidence(src, dst, eid, w, tcode)`` and ``edges(src, dst, weight,
      n_entities, signals)``, with ``src < dst``.

    Needs ``events`` and ``entity_kind`` (see :mod:`linkage.graph.events`,
    :mod:`linkage.graph.ipintel`).
    """
    s = settings
    con.execute("""
        CREATE OR REPLACE TEMP TABLE entities AS
        SELECT (row_number() OVER (ORDER BY e.etype, e.ekey) - 1)::INTEGER AS eid, e.*, k.kind
        FROM (SELECT etype, ekey, count(*)::INTEGER AS degree, sum(n)::BIGINT AS uses,
                     min(first_ts) AS first_ts, max(last_ts) AS last_ts
              FROM events GROUP BY etype, ekey) e
        LEFT JOIN entity_kind k USING (etype, ekey)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE links AS
        SELECT v.aid, e.eid, v.n, v.first_ts, v.last_ts
        FROM events v JOIN entities e USING (etype, ekey)
    """)
    types = sorted(r[0] for r in con.execute("SELECT DISTINCT etype FROM entities").fetchall())
    weights = pd.DataFrame(
        {
            "etype": types,
            "tcode": range(len(types)),
            "tw": [s.type_weights.get(t, s.type_weights.get("identifier", 1.0)) for t in types],
        }
    )
    con.register("type_w", weights)
    con.register("kind_w", pd.DataFrame(list(s.ip_kind_weights.items()), columns=["kind", "kw"]))
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE entity_weight AS
        SELECT e.eid, e.etype, e.ekey, e.degree, e.kind, t.tcode::TINYINT AS tcode,
               t.tw * coalesce(kw.kw, 1.0) / ln(1 + e.degree) AS w
        FROM entities e JOIN type_w t USING (etype) LEFT JOIN kind_w kw ON kw.kind = e.kind
        WHERE e.degree BETWEEN 2 AND ?
        """,
        [s.hub_max_degree],
    )
    con.unregister("type_w")
    con.unregister("kind_w")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ev AS
        SELECT l.aid, l.eid, l.first_ts, l.last_ts, w.w, w.degree, w.tcode
        FROM links l JOIN entity_weight w USING (eid) WHERE w.w > 0
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE hub_ev AS
        SELECT *, row_number() OVER (PARTITION BY eid ORDER BY first_ts, aid) AS r
        FROM ev WHERE degree > ?
        """,
        [s.clique_max_degree],
    )
    near = f"INTERVAL '{float(s.cotemporal_days) * 86400:.0f} seconds'"
    factor = f"""CASE WHEN a.first_ts <= b.last_ts + {near} AND b.first_ts <= a.last_ts + {near}
                      THEN 1.0 ELSE {float(s.distant_factor)} END"""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE pair_evidence AS
        WITH small AS (SELECT * FROM ev WHERE degree <= ?)
        SELECT a.aid AS src, b.aid AS dst, a.eid, a.w * {factor} AS w, a.tcode
        FROM small a JOIN small b ON a.eid = b.eid AND a.aid < b.aid
        UNION ALL
        SELECT least(a.aid, b.aid), greatest(a.aid, b.aid), a.eid, a.w * {factor}, a.tcode
        FROM (SELECT *, unnest(range(1, ? + 1)) AS off FROM hub_ev) a
        JOIN hub_ev b ON a.eid = b.eid AND b.r = a.r + a.off
        """,
        [s.clique_max_degree, s.hub_neighbours],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE edges AS
        SELECT src, dst, weight, n_entities,
               list_filter(?::VARCHAR[], lambda x: (mask >> (list_position(?::VARCHAR[], x) - 1))
                                                   & 1 = 1) AS signals
        FROM (SELECT src, dst, (sum(round(w * 1e9)::BIGINT) / 1e9)::DOUBLE AS weight,
                     count(*) AS n_entities, bit_or(1::BIGINT << tcode) AS mask
              FROM pair_evidence GROUP BY src, dst)
        WHERE weight >= ?
        """,
        [types, types, s.min_edge_weight],
    )
    return int(con.execute("SELECT count(*) FROM edges").fetchone()[0])  # type: ignore[index]
