"""Connected components in SQL, on DuckDB and Spark, against networkx on seeded random graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest

from linkage.backend import Backend, DuckDBBackend
from linkage.backend.components import connected_components


def _graphs() -> list[tuple[str, nx.Graph]]:
    """Seeded graphs of a few hundred nodes: sparse random (many components, isolated
    nodes), a long path (depth), and disjoint dense clusters joined by a few bridges."""
    sparse = nx.gnm_random_graph(400, 300, seed=7)
    order = np.random.default_rng(3).permutation(300)
    path = nx.relabel_nodes(nx.path_graph(300), {i: int(n) for i, n in enumerate(order)})
    clusters = nx.disjoint_union_all(
        [nx.gnp_random_graph(n, 0.2, seed=n) for n in (40, 60, 80, 20, 50)]
    )
    rng = np.random.default_rng(11)  # two bridges: 40 + 60 + 80 and 20 + 50 become one each
    clusters.add_edges_from(
        [
            (int(rng.integers(0, 40)), 40 + int(rng.integers(0, 60))),
            (100 + int(rng.integers(0, 80)), 45),
            (185, 210),
        ]
    )
    return [("sparse", sparse), ("shuffled path", path), ("clusters", clusters)]


GRAPHS = _graphs()


def _run(backend: Backend, g: nx.Graph) -> tuple[dict[int, int], int]:
    src, dst = zip(*g.edges(), strict=True)
    backend.register_arrow("g_edges", pa.table({"src": list(src), "dst": list(dst)}))
    backend.register_arrow("g_nodes", pa.table({"node": list(g.nodes())}))
    found = connected_components(backend, "g_edges", "g_cc", nodes="g_nodes")
    rows = backend.fetch("SELECT node, component FROM g_cc").to_pydict()
    return dict(zip(rows["node"], rows["component"], strict=True)), found.rounds


def _check(labels: dict[int, int], g: nx.Graph) -> None:
    expected = {n: min(c) for c in nx.connected_components(g) for n in c}
    assert labels == expected


@pytest.mark.parametrize(("name", "g"), GRAPHS, ids=[n for n, _ in GRAPHS])
def test_components_on_duckdb_match_networkx(name, g):
    with DuckDBBackend() as backend:
        labels, rounds = _run(backend, g)
    _check(labels, g)
    assert rounds <= 10, "hooking roots keeps a 300-node path to few rounds (plain: 93)"


@pytest.mark.parametrize(("name", "g"), GRAPHS, ids=[n for n, _ in GRAPHS])
def test_components_on_spark_match_networkx(spark, name, g):
    labels, _ = _run(spark, g)
    _check(labels, g)
