"""Co-activity evidence against brute-force oracles on a few hundred accounts.

Synchronised activity (``cosession`` over session starts, ``coactive`` over active
hours): the test restates the token definition in plain Python (sessions, buckets on
two grids, the activity minimum, crowded buckets) and checks the stage's tokens
exactly; it checks that accounts share an entity exactly when their MinHash band
signatures agree; and, against brute-force Jaccard similarities of every pair, that
the entities behave as MinHash promises: never shared without a common bucket,
``bands * J**rows`` shared on average, many for the planted synchronised group and
about none for independent accounts. Sign-up bursts: the definition restated and
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
    band_signatures,
    bucket_tokens,
    build_coactivity,
    session_tokens,
    signup_events,
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


def _shared(con, etype: str) -> Counter[tuple[str, str]]:
    """How many ``etype`` entities each pair of accounts shares (from ``events``)."""
    rows = con.execute(
        "SELECT v.ekey, x.account_id FROM events v JOIN acct x USING (aid) WHERE v.etype = ?",
        [etype],
    ).fetchall()
    members: dict[str, list[str]] = defaultdict(list)
    for key, a in rows:
        members[key].append(a)
    out: Counter[tuple[str, str]] = Counter()
    for accounts in members.values():
        assert len(accounts) >= 2 and len(set(accounts)) == len(accounts)
        out.update(itertools.combinations(sorted(accounts), 2))
    return out


@pytest.mark.parametrize("etype", list(KINDS))
def test_accounts_share_an_entity_exactly_when_a_band_signature_agrees(store, etype):
    requests, con = store
    aid = dict(con.execute("SELECT account_id, aid FROM acct").fetchall())
    name = {v: k for k, v in aid.items()}
    times_of, _ = KINDS[etype]
    accounts, sig = band_signatures(*_stage_tokens(etype, times_of(requests), aid), S)
    agree: Counter[tuple[str, str]] = Counter()
    for band in sig:
        groups: dict[int, list[str]] = defaultdict(list)
        for a, h in zip(accounts.tolist(), band.tolist(), strict=True):
            groups[h].append(name[a])
        for g in groups.values():
            agree.update(itertools.combinations(sorted(g), 2))
    assert _shared(con, etype) == agree


@pytest.mark.parametrize("etype", list(KINDS))
def test_shared_entities_follow_the_jaccard_similarity(store, etype):
    """MinHash with ``bands`` bands of ``rows`` hashes: a pair with Jaccard similarity J
    agrees on a band with probability J**rows, independently per band."""
    requests, con = store
    times_of, minutes = KINDS[etype]
    tokens = brute_tokens(times_of(requests), minutes)
    shared = _shared(con, etype)
    assert set(a for pair in shared for a in pair) <= set(tokens)
    bands, rows = S.session_bands, S.session_rows
    groups = {"planted": [], "other": []}
    for x, y in itertools.combinations(sorted(tokens), 2):
        j = jaccard(tokens[x], tokens[y])
        if j == 0:
            assert shared[(x, y)] == 0, (x, y)  # no common bucket, no common entity
        if j == 1:
            assert shared[(x, y)] == bands, (x, y)
        both = x in PLANTED and y in PLANTED
        groups["planted" if both else "other"].append((j, shared[(x, y)]))
    for name, pairs in groups.items():
        p = np.array([j**rows for j, _ in pairs])
        observed = sum(n for _, n in pairs)
        expected, sd = bands * p.sum(), math.sqrt(bands * (p * (1 - p)).sum())
        assert abs(observed - expected) <= 4 * sd + 3, (name, observed, expected, sd)
    planted = np.array([n for _, n in groups["planted"]])
    assert np.median([j for j, _ in groups["planted"]]) >= 0.5
    assert planted.mean() >= bands * 0.1 and (planted > 0).mean() >= 0.9
    if etype == "cosession":  # independent accounts' session starts do not coincide
        other = np.array([n for _, n in groups["other"]])
        assert (other > 0).mean() <= 0.002 and other.mean() <= 0.01 * planted.mean()


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
