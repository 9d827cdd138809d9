"""Ban list exports: manifest, diff against a previous list in any format, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from linkage.cli import app
from linkage.detect import detect
from linkage.errors import LinkageError
from linkage.export import (
    MAX_REMOVED_SHARE,
    banlist,
    diff_banlists,
    export_banlist,
    read_banlist,
    removal_guard,
    write_banlist,
)
from linkage.export.atomic import atomic_path, sha256_file
from linkage.export.banlist import DIFF_COLUMNS, banlist_sidecars

runner = CliRunner()
FORMATS = ("csv", "jsonl", "parquet")


def _previous(result_dir, tmp_path, fmt):
    """A previous ban list: today's with 3 rows dropped (-> added), 2 strangers added
    (-> removed), and one row each with another campaign, score and reasons (-> changed)."""
    rows = banlist(result_dir)
    prev = rows.iloc[3:].copy().reset_index(drop=True)
    strangers = prev.iloc[:2].copy()
    strangers["account_id"] = ["acct_gone_1", "acct_gone_2"]
    prev = pd.concat([prev, strangers], ignore_index=True)
    prev.loc[0, "campaign_id"] = "cmp_old"
    prev.loc[1, "score"] = prev.loc[1, "score"] - 0.25
    prev.loc[2, "reasons"] = ["an older reason"]
    path = tmp_path / f"prev.{fmt}"
    if fmt == "parquet":
        prev.to_parquet(path)
    elif fmt == "csv":
        prev.assign(reasons=prev.reasons.map("; ".join)).to_csv(path, index=False)
    else:
        prev.assign(reasons=prev.reasons.map(list)).to_json(
            path, orient="records", lines=True, date_format="iso"
        )
    return rows, prev, path


@pytest.mark.parametrize("prev_fmt", FORMATS)
@pytest.mark.parametrize("out_fmt", FORMATS)
def test_diff_against_a_previous_list_in_any_format(result_dir, tmp_path, prev_fmt, out_fmt):
    rows, prev, prev_path = _previous(result_dir, tmp_path, prev_fmt)
    out = tmp_path / f"ban.{out_fmt}"
    done = export_banlist(result_dir, out, since=prev_path)
    assert (done.rows, done.added, done.removed, done.changed) == (len(rows), 3, 2, 3)
    manifest_path, diff_path = banlist_sidecars(out)
    assert done.diff_path == diff_path and done.manifest_path == manifest_path
    if out_fmt == "parquet":
        diff = pd.read_parquet(diff_path)
    elif out_fmt == "csv":
        diff = pd.read_csv(diff_path)
    else:
        diff = pd.read_json(diff_path, lines=True)
    assert tuple(diff.columns) == DIFF_COLUMNS
    by_change = diff.groupby("change").account_id.apply(set).to_dict()
    assert by_change["added"] == set(rows.account_id[:3])
    assert by_change["removed"] == {"acct_gone_1", "acct_gone_2"}
    assert by_change["changed"] == set(prev.account_id[:3])
    changed = diff[diff.change == "changed"].set_index("account_id")
    assert changed.loc[prev.account_id[0], "previous_campaign_id"] == "cmp_old"
    assert changed.loc[prev.account_id[1], "previous_score"] == pytest.approx(prev.loc[1, "score"])
    manifest = json.loads(manifest_path.read_text())
    assert manifest["previous"]["sha256"] == sha256_file(prev_path)
    assert manifest["previous"]["rows"] == len(prev)
    assert manifest["diff"] == {
        "file": diff_path.name,
        "sha256": sha256_file(diff_path),
        "added": 3,
        "removed": 2,
        "changed": 3,
    }


def test_manifest_describes_the_file(result_dir, tmp_path):
    out = tmp_path / "ban.csv"
    assert write_banlist(result_dir, out) == len(banlist(result_dir))
    done = export_banlist(result_dir, out)
    manifest = json.loads(done.manifest_path.read_text())
    settings = json.loads((result_dir / "settings.json").read_text())
    assert manifest["rows"] == done.rows == len(pd.read_csv(out)) > 0
    assert manifest["sha256"] == sha256_file(out)
    assert manifest["settings"] == settings
    assert manifest["flag_threshold"] == settings["flag_threshold"]
    assert manifest["result_dir"] == str(result_dir.resolve())
    assert manifest["previous"] is None and manifest["diff"] is None
    assert manifest["created_at"].endswith("Z")
    assert done.diff_path is None and not banlist_sidecars(out)[1].exists()


def test_same_list_since_itself_has_no_changes_even_when_overwritten(result_dir, tmp_path):
    out = tmp_path / "ban.jsonl"
    write_banlist(result_dir, out)
    before = sha256_file(out)
    done = export_banlist(result_dir, out, since=out)
    assert (done.added, done.removed, done.changed) == (0, 0, 0)
    manifest = json.loads(done.manifest_path.read_text())
    assert manifest["previous"]["sha256"] == before
    assert pd.read_json(done.diff_path, lines=True).empty


def test_diff_of_empty_lists():
    empty = pd.DataFrame({"account_id": [], "campaign_id": [], "score": [], "reasons": []})
    assert diff_banlists(empty, empty).empty


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_previous_file_names_file_and_column(result_dir, tmp_path, fmt):
    rows = banlist(result_dir).drop(columns=["score"])
    path = tmp_path / f"old.{fmt}"
    if fmt == "parquet":
        rows.to_parquet(path)
    elif fmt == "csv":
        rows.drop(columns=["reasons"]).to_csv(path, index=False)
    else:
        rows.assign(reasons=rows.reasons.map(list)).to_json(
            path, orient="records", lines=True, date_format="iso"
        )
    with pytest.raises(LinkageError, match=rf"{path}.*no column 'score'"):
        read_banlist(path)
    r = runner.invoke(
        app,
        ["export", "banlist", str(result_dir), "-o", str(tmp_path / "b.csv"), "--since", str(path)],
    )
    assert r.exit_code == 2
    assert "no column 'score'" in " ".join(r.output.split())
    assert not (tmp_path / "b.csv").exists()


def test_unreadable_or_missing_previous_file(tmp_path):
    broken = tmp_path / "old.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(LinkageError, match="cannot read previous ban list"):
        read_banlist(broken)
    with pytest.raises(LinkageError, match="does not exist"):
        read_banlist(tmp_path / "nope.csv")
    with pytest.raises(LinkageError, match="format must be one of"):
        read_banlist(tmp_path / "old.xlsx")
    dup = tmp_path / "dup.csv"
    dup.write_text("account_id,campaign_id,score,reasons\na,c,0.9,r\na,c,0.8,r\n")
    with pytest.raises(LinkageError, match="'a' appears more than once"):
        read_banlist(dup)


def test_failure_mid_write_leaves_old_files_intact(result_dir, tmp_path, monkeypatch):
    out = tmp_path / "ban.parquet"
    write_banlist(result_dir, out)
    manifest_path = banlist_sidecars(out)[0]
    old_list, old_manifest = out.read_bytes(), manifest_path.read_bytes()

    def crash(table, where, **kwargs):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(KeyboardInterrupt):
        write_banlist(result_dir, out)
    assert out.read_bytes() == old_list
    assert manifest_path.read_bytes() == old_manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ban.manifest.json", "ban.parquet"]


def test_atomic_path_never_leaves_a_partial_file(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new but half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
    with atomic_path(tmp_path / "sub" / "y.txt") as tmp:
        tmp.write_text("fine")
    assert (tmp_path / "sub" / "y.txt").read_text() == "fine"


def test_cli_prints_counts(result_dir, tmp_path):
    _, _, prev_path = _previous(result_dir, tmp_path, "csv")
    out = tmp_path / "today.csv"
    r = runner.invoke(
        app, ["export", "banlist", str(result_dir), "-o", str(out), "--since", str(prev_path)]
    )
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "3 added, 2 removed, 3 changed" in text
    assert f"({2 / (len(banlist(result_dir)) - 1):.1%} of the previous list removed)" in text
    assert (tmp_path / "today.diff.csv").exists() and (tmp_path / "today.manifest.json").exists()


# -- contract v2 columns, v1 previous lists, the mass-removal guard ---------------


def _write_list(rows, path):
    """Write ban list rows as a user's earlier export would be, in ``path``'s format."""
    if path.suffix == ".parquet":
        rows.to_parquet(path)
    elif path.suffix == ".csv":
        rows.assign(reasons=rows.reasons.map("; ".join)).to_csv(path, index=False)
    else:
        rows.assign(reasons=rows.reasons.map(list)).to_json(
            path, orient="records", lines=True, date_format="iso"
        )
    return path


def _with_strangers(rows, n):
    """``rows`` plus ``n`` accounts no longer flagged today (each diff ``removed``)."""
    extra = pd.concat([rows.iloc[:1]] * n, ignore_index=True)
    extra["account_id"] = [f"acct_gone_{i}" for i in range(n)]
    return pd.concat([rows, extra], ignore_index=True)


def _strangers_for_share(rows, share):
    """How many strangers make them ``share`` of the previous list (rounded up)."""
    return int(np.ceil(share * len(rows) / (1 - share)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_v1_previous_list_without_status_still_diffs(result_dir, tmp_path, fmt):
    rows = banlist(result_dir)
    v1 = rows.drop(columns=["status", "banned_at"]).iloc[2:].reset_index(drop=True)
    v1.loc[0, "score"] -= 0.1
    prev = _write_list(v1, tmp_path / f"v1.{fmt}")
    assert tuple(read_banlist(prev).columns) == ("account_id", "campaign_id", "score", "reasons")
    done = export_banlist(result_dir, tmp_path / f"ban.{fmt}", since=prev)
    assert (done.added, done.removed, done.changed) == (2, 0, 1)
    assert done.removed_share == 0.0


def test_v2_list_carries_status_and_diffs_against_itself(result_dir, tmp_path):
    rows = banlist(result_dir)
    assert tuple(rows.columns[-2:]) == ("status", "banned_at")
    assert set(rows.status) <= {"active", "banned"}
    assert rows.banned_at[rows.status == "active"].isna().all()
    for fmt in FORMATS:
        out = tmp_path / f"ban.{fmt}"
        write_banlist(result_dir, out)
        done = export_banlist(result_dir, tmp_path / f"again.{fmt}", since=out)
        assert (done.added, done.removed, done.changed) == (0, 0, 0)


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("fmt", FORMATS)
def test_mass_removal_is_refused_and_nothing_written(result_dir, tmp_path, fmt):
    rows = banlist(result_dir)
    n = _strangers_for_share(rows, 0.3)
    prev = _write_list(_with_strangers(rows, n), tmp_path / f"prev.{fmt}")
    out = tmp_path / "out" / f"ban.{fmt}"
    with pytest.raises(LinkageError, match=rf"{n} of the {len(rows) + n} accounts") as err:
        export_banlist(result_dir, out, since=prev)
    assert str(prev) in str(err.value) and "--allow-mass-removal" in str(err.value)
    assert not out.parent.exists()
    # Over an earlier export: every file stays as it was.
    write_banlist(result_dir, out)
    before = _files(out.parent)
    with pytest.raises(LinkageError, match=r"more than the maximum removed share 20\.0%"):
        export_banlist(result_dir, out, since=prev)
    assert _files(out.parent) == before
    assert not banlist_sidecars(out)[1].exists()


def test_guard_passes_under_the_share_and_records_it(result_dir, tmp_path):
    rows = banlist(result_dir)
    prev = _write_list(_with_strangers(rows, 2), tmp_path / "prev.csv")
    done = export_banlist(result_dir, tmp_path / "ban.csv", since=prev)
    share = 2 / (len(rows) + 2)
    assert share < 0.2 and done.removed == 2 and done.removed_share == pytest.approx(share)
    guard = json.loads(done.manifest_path.read_text())["removal_guard"]
    assert guard == {
        "removed": 2,
        "removed_by_dismissal": 0,
        "previous_rows": len(rows) + 2,
        "removed_share": pytest.approx(share),
        "max_removed_share": 0.2,
        "over_limit": False,
        "mass_removal_allowed": False,
    }
    # A lower limit refuses the same diff; the limit is a share, not a count.
    with pytest.raises(LinkageError, match=r"maximum removed share 1\.0%"):
        export_banlist(result_dir, tmp_path / "strict.csv", since=prev, max_removed_share=0.01)
    assert not (tmp_path / "strict.csv").exists()


def test_allow_mass_removal_writes_and_records_it(result_dir, tmp_path):
    rows = banlist(result_dir)
    prev = _write_list(_with_strangers(rows, 3 * len(rows)), tmp_path / "prev.parquet")
    done = export_banlist(result_dir, tmp_path / "ban.parquet", since=prev, allow_mass_removal=True)
    assert done.removed == 3 * len(rows) and done.removed_share == pytest.approx(0.75)
    assert len(pd.read_parquet(done.diff_path)) == 3 * len(rows)
    guard = json.loads(done.manifest_path.read_text())["removal_guard"]
    assert guard["over_limit"] and guard["mass_removal_allowed"]
    # Under the limit, allowing mass removal decides nothing.
    again = export_banlist(result_dir, tmp_path / "b.csv", since=done.path, allow_mass_removal=True)
    assert (
        json.loads(again.manifest_path.read_text())["removal_guard"]["mass_removal_allowed"]
        is False
    )


def test_empty_list_against_yesterday_is_refused(result_dir, tmp_path):
    """What an empty or truncated input does: a result that flags nobody would remove
    every ban of yesterday's list."""
    yesterday = tmp_path / "yesterday.csv"
    write_banlist(result_dir, yesterday)
    n = len(banlist(result_dir))
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.csv").write_text("account_id,created_at\na,2026-09-01T00:00:00Z\n")
    (data / "requests.csv").write_text("account_id,ts,ip\na,2026-09-02T00:00:00Z,198.51.100.1\n")
    detect(data, tmp_path / "truncated")
    today = tmp_path / "today.csv"
    with pytest.raises(LinkageError, match=rf"{n} of the {n} accounts .* \(100\.0%\)"):
        export_banlist(tmp_path / "truncated", today, since=yesterday)
    assert not today.exists() and not banlist_sidecars(today)[0].exists()
    done = export_banlist(tmp_path / "truncated", today)
    assert done.rows == 0 and json.loads(done.manifest_path.read_text())["removal_guard"] is None
    assert removal_guard(0, 0, since=yesterday)["removed_share"] == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_max_removed_share_is_refused(result_dir, tmp_path, bad):
    with pytest.raises(LinkageError, match=r"max_removed_share.*between 0 and 1"):
        export_banlist(result_dir, tmp_path / "ban.csv", max_removed_share=bad)
    assert not list(tmp_path.iterdir())


def test_cli_refuses_mass_removal_unless_allowed(result_dir, tmp_path):
    rows = banlist(result_dir)
    n = _strangers_for_share(rows, 0.5)
    prev = _write_list(_with_strangers(rows, n), tmp_path / "prev.jsonl")
    out = tmp_path / "today.jsonl"
    args = ["export", "banlist", str(result_dir), "-o", str(out), "--since", str(prev)]
    r = runner.invoke(app, args)
    text = " ".join(r.output.split())
    assert r.exit_code == 2, r.output
    assert f"{n} of the {len(rows) + n} accounts" in text and "nothing was written" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prev.jsonl"]
    r = runner.invoke(app, [*args, "--max-removed-share", "0.6"])
    assert r.exit_code == 0, r.output
    assert f"{n} removed" in " ".join(r.output.split())
    out.unlink()
    r = runner.invoke(app, [*args, "--allow-mass-removal"])
    assert r.exit_code == 0, r.output
    assert out.exists() and (tmp_path / "today.diff.jsonl").exists()
    manifest = json.loads((tmp_path / "today.manifest.json").read_text())
    assert manifest["removal_guard"]["mass_removal_allowed"] is True
    r = runner.invoke(app, [*args, "--max-removed-share", "2"])
    assert r.exit_code == 2 and "between 0 and 1" in " ".join(r.output.split())


def test_guard_options_are_documented():
    r = runner.invoke(app, ["export", "banlist", "--help"], env={"COLUMNS": "250"})
    text = " ".join(r.output.split())
    assert "--max-removed-share" in text and "--allow-mass-removal" in text
    assert f"Default {MAX_REMOVED_SHARE}." in text
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"`--max-removed-share` of the previous list (default {MAX_REMOVED_SHARE}" in readme
    assert "--allow-mass-removal" in readme and "`removal_guard`" in readme
