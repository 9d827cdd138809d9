"""A result is replaced whole or not at all: ``detect`` builds the new one beside the old
and swaps it in when finished; it refuses an ``--out`` that would destroy data."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from linkage import LinkageError
from linkage.cli import app as cli
from linkage.detect import detect
from linkage.result import ACCOUNTS_FILE, QUARANTINE_DIR, SETTINGS_FILE, ResultDir
from linkage.result.replace import check_output_dir, interrupted_swap
from linkage.simulate import simulate

LINKAGE = str(Path(sys.executable).parent / "linkage")


@pytest.fixture(scope="module")
def new_data(tmp_path_factory) -> Path:
    """Another world (another seed): a re-run over the session's result changes its rows."""
    data = tmp_path_factory.mktemp("new") / "data"
    simulate(data, seed=11, scenario="default", accounts=3000)
    return data


def _banlist(result: Path, out: Path) -> tuple[int, pd.DataFrame | str]:
    """``export banlist`` as a user runs it: (exit code, rows or what it said)."""
    r = subprocess.run(
        [LINKAGE, "export", "banlist", str(result), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    return r.returncode, pd.read_csv(out) if r.returncode == 0 else r.stdout + r.stderr


def _kill_detect_after(data: Path, out: Path, delay: float) -> int | None:
    """Start `linkage detect DATA --out OUT`, SIGKILL it ``delay`` s after it starts
    writing its staging directory; its exit code (``None`` when it was killed)."""
    proc = subprocess.Popen(
        [LINKAGE, "detect", str(data), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out.parent.glob(f".{out.name}.detect-*")) and proc.poll() is None:
            assert time.monotonic() < deadline, "detect never started writing"
            time.sleep(0.01)
        try:
            return proc.wait(delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        return None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_killed_rerun_leaves_the_older_result_usable(detected, new_data, tmp_path):
    result = Path(shutil.copytree(detected[0] / "result", tmp_path / "result"))
    code, old = _banlist(result, tmp_path / "old.csv")
    detect(new_data, tmp_path / "reference")
    _, new = _banlist(tmp_path / "reference", tmp_path / "new.csv")
    assert code == 0 and isinstance(old, pd.DataFrame) and isinstance(new, pd.DataFrame)
    assert len(old) and not new.equals(old)
    outcomes = []
    for i, delay in enumerate((0.0, 0.7, 1.5, 2.5, 3.5, 4.5, 6.0)):
        finished = _kill_detect_after(new_data, result, delay)
        code, rows = _banlist(result, tmp_path / f"ban{i}.csv")
        assert code == 0, f"killed {delay} s in: {rows}"
        assert isinstance(rows, pd.DataFrame)
        # the older result whole, or (swapped in just before the kill) the new one whole
        whole = "old" if rows.equals(old) else "new" if rows.equals(new) else "mixed"
        outcomes.append((delay, finished, whole))
        assert whole != "mixed", outcomes
        if whole == "new":
            break
    assert outcomes[0][2] == "old", outcomes  # at least one kill hit the run itself
    # the last run's staging directory is gone once a run ends; a dead run's is removed
    # by the next one
    assert _kill_detect_after(new_data, result, 600) == 0
    _, rows = _banlist(result, tmp_path / "last.csv")
    assert isinstance(rows, pd.DataFrame) and rows.equals(new)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".result")] == []


def test_a_rerun_keeps_files_linkage_does_not_own(detected, new_data, tmp_path):
    result = Path(shutil.copytree(detected[0] / "result", tmp_path / "result"))
    (result / "notes.txt").write_text("mine")
    detect(new_data, result)
    assert (result / "notes.txt").read_text() == "mine"
    assert ResultDir.open(result).read_accounts().shape[0] == 3000


def test_detect_refuses_to_write_into_its_input(new_data, tmp_path):
    data = Path(shutil.copytree(new_data, tmp_path / "data"))
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    for out in (data, data / "result", data / "." / "sub" / ".."):
        r = CliRunner().invoke(cli, ["detect", str(data), "--out", str(out)])
        assert r.exit_code == 2, r.output
        assert "input directory" in " ".join(r.output.split())
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


def test_detect_refuses_a_directory_that_is_not_a_result_unless_forced(new_data, tmp_path):
    other = tmp_path / "mine"
    (other / QUARANTINE_DIR).mkdir(parents=True)
    (other / SETTINGS_FILE).write_text('{"mine": true}')
    (other / ACCOUNTS_FILE).write_bytes(b"not yours")
    r = CliRunner().invoke(cli, ["detect", str(new_data), "--out", str(other)])
    assert r.exit_code == 2
    said = " ".join(r.output.split())
    assert "not a linkage result" in said and str(other) in said and "--force" in said
    assert (other / SETTINGS_FILE).read_text() == '{"mine": true}'
    assert (other / ACCOUNTS_FILE).read_bytes() == b"not yours"
    r = CliRunner().invoke(cli, ["detect", str(new_data), "--out", str(other), "--force"])
    assert r.exit_code == 0, r.output
    assert ResultDir.open(other).read_accounts().shape[0] == 3000
    # an empty directory and a new one need no --force
    (tmp_path / "empty").mkdir()
    check_output_dir(new_data, tmp_path / "empty")
    check_output_dir(new_data, tmp_path / "new" / "deeper")
    (tmp_path / "file").write_text("x")
    with pytest.raises(LinkageError, match="not a directory"):
        check_output_dir(new_data, tmp_path / "file")


def test_a_swap_cut_between_its_renames_names_the_previous_result(detected, tmp_path):
    result = tmp_path / "result"
    aside = tmp_path / f".result.previous-{os.getpid() + 1}"
    shutil.copytree(detected[0] / "result", aside)
    assert interrupted_swap(result) == aside
    with pytest.raises(LinkageError, match="previous result is whole at"):
        ResultDir.open(result)
