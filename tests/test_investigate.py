"""The investigation query layer on a real detection result (3,000 simulated accounts),
checked against independent sources: the contract outputs (``accounts.parquet``,
``edges.parquet``, ``evidence.parquet``), the ingested ``requests`` table, networkx."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import networkx as nx
import pandas as pd
import pytest

from linkage import LinkageError
from linkage.export import banlist_lines, write_banlist
from linkage.ingest import open_store
from linkage.investigate import (
    NotFoundError,
    graph_bytes,
    open_result,
    to_networkx,
    write_graph,
)
from linkage.schema import ENTITY_LABELS, ENTITY_RELATIONSHIPS, load_schema


@pytest.fixture(scope="module")
def result(detected):
    return detected[0] / "result"


@pytest.fixture(scope="module")
def inv(result):
    with open_result(result) as investigation:
        yield investigation


@pytest.fixture(scope="module")
def tables(result):
    return {
        "accounts": pd.read_parquet(result / "accounts.parquet"),
        "campaigns": pd.read_parquet(result / "campaigns.parquet"),
        "edges": pd.read_parquet(result / "edges.parquet"),
        "evidence": pd.read_parquet(result / "evidence.parquet"),
    }


@pytest.fixture(scope="module")
def account_graph(tables):
    """The linked-account graph rebuilt with networkx from ``edges.parquet``."""
    g = nx.Graph()
    g.add_nodes_from(tables["accounts"].account_id)
    for e in tables["edges"].itertuples():
        g.add_edge(e.src, e.dst, weight=e.weight)
    return g


def biggest_campaign(tables) -> str:
    c = tables["campaigns"].sort_values(["size", "campaign_id"], ascending=[False, True])
    return str(c.campaign_id.iloc[0])


def test_campaigns_filter_sort_and_page(inv, tables):
    camps = tables["campaigns"]
    rows, total = inv.campaigns(limit=1000)
    assert total == len(camps) >= 2
    assert [r["campaign_id"] for r in rows] == list(
        camps.sort_values(["score", "campaign_id"], ascending=[False, True]).campaign_id
    )
    smallest = int(camps["size"].min())
    rows, total = inv.campaigns(min_size=smallest + 1, sort="size", limit=1000)
    assert total == int((camps["size"] > smallest).sum())
    assert [r["size"] for r in rows] == sorted(r["size"] for r in rows)
    first, _ = inv.campaigns(limit=1, sort="-size")
    second, _ = inv.campaigns(limit=1, offset=1, sort="-size")
    both, _ = inv.campaigns(limit=2, sort="-size")
    assert both == first + second
    assert inv.campaigns(min_score=1.01)[1] == 0
    with pytest.raises(LinkageError, match="sort must be one of"):
        inv.campaigns(sort="name")
    with pytest.raises(LinkageError, match="limit must be between"):
        inv.campaigns(limit=0)


def test_campaign_detail_timeline_and_indicators(inv, tables, result):
    cid = biggest_campaign(tables)
    c = inv.campaign(cid)
    row = tables["campaigns"].set_index("campaign_id").loc[cid]
    assert c["size"] == row["size"] and c["reasons"] == list(row["reasons"])
    members = tables["accounts"][tables["accounts"].campaign_id == cid]
    assert c["flagged"] == int(members.flagged.sum())
    con = open_store(result, read_only=True)
    try:
        requests = con.execute(
            "SELECT count(*) FROM requests r JOIN (SELECT unnest(?::VARCHAR[]) AS account_id) m "
            "USING (account_id)",
            [list(members.account_id)],
        ).fetchone()[0]
    finally:
        con.close()
    assert sum(d["requests"] for d in c["timeline"]) == requests
    assert [d["day"] for d in c["timeline"]] == sorted(d["day"] for d in c["timeline"])
    assert c["indicators"], "a campaign shares infrastructure"
    for etype, items in c["indicators"].items():
        assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
        assert all(2 <= i["members"] <= c["size"] for i in items)
        assert all(i["label"] == ENTITY_LABELS[etype] for i in items)
    with pytest.raises(NotFoundError, match="cmp_nope"):
        inv.campaign("cmp_nope")


def test_campaign_subgraph_matches_an_independent_build(inv, tables, result):
    cid = min(tables["campaigns"].campaign_id, key=lambda c: (inv.campaign(c)["size"], c))
    members = set(tables["accounts"].account_id[tables["accounts"].campaign_id == cid])
    g = inv.subgraph(cid, max_nodes=5000, max_edges=50000)
    assert not g.truncated and g.sampling is None
    accounts = {n["key"] for n in g.nodes if n["label"] == "Account"}
    assert accounts == members
    # entities used by >= 2 members, from the ingested requests and payments
    con = open_store(result, read_only=True)
    try:
        shared_ips = {
            r[0]
            for r in con.execute(
                "SELECT ip FROM requests WHERE account_id = ANY(?::VARCHAR[]) AND ip IS NOT NULL "
                "GROUP BY ip HAVING count(DISTINCT account_id) >= 2",
                [sorted(members)],
            ).fetchall()
        }
    finally:
        con.close()
    assert {n["key"] for n in g.nodes if n["label"] == "IP"} == shared_ips
    linked = tables["edges"][tables["edges"].src.isin(members) & tables["edges"].dst.isin(members)]
    got = {
        (e["source"], e["target"]): e["properties"]["weight"]
        for e in g.edges
        if e["type"] == "LINKED"
    }
    want = {(f"account:{e.src}", f"account:{e.dst}"): e.weight for e in linked.itertuples()}
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k]) for k in want)
    assert g.total_edges == len(g.edges)
    # every relationship type is one of the schema's, between the labels it names
    schema = load_schema()
    label_of = {n["id"]: n["label"] for n in g.nodes}
    for e in g.edges:
        rel = schema.relationships[e["type"]]
        assert (label_of[e["source"]], label_of[e["target"]]) == (rel.source, rel.target)
    assert set(label_of.values()) <= set(schema.nodes)
    # and as networkx: every entity node is reached by at least two members
    nxg = to_networkx(g)
    for n, data in nxg.nodes(data=True):
        if data["label"] in ("Account", "IPPrefix", "BIN"):
            continue
        users = {u for u, _, k in nxg.in_edges(n, keys=True) if k in ENTITY_RELATIONSHIPS.values()}
        binding = len(users) >= 2
        feeds_parent = any(k in ("IN_PREFIX", "HAS_BIN") for _, _, k in nxg.out_edges(n, keys=True))
        assert binding or feeds_parent, n


def test_subgraph_cap_is_deterministic_and_stated(inv, tables):
    cid = biggest_campaign(tables)
    full = inv.subgraph(cid, max_nodes=5000, max_edges=50000)
    capped = inv.subgraph(cid, max_nodes=30, max_edges=40)
    assert capped == inv.subgraph(cid, max_nodes=30, max_edges=40)
    assert len(capped.nodes) <= 30 < full.total_nodes == capped.total_nodes
    assert capped.truncated and "members with the highest score" in (capped.sampling or "")
    assert sum(e["type"] == "LINKED" for e in capped.edges) == 40
    members = tables["accounts"][tables["accounts"].campaign_id == cid].sort_values(
        ["score", "account_id"], ascending=[False, True]
    )
    shown = [n["key"] for n in capped.nodes if n["label"] == "Account"]
    assert shown == list(members.account_id[: len(shown)])
    ids = {n["id"] for n in capped.nodes}
    assert all(e["source"] in ids and e["target"] in ids for e in capped.edges)
    weights = [e["properties"]["weight"] for e in capped.edges if e["type"] == "LINKED"]
    assert weights == sorted(weights, reverse=True)
    among = sorted(
        (-e["properties"]["weight"], e["source"], e["target"])
        for e in full.edges
        if e["type"] == "LINKED" and e["source"] in ids and e["target"] in ids
    )
    kept = [(e["source"], e["target"]) for e in capped.edges if e["type"] == "LINKED"]
    assert {k[1:] for k in among[:40]} == set(kept)


def test_account_why_linked_matches_the_evidence_files(inv, tables, account_graph):
    flagged = tables["accounts"][tables["accounts"].flagged].sort_values("account_id")
    aid = str(flagged.account_id.iloc[0])
    a = inv.account(aid, max_links=1000)
    assert a["account"]["account_id"] == aid
    assert a["campaign"]["campaign_id"] == flagged.campaign_id.iloc[0]
    assert a["links_total"] == account_graph.degree(aid)
    assert {x["account_id"] for x in a["links"]} == set(account_graph[aid])
    weights = [x["weight"] for x in a["links"]]
    assert weights == sorted(weights, reverse=True)
    ev = tables["evidence"]
    for link in a["links"][:10]:
        pair = sorted([aid, link["account_id"]])
        want = ev[(ev.src == pair[0]) & (ev.dst == pair[1])]
        assert {(e["entity_type"], e["entity"]) for e in link["evidence"]} == set(
            zip(want.entity_type, want.entity, strict=True)
        )
        assert link["weight"] == pytest.approx(account_graph[aid][link["account_id"]]["weight"])
    assert a["entities_total"] >= len(a["entities"]) > 0
    assert [e["uses"] for e in a["entities"]] == sorted(
        (e["uses"] for e in a["entities"]), reverse=True
    )
    short = inv.account(aid, max_links=2, max_entities=3)
    assert len(short["links"]) == min(2, a["links_total"]) and len(short["entities"]) == 3
    loner = next(n for n in account_graph if account_graph.degree(n) == 0)
    assert inv.account(loner)["links"] == []
    with pytest.raises(NotFoundError, match="acct_missing"):
        inv.account("acct_missing")


@pytest.mark.parametrize("hops", [1, 2])
def test_neighbourhood_is_the_networkx_ego_graph(inv, tables, account_graph, hops):
    flagged = tables["accounts"][tables["accounts"].flagged].sort_values("account_id")
    center = str(flagged.account_id.iloc[-1])
    ego = nx.ego_graph(account_graph, center, radius=hops)
    g = inv.neighbourhood(center, hops=hops, max_nodes=5000, max_edges=50000)
    assert {n["key"] for n in g.nodes} == set(ego.nodes)
    assert g.total_nodes == ego.number_of_nodes() and not g.truncated
    got = {frozenset((e["source"][8:], e["target"][8:])) for e in g.edges}
    assert got == {frozenset(e) for e in ego.edges}
    dist = nx.single_source_shortest_path_length(account_graph, center, cutoff=hops)
    assert all(n["properties"]["hop"] == dist[n["key"]] for n in g.nodes)
    # the cap keeps the centre, then the first hop by heaviest link
    capped = inv.neighbourhood(center, hops=hops, max_nodes=4, max_edges=3)
    assert capped.nodes[0]["key"] == center and len(capped.nodes) == 4
    first = sorted(account_graph[center], key=lambda o: (-account_graph[center][o]["weight"], o))
    assert [n["key"] for n in capped.nodes][1:] == first[:3]
    assert capped.truncated and len(capped.edges) <= 3
    with pytest.raises(LinkageError, match="hops must be between 1 and 2"):
        inv.neighbourhood(center, hops=3)


def test_entity_lists_every_account_that_used_it(inv, result):
    con = open_store(result, read_only=True)
    try:
        ip, n = con.execute(
            "SELECT ip, count(DISTINCT account_id) AS n FROM requests WHERE ip IS NOT NULL "
            "GROUP BY ip ORDER BY n DESC, ip LIMIT 1"
        ).fetchone()
        uses = dict(
            con.execute(
                "SELECT account_id, count(*) FROM requests WHERE ip = ? GROUP BY account_id", [ip]
            ).fetchall()
        )
    finally:
        con.close()
    e = inv.entity("ip", ip, limit=1000)
    assert e["accounts_total"] == n == len(e["accounts"]) >= 2
    assert {a["account_id"]: a["uses"] for a in e["accounts"]} == uses
    assert e["entity"]["label"] == "IP" and e["entity"]["parent"]["entity_type"] == "prefix"
    page = inv.entity("ip", ip, limit=1, offset=1)
    assert page["accounts"] == e["accounts"][1:2]
    prefix = inv.entity("prefix", e["entity"]["parent"]["entity"])
    assert prefix["accounts_total"] >= n
    with pytest.raises(LinkageError, match="entity type must be one of"):
        inv.entity("phone", "1")
    with pytest.raises(NotFoundError):
        inv.entity("ip", "203.0.113.254")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_banlist_lines_are_the_export_file(inv, result, tmp_path, fmt):
    path = tmp_path / f"ban.{fmt}"
    n = write_banlist(result, path)
    assert n == len(inv.banlist()) > 0
    assert "".join(banlist_lines(inv.banlist(), fmt, chunk=7)) == path.read_text()


def test_graph_files_round_trip(inv, tables, tmp_path):
    g = inv.subgraph(biggest_campaign(tables), max_nodes=60, max_edges=100)
    for ext, read in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        path = write_graph(g, tmp_path / f"c.{ext}")
        back = read(path)
        assert back.number_of_nodes() == len(g.nodes)
        assert back.number_of_edges() == len(g.edges)
        labels = nx.get_node_attributes(back, "label")
        assert set(labels.values()) <= set(load_schema().nodes)
    assert graph_bytes(g).startswith(b"<?xml")
    with pytest.raises(LinkageError, match="extension must be one of"):
        write_graph(g, tmp_path / "c.json")


def test_concurrent_queries_agree_with_serial_ones(inv, tables):
    ids = list(tables["accounts"][tables["accounts"].flagged].account_id[:12])
    serial = [inv.account(a) for a in ids]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(inv.account, ids))
    assert parallel == serial


def test_bad_result_dirs_and_closed_investigations(tmp_path, result):
    with pytest.raises(LinkageError, match="not a result directory"):
        open_result(tmp_path)
    inv = open_result(result)
    inv.close()
    with pytest.raises(LinkageError, match="closed"):
        inv.campaigns()


def test_evidence_read_from_the_store_matches_the_in_memory_layout(result, inv, tables):
    """When graph_evidence is not contiguous per edge, the layer joins on the pairs
    instead: same answers."""
    flagged = tables["accounts"][tables["accounts"].flagged].sort_values("account_id")
    aid = str(flagged.account_id.iloc[3])
    cid = biggest_campaign(tables)
    with open_result(result, threads=1) as other:
        other._adjacency = dataclasses.replace(
            inv.adjacency, ev_lo=None, ev_n=None, ev_eid=None, ev_w=None
        )
        assert other.account(aid) == inv.account(aid)
        assert other.subgraph(cid, max_nodes=60, max_edges=100) == inv.subgraph(
            cid, max_nodes=60, max_edges=100
        )
        assert other.neighbourhood(aid, hops=2, evidence_per_edge=8) == inv.neighbourhood(
            aid, hops=2, evidence_per_edge=8
        )
    with pytest.raises(LinkageError, match="threads must be between"):
        open_result(result, threads=0)


def test_entity_pages_are_row_ranges_in_uses_order(inv, result):
    """Pages come from row ranges of graph_links (no sort); they equal the sorted query."""
    assert inv.adjacency.link_lo is not None
    con = open_store(result, read_only=True)
    try:
        etype, value, eid, n = con.execute(
            "SELECT entity_type, entity, eid, accounts FROM graph_entities "
            "ORDER BY accounts DESC, eid LIMIT 1"
        ).fetchone()
        want = [
            r[0]
            for r in con.execute(
                "SELECT a.account_id FROM graph_links l JOIN graph_accounts a USING (aid) "
                "WHERE l.eid = ? ORDER BY l.uses DESC, l.aid",
                [eid],
            ).fetchall()
        ]
    finally:
        con.close()
    assert n == len(want) > 100
    got: list[str] = []
    for offset in range(0, n + 50, 50):
        page = inv.entity(etype, value, limit=50, offset=offset)
        got += [a["account_id"] for a in page["accounts"]]
    assert got == want


def test_a_store_in_another_link_order_falls_back_to_sorting(result, inv, tmp_path):
    import shutil

    copy = tmp_path / "result"
    shutil.copytree(result, copy)
    con = open_store(copy, read_only=False)
    try:
        con.execute(
            "CREATE OR REPLACE TABLE graph_links AS SELECT * FROM graph_links ORDER BY eid, aid"
        )
        etype, value = con.execute(
            "SELECT entity_type, entity FROM graph_entities ORDER BY accounts DESC, eid LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    with open_result(copy) as other:
        assert other.adjacency.link_lo is None
        assert other.entity(etype, value, limit=200) == inv.entity(etype, value, limit=200)


def test_campaign_baseline_is_the_whole_platform_per_day(inv, tables, result):
    c = inv.campaign(biggest_campaign(tables))
    con = open_store(result, read_only=True)
    try:
        want = con.execute(
            "SELECT strftime(ts::DATE, '%Y-%m-%d') AS day, count(*), count(DISTINCT account_id) "
            "FROM requests GROUP BY day ORDER BY day"
        ).fetchall()
    finally:
        con.close()
    assert [(d["day"], d["requests"], d["accounts"]) for d in c["baseline"]] == want
    days = {d["day"]: d for d in c["baseline"]}
    assert all(t["requests"] <= days[t["day"]]["requests"] for t in c["timeline"])
