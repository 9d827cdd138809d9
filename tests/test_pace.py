"""Per-account pace (requests per active hour, session length, regularity of gaps)
against a plain-Python oracle on a few hundred accounts, and the community features
read from it."""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from linkage.graph import Workspace, build_events
from linkage.ingest import STORE_FILE, ingest, open_store
from linkage.score.features import PACE_MIN_GAPS, PACE_SAMPLE, REGULAR_CV, account_pace
from linkage.settings import DetectSettings

T0 = datetime(2026, 9, 7, tzinfo=UTC)
S = DetectSettings()
BOTS = [f"b{j:02d}" for j in range(8)]


def _traffic(rng: np.random.Generator) -> list[tuple[str, datetime]]:
    """300 people with a few short sessions at irregular gaps; 8 bots that run
    three-hour sessions, one request every 40-44 s."""
    rows: list[tuple[str, datetime]] = []
    for i in range(300):
        for _ in range(int(rng.integers(1, 6))):
            t = T0 + timedelta(days=int(rng.integers(0, 20)), seconds=int(rng.integers(0, 86400)))
            for _ in range(int(rng.integers(1, 12))):
                rows.append((f"u{i:03d}", t))
                t += timedelta(seconds=int(rng.exponential(240)) + 1)
    for a in BOTS:
        for d in range(5):
            t = T0 + timedelta(days=d, hours=2)
            for _ in range(250):
                rows.append((a, t))
                t += timedelta(seconds=int(rng.integers(40, 45)))
    return rows


@pytest.fixture(scope="module")
def paced(tmp_path_factory):
    """The traffic ingested; ``acct_pace`` for a member set of 150 accounts (bots among
    them); yields ``(requests, members, pace)``."""
    root = tmp_path_factory.mktemp("pace")
    requests = pd.DataFrame(
        _traffic(np.random.default_rng(5)), columns=["account_id", "ts"]
    ).assign(ip="192.0.2.1")
    ids = sorted(set(requests.account_id))
    accounts = pd.DataFrame(
        {"account_id": ids, "created_at": T0 - timedelta(days=30), "country": "US"}
    )
    (root / "data").mkdir()
    accounts.to_parquet(root / "data" / "accounts.parquet")
    requests.to_parquet(root / "data" / "requests.parquet")
    ingest(root / "data", root / "out")
    with open_store(root / "out" / STORE_FILE, read_only=True) as con:
        ws = Workspace(con)
        build_events(ws)
        aid = ws.execute("SELECT account_id, aid FROM acct").df().set_index("account_id").aid
        members = [a for a in ids if a in BOTS or a.endswith(("1", "3", "5"))]
        member = pd.DataFrame({"aid": aid[members].to_numpy(), "comm": 0})
        with ws.registered("member_df", member):
            ws.execute("CREATE TEMP TABLE member AS SELECT * FROM member_df")
        account_pace(ws, S.session_gap_minutes)
        pace = ws.execute("SELECT a.account_id, p.* FROM acct_pace p JOIN acct a USING (aid)").df()
        sampled = set(aid[aid % PACE_SAMPLE == 0].index)
    yield requests, set(members), sampled, pace.set_index("account_id")


def _oracle(times: list[float]) -> tuple[float, float, float | None]:
    """(requests per clock hour with a request, mean session minutes, gap CV or None)."""
    times = sorted(times)
    gap = S.session_gap_minutes * 60
    gaps = [b - a for a, b in itertools.pairwise(times)]
    inside = [g for g in gaps if g < gap]
    sessions = 1 + sum(g >= gap for g in gaps)
    hours = len({t // 3600 for t in times})
    cv = (
        statistics.pstdev(inside) / statistics.fmean(inside)
        if len(inside) >= PACE_MIN_GAPS
        else None
    )
    return len(times) / hours, sum(inside) / 60 / sessions, cv


def test_pace_matches_the_oracle(paced):
    requests, members, sampled, pace = paced
    assert set(pace.index) == members | sampled
    assert pace.sampled.to_dict() == {a: a in sampled for a in pace.index}
    for a, ts in requests.groupby("account_id").ts:
        if a not in pace.index:
            continue
        want_pace, want_session, want_cv = _oracle([t.timestamp() for t in ts])
        row = pace.loc[a]
        assert row.pace == pytest.approx(want_pace)
        assert row.session_min == pytest.approx(want_session)
        if want_cv is None:
            assert pd.isna(row.gap_cv)
        else:
            assert row.gap_cv == pytest.approx(want_cv)


def test_bots_are_paced_apart_from_people(paced):
    _, _, _, pace = paced
    bots, people = pace.loc[BOTS], pace.drop(BOTS)
    assert (bots.gap_cv < REGULAR_CV).all()
    assert (people.gap_cv.dropna() >= REGULAR_CV).mean() > 0.9
    assert bots.pace.min() > 2 * people.pace.median()
    assert bots.session_min.min() > 5 * people.session_min.median()
