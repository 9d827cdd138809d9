"""Detection on a scale-out backend (Spark): the evidence is built and the communities
are found there; attachment, scoring and the outputs run on DuckDB as always.

Ingest validates on the backend and registers the store tables there
(:func:`linkage.ingest.spark.ingest_on`); the graph stages
(:func:`linkage.graph.build_graph`) run their SQL and numpy steps on the backend's
:class:`~linkage.graph.Workspace` over them. Communities are found by one Leiden run
over the edge list on the driver (the default, ``leiden_scope`` ``graph``: the
default backend's result exactly), or per connected component (``component``:
components in SQL, :mod:`linkage.backend.components`, each partitioned on an
executor, :mod:`linkage.detect.by_component`; only each account's community comes
back). The working tables the later steps read are then handed to the DuckDB
workspace on the result's store (:func:`hand_over`) through Parquet files in a
staging directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.backend import BACKENDS, Backend, SparkBackend, get_backend
from linkage.backend.components import connected_components
from linkage.backend.spark import local_defaults, require_pyspark
from linkage.detect.by_component import leiden_by_component
from linkage.detect.leiden import Communities, find_communities
from linkage.errors import LinkageError
from linkage.graph import GRAPH_STAGES, TABLES, EdgeList, Projection, Workspace, edge_list
from linkage.graph.events import REQ_SQL
from linkage.graph.project import edge_list_sql
from linkage.settings import DetectSettings

__all__ = [
    "check_backend",
    "communities_on",
    "engine",
    "hand_over",
]


@contextmanager
def engine(name: str) -> Iterator[Backend | None]:
    """The backend ``name``, or ``None`` for ``duckdb`` (detection's own connection).
    Spark runs on the session already active (in tests, or one ``spark-submit``
    started: the cluster its settings describe), left running; otherwise on a new one
    in local mode (:func:`~linkage.backend.spark.local_defaults`), stopped after."""
    if name == "duckdb":
        yield None
        return
    if name == "spark":
        sql = require_pyspark()
        active = sql.SparkSession.getActiveSession()
        if active is None and "PYSPARK_GATEWAY_PORT" in os.environ:  # under spark-submit
            active = sql.SparkSession.builder.appName("linkage").getOrCreate()
        backend: Backend = (
            SparkBackend(active) if active is not None else SparkBackend(**local_defaults())
        )
    else:
        backend = get_backend(name)
    try:
        yield backend
    finally:
        backend.close()


LEIDEN_SCOPES = ("graph", "component")


def check_backend(name: str, s: DetectSettings) -> None:
    """Refuse an unknown backend or Leiden scope before any work is done."""
    if name not in BACKENDS:
        raise LinkageError(f"unknown backend {name!r}: choose one of {', '.join(sorted(BACKENDS))}")
    if s.leiden_scope not in LEIDEN_SCOPES:
        raise LinkageError(
            f"unknown leiden_scope {s.leiden_scope!r}: choose one of {', '.join(LEIDEN_SCOPES)}"
        )


def communities_on(
    ws: Workspace,
    graph: Projection,
    s: DetectSettings,
    initial: np.ndarray | None = None,
    edges: EdgeList | None = None,
) -> Communities:
    """Communities of the projection's ``edges`` on the workspace's backend, per
    ``s.leiden_scope``: one Leiden run over the whole graph here (``edges``, or read
    from the backend), or components in SQL and Leiden per component through
    ``map_by`` (on Spark: the executors), each account's community brought back (``-1``
    outside every community). ``initial``: a warm start."""
    if s.leiden_scope == "graph":
        found = edges if edges is not None else edge_list(ws, graph)
        return find_communities(graph.accounts, found, s, initial)
    backend = ws.backend
    ws.create("leiden_edges", edge_list_sql())
    connected_components(backend, "leiden_edges", "edge_components")
    start = None
    if initial is not None:
        start = "leiden_initial"
        backend.register_arrow(
            start, pa.table({"node": np.arange(len(initial)), "label": initial.astype(np.int64)})
        )
    leiden_by_component(backend, "leiden_edges", "edge_components", "communities", s, start)
    got = ws.fetch("SELECT node, community FROM communities")
    membership = np.full(graph.accounts, -1, np.int64)
    membership[got.column("node").to_numpy()] = got.column("community").to_numpy()
    ws.drop("leiden_edges", "edge_components", "communities", "communities_labels")
    if start is not None:
        backend.unregister(start)
    return Communities(membership, float("nan"), s.resolution, s.seed, 0)


def hand_over(src: Workspace, dst: Workspace, staging: Path) -> None:
    """Copy the graph stages' working tables from ``src`` to the DuckDB workspace
    ``dst`` through Parquet files under ``staging`` (removed after): tables as temp
    tables, Arrow tables kept as Arrow, the ``req`` view made again over ``dst``'s
    store."""
    present = src.backend.names()
    for table in TABLES.values():
        if table.stage not in GRAPH_STAGES:
            continue
        if table.name == "req":
            dst.create("req", REQ_SQL, view=True)
            continue
        if table.name not in present:
            continue
        path = staging / table.name
        src.backend.write_parquet(table.name, str(path))
        if table.kind == "arrow":
            dst.keep(table.name, _read(path))
        else:
            dst.backend.read_parquet(f"{table.name}_handed", [_parquet_glob(path)])
            dst.create(table.name, f'SELECT * FROM "{table.name}_handed"')
            dst.execute(f'DROP VIEW "{table.name}_handed"')
    shutil.rmtree(staging, ignore_errors=True)


def _parquet_glob(path: Path) -> str:
    return str(path / "*.parquet") if path.is_dir() else str(path)


def _read(path: Path) -> pa.Table:
    return pq.read_table(path) if path.is_file() else pq.ParquetDataset(path).read()
