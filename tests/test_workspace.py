"""The stage hand-off: every working table is listed once with its columns, the
typed outputs name what exists, ``evaluate`` sees the graph ``detect`` built, and
the layering rules of the pipeline packages hold."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import linkage
from linkage.detect.leiden import find_communities
from linkage.errors import LinkageError
from linkage.evaluate.baselines import BASELINES
from linkage.graph import GRAPH_STAGES, TABLES, Workspace, build_graph, edge_list
from linkage.graph.workspace import tables_of
from linkage.ingest import STORE_FILE
from linkage.progress import StageLog
from linkage.score import score_communities
from linkage.settings import DetectSettings

PACKAGE = Path(linkage.__file__).parent


@pytest.fixture(scope="module")
def rebuilt(detected):
    """The graph and scores rebuilt on a read-only workspace over the detected store."""
    root, _ = detected
    s = DetectSettings.load(root / "result" / "settings.json")
    log = StageLog()
    with Workspace.open(root / "result" / STORE_FILE, read_only=True) as ws:
        graph = build_graph(ws, s, log)
        edges = edge_list(ws, graph)
        comms = find_communities(graph.accounts, edges, s)
        scores = score_communities(ws, graph, edges, comms.membership, s)
        present = ws.present()
        columns = {name: ws.columns(name) for name in TABLES if name in present}
        counts = {name: ws.count(name) for name in TABLES if name in present}
        accounts = ws.execute("SELECT account_id FROM acct ORDER BY aid").df().account_id
        groups = {name: fn(ws, graph, s.min_campaign_size) for name, fn in BASELINES.items()}
        cluster_pairs = ws.execute(
            """SELECT count(*) FROM pair_evidence JOIN entity_weight USING (eid)
               WHERE etype = 'prompt_cluster'"""
        ).fetchone()[0]
    return {
        "root": root,
        "graph": graph,
        "scores": scores,
        "present": present,
        "columns": columns,
        "counts": counts,
        "accounts": accounts,
        "log": log,
        "groups": groups,
        "cluster_pairs": cluster_pairs,
    }


def test_every_working_table_is_listed_with_its_columns(rebuilt):
    present, columns = rebuilt["present"], rebuilt["columns"]
    assert present == set(TABLES), "a stage left a table the registry does not list"
    for name, table in TABLES.items():
        assert columns[name] == table.columns, name
        assert table.kind in {"table", "view", "arrow"}
    with pytest.raises(LinkageError, match="no working tables"):
        tables_of("no such stage")


def test_typed_outputs_carry_the_counts_of_their_tables(rebuilt):
    graph, scores, counts, log = (rebuilt[k] for k in ("graph", "scores", "counts", "log"))
    assert graph.accounts == counts["acct"] == 3000
    assert graph.templates.count == counts["templates"] > 0
    assert graph.prompt_clusters.count > 0
    assert graph.ip_kinds.addresses == counts["entity_kind"]
    assert graph.pairs == counts["pair_evidence"] and graph.edges == counts["edges"]
    assert {t.name for t in graph.TABLES} == {
        "entities",
        "links",
        "entity_weight",
        "pair_evidence",
        "edges",
    }
    assert len(scores.accounts) == graph.accounts
    assert [r["stage"] for r in log.records] == list(GRAPH_STAGES)


def test_the_rebuilt_graph_and_scores_are_those_detect_saved(rebuilt):
    """``evaluate`` rebuilds the graph with ``build_graph``: it must be detect's own."""
    result = rebuilt["root"] / "result"
    saved = pd.read_parquet(result / "accounts.parquet")
    assert list(saved.account_id) == list(rebuilt["accounts"])
    np.testing.assert_array_equal(saved.score.to_numpy(), rebuilt["scores"].accounts.score)
    assert len(pd.read_parquet(result / "edges.parquet")) == rebuilt["graph"].edges


def test_baselines_see_the_prompt_cluster_pairs(rebuilt):
    """The baselines run on the same bounded pairs the engine weighs, prompt clusters included
    (a hand-made replay of the stages once left them out)."""
    assert rebuilt["cluster_pairs"] > 0
    for name, group in rebuilt["groups"].items():
        assert len(group) == rebuilt["graph"].accounts, name


PIPELINE = ("ingest", "graph", "detect", "score")
FORBIDDEN = ("investigate", "export", "neo4j", "api")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(module, inside a function)`` for every import in a file."""
    tree = ast.parse(path.read_text())
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module:
                out.append((child.module, nested))
            elif isinstance(child, ast.Import):
                out.extend((alias.name, nested) for alias in child.names)
            visit(child, inner)

    visit(tree, False)
    return out


@pytest.mark.parametrize("package", PIPELINE)
def test_pipeline_packages_import_no_reader_side_and_hide_no_import(package):
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for module, nested in _imports(path):
            parts = module.split(".")
            assert not (
                parts[0] in FORBIDDEN or parts[:2] in [["linkage", f] for f in FORBIDDEN]
            ), f"{path.name} imports {module}"
            assert not (nested and module.startswith("linkage")), (
                f"{path.name} imports {module} inside a function"
            )
    if package == "graph":
        modules = {m for p in (PACKAGE / package).rglob("*.py") for m, _ in _imports(p)}
        assert not any(
            m.startswith(("linkage.simulate", "linkage.score", "linkage.detect")) for m in modules
        )
