"""Behavioural co-activity evidence: synchronised sessions and sign-up bursts.

Both become entities like a shared card or address, so they go through the
same rarity weighting, hub rule and evidence records as any other.

**Synchronised sessions** (``cosession``, in the style of SynchroTrap and
CopyCatch). Each session start (a request after at least
``session_gap_minutes`` of silence) is put in a ``session_bucket_minutes``
bucket twice, once on the grid and once on a grid shifted by half a bucket, so
two starts less than half a bucket apart always share a token. Buckets more
crowded than ``session_crowd_factor`` times the median occupied bucket (the top
of the hour, when every cron job on the platform fires) are dropped as
commodity timing. Accounts with fewer than ``session_min_count`` sessions, or
sessions on fewer than ``session_min_days`` days, get no tokens. Each account's
token set is MinHashed (``session_bands`` bands of ``session_rows`` hashes);
accounts whose band agrees are candidates, each compared with at most
``lsh_neighbours`` others of a bucket, so pairs are bounded without enumerating
them. A candidate pair is alike when its Jaccard similarity, estimated from all
the hashes, is at least ``coactivity_min_jaccard``, at least
``coactivity_min_lift`` times what chance gives two accounts as busy, over at
least ``coactivity_min_shared`` shared tokens; each such pair is one ``cosession``
entity of its own (key ``j<J>|<aid>|<aid>``). **Active hours** (``coactive``) are
compared the same way, over the hours an account sends any request.

**Sign-up bursts** (``signup``). Accounts created in the same
``signup_window_minutes`` window (again on two shifted grids) share a
``signup`` entity, and so do those of the window with the same declared country
and email domain; each is kept only when the window holds at least
``signup_burst_min`` of them and at least ``signup_burst_factor`` times the
usual rate per window (of the platform, or of that profile): the steady
sign-ups of a busy platform or profile are not a burst.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from linkage.arrays import mix64 as _mix
from linkage.arrays import unique, unique_inverse
from linkage.graph.events import Events
from linkage.graph.workspace import Workspace, WorkTable, tables_of
from linkage.settings import DetectSettings

__all__ = [
    "Coactivity",
    "band_signatures",
    "bucket_tokens",
    "build_coactivity",
    "candidate_pairs",
    "coactive_events",
    "cosession_events",
    "minhashes",
    "session_tokens",
    "signup_events",
    "similar_pairs",
]

EVENT_COLUMNS = ("aid", "etype", "ekey", "n", "first_ts", "last_ts")
SIGNATURE_CHUNK = 1 << 16
"""Tokens hashed per step in :func:`minhashes` (whole accounts)."""


@dataclass(frozen=True)
class Coactivity:
    """Output of stage ``co-activity``: ``session_starts``; ``cosession``, ``coactive``
    and ``signup`` events in ``events``."""

    sessions: int
    cosession_events: int
    coactive_events: int
    signup_events: int
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("co-activity")


def build_coactivity(ws: Workspace, events: Events, settings: DetectSettings) -> Coactivity:
    """Find session starts and sign-up bursts; add them to ``events``."""
    con = ws.con
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE session_starts AS
        SELECT aid, epoch(ts)::BIGINT AS t FROM (
            SELECT aid, ts, lag(ts) OVER (PARTITION BY aid ORDER BY ts) AS prev FROM req)
        WHERE prev IS NULL OR epoch(ts) - epoch(prev) >= ?
        """,
        [settings.session_gap_minutes * 60],
    )
    starts = con.execute("SELECT aid, t FROM session_starts ORDER BY aid, t").fetchnumpy()
    sessions = len(starts["aid"])
    cos = _insert(ws, cosession_events(starts["aid"], starts["t"], settings))
    del starts  # each input is dropped once its events are in: a third of the peak at 1M
    # the start of each request's hour in epoch seconds, in integers (floored before 1970
    # too): date_trunc('hour', ts) in the store's UTC, without the calendar arithmetic
    hours = con.execute(
        """SELECT DISTINCT aid, (epoch_us(ts) - ((epoch_us(ts) % 3600000000) + 3600000000)
                                 % 3600000000) // 1000000 AS t
           FROM req ORDER BY aid, t"""
    ).fetchnumpy()
    coa = _insert(ws, coactive_events(hours["aid"], hours["t"], settings))
    del hours
    accounts = con.execute(
        "SELECT a.aid, a.created_at, s.country, a.email_domain "
        "FROM acct a JOIN accounts s USING (account_id)"
    ).df()
    sig = _insert(ws, signup_events(accounts, settings))
    return Coactivity(sessions, cos, coa, sig)


def _insert(ws: Workspace, df: pd.DataFrame) -> int:
    """Append the events of ``df`` to ``events``; their number."""
    with ws.registered("coactivity_df", df):
        ws.execute(f"INSERT INTO events SELECT {', '.join(EVENT_COLUMNS)} FROM coactivity_df")
    return len(df)


def session_tokens(
    aid: np.ndarray, t: np.ndarray, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (account, bucket token) pairs of session starts, of the accounts with
    enough sessions, sorted, crowded buckets dropped."""
    return bucket_tokens(aid, t, s.session_bucket_minutes, s)


def bucket_tokens(
    aid: np.ndarray, t: np.ndarray, minutes: float, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (account, token) pairs: each time ``t`` (epoch seconds) in a bucket of
    ``minutes`` on two grids half a bucket apart, for accounts with at least
    ``session_min_count`` times on ``session_min_days`` days, and at most
    ``coactive_max_day_share`` of the buckets of those days (a round-the-clock
    account has no schedule to share); buckets more crowded than
    ``session_crowd_factor`` times the median are dropped. Sorted."""
    width = int(minutes * 60)
    aid, t = np.asarray(aid, np.int64), np.asarray(t, np.int64)
    if not len(aid):
        return aid, t
    # (aid, t) usually arrives sorted: a stable sort then merely merges runs
    day_pairs = unique((aid << 20) | (t // 86400), kind="stable") >> 20
    days = np.bincount(day_pairs, minlength=int(aid.max()) + 1)
    count = np.bincount(aid, minlength=len(days))
    active = (count >= s.session_min_count) & (days >= s.session_min_days)
    # round the clock is no schedule: an account busy in most buckets of its days
    # shares them with every other such account, whoever runs it
    per_day = 86400 / width
    active &= count <= s.coactive_max_day_share * per_day * np.maximum(days, 1)
    sel = active[aid]
    a, tt = aid[sel], t[sel]
    tok = np.concatenate([(tt // width) * 2, ((tt + width // 2) // width) * 2 + 1])
    keys = unique((np.concatenate([a, a]) << 32) | tok, kind="stable")
    a, tok = keys >> 32, keys & 0xFFFFFFFF
    if not len(tok):
        return a, tok
    lo, hi = int(tok.min()), int(tok.max())
    if hi - lo <= 4 * len(tok) + (1 << 20):  # buckets span a bounded time: count directly
        by_bucket = np.bincount(tok - lo)
        counts, per_row = by_bucket[by_bucket > 0], by_bucket[tok - lo]
    else:
        _, inverse = unique_inverse(tok)
        counts = np.bincount(inverse)
        per_row = counts[inverse]
    keep = per_row <= s.session_crowd_factor * float(np.median(counts))
    return a[keep], tok[keep]


def minhashes(a: np.ndarray, tok: np.ndarray, s: DetectSettings) -> tuple[np.ndarray, np.ndarray]:
    """The distinct accounts of ``a`` (sorted) and their ``(accounts, bands * rows)``
    MinHash values: per hash function, the least hash of the account's tokens (one
    account's values side by side, so comparing two accounts reads two rows)."""
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]]) if len(a) else np.zeros(0, np.int64)
    rng = np.random.default_rng(s.seed)
    n_hash = s.session_bands * s.session_rows
    mult = rng.integers(0, 2**63, n_hash, dtype=np.int64).astype(np.uint64) | np.uint64(1)
    add = rng.integers(0, 2**63, n_hash, dtype=np.int64).astype(np.uint64)
    base = _mix(tok.astype(np.uint64))
    mins = np.empty((len(starts), n_hash), np.uint64)
    # accounts in chunks of about SIGNATURE_CHUNK tokens: the hash buffers stay in cache
    bounds = np.searchsorted(starts, np.arange(0, len(a), SIGNATURE_CHUNK))
    bounds = np.unique(np.r_[bounds, len(starts)])
    h = np.empty(min(len(a), 2 * SIGNATURE_CHUNK), np.uint64)
    shifted = np.empty_like(h)
    for c0, c1 in itertools.pairwise(bounds.tolist()):
        t0 = starts[c0]
        t1 = starts[c1] if c1 < len(starts) else len(a)
        b, at = base[t0:t1], starts[c0:c1] - t0
        if t1 - t0 > len(h):
            h, shifted = np.empty(t1 - t0, np.uint64), np.empty(t1 - t0, np.uint64)
        hc, sc = h[: t1 - t0], shifted[: t1 - t0]
        for i in range(n_hash):
            np.multiply(b, mult[i], out=hc)  # an odd multiplier permutes 64-bit values
            hc += add[i]
            np.right_shift(hc, np.uint64(29), out=sc)
            hc ^= sc
            mins[c0:c1, i] = np.minimum.reduceat(hc, at)
    return a[starts], mins


def band_signatures(mins: np.ndarray, s: DetectSettings) -> np.ndarray:
    """``(bands, accounts)`` band signatures: each band's ``rows`` MinHash values mixed."""
    sig = np.zeros((s.session_bands, mins.shape[0]), np.uint64)
    for band in range(s.session_bands):
        for r in range(s.session_rows):
            sig[band] = _mix(sig[band] ^ mins[:, band * s.session_rows + r])
    return sig


def candidate_pairs(sig: np.ndarray, neighbours: int) -> np.ndarray:
    """Distinct candidate pairs ``i * n + j`` (``i < j``, positions in ``sig``'s
    columns): accounts whose signature agrees on a band, each against the next
    ``neighbours`` of its band bucket in an order hashed per band (every pair of a
    bucket of up to ``neighbours + 1``; a bounded, well-mixed sample of a larger one)."""
    bands, n = sig.shape
    idx = np.arange(n, dtype=np.uint64)
    out = []
    for band in range(bands):
        shuffle = _mix(idx * np.uint64(bands) + np.uint64(band))
        order = _band_order(sig[band], shuffle)
        ss = sig[band][order]
        for off in range(1, neighbours + 1):
            same = np.flatnonzero(ss[off:] == ss[:-off])
            if not len(same):
                break
            i, j = order[same], order[same + off]
            out.append(np.minimum(i, j) * n + np.maximum(i, j))
    return unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


def _band_order(sig: np.ndarray, shuffle: np.ndarray) -> np.ndarray:
    """``np.lexsort((shuffle, sig))`` for distinct ``shuffle`` values, faster when most
    signatures are distinct: one sort by signature, then only the runs of equal
    signatures are put in ``shuffle`` order."""
    order = np.argsort(sig)
    ss = sig[order]
    tie = np.flatnonzero(ss[1:] == ss[:-1])
    if len(tie):
        in_run = np.zeros(len(ss), bool)
        in_run[tie] = in_run[tie + 1] = True
        pos = np.flatnonzero(in_run)
        sub = order[pos]
        order[pos] = sub[np.lexsort((shuffle[sub], ss[pos]))]
    return order


def similar_pairs(
    a: np.ndarray, tok: np.ndarray, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of accounts whose token sets (``a`` sorted, ``tok`` its tokens) are alike:
    estimated Jaccard similarity ``J`` at least ``coactivity_min_jaccard`` and at least
    ``coactivity_min_lift`` times what chance gives two accounts as busy as they are,
    over at least ``coactivity_min_shared`` shared tokens (a few buckets in common
    between two near-idle accounts is no schedule).

    Candidates come from :func:`candidate_pairs`; ``J`` is the share of the
    ``bands * rows`` MinHash values the pair has in common. Chance: accounts busy in
    shares ``p`` and ``q`` of the buckets of their active span share
    ``pq / (p + q - pq)`` of their buckets at random, so two bots busy around the clock
    are not alike for that. Returns account ids ``x < y`` and ``J``.
    """
    accounts, mins = minhashes(a, tok, s)
    n = len(accounts)
    key = candidate_pairs(band_signatures(mins, s), s.lsh_neighbours)
    i, j = key // max(n, 1), key % max(n, 1)
    sim = np.empty(len(key))
    step = max(1, 4_000_000 // max(1, mins.shape[1]))
    for c in range(0, len(key), step):
        sim[c : c + step] = (mins[i[c : c + step]] == mins[j[c : c + step]]).mean(axis=1)
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]]) if len(a) else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(a)])  # tokens per account, both grids
    span = tok[starts + sizes - 1] // 2 - tok[starts] // 2 + 1  # first to last bucket
    busy = np.clip(sizes / 2 / np.maximum(span, 1), 0.0, 1.0)
    p, q = busy[i], busy[j]
    chance = p * q / np.maximum(p + q - p * q, 1e-12)
    shared = sim / (1 + sim) * (sizes[i] + sizes[j])  # |A & B| from J and |A| + |B|
    keep = (sim >= s.coactivity_min_jaccard) & (sim >= s.coactivity_min_lift * chance)
    keep &= shared >= s.coactivity_min_shared
    return accounts[i[keep]], accounts[j[keep]], sim[keep]


def cosession_events(aid: np.ndarray, t: np.ndarray, s: DetectSettings) -> pd.DataFrame:
    """``cosession`` events from session starts (``aid``, ``t`` in epoch seconds, sorted
    by account): one entity per pair of accounts whose session starts are alike."""
    return _pair_events(aid, t, *session_tokens(aid, t, s), "cosession", s)


def coactive_events(aid: np.ndarray, t: np.ndarray, s: DetectSettings) -> pd.DataFrame:
    """``coactive`` events from each account's active hours (``t``: the start of every
    hour, epoch seconds, with a request of the account): accounts driven through the
    same shifting work windows day after day are alike, even when their requests
    inside a window are spread at random."""
    tokens = bucket_tokens(aid, t, s.coactive_bucket_minutes, s)
    return _pair_events(aid, t, *tokens, "coactive", s)


def _pair_events(
    aid: np.ndarray, t: np.ndarray, a: np.ndarray, tok: np.ndarray, etype: str, s: DetectSettings
) -> pd.DataFrame:
    """Two ``etype`` events (one per account) for each pair of :func:`similar_pairs`, keyed
    ``j<J>|<aid>|<aid>``; ``n``, first and last use: the account's own times."""
    if not len(a):
        return _empty()
    x, y, sim = similar_pairs(a, tok, s)
    who = np.concatenate([x, y])
    keys = [
        f"j{v:.2f}|{p}|{q}" for v, p, q in zip(sim.tolist(), x.tolist(), y.tolist(), strict=True)
    ]
    # each account's first and last time and its count
    if np.any(aid[1:] < aid[:-1]):
        order = np.argsort(aid, kind="stable")
        aid, t = aid[order], t[order]
    first = np.flatnonzero(np.r_[True, aid[1:] != aid[:-1]])
    row = np.searchsorted(aid[first], who)
    return pd.DataFrame(
        {
            "aid": who.astype(np.int32),
            "etype": etype,
            "ekey": keys + keys,
            "n": np.diff(np.r_[first, len(aid)])[row].astype(np.int64),
            "first_ts": pd.to_datetime(np.minimum.reduceat(t, first)[row], unit="s", utc=True),
            "last_ts": pd.to_datetime(np.maximum.reduceat(t, first)[row], unit="s", utc=True),
        }
    )


def signup_events(accounts: pd.DataFrame, s: DetectSettings) -> pd.DataFrame:
    """``signup`` events from ``accounts`` (``aid, created_at, country, email_domain``)."""
    if accounts.empty:
        return _empty()
    width = int(s.signup_window_minutes * 60)
    created = pd.to_datetime(accounts.created_at, utc=True)
    t = ((created - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    profile = (
        accounts.country.fillna("?").astype(str)
        + "|"
        + accounts.email_domain.fillna("?").astype(str)
    ).to_numpy()
    codes = pd.factorize(profile)[0].astype(np.int64)
    everyone = (np.full(len(profile), "*", dtype=object), np.zeros(len(profile), np.int64))
    aid, ts = accounts.aid.to_numpy(), created.array
    frames = []
    for shift, tag in ((0, "a"), (width // 2, "b")):
        w = (t + shift) // width
        for prof, code in (everyone, (profile, codes)):
            _, group = unique_inverse(code * (int(w.max() - w.min()) + 1) + (w - w.min()))
            count = np.bincount(group)[group]
            rate = _local_rate(code, w, 7 * 86400 // width)
            burst = np.flatnonzero(
                (count >= s.signup_burst_min) & (count >= s.signup_burst_factor * rate)
            )
            keys = [f"{tag}{x}|{p}" for x, p in zip(w[burst], prof[burst], strict=True)]
            frames.append(pd.DataFrame({"aid": aid[burst], "ts": ts[burst], "ekey": keys}))
    out = pd.concat(frames, ignore_index=True)
    return pd.DataFrame(
        {
            "aid": out.aid.to_numpy(np.int32),
            "etype": "signup",
            "ekey": out.ekey.to_numpy(object),
            "n": np.ones(len(out), np.int64),
            "first_ts": out.ts,
            "last_ts": out.ts,
        }
    )


def _local_rate(codes: np.ndarray, w: np.ndarray, half: int) -> np.ndarray:
    """For each row, the sign-ups per window of its profile (``codes``, integers) over the
    ``half`` windows either side (its own window included): the usual rate around then."""
    key = codes * (int(w.max()) + 2 * half + 2) + w
    order = np.sort(key)
    around = np.searchsorted(order, key + half, "right") - np.searchsorted(order, key - half)
    return around / (2 * half + 1)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "aid": pd.Series([], dtype=np.int32),
            "etype": pd.Series([], dtype=object),
            "ekey": pd.Series([], dtype=object),
            "n": pd.Series([], dtype=np.int64),
            "first_ts": pd.Series([], dtype="datetime64[us, UTC]"),
            "last_ts": pd.Series([], dtype="datetime64[us, UTC]"),
        }
    )
