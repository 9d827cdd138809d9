"""Leiden per component: the same communities on DuckDB and on Spark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from linkage.backend import DuckDBBackend
from linkage.backend.components import connected_components
from linkage.detect.by_component import leiden_by_component
from linkage.detect.leiden import find_communities
from linkage.graph import Workspace, build_graph, edge_list
from linkage.settings import DetectSettings


def _by_component(backend, edges, accounts: int, s: DetectSettings) -> tuple[np.ndarray, int]:
    """Membership from leiden_by_component on ``backend``, and the components it spans."""
    backend.register_arrow(
        "lv_edges",
        pa.table({"src": edges.src, "dst": edges.dst, "weight": edges.weight,
                  "bond": edges.bond, "schedule": edges.schedule}),
    )  # fmt: skip
    found = connected_components(backend, "lv_edges", "lv_cc")
    assert found.rounds <= 10
    leiden_by_component(backend, "lv_edges", "lv_cc", "lv_comm", s)
    rows = backend.fetch("SELECT node, community FROM lv_comm").to_pydict()
    got = np.full(accounts, -1, np.int64)
    got[np.asarray(rows["node"], np.int64)] = rows["community"]
    sql = "SELECT count(DISTINCT c.component) AS n FROM lv_comm m JOIN lv_cc c USING (node)"
    return got, int(backend.fetch(sql).column(0)[0].as_py())


def test_leiden_by_component_is_the_same_on_both_backends(spark, store_parquet: tuple[Path, Path]):
    s = DetectSettings()
    with Workspace.open(store_parquet[0], read_only=True) as ws:
        graph = build_graph(ws, s)
        edges = edge_list(ws, graph)
    on_spark, components = _by_component(spark, edges, graph.accounts, s)
    with DuckDBBackend() as duck:
        on_duckdb, _ = _by_component(duck, edges, graph.accounts, s)
    assert on_spark.max() >= 2 and components >= 2, "several communities in several components"
    np.testing.assert_array_equal(on_spark, on_duckdb)
    # on this graph the draw does not matter: the whole-graph run agrees
    np.testing.assert_array_equal(on_spark, find_communities(graph.accounts, edges, s).membership)
