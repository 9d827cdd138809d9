"""Detection's glue for a scale-out backend: communities per component on Spark equal
Leiden on the whole graph, and the working tables handed back to DuckDB are the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage.backend import DuckDBBackend
from linkage.detect.leiden import find_communities, warm_start
from linkage.detect.scale import communities_on, hand_over
from linkage.graph import GRAPH_STAGES, TABLES, Workspace, build_graph, edge_list
from linkage.settings import DetectSettings

from .conftest import mirror
from .test_backends import _canonical as _sorted


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`_sorted` with list values as tuples."""
    for c in df.columns:
        if df[c].map(lambda v: isinstance(v, (list, np.ndarray))).any():
            df[c] = df[c].map(tuple)
    return _sorted(df)


@pytest.fixture(scope="module")
def graph_ws(store_parquet: tuple[Path, Path]):
    """The 600-account store's graph built on DuckDB (a workspace on a copy)."""
    with Workspace.open(store_parquet[0], read_only=True) as ws:
        graph = build_graph(ws, DetectSettings())
        yield ws, graph


def _graph_tables(ws: Workspace) -> list[str]:
    present = ws.present()
    return [
        t.name
        for t in TABLES.values()
        if t.stage in GRAPH_STAGES and t.kind == "table" and t.name in present
    ]


@pytest.mark.parametrize("scope", ["graph", "component"])
def test_communities_on_spark_are_the_same_as_on_duckdb(spark, graph_ws, scope):
    ws, graph = graph_ws
    s = DetectSettings(leiden_scope=scope)
    expected = communities_on(ws, graph, s)  # DuckDB, the same scope
    if scope == "graph":
        np.testing.assert_array_equal(
            expected.membership,
            find_communities(graph.accounts, edge_list(ws, graph), s).membership,
        )
    assert expected.n_communities >= 3
    mirror(ws, spark, ["edges"])
    got = communities_on(Workspace.on(spark), graph, s)
    np.testing.assert_array_equal(got.membership, expected.membership)
    # a warm start from the result itself keeps it
    start = warm_start(np.where(expected.membership >= 0, expected.membership, None))
    again = communities_on(Workspace.on(spark), graph, s, start)
    np.testing.assert_array_equal(again.membership, expected.membership)


def test_hand_over_copies_every_graph_table(spark, graph_ws, store_parquet, tmp_path):
    ws, _ = graph_ws
    names = _graph_tables(ws)
    assert {"acct", "events", "entities", "links", "edges", "entity_weight"} <= set(names)
    mirror(ws, spark, names)
    pairs = ws.arrow("pair_evidence")
    spark.register_arrow("pair_evidence", pairs)
    with Workspace.open(store_parquet[0], read_only=True) as dst:
        hand_over(Workspace.on(spark), dst, tmp_path / "staging")
        assert not (tmp_path / "staging").exists()
        for name in names:
            pd.testing.assert_frame_equal(
                _canonical(dst.fetch(f"SELECT * FROM {name}").to_pandas()),
                _canonical(ws.fetch(f"SELECT * FROM {name}").to_pandas()),
                check_dtype=False,
            )
        got = dst.arrow("pair_evidence").to_pandas()
        assert len(got) == pairs.num_rows
        pd.testing.assert_frame_equal(_canonical(got), _canonical(pairs.to_pandas()))
        assert dst.count("req") == ws.count("req")


def test_an_unknown_backend_is_refused_before_work(tmp_path):
    from linkage.detect import detect
    from linkage.errors import LinkageError

    with pytest.raises(LinkageError, match="unknown backend 'flink'"):
        detect(tmp_path / "data", tmp_path / "out", backend="flink")
    with pytest.raises(LinkageError, match="unknown leiden_scope 'node'"):
        detect(tmp_path / "data", tmp_path / "out", DetectSettings(leiden_scope="node"))
    assert not (tmp_path / "out").exists()
    assert isinstance(DuckDBBackend().names(), set)
