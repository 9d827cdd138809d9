"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel (nbclient +
ipykernel from this environment) and produce what they promise."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = "linkage-notebooks"
CELL_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernel spec that starts this interpreter's ipykernel, so a fresh clone needs no
    system Jupyter and no `ipykernel install`."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (linkage)",
                "language": "python",
            }
        )
    )
    return root


def run_notebook(
    name: str, work: Path, jupyter_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, float]:
    """Execute notebooks/NAME in a fresh kernel with LINKAGE_NOTEBOOK_DIR=work; any cell
    error fails the test (nbclient raises CellExecutionError with the traceback)."""
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(jupyter_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("LINKAGE_NOTEBOOK_DIR", str(work))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    began = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - began


def stdout(nb: Any) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "stream" and out.name == "stdout"
    )


def images(nb: Any) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_clean_and_say_what_they_need(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code"
    assert all(not c.outputs and c.execution_count is None for c in code), (
        f"{path.name} is committed with outputs: clear them before committing"
    )
    intro = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown"
    assert "What it needs" in intro and "How long" in intro, path.name


def test_every_notebook_is_documented_in_the_readme() -> None:
    readme = (NOTEBOOKS.parent / "README.md").read_text()
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == [
        "01_quickstart.ipynb",
        "02_investigate_campaign.ipynb",
        "03_tuning_and_evaluation.ipynb",
    ]
    assert all(f"`{name}`" in readme for name in names)


def test_quickstart(tmp_path: Path, jupyter_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, seconds = run_notebook("01_quickstart.ipynb", tmp_path, jupyter_path, monkeypatch)
    out = stdout(nb)
    campaigns = pd.read_parquet(tmp_path / "result" / "campaigns.parquet")
    accounts = pd.read_parquet(tmp_path / "result" / "accounts.parquet")
    assert f"campaigns found: {len(campaigns)}" in out and len(campaigns) >= 2
    # the ban list it wrote is exactly the flagged accounts, and they are the simulated
    # campaigns' accounts (the default scenario at 3,000 accounts is detected cleanly)
    ban = pd.read_csv(tmp_path / "banlist.csv")
    assert f"ban list: {len(ban)} accounts written" in out
    assert set(ban.account_id) == set(accounts.account_id[accounts.flagged])
    labels = pd.read_parquet(tmp_path / "data" / "labels.parquet")
    assert set(ban.account_id) == set(labels.account_id[labels.campaign_id.notna()])
    assert images(nb) == 2  # score distribution, campaign sizes
    print(f"01_quickstart executed in {seconds:.1f} s")


def test_tuning_and_evaluation(
    tmp_path: Path, jupyter_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import linkage

    nb, seconds = run_notebook(
        "03_tuning_and_evaluation.ipynb", tmp_path, jupyter_path, monkeypatch
    )
    out = stdout(nb)
    assert images(nb) == 2  # precision-recall, settings sweep
    # the settings it saved load back, and the CLI run made with them recorded exactly them
    chosen = linkage.DetectSettings.load(tmp_path / "chosen_settings.json")
    assert linkage.DetectSettings.load(tmp_path / "chosen" / "settings.json") == chosen
    assert "CLI run with the saved settings: precision" in out
    # the sweep really varied the settings: one result directory per distinct run
    runs = sorted((tmp_path / "sweep").iterdir())
    assert len(runs) == 13
    resolutions = {linkage.DetectSettings.load(r / "settings.json").resolution for r in runs}
    assert {0.0003, 0.1} <= resolutions
    # what the precision-recall figure shows: the engine beats every baseline on `default`
    report = linkage.evaluate(tmp_path / "default", tmp_path / "data" / "labels.parquet")
    engine = report["engine"]
    assert engine["precision"] >= 0.95 and engine["recall"] >= 0.95
    assert all(engine["f1"] > b["f1"] + 0.5 for b in report["baselines"].values())
    print(f"03_tuning_and_evaluation executed in {seconds:.1f} s")


def test_investigate_campaign(
    tmp_path: Path, jupyter_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import networkx as nx

    import linkage

    nb, seconds = run_notebook("02_investigate_campaign.ipynb", tmp_path, jupyter_path, monkeypatch)
    out = stdout(nb)
    result = tmp_path / "result"
    campaigns = pd.read_parquet(result / "campaigns.parquet")
    top = campaigns.sort_values(["score", "campaign_id"], ascending=[False, True]).campaign_id.iloc[
        0
    ]
    assert f"top campaign: {top}" in out
    assert images(nb) == 4  # subgraph, timeline, indicators, why linked
    # the campaign's ban-list rows it wrote are exactly the campaign's flagged accounts
    accounts = pd.read_parquet(result / "accounts.parquet")
    want = set(accounts.account_id[(accounts.campaign_id == top) & accounts.flagged])
    assert want and set(pd.read_csv(tmp_path / f"{top}_banlist.csv").account_id) == want
    # the GraphML it wrote is the API's subgraph of that campaign
    graph = nx.read_graphml(tmp_path / f"{top}.graphml")
    with linkage.open_result(result) as inv:
        sub = inv.subgraph(top)
    assert set(graph.nodes) == {n["id"] for n in sub.nodes}
    assert {n for n, d in graph.nodes(data=True) if d["label"] == "Account"} >= {
        f"account:{a}" for a in want
    }
    print(f"02_investigate_campaign executed in {seconds:.1f} s")
