"""Leave the investigation graph in the result store.

Detection works on temp tables; this module turns them into the persistent
``graph_*``, ``campaign_daily`` and ``campaign_indicators`` tables that the
service, the exports and the notebooks read (``docs/RESULT_STORE.md``), and the
evidence files derived from them. Names come from :mod:`linkage.result`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from linkage.graph import Corroboration, Workspace
from linkage.graph.project import weight_sql, weights_registered
from linkage.result import (
    INDEX_TABLE,
    INDEX_TYPES,
    INDICATORS_PER_TYPE,
    MAX_EVIDENCE_PER_EDGE,
    ResultDir,
)
from linkage.settings import DetectSettings

__all__ = ["persist_graph", "write_evidence_files"]


def persist_graph(
    con: duckdb.DuckDBPyConnection,
    accounts: pa.Table,
    corroboration: Corroboration,
    settings: DetectSettings,
) -> None:
    """Write the result tables into the store ``con`` (opened read-write).

    ``accounts`` is the contract ``accounts.parquet`` table; ``corroboration`` the
    projection's (``pair_evidence`` weights are read through it).
    Needs the detection temp tables ``acct``, ``acct_feat``, ``req``, ``entities``,
    ``links``, ``entity_weight``, ``pair_evidence``, ``edges`` and ``templates``
    (and ``prompt_clusters`` when that stage ran).
    """
    con.register("result_accounts", accounts)
    try:
        _accounts(con)
    finally:
        con.unregister("result_accounts")
    _entities(con)
    _edges(con, corroboration)
    _prompts(con)
    _campaigns(con)
    _campaign_index(con, settings)


def _accounts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE graph_accounts AS
        SELECT a.aid, a.account_id, a.created_at, a.email_domain, s.country, a.status,
               a.banned_at, x.n_req::BIGINT AS request_count, x.first_ts AS first_seen,
               x.last_ts AS last_seen, r.campaign_id, r.score, r.flagged
        FROM acct a JOIN accounts s USING (account_id) JOIN result_accounts r USING (account_id)
        JOIN acct_feat x USING (aid)
        ORDER BY a.aid
    """)


def _entities(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE OR REPLACE TEMP TABLE entity_parent AS
        SELECT 'ip' AS etype, ekey, 'prefix' AS ptype,
               regexp_replace(ekey, '[.][0-9]+$', '.0/24') AS pkey
        FROM entities WHERE etype = 'ip' AND NOT contains(ekey, ':')
        UNION ALL
        SELECT 'ip', ip, 'prefix', any_value(ip_prefix)
        FROM req WHERE ip_version = 6 GROUP BY ip
        UNION ALL
        SELECT 'card', instrument_fp, 'bin', any_value(bin)
        FROM payments WHERE bin IS NOT NULL GROUP BY instrument_fp
    """)
    con.execute("""
        CREATE OR REPLACE TABLE graph_entities AS
        SELECT e.eid, e.etype AS entity_type, e.ekey AS entity, e.degree AS accounts, e.uses,
               e.first_ts AS first_seen, e.last_ts AS last_seen, w.w AS weight, e.kind,
               p.eid AS parent_eid
        FROM entities e
        LEFT JOIN entity_weight w ON w.eid = e.eid
        LEFT JOIN entity_parent ep ON ep.etype = e.etype AND ep.ekey = e.ekey
        LEFT JOIN entities p ON p.etype = ep.ptype AND p.ekey = ep.pkey
        ORDER BY e.eid
    """)
    con.execute("""
        CREATE OR REPLACE TABLE graph_links AS
        SELECT aid, eid, n::BIGINT AS uses, first_ts AS first_seen, last_ts AS last_seen
        FROM links ORDER BY eid, uses DESC, aid
    """)
    con.execute("CREATE INDEX graph_links_aid ON graph_links (aid)")


def _edges(con: duckdb.DuckDBPyConnection, corroboration: Corroboration) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE graph_edges AS
        SELECT src, dst, weight, n_entities::BIGINT AS n_entities, signals
        FROM edges ORDER BY src, dst
    """)
    con.execute("CREATE INDEX graph_edges_dst ON graph_edges (dst)")
    of_edges = f"""
        SELECT p.src, p.dst, p.eid, {corroboration.row_weight("p", "e.corroborated")} AS w
        FROM pair_evidence p JOIN edges e ON e.src = p.src AND e.dst = p.dst"""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE graph_evidence AS
        SELECT src, dst, eid, w AS weight
        FROM (SELECT p.src, p.dst, p.eid, p.w, row_number() OVER (
                  PARTITION BY p.src, p.dst ORDER BY p.w DESC, p.eid) AS rk
              FROM ({of_edges}) p)
        WHERE rk <= ?
        ORDER BY src, dst, weight DESC, eid
        """,
        [MAX_EVIDENCE_PER_EDGE],
    )


def _prompts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE graph_templates AS
        SELECT template_id, skeleton, prompts::BIGINT AS prompts,
               distinct_prompts::BIGINT AS distinct_prompts, accounts::BIGINT AS accounts
        FROM templates ORDER BY template_id
    """)
    has_clusters = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'prompt_clusters' AND temporary"
    ).fetchone()
    source = (
        "SELECT cluster_id, size::BIGINT AS size, accounts::BIGINT AS accounts, label, capability "
        "FROM prompt_clusters"
        if has_clusters and has_clusters[0]
        else "SELECT NULL::VARCHAR AS cluster_id, NULL::BIGINT AS size, NULL::BIGINT AS accounts, "
        "NULL::VARCHAR AS label, NULL::VARCHAR AS capability WHERE false"
    )
    con.execute(f"CREATE OR REPLACE TABLE graph_prompt_clusters AS {source} ORDER BY cluster_id")


def _campaigns(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE campaign_daily AS
        WITH days AS (SELECT aid, ts::DATE AS day, count(*) AS n FROM req GROUP BY aid, day)
        SELECT g.campaign_id, d.day, sum(d.n)::BIGINT AS requests, count(*)::BIGINT AS accounts
        FROM days d JOIN graph_accounts g USING (aid)
        GROUP BY g.campaign_id, d.day
        ORDER BY g.campaign_id NULLS FIRST, d.day
    """)
    con.execute(
        """
        CREATE OR REPLACE TABLE campaign_indicators AS
        WITH members AS (
            SELECT aid, campaign_id, count(*) OVER (PARTITION BY campaign_id) AS size
            FROM graph_accounts WHERE campaign_id IS NOT NULL),
        shared AS (
            SELECT m.campaign_id, l.eid, any_value(m.size) AS size, count(*) AS members,
                   sum(l.uses) AS uses
            FROM graph_links l JOIN members m USING (aid)
            GROUP BY m.campaign_id, l.eid HAVING count(*) >= 2),
        ranked AS (
            SELECT s.campaign_id, s.eid, e.entity_type, e.entity, s.members::BIGINT AS members,
                   s.members / s.size AS member_share,
                   (e.accounts - s.members)::BIGINT AS outside_accounts, s.uses::BIGINT AS uses,
                   row_number() OVER (PARTITION BY s.campaign_id, e.entity_type
                                      ORDER BY s.members DESC, e.entity)::INTEGER AS rank
            FROM shared s JOIN graph_entities e USING (eid))
        SELECT * FROM ranked WHERE rank <= ?
        ORDER BY campaign_id, entity_type, rank
        """,
        [INDICATORS_PER_TYPE],
    )


def _campaign_index(con: duckdb.DuckDBPyConnection, s: DetectSettings) -> None:
    """``campaign_index``: the entities of :data:`INDEX_TYPES` that reported campaigns'
    members hold, for scoring new accounts (:mod:`linkage.score.newcomers`).

    Only what the attachment rule can use: entities most of whose holders are members
    (``members * 2 >= accounts``), held by at most ``hub_max_degree`` accounts and
    weighing at least ``min_entity_weight``. An entity held by one member alone has no
    weight in detection; it gets the weight it would have with a second holder.
    """
    types = sorted(
        r[0] for r in con.execute("SELECT DISTINCT entity_type FROM graph_entities").fetchall()
    )
    with weights_registered(Workspace(con), s, types):
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {INDEX_TABLE} AS
            WITH held AS (
                SELECT g.campaign_id, l.eid, count(*) AS members
                FROM graph_links l JOIN graph_accounts g USING (aid)
                WHERE g.campaign_id IS NOT NULL
                GROUP BY g.campaign_id, l.eid)
            SELECT * FROM (
                SELECT h.campaign_id, e.eid, e.entity_type, e.entity, e.kind,
                       coalesce(e.weight, CASE WHEN e.accounts = 1
                                               THEN {weight_sql("2")} END) AS weight,
                       h.members::BIGINT AS members, e.accounts::BIGINT AS accounts
                FROM held h JOIN graph_entities e USING (eid)
                JOIN type_w t ON t.etype = e.entity_type LEFT JOIN kind_w kw ON kw.kind = e.kind
                WHERE list_contains(?::VARCHAR[], e.entity_type) AND e.accounts <= ?
                  AND h.members * 2 >= e.accounts)
            WHERE weight >= ?
            ORDER BY entity_type, entity, campaign_id
            """,
            [list(INDEX_TYPES), s.hub_max_degree, s.min_entity_weight],
        )


def write_evidence_files(con: duckdb.DuckDBPyConnection, result: ResultDir) -> None:
    """``edges.parquet`` and ``evidence.parquet`` from the graph tables (after
    :func:`persist_graph`), sorted on integer ids: ``aid`` follows ``account_id`` and
    ``eid`` follows ``(entity_type, entity)``, so the order is that of the names."""
    con.execute(f"""
        COPY (SELECT a.account_id AS src, b.account_id AS dst, e.weight, e.n_entities, e.signals
              FROM graph_edges e JOIN acct a ON a.aid = e.src JOIN acct b ON b.aid = e.dst
              ORDER BY e.src, e.dst)
        TO '{_sql_path(result.edges_path)}' (FORMAT parquet)
    """)
    con.execute(f"""
        COPY (SELECT a.account_id AS src, b.account_id AS dst, g.entity_type, g.entity, v.weight
              FROM graph_evidence v JOIN graph_entities g USING (eid)
              JOIN acct a ON a.aid = v.src JOIN acct b ON b.aid = v.dst
              ORDER BY v.src, v.dst, v.weight DESC, v.eid)
        TO '{_sql_path(result.evidence_path)}' (FORMAT parquet)
    """)


def _sql_path(path: Path) -> str:
    """A file path as the body of a SQL string literal (COPY takes no parameters)."""
    return str(path).replace("'", "''")
