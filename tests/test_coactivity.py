"""Co-activity evidence against brute-force oracles on a few hundred accounts.

Synchronised activity (``cosession`` over session starts, ``coactive`` over active
hours): the test restates the token definition in plain Python (sessions, buckets on
two grids, the activity minimum, crowded buckets) and checks the stage's tokens
exactly; against brute-force Jaccard similarities of every pair it checks the pairs
found alike: their MinHash estimate within its error of the exact similarity, over
the threshold and over chance, the planted synchronised group found, independent
accounts never. Sign-up bursts: the definition restated and
the membership compared exactly.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from linkage.graph import Workspace, build_events
from linkage.graph.coactivity import (
    bucket_tokens,
    build_coactivity,
    session_tokens,
    signup_events,
    similar_pairs,
)
from linkage.ingest import STORE_FILE, ingest, open_store
from linkage.settings import DetectSettings

T0 = datetime(2026, 9, 7, tzinfo=UTC)
DAYS = 14
PLANTED = [f"p{j:02d}" for j in range(6)]
S = DetectSettings()


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def _traffic(rng: np.random.Generator) -> list[tuple[str, datetime]]:
    """(account, request time), whole seconds. 280 independent accounts with sessions
    at random times on random days, 40 of them also at 09:00:00 sharp on weekdays (a
    crowded bucket); 6 planted accounts driven by one scheduler that fires at four
    random times a day, each account starting within 90 s of it most times. (Six: a
    bucket held by more than ``session_crowd_factor`` times the median bucket's
    accounts, here 2, is dropped as commodity timing.)"""
    rows: list[tuple[str, datetime]] = []

    def session(a: str, start: datetime) -> None:
        for k in range(int(rng.integers(1, 5))):
            rows.append((a, start + timedelta(seconds=k * int(rng.integers(30, 300)))))

    for i in range(280):
        a = f"u{i:03d}"
        for d in rng.choice(DAYS, int(rng.integers(1, 12)), replace=False):
            for _ in range(int(rng.integers(1, 4))):
                session(a, T0 + timedelta(days=int(d), seconds=int(rng.integers(0, 86400))))
            if i < 40 and (T0 + timedelta(days=int(d))).weekday() < 5:
                session(a, T0 + timedelta(days=int(d), hours=9))
    for d in range(DAYS):
        for fire in rng.integers(0, 86400, 4):
            for a in PLANTED:
                if rng.random() < 0.85:
                    jitter = int(fire + rng.integers(-90, 90))
                    session(a, T0 + timedelta(days=d, seconds=jitter))
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The traffic ingested, then the events and co-activity stages as build_graph runs
    them; yields ``(requests, connection)``."""
    root = tmp_path_factory.mktemp("coactivity")
    rows = _traffic(np.random.default_rng(11))
    requests = pd.DataFrame(rows, columns=["account_id", "ts"]).assign(ip="192.0.2.1")
    ids = sorted(set(requests.account_id))
    # the planted accounts open within a quarter of an hour, the others 5 hours apart
    created = [
        T0 - timedelta(days=10, seconds=-90 * PLANTED.index(a))
        if a in PLANTED
        else T0 - timedelta(days=90, hours=-5 * i)
        for i, a in enumerate(ids)
    ]
    accounts = pd.DataFrame(
        {"account_id": ids, "created_at": created, "country": "US", "email_domain": "x.example"}
    )
    (root / "data").mkdir()
    accounts.to_parquet(root / "data" / "accounts.parquet")
    requests.to_parquet(root / "data" / "requests.parquet")
    ingest(root / "data", root / "out")
    con = open_store(root / "out" / STORE_FILE, read_only=True)
    ws = Workspace(con)
    build_coactivity(ws, build_events(ws), S)
    yield requests, con
    con.close()


# -- the oracle's own definitions -------------------------------------------------------


def brute_session_starts(requests: pd.DataFrame) -> dict[str, list[int]]:
    """A request is a session start when it is the account's first or comes at least
    ``session_gap_minutes`` after the account's previous request."""
    out: dict[str, list[int]] = {}
    for a, ts in requests.groupby("account_id").ts:
        times = sorted(_epoch(t) for t in ts)
        gap = S.session_gap_minutes * 60
        out[a] = [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] >= gap]
    return out


def brute_active_hours(requests: pd.DataFrame) -> dict[str, list[int]]:
    """The start of every UTC hour in which an account sent a request."""
    return {
        a: sorted({_epoch(t) // 3600 * 3600 for t in ts})
        for a, ts in requests.groupby("account_id").ts
    }


def brute_tokens(times: dict[str, list[int]], minutes: float) -> dict[str, set[int]]:
    """Accounts with at least ``session_min_count`` times on ``session_min_days`` UTC days:
    every time's bucket on the grid (``2 * (t // width)``) and on the grid half a bucket
    later (``2 * ((t + width // 2) // width) + 1``); then buckets held by more than
    ``session_crowd_factor`` times the median bucket's accounts are dropped."""
    width = int(minutes * 60)
    tokens = {
        a: {2 * (t // width) for t in ts} | {2 * ((t + width // 2) // width) + 1 for t in ts}
        for a, ts in times.items()
        if len(ts) >= S.session_min_count and len({t // 86400 for t in ts}) >= S.session_min_days
    }
    holders = Counter(tok for toks in tokens.values() for tok in toks)
    if not holders:
        return {}
    limit = S.session_crowd_factor * float(np.median(list(holders.values())))
    kept = {a: {t for t in toks if holders[t] <= limit} for a, toks in tokens.items()}
    return {a: toks for a, toks in kept.items() if toks}


def jaccard(x: set[int], y: set[int]) -> float:
    return len(x & y) / len(x | y)


# -- synchronised activity ------------------------------------------------------------

KINDS = {
    "cosession": (brute_session_starts, S.session_bucket_minutes),
    "coactive": (brute_active_hours, S.coactive_bucket_minutes),
}


def _stage_tokens(etype: str, times: dict[str, list[int]], aid: dict[str, int]):
    """The stage's (account, token) pairs for the same times, as a dict of sets."""
    a = np.array([aid[x] for x, ts in sorted(times.items()) for _ in ts], np.int64)
    t = np.array([t for _, ts in sorted(times.items()) for t in ts], np.int64)
    order = np.lexsort((t, a))
    a, t = a[order], t[order]
    if etype == "cosession":
        got_a, got_t = session_tokens(a, t, S)
    else:
        got_a, got_t = bucket_tokens(a, t, S.coactive_bucket_minutes, S)
    return got_a, got_t


@pytest.mark.parametrize("etype", list(KINDS))
def test_tokens_match_the_brute_force_definition(store, etype):
    requests, con = store
    aid = dict(con.execute("SELECT account_id, aid FROM acct").fetchall())
    times_of, minutes = KINDS[etype]
    times = times_of(requests)
    if etype == "cosession":  # the stage's own session starts, too
        got = con.execute("SELECT x.account_id, s.t FROM session_starts s JOIN acct x USING (aid)")
        starts = defaultdict(list)
        for a, t in got.fetchall():
            starts[a].append(int(t))
        assert {a: sorted(ts) for a, ts in starts.items()} == times
    want = brute_tokens(times, minutes)
    got_a, got_t = _stage_tokens(etype, times, aid)
    name = {v: k for k, v in aid.items()}
    got_sets: dict[str, set[int]] = defaultdict(set)
    for a, t in zip(got_a.tolist(), got_t.tolist(), strict=True):
        got_sets[name[a]].add(t)
    assert got_sets == want
    assert set(PLANTED) <= set(want) and 0 < len(want) < len(times)


def _alike(con, etype: str) -> dict[tuple[str, str], float]:
    """The pairs of ``etype`` entities in ``events`` and the similarity each key records."""
    rows = con.execute(
        "SELECT v.ekey, x.account_id FROM events v JOIN acct x USING (aid) WHERE v.etype = ?",
        [etype],
    ).fetchall()
    members: dict[str, list[str]] = defaultdict(list)
    for key, a in rows:
        members[key].append(a)
    out: dict[tuple[str, str], float] = {}
    for key, accounts in members.items():
        assert len(accounts) == 2 and accounts[0] != accounts[1], key
        pair = (min(accounts), max(accounts))
        assert pair not in out, pair
        out[pair] = float(key.split("|")[0][1:])
    return out


def brute_chance(tokens: set[int]) -> float:
    """The share of the buckets from an account's first to its last (one grid) it is busy in."""
    span = max(tokens) // 2 - min(tokens) // 2 + 1
    return min(1.0, len(tokens) / 2 / span)


@pytest.mark.parametrize("etype", list(KINDS))
def test_alike_pairs_follow_the_brute_force_jaccard_similarity(store, etype):
    """Every stored pair's Jaccard similarity, estimated from ``bands * rows`` MinHash
    values, lies within four standard errors of the exact one over the brute-force
    tokens, and the exact one clears the threshold, the chance lift and the shared
    minimum within that error; the planted scheduler's accounts are found alike;
    independent accounts
    (exact similarity at most half the threshold) never are."""
    requests, con = store
    times_of, minutes = KINDS[etype]
    tokens = brute_tokens(times_of(requests), minutes)
    alike = _alike(con, etype)
    hashes = S.session_bands * S.session_rows
    for (x, y), est in alike.items():
        j = jaccard(tokens[x], tokens[y])
        err = 4 * math.sqrt(max(j * (1 - j), 0.02) / hashes) + 0.005
        assert abs(est - j) <= err, (x, y, est, j)
        assert j >= S.coactivity_min_jaccard - err, (x, y, j)
        p, q = brute_chance(tokens[x]), brute_chance(tokens[y])
        assert j >= S.coactivity_min_lift * p * q / (p + q - p * q) - err, (x, y, j)
        both = len(tokens[x]) + len(tokens[y])
        assert len(tokens[x] & tokens[y]) >= S.coactivity_min_shared - err * both, (x, y)
    planted = list(itertools.combinations(PLANTED, 2))
    assert np.median([jaccard(tokens[x], tokens[y]) for x, y in planted]) >= 0.5
    assert sum(pair in alike for pair in planted) >= 0.8 * len(planted)
    for x, y in itertools.combinations(sorted(tokens), 2):
        if jaccard(tokens[x], tokens[y]) <= S.coactivity_min_jaccard / 2:
            assert (x, y) not in alike, (x, y)


def test_busy_accounts_are_not_alike_by_chance():
    """Forty accounts busy in a random 70% of 600 buckets (tokens on both grids, as
    :func:`bucket_tokens` makes them) share about half their buckets (Jaccard ~0.54,
    well over the threshold) by chance alone: none is alike. Five accounts on one
    scheduler (the same 15%, each missing a few) are."""
    rng = np.random.default_rng(5)

    def on_both_grids(buckets: np.ndarray) -> set[int]:
        return set((2 * buckets).tolist()) | set((2 * buckets + 1).tolist())

    sets = {i: on_both_grids(np.flatnonzero(rng.random(600) < 0.7)) for i in range(40)}
    shared = np.flatnonzero(rng.random(600) < 0.15)
    for i in range(40, 45):
        sets[i] = on_both_grids(np.r_[0, shared[rng.random(len(shared)) < 0.9], 599])
    a = np.array([i for i in sorted(sets) for _ in sets[i]], np.int64)
    tok = np.array([t for i in sorted(sets) for t in sorted(sets[i])], np.int64)
    x, y, sim = similar_pairs(a, tok, S)
    found = set(zip(x.tolist(), y.tolist(), strict=True))
    assert np.median([jaccard(sets[0], sets[k]) for k in range(1, 40)]) > 0.45
    assert not {p for p in found if min(p) < 40}
    assert found == set(itertools.combinations(range(40, 45), 2))
    assert (x < y).all() and (sim >= S.coactivity_min_jaccard).all()


# -- session token edge cases ----------------------------------------------------------


def _tokens(times: dict[int, list[int]]) -> dict[int, set[int]]:
    a = np.array([x for x in sorted(times) for _ in times[x]], np.int64)
    t = np.array([t for x in sorted(times) for t in sorted(times[x])], np.int64)
    got_a, got_t = session_tokens(a, t, S)
    out: dict[int, set[int]] = defaultdict(set)
    for x, tok in zip(got_a.tolist(), got_t.tolist(), strict=True):
        out[x].add(tok)
    return dict(out)


def test_session_tokens_need_enough_sessions_on_enough_days():
    day = 86400
    base = _epoch(T0)
    times = {
        0: [base + d * day + 3600 * h for d in range(3) for h in (1, 2)],  # 6 on 3 days
        1: [base + d * day + 3600 * h for d in range(3) for h in (1,)],  # 3 sessions
        2: [base + 3600 * h for h in range(8)],  # 8 sessions on 1 day
        3: [base + d * day + 3600 * h + 60 for d in range(2) for h in (1, 2, 3)],  # 2 days
    }
    got = _tokens(times)
    assert set(got) == {0}
    width = int(S.session_bucket_minutes * 60)
    t = times[0][0]
    assert {2 * (t // width), 2 * ((t + width // 2) // width) + 1} <= got[0]
    assert _tokens({}) == {}


def test_crowded_session_buckets_are_dropped():
    base, day = _epoch(T0), 86400
    # 30 accounts with sessions at 07:00 + 37 min * i on 3 days; all 30 also at 09:00:00
    times = {
        i: [base + d * day + 7 * 3600 + 37 * 60 * i + 3600 * k for d in range(3) for k in (0, 1)]
        + [base + d * day + 9 * 3600 for d in range(3)]
        for i in range(30)
    }
    got = _tokens(times)
    width = int(S.session_bucket_minutes * 60)
    nine = {2 * ((base + d * day + 9 * 3600) // width) for d in range(3)}
    assert set(got) == set(range(30))
    assert not any(nine & toks for toks in got.values())
    assert all(len(toks) >= 6 for toks in got.values())


# -- sign-up bursts -----------------------------------------------------------------


def _signups(rng: np.random.Generator) -> pd.DataFrame:
    """A trickle of 250 over four weeks (some fields missing), a busy profile signing
    up every ten minutes for ten days, one US/gmail burst of 8 in twenty minutes, one
    platform-wide rush of 12 of mixed profiles in half an hour."""
    rows = []
    for _ in range(250):
        when = T0 + timedelta(seconds=int(rng.integers(0, 28 * 86400)))
        country = rng.choice(["US", "DE", "FR", None])
        rows.append((when, country, rng.choice(["gmail.com", "mail.example", None])))
    rows += [(T0 + timedelta(minutes=10 * i), "US", "corp.example") for i in range(1440)]
    burst = T0 + timedelta(days=12, hours=14, minutes=5)
    rows += [(burst + timedelta(minutes=2.5 * i), "US", "gmail.com") for i in range(8)]
    rush = T0 + timedelta(days=20, hours=3, minutes=40)
    rows += [
        (rush + timedelta(minutes=2 * i), ["BR", "IN", "US"][i % 3], f"d{i}.example")
        for i in range(12)
    ]
    created, country, domain = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "aid": np.arange(len(rows), dtype=np.int32),
            "created_at": pd.to_datetime(list(created), utc=True),
            "country": list(country),
            "email_domain": list(domain),
        }
    )


def brute_signup_bursts(accounts: pd.DataFrame) -> set[tuple[int, str]]:
    """(account, key) of every burst: windows of ``signup_window_minutes`` on two grids
    (``a``: from the epoch, ``b``: half a window later), per profile (``*``: every
    account; else country|domain, ``?`` when missing); a window is a burst when it
    holds at least ``signup_burst_min`` accounts and ``signup_burst_factor`` times the
    profile's mean per window over the week either side (its own window included)."""
    width = int(S.signup_window_minutes * 60)
    half = 7 * 86400 // width
    out = set()
    for shift, tag in ((0, "a"), (width // 2, "b")):
        for specific in (False, True):
            windows: dict[tuple[str, int], list[int]] = defaultdict(list)
            for r in accounts.itertuples():
                profile = f"{r.country or '?'}|{r.email_domain or '?'}" if specific else "*"
                windows[(profile, (_epoch(r.created_at) + shift) // width)].append(r.aid)
            for (profile, w), members in windows.items():
                around = sum(
                    len(windows.get((profile, v), ())) for v in range(w - half, w + half + 1)
                )
                rate = around / (2 * half + 1)
                if (
                    len(members) >= S.signup_burst_min
                    and len(members) >= S.signup_burst_factor * rate
                ):
                    out |= {(a, f"{tag}{w}|{profile}") for a in members}
    return out


def test_signup_bursts_match_the_brute_force_definition():
    accounts = _signups(np.random.default_rng(3))
    got = signup_events(accounts, S)
    want = brute_signup_bursts(accounts)
    assert set(zip(got.aid.tolist(), got.ekey, strict=True)) == want
    assert len(got) == len(want)
    # the planted burst and the rush are found, the busy profile's steady sign-ups are not
    keys = defaultdict(set)
    for a, k in want:
        keys[k].add(a)
    sizes = sorted(len(v) for v in keys.values())
    assert any(k.endswith("|US|gmail.com") and len(v) >= 5 for k, v in keys.items())
    assert any(k.endswith("|*") and len(v) >= 12 for k, v in keys.items())
    assert not any(k.endswith("|US|corp.example") for k in keys)
    assert sizes and sizes[0] >= S.signup_burst_min
    created = accounts.set_index("aid").created_at
    assert (got.n == 1).all() and (got.first_ts == got.last_ts).all()
    assert (pd.to_datetime(got.first_ts, utc=True).to_numpy() == created[got.aid].to_numpy()).all()


def test_the_stage_finds_the_bursts_of_the_stored_accounts(store):
    """build_coactivity reads created_at, country and email_domain from the store as
    the definition wants them: the planted accounts' sign-ups are a burst."""
    _, con = store
    accounts = con.execute(
        "SELECT a.aid, a.created_at, s.country, a.email_domain "
        "FROM acct a JOIN accounts s USING (account_id)"
    ).df()
    stored = con.execute("SELECT aid, ekey FROM events WHERE etype = 'signup'").fetchall()
    assert set(stored) == brute_signup_bursts(accounts)
    planted = {
        a
        for (a,) in con.execute(
            "SELECT aid FROM acct WHERE account_id = ANY(?::VARCHAR[])", [PLANTED]
        ).fetchall()
    }
    assert {a for a, _ in stored} == planted
