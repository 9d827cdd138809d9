"""A campaign graph whose shared entities include identifiers (an Identifier's key
property is named ``key``) converts to networkx and GraphML whole."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from linkage.detect import DetectionResult
from linkage.investigate import open_result, to_networkx, write_graph


def test_identifier_nodes_convert_and_write(
    detected: tuple[Path, DetectionResult], tmp_path: Path
) -> None:
    root, _ = detected
    with open_result(root / "result") as inv:
        page, _ = inv.campaigns()
        graphs = [inv.subgraph(c["campaign_id"], max_nodes=5000) for c in page]
    with_ids = [g for g in graphs if any(n["label"] == "Identifier" for n in g.nodes)]
    assert with_ids, "expected a campaign that shares phone numbers or other identifiers"
    for i, g in enumerate(with_ids):
        nxg = to_networkx(g)
        assert nxg.number_of_nodes() == len(g.nodes)
        for n in g.nodes:
            assert nxg.nodes[n["id"]]["key"] == n["key"]
            assert nxg.nodes[n["id"]]["label"] == n["label"]
        back = nx.read_graphml(write_graph(g, tmp_path / f"c{i}.graphml"))
        assert back.number_of_nodes() == len(g.nodes)
        assert back.number_of_edges() == len(g.edges)
