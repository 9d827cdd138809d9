"""The investigation graph detect leaves in the result store: the tables and
columns ``docs/RESULT_STORE.md`` promises, and their consistency with the
contract outputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage.graph.project import BOND_TYPES, CIRCUMSTANCE_KINDS, SCHEDULE_TYPES
from linkage.ingest import open_store
from linkage.result import INDICATORS_PER_TYPE, MAX_EVIDENCE_PER_EDGE, RESULT_TABLES
from linkage.schema import ENTITY_LABELS, ENTITY_PARENTS, ENTITY_RELATIONSHIPS, load_schema
from linkage.settings import DetectSettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "RESULT_STORE.md"
DOC_TYPES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def documented_tables() -> dict[str, dict[str, str]]:
    """``{table: {column: duckdb type}}`` from the markdown tables of the doc."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        heading = re.match(r"## `(\w+)`", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
            continue
        row = re.match(r"\| ([\w, ]+) \| ([A-Z\[\]]+) \|", line)
        if current is not None and row:
            for col in row.group(1).split(","):
                current[col.strip()] = DOC_TYPES.get(row.group(2), row.group(2))
    return tables


@pytest.fixture(scope="module")
def store(detected):
    root, _ = detected
    con = open_store(root / "result", read_only=True)
    yield root / "result", con
    con.close()


def q(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def test_every_documented_table_and_column_exists_with_its_type(store):
    _, con = store
    doc = documented_tables()
    assert set(doc) == set(RESULT_TABLES)
    for table, columns in doc.items():
        actual = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
        )
        assert actual == columns, table


def test_entity_types_map_to_schema_labels_and_relationships(store):
    _, con = store
    schema = load_schema()
    types = set(q(con, "SELECT DISTINCT entity_type FROM graph_entities").entity_type)
    assert types <= set(ENTITY_LABELS)
    for etype, label in ENTITY_LABELS.items():
        assert label in schema.nodes
        if etype in ENTITY_RELATIONSHIPS:
            rel = schema.relationships[ENTITY_RELATIONSHIPS[etype]]
            assert (rel.source, rel.target) == ("Account", label)
    for etype, (parent, rel_name) in ENTITY_PARENTS.items():
        rel = schema.relationships[rel_name]
        assert (rel.source, rel.target) == (ENTITY_LABELS[etype], ENTITY_LABELS[parent])


def test_accounts_match_the_contract_output(store):
    result, con = store
    contract = pd.read_parquet(result / "accounts.parquet").sort_values("account_id")
    graph = q(con, "SELECT * FROM graph_accounts ORDER BY aid")
    assert graph.aid.tolist() == list(range(len(contract)))
    assert graph.account_id.tolist() == contract.account_id.tolist()
    for col in ("campaign_id", "score", "flagged"):
        assert graph[col].tolist() == contract[col].tolist()
    requests = q(con, "SELECT account_id, count(*) AS n FROM requests GROUP BY account_id")
    merged = graph.merge(requests, on="account_id", how="left").fillna({"n": 0})
    assert (merged.request_count == merged.n).all()


def test_entities_and_links_agree(store):
    _, con = store
    ent = q(con, "SELECT * FROM graph_entities ORDER BY eid")
    assert ent.eid.tolist() == list(range(len(ent)))
    assert ent.sort_values(["entity_type", "entity"]).eid.tolist() == ent.eid.tolist()
    counted = q(
        con,
        "SELECT eid, count(*) AS accounts, sum(uses) AS uses, min(first_seen) AS f "
        "FROM graph_links GROUP BY eid ORDER BY eid",
    )
    assert counted.eid.tolist() == ent.eid.tolist()
    assert (counted.accounts.to_numpy() == ent.accounts.to_numpy()).all()
    assert (counted.uses.to_numpy() == ent.uses.to_numpy()).all()
    # weights only where an entity could link accounts; kinds only on addresses
    assert ent[ent.accounts < 2].weight.isna().all()
    assert ent[~ent.entity_type.isin(["ip", "prefix"])].kind.isna().all()
    assert ent[ent.entity_type.isin(["ip", "prefix"])].kind.notna().all()
    parents = ent.dropna(subset=["parent_eid"]).merge(
        ent[["eid", "entity_type", "entity"]],
        left_on="parent_eid",
        right_on="eid",
        suffixes=("", "_parent"),
    )
    assert set(zip(parents.entity_type, parents.entity_type_parent, strict=True)) <= {
        ("ip", "prefix"),
        ("card", "bin"),
    }
    ips = parents[parents.entity_type == "ip"]
    assert len(ips) == (ent.entity_type == "ip").sum()
    v4 = ips[~ips.entity.str.contains(":")]
    assert (v4.entity.str.rsplit(".", n=1).str[0] + ".0/24" == v4.entity_parent).all()


def test_edges_and_evidence_match_the_evidence_files(store):
    result, con = store
    edges = pd.read_parquet(result / "edges.parquet")
    graph = q(
        con,
        "SELECT a.account_id AS src, b.account_id AS dst, e.weight FROM graph_edges e "
        "JOIN graph_accounts a ON a.aid = e.src JOIN graph_accounts b ON b.aid = e.dst "
        "ORDER BY src, dst",
    )
    assert graph.src.tolist() == edges.src.tolist()
    assert graph.weight.tolist() == edges.weight.tolist()
    per_edge = q(con, "SELECT src, dst, count(*) AS n FROM graph_evidence GROUP BY ALL")
    assert len(per_edge) == len(edges)
    assert per_edge.n.max() <= MAX_EVIDENCE_PER_EDGE
    evidence = pd.read_parquet(result / "evidence.parquet")
    assert len(evidence) == q(con, "SELECT count(*) AS n FROM graph_evidence").n[0]
    # every evidence entity was used by both ends of its edge
    unlinked = q(
        con,
        """SELECT count(*) AS n FROM graph_evidence v
           WHERE NOT EXISTS (SELECT 1 FROM graph_links l WHERE l.aid = v.src AND l.eid = v.eid)
              OR NOT EXISTS (SELECT 1 FROM graph_links l WHERE l.aid = v.dst AND l.eid = v.eid)""",
    )
    assert unlinked.n[0] == 0


def test_campaign_timeline_and_indicators(store):
    result, con = store
    campaigns = pd.read_parquet(result / "campaigns.parquet")
    daily = q(con, "SELECT campaign_id, sum(requests) AS n FROM campaign_daily GROUP BY ALL")
    total = q(con, "SELECT count(*) AS n FROM requests").n[0]
    assert daily.n.sum() == total
    merged = campaigns.merge(daily, on="campaign_id")
    assert (merged.request_count == merged.n).all() and len(merged) == len(campaigns)
    ind = q(con, "SELECT * FROM campaign_indicators")
    assert set(ind.campaign_id) == set(campaigns.campaign_id)
    sizes = campaigns.set_index("campaign_id")["size"]
    assert (ind.members >= 2).all()
    assert (ind.members <= ind.campaign_id.map(sizes)).all()
    assert (ind.member_share == ind.members / ind.campaign_id.map(sizes)).all()
    assert (ind.outside_accounts >= 0).all()
    assert ind.groupby(["campaign_id", "entity_type"]).size().max() <= INDICATORS_PER_TYPE
    top = ind.sort_values("rank").groupby(["campaign_id", "entity_type"]).first()
    best = ind.groupby(["campaign_id", "entity_type"]).members.max()
    assert (top.members == best).all()


def test_evidence_weights_are_entity_weights_times_the_projection_factors(store):
    """Each evidence row is its entity's weight, times ``distant_factor`` when the two
    used it far apart, times ``uncorroborated_factor`` exactly when the pair shares no
    bond (an identity weighing at least ``bond_min_weight``) or verified schedule, and
    one kind of circumstance only (counting entities weighing at least
    ``corroborate_min_weight``); an edge's evidence sums to its weight."""
    result, con = store
    s = DetectSettings.load(result / "settings.json")
    ev = q(
        con,
        """SELECT v.src, v.dst, v.weight AS w, g.weight AS entity_w, g.entity_type,
                  g.accounts
           FROM graph_evidence v JOIN graph_entities g USING (eid)
           JOIN graph_edges e USING (src, dst) WHERE e.n_entities <= 8""",
    )
    bond = ev.entity_type.isin(SCHEDULE_TYPES) | (
        ev.entity_type.isin(BOND_TYPES) & (ev.entity_w >= s.bond_min_weight)
    )
    kind = ev.entity_type.map(CIRCUMSTANCE_KINDS).where(ev.entity_w >= s.corroborate_min_weight)
    ev["bond"], ev["kind"] = bond, kind
    per_pair = ev.groupby(["src", "dst"]).agg(bond=("bond", "any"), kinds=("kind", "nunique"))
    alone = (~per_pair.bond & (per_pair.kinds < 2)).reindex(
        pd.MultiIndex.from_frame(ev[["src", "dst"]])
    )
    scaled = alone.to_numpy() & ev.entity_type.isin(CIRCUMSTANCE_KINDS).to_numpy()
    factor = ev.w / ev.entity_w / np.where(scaled, s.uncorroborated_factor, 1.0)
    near = np.isclose(factor, 1.0, atol=1e-9) | np.isclose(factor, s.distant_factor, atol=1e-9)
    assert near.all(), ev[~near].head()
    assert scaled.any() and (~scaled).any()
