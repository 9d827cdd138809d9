"""Cutting a simulated world in time (``linkage.simulate.cut``): what the platform knew
on a day, and only what is new since then."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.simulate import simulate
from linkage.simulate.cut import cut_until, day_start, new_since


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cut")
    simulate(root / "data", seed=2, scenario="hard", accounts=1500)
    return root


def _read(path, name):
    return pd.read_parquet(path / f"{name}.parquet")


def test_day_start_counts_from_the_first_request(world):
    first = _read(world / "data", "requests").ts.min()
    assert day_start(world / "data", 0) == first.normalize().to_pydatetime()
    assert day_start(world / "data", 41) - day_start(world / "data", 0) == pd.Timedelta(days=41)


def test_cut_until_keeps_what_was_known_then(world, tmp_path):
    cut = day_start(world / "data", 41)
    out = cut_until(world / "data", tmp_path / "d41", cut)
    acc_all, acc = _read(world / "data", "accounts"), _read(out, "accounts")
    assert set(acc.account_id) == set(acc_all[acc_all.created_at < cut].account_id)
    later = acc_all.banned_at.notna() & (acc_all.banned_at >= cut) & (acc_all.created_at < cut)
    assert later.any(), "the world bans someone after day 41"
    kept = acc.set_index("account_id")
    assert (kept.loc[acc_all[later].account_id, "status"] == "active").all()
    assert kept.loc[acc_all[later].account_id, "banned_at"].isna().all()
    for name in ("requests", "payments", "identifiers"):
        before, after = _read(world / "data", name), _read(out, name)
        want = before[(before.ts < cut) & before.account_id.isin(acc.account_id)]
        assert len(after) == len(want) and (after.ts < cut).all()
    labels = _read(out, "labels")
    assert set(labels.account_id) == set(acc.account_id)
    assert (out / "simulation.json").is_file()


def test_new_since_keeps_only_new_accounts_and_all_their_rows(world, tmp_path):
    cut = day_start(world / "data", 41)
    out = new_since(world / "data", tmp_path / "new", cut)
    acc_all, acc = _read(world / "data", "accounts"), _read(out, "accounts")
    assert set(acc.account_id) == set(acc_all[acc_all.created_at >= cut].account_id)
    before, after = _read(world / "data", "requests"), _read(out, "requests")
    assert len(after) == before.account_id.isin(acc.account_id).sum()


def test_a_cut_into_its_own_input_or_from_no_data_is_refused(world, tmp_path):
    with pytest.raises(LinkageError, match="another directory"):
        cut_until(world / "data", world / "data", datetime(2026, 10, 1, tzinfo=UTC))
    with pytest.raises(LinkageError, match=r"no accounts\.parquet"):
        new_since(tmp_path, tmp_path / "out", datetime(2026, 10, 1, tzinfo=UTC))
