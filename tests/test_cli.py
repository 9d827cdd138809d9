"""The command line, as a user runs it: the demo (the README's main job) and the
simulate -> detect -> evaluate -> export path, with clear errors."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from linkage.cli import app

runner = CliRunner()


def test_demo_runs_the_main_job(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "ban list written to" in result.output
    ban = pd.read_csv(tmp_path / "demo" / "banlist.csv")
    assert len(ban) > 50
    assert (tmp_path / "demo" / "result" / "campaigns.parquet").exists()


def test_simulate_detect_evaluate_export(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    r = runner.invoke(
        app, ["simulate", str(data), "--accounts", "800", "--seed", "2", "--format", "csv"]
    )
    assert r.exit_code == 0, r.output
    assert (data / "requests.csv").exists()
    r = runner.invoke(app, ["detect", str(data), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "accounts flagged" in r.output
    r = runner.invoke(app, ["evaluate", str(out), "--labels", str(data / "labels.csv")])
    assert r.exit_code == 0, r.output
    report = json.loads((out / "evaluation.json").read_text())
    assert set(report["baselines"]) == {"connected_components", "fraud_ring", "louvain"}
    assert report["engine"]["precision"] >= 0.99
    r = runner.invoke(app, ["export", "banlist", str(out), "-o", str(tmp_path / "ban.jsonl")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ingest", str(data), "--out", str(tmp_path / "again")])
    assert r.exit_code == 0, r.output


def test_errors_are_clear_and_exit_nonzero(tmp_path):
    r = runner.invoke(app, ["detect", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "does not exist" in " ".join(r.output.split())
    r = runner.invoke(app, ["simulate", str(tmp_path / "s"), "--scenario", "nope"])
    assert r.exit_code == 2 and "unknown scenario" in " ".join(r.output.split())
    r = runner.invoke(app, ["export", "banlist", str(tmp_path), "-o", str(tmp_path / "b.csv")])
    assert r.exit_code == 2 and "not a result directory" in " ".join(r.output.split())
