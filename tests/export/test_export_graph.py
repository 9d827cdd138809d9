"""GraphML / GEXF exports parsed back with networkx: node types, counts, evidence."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter

import networkx as nx
import pandas as pd
import pytest
from typer.testing import CliRunner

from linkage.cli import app
from linkage.errors import LinkageError
from linkage.export.graph import write_graph_file
from linkage.export.property_graph import ResultGraph

runner = CliRunner()


@pytest.fixture(scope="module")
def table_counts(result_dir):
    with ResultGraph(result_dir) as g:
        nodes = {n.label: g.count(n) for n in g.nodes}
        rels = {r.type: g.count(r) for r in g.relationships}
    return {k: v for k, v in nodes.items() if v}, {k: v for k, v in rels.items() if v}


@pytest.mark.parametrize("ext", ["graphml", "gexf"])
def test_whole_result_types_and_counts(result_dir, tmp_path, table_counts, ext):
    path = tmp_path / f"result.{ext}"
    r = runner.invoke(app, ["export", "graph", str(result_dir), "-o", str(path)])
    assert r.exit_code == 0, r.output
    g = nx.read_graphml(path) if ext == "graphml" else nx.read_gexf(path)
    nodes, rels = table_counts
    assert Counter(d["label"] for _, d in g.nodes(data=True)) == nodes
    rel = "type" if ext == "graphml" else "relationship"  # GEXF reserves an edge's type
    assert Counter(d[rel] for _, _, d in g.edges(data=True)) == rels
    accounts = pd.read_parquet(result_dir / "accounts.parquet")
    flagged = {f"account:{a}" for a in accounts.account_id[accounts.flagged]}
    assert {n for n, d in g.nodes(data=True) if d.get("flagged") in (True, "true")} == flagged
    linked = [d for _, _, d in g.edges(data=True) if d[rel] == "LINKED"]
    evidence = json.loads(linked[0]["evidence"])
    assert evidence[0]["type"] in linked[0]["signals"].split(";")
    assert all(d["weight"] > 0 for d in linked)


def test_campaign_subgraph_from_the_investigation_layer(result_dir, tmp_path):
    accounts = pd.read_parquet(result_dir / "accounts.parquet")
    campaigns = pd.read_parquet(result_dir / "campaigns.parquet")
    for cid in campaigns.campaign_id:  # the big one shares organisation identifiers
        path = tmp_path / f"{cid}.gexf"
        done = write_graph_file(result_dir, path, campaign=cid)
        g = nx.read_gexf(path)
        members = set("account:" + accounts.account_id[accounts.campaign_id == cid])
        types = Counter(d["label"] for _, d in g.nodes(data=True))
        assert {n for n, d in g.nodes(data=True) if d["label"] == "Account"} == members
        assert types["Account"] == len(members) and len(types) >= 3
        assert (done.nodes, done.edges) == (g.number_of_nodes(), g.number_of_edges())
        assert not done.truncated
        linked = [d for _, _, d in g.edges(data=True) if d["relationship"] == "LINKED"]
        assert linked and all("evidence" in d for d in linked)


def test_campaign_caps_and_errors(result_dir, tmp_path):
    cid = pd.read_parquet(result_dir / "campaigns.parquet").campaign_id.iloc[0]
    done = write_graph_file(result_dir, tmp_path / "c.graphml", campaign=cid, max_nodes=20)
    assert done.truncated and done.nodes <= 20 and done.sampling
    with pytest.raises(LinkageError, match="extension must be one of"):
        write_graph_file(result_dir, tmp_path / "c.png")
    r = runner.invoke(
        app,
        ["export", "graph", str(result_dir), "-o", str(tmp_path / "x.gexf"), "--campaign", "nope"],
    )
    assert r.exit_code == 2 and "'nope'" in r.output
    assert not (tmp_path / "x.gexf").exists()


@pytest.mark.parametrize("ext", ["graphml", "gexf"])
def test_every_edge_has_its_own_id(result_dir, tmp_path, table_counts, ext):
    """Gephi keeps one edge per id: the ids in the file are distinct, one per edge."""
    path = tmp_path / f"result.{ext}"
    write_graph_file(result_dir, path)
    edges = [el for el in ET.parse(path).iter() if el.tag.rsplit("}", 1)[-1] == "edge"]
    assert len(edges) == sum(table_counts[1].values())
    ids = [el.get("id") for el in edges]
    assert None not in ids and len(set(ids)) == len(edges)
