"""Fixtures of the backend tests: one local Spark session and one small store as Parquet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from linkage import simulate
from linkage.backend import Backend, SparkBackend
from linkage.graph import Workspace
from linkage.ingest import ingest, open_store
from linkage.ingest.store import STORE_TABLES


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkBackend]:
    """A Spark backend in local mode (``local[2]``, 1g driver), shared by the session."""
    backend = SparkBackend(driver_memory="1g")
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def store_parquet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(store dir, parquet dir)``: 600 simulated accounts ingested, and the store's
    tables copied to ``parquet dir/<table>.parquet``."""
    root = tmp_path_factory.mktemp("backend-store")
    simulate(root / "data", accounts=600, seed=5, scenario="default")
    ingest(root / "data", root / "store")
    out = root / "parquet"
    out.mkdir()
    con = open_store(root / "store", read_only=True)
    try:
        for t in STORE_TABLES:
            con.execute(f"COPY (SELECT * FROM {t}) TO '{out / t}.parquet' (FORMAT parquet)")
    finally:
        con.close()
    return root / "store", out


def mirror(ws: Workspace, backend: Backend, names: Iterable[str]) -> None:
    """Copy the working tables ``names`` of the DuckDB workspace ``ws`` to ``backend``
    (computed there), so one stage can be run on both engines from the same inputs."""
    for name in names:
        backend.register_arrow(f"{name}_mirror", ws.fetch(f'SELECT * FROM "{name}"'))
        backend.create_table(name, f"SELECT * FROM {name}_mirror")
        backend.unregister(f"{name}_mirror")


def store_on(backend: Backend, parquet: Path) -> Workspace:
    """A workspace on ``backend`` over the store tables copied to ``parquet``."""
    for t in STORE_TABLES:
        backend.read_parquet(t, [str(parquet / f"{t}.parquet")])
    return Workspace.on(backend)
