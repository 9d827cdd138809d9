"""Stable campaign ids across runs (``detect --previous``): the matching rule on small
hand-made campaigns (continued, merged, split, new), then whole runs on simulated data."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from linkage.cli import app
from linkage.detect import detect
from linkage.detect.lineage import Previous, assign_lineage
from linkage.errors import LinkageError
from linkage.result import ResultDir


def _members(campaigns: dict[str, range | list[int]]) -> pd.DataFrame:
    rows = [(f"a{i:03d}", cid) for cid, accts in campaigns.items() for i in accts]
    return pd.DataFrame(rows, columns=["account_id", "campaign_id"])


def _previous(campaigns: dict[str, range | list[int]], accounts: int = 1000) -> Previous:
    return Previous(path=None, members=_members(campaigns), accounts=accounts)  # type: ignore[arg-type]


def _lineage(now: dict[str, range | list[int]], before: dict[str, range | list[int]]) -> dict:
    out = assign_lineage(_members(now), _previous(before), 0.5)
    return {
        r.provisional_id: (r.campaign_id, r.lineage, list(r.previous_campaign_ids))
        for r in out.itertuples()
    }


def test_a_campaign_that_goes_on_keeps_its_id_as_accounts_come_and_go():
    got = _lineage({"x1": range(3, 140)}, {"cmp_old": range(0, 134)})
    assert got == {"x1": ("cmp_old", "continued", ["cmp_old"])}


def test_two_campaigns_that_merge_keep_the_larger_share_id():
    got = _lineage({"x1": range(0, 100)}, {"cmp_b": range(0, 40), "cmp_a": range(40, 100)})
    assert got == {"x1": ("cmp_a", "merged", ["cmp_a", "cmp_b"])}


def test_a_split_keeps_the_id_on_the_larger_part():
    got = _lineage({"x1": range(0, 30), "x2": range(30, 100)}, {"cmp_a": range(0, 100)})
    assert got["x2"] == ("cmp_a", "split", ["cmp_a"])
    assert got["x1"] == ("x1", "split", ["cmp_a"])


def test_new_campaigns_and_stray_overlap():
    # x2 shares 2 of its 50 accounts with a campaign of 100: under half of the smaller
    got = _lineage(
        {"x1": range(500, 520), "x2": [*range(600, 648), 0, 1]}, {"cmp_a": range(0, 100)}
    )
    assert got == {"x1": ("x1", "new", []), "x2": ("x2", "new", [])}


def test_without_a_previous_run_every_campaign_is_new():
    out = assign_lineage(_members({"x2": range(5), "x1": range(5, 9)}), None, 0.5)
    assert out.to_dict("list") == {
        "provisional_id": ["x1", "x2"],
        "campaign_id": ["x1", "x2"],
        "lineage": ["new", "new"],
        "previous_campaign_ids": [[], []],
    }


def test_an_id_is_kept_once_even_when_two_parts_tie():
    got = _lineage({"x1": range(0, 50), "x2": range(50, 100)}, {"cmp_a": range(0, 100)})
    assert sorted(v[0] for v in got.values()) == ["cmp_a", "x2"]
    assert got["x1"][0] == "cmp_a"  # ties: the smaller provisional id


# -- whole runs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rerun(detected, tmp_path_factory):
    """The detected data with three accounts of its largest campaign gone, detected again
    with ``--previous`` the first result; yields ``(root, first, second)``."""
    root, _ = detected
    work = tmp_path_factory.mktemp("lineage")
    first = ResultDir.open(root / "result")
    accounts = first.read_accounts()
    biggest = first.read_campaigns().sort_values("size").campaign_id.iloc[-1]
    gone = sorted(accounts[accounts.campaign_id == biggest].account_id)[:3]
    data = work / "data"
    shutil.copytree(root / "data", data)
    for name in ("accounts", "requests", "payments", "identifiers"):
        path = data / f"{name}.parquet"
        if path.exists():
            df = pd.read_parquet(path)
            df[~df.account_id.isin(gone)].to_parquet(path)
    result = detect(data, work / "result", previous=root / "result")
    return root, first, ResultDir.open(work / "result"), gone, result


def test_rerun_keeps_every_campaign_id(rerun):
    _, first, second, gone, result = rerun
    before = first.read_campaigns().set_index("campaign_id")
    after = second.read_campaigns().set_index("campaign_id")
    assert set(after.index) == set(before.index)
    assert (after.lineage == "continued").all()
    assert all(list(p) == [c] for c, p in after.previous_campaign_ids.items())
    assert result.warnings == []
    ids = second.read_accounts().set_index("account_id").campaign_id
    assert not set(gone) & set(ids.index)


def test_detect_with_out_as_its_own_previous(detected, tmp_path):
    root, _ = detected
    out = tmp_path / "result"
    shutil.copytree(root / "result", out)
    detect(root / "data", out, previous=out)
    again = ResultDir.open(out).read_campaigns()
    assert set(again.campaign_id) == set(
        ResultDir.open(root / "result").read_campaigns().campaign_id
    )
    assert (again.lineage == "continued").all()


def test_a_much_smaller_input_is_warned_about_on_the_command_line(detected, tmp_path):
    root, _ = detected
    data = tmp_path / "data"
    data.mkdir()
    accounts = pd.read_parquet(root / "data" / "accounts.parquet").head(40)
    accounts.to_parquet(data / "accounts.parquet")
    requests = pd.read_parquet(root / "data" / "requests.parquet")
    requests[requests.account_id.isin(accounts.account_id)].to_parquet(data / "requests.parquet")
    run = CliRunner().invoke(
        app, ["detect", str(data), "--out", str(tmp_path / "r"), "--previous", str(root / "result")]
    )
    assert run.exit_code == 0, run.output
    assert "WARNING" in run.output and "40 accounts" in run.output
    summary = json.loads(ResultDir.open(tmp_path / "r").detect_summary_path.read_text())
    assert summary["warnings"] and "40 accounts" in summary["warnings"][0]


def test_a_previous_that_is_not_a_result_is_refused(detected, tmp_path):
    root, _ = detected
    with pytest.raises(LinkageError, match="result"):
        detect(root / "data", tmp_path / "r", previous=tmp_path)


def test_a_first_run_whose_previous_does_not_exist_yet_warns_and_goes_on(detected, tmp_path):
    """A daily job's first run: `--previous result --out result` before there is one."""
    root, _ = detected
    out = tmp_path / "result"
    result = detect(root / "data", out, previous=out)
    assert result.warnings and "no previous result" in result.warnings[0]
    campaigns = ResultDir.open(out).read_campaigns()
    assert len(campaigns) and (campaigns.lineage == "new").all()
