"""The result directory's owner (``linkage.result``): the completeness marker every
reader checks, the format version, and the names spelled in one place only."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from api import Settings, create_app
from linkage import LinkageError, evaluate, ingest, open_result
from linkage.cli import app as cli
from linkage.export import banlist, write_banlist
from linkage.export.property_graph import ResultGraph
from linkage.export.stix import stix_bundle
from linkage.result import (
    COMPLETE_FILE,
    EDGES_FILE,
    RESULT_FORMAT_VERSION,
    ResultDir,
    layout,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def copy(detected, tmp_path) -> Path:
    """A private copy of the session's result directory."""
    return Path(shutil.copytree(detected[0] / "result", tmp_path / "result"))


def test_detect_marks_its_result_complete_last(detected):
    result = ResultDir.open(detected[0] / "result")
    marker = json.loads(result.marker_path.read_text())
    assert marker["format"] == RESULT_FORMAT_VERSION
    written = [p.stat().st_mtime_ns for p in result.path.iterdir() if p.is_file()]
    assert result.marker_path.stat().st_mtime_ns == max(written)


def _readers(result: Path, tmp_path: Path, labels: Path) -> dict[str, object]:
    keys = SecretStr("a:admin:" + "k" * 32)
    return {
        "open_result": lambda: open_result(result),
        "banlist": lambda: banlist(result),
        "export banlist": lambda: write_banlist(result, tmp_path / "ban.csv"),
        "stix": lambda: stix_bundle(result),
        "property graph": lambda: ResultGraph(result),
        "evaluate": lambda: evaluate(result, labels, baselines=False),
        "service": lambda: create_app(Settings(result_dir=result, api_keys=keys)),
    }


def test_every_reader_refuses_a_result_whose_detect_did_not_finish(copy, detected, tmp_path):
    (copy / COMPLETE_FILE).unlink()
    for name, read in _readers(copy, tmp_path, detected[0] / "data" / "labels.parquet").items():
        with pytest.raises(LinkageError, match="did not finish") as err:
            read()  # type: ignore[operator]
        assert str(copy) in str(err.value), name
    assert not (tmp_path / "ban.csv").exists()
    r = CliRunner().invoke(cli, ["export", "banlist", str(copy), "-o", str(tmp_path / "b.csv")])
    assert r.exit_code == 2 and "did not finish" in " ".join(r.output.split())


def test_ingest_over_a_result_withdraws_its_marker(copy, detected):
    ingest(detected[0] / "data", copy)
    assert not ResultDir(copy).is_complete()
    with pytest.raises(LinkageError, match="did not finish"):
        open_result(copy)


def test_a_newer_format_or_a_missing_file_is_refused(copy):
    (copy / EDGES_FILE).unlink()
    with pytest.raises(LinkageError, match=f"{EDGES_FILE} is missing"):
        ResultDir.open(copy)
    (copy / COMPLETE_FILE).write_text(json.dumps({"format": RESULT_FORMAT_VERSION + 1}))
    with pytest.raises(LinkageError, match="upgrade linkage"):
        ResultDir.open(copy)
    with pytest.raises(LinkageError, match="does not exist"):
        ResultDir.open(copy / "nope")


def test_result_names_are_spelled_only_in_the_layout():
    names = {
        v for k, v in vars(layout).items() if k.endswith(("_FILE", "_DIR")) and isinstance(v, str)
    }
    assert {"accounts.parquet", "linkage.duckdb", "COMPLETE", "quarantine"} <= names
    found = []
    for path in [*(ROOT / "linkage").rglob("*.py"), *(ROOT / "api").rglob("*.py")]:
        if path == ROOT / "linkage" / "result" / "layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and (
                value in names or any(value.endswith("/" + n) for n in names)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {value!r}")
    assert not found, "use linkage.result's names instead:\n" + "\n".join(found)
