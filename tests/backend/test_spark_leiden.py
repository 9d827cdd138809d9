"""Leiden per component on Spark gives the default backend's communities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from linkage.backend.components import connected_components
from linkage.detect.leiden import find_communities
from linkage.detect.spark_leiden import leiden_by_component
from linkage.graph import Workspace, build_graph, edge_list
from linkage.settings import DetectSettings


def test_leiden_by_component_on_spark_is_find_communities(spark, store_parquet: tuple[Path, Path]):
    s = DetectSettings()
    with Workspace.open(store_parquet[0], read_only=True) as ws:
        graph = build_graph(ws, s)
        edges = edge_list(ws, graph)
    expected = find_communities(graph.accounts, edges, s).membership
    spark.register_arrow(
        "lv_edges",
        pa.table({"src": edges.src, "dst": edges.dst, "weight": edges.weight,
                  "bond": edges.bond, "schedule": edges.schedule}),
    )  # fmt: skip
    found = connected_components(spark, "lv_edges", "lv_cc")
    leiden_by_component(spark, "lv_edges", "lv_cc", "lv_comm", s)
    rows = spark.fetch("SELECT node, community FROM lv_comm").to_pydict()
    got = np.full(graph.accounts, -1, np.int64)
    got[np.asarray(rows["node"], np.int64)] = rows["community"]
    components = (
        spark.fetch(
            "SELECT count(DISTINCT c.component) AS n FROM lv_comm m JOIN lv_cc c USING (node)"
        )
        .column(0)[0]
        .as_py()
    )
    assert expected.max() >= 2 and components >= 2, "several communities in several components"
    assert found.rounds <= 10
    np.testing.assert_array_equal(got, expected)
