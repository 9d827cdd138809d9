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

**On any backend.** The stage runs through its workspace's backend, the same on
DuckDB and Spark: session starts, tokens, bucket crowding, LSH candidates (a window
over each band's buckets), similarity and sign-up bursts are SQL; each account's
MinHash values are numpy per account (:func:`signatures`, in
:meth:`~linkage.backend.Backend.map_by`). The driver gets one global number, the
median bucket occupancy, from a histogram (a row per distinct occupancy).
:func:`bucket_tokens`, :func:`similar_pairs` and :func:`signup_events` run the same
SQL on arrays and frames, on an in-memory DuckDB.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.arrays import mix64 as _mix
from linkage.backend import DuckDBBackend
from linkage.graph.events import Events
from linkage.graph.workspace import Workspace, WorkTable, tables_of
from linkage.settings import DetectSettings

__all__ = [
    "Coactivity",
    "band_signatures",
    "bucket_tokens",
    "build_coactivity",
    "candidates_sql",
    "minhashes",
    "session_starts_sql",
    "session_tokens",
    "signatures",
    "signup_events",
    "signup_sql",
    "similar_pairs",
    "tokens_sql",
]

SIGNATURE_CHUNK = 1 << 16
"""Tokens hashed per step in :func:`minhashes` (whole accounts)."""

ACCOUNTS_SQL = """SELECT a.aid, a.created_at, s.country, a.email_domain
    FROM acct a JOIN accounts s USING (account_id)"""
"""The accounts as :func:`signup_events` reads them."""

HOURS_SQL = """SELECT DISTINCT aid, (epoch_us(ts) - ((epoch_us(ts) % 3600000000) + 3600000000)
                                    % 3600000000) // 1000000 AS t
    FROM req"""
"""The start of each hour (epoch seconds) in which an account sent a request: the start
of each request's hour in integers (floored before 1970 too), ``date_trunc('hour',
ts)`` in the store's UTC without the calendar arithmetic."""


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
    """Find session starts and sign-up bursts; add them to ``events``.

    Runs on the backend of ``ws``: tokens, their crowding and the LSH candidates in SQL,
    each account's MinHash values in :meth:`~linkage.backend.Backend.map_by`; what comes
    to the driver is the histogram of bucket occupancy (for its median).
    """
    s = settings
    ws.create("session_starts", session_starts_sql(s))
    ws.create("coact_hours", HOURS_SQL)
    # starts a gap apart in DuckDB's double seconds are a gap less 1 s apart at least in
    # whole ones (each rounded by half a second at most); 1 s more for the doubles' own
    # rounding. Hours are 3,600 s apart.
    gap = s.session_gap_minutes * 60 - 2
    parts = [
        _alike_sql(ws, "cosession", "session_starts", s.session_bucket_minutes, gap, s),
        _alike_sql(ws, "coactive", "coact_hours", s.coactive_bucket_minutes, 3600, s),
        signup_sql(ACCOUNTS_SQL, s),
    ]
    ws.append("events", " UNION ALL ".join(part for part in parts if part))
    counts = ws.fetch(
        "SELECT etype, count(*) AS n FROM events "
        "WHERE etype IN ('cosession', 'coactive', 'signup') GROUP BY etype"
    )
    found = dict(zip(counts.column(0).to_pylist(), counts.column(1).to_pylist(), strict=True))
    ws.drop("coact_hours", *(f"coact_{e}_{t}" for e in _PAIRED for t in _SCRATCH))
    return Coactivity(
        ws.backend.count("session_starts"),
        found.get("cosession", 0),
        found.get("coactive", 0),
        found.get("signup", 0),
    )


_PAIRED = ("cosession", "coactive")
_SCRATCH = ("tok", "sig", "cand", "pairs")
"""Scratch tables of each paired evidence type: ``coact_<etype>_<scratch>``."""


def _double(x: float) -> str:
    """SQL for the double ``x`` exactly, on every engine (a bare ``0.1`` is a DECIMAL)."""
    return f"CAST('{float(x)!r}' AS DOUBLE)"


def _fdiv(x: str, d: int) -> str:
    """SQL for ``floor(x / d)`` of the integer ``x`` and ``d > 0`` (SQL's ``//`` and ``%``
    round toward zero), as numpy's ``//``."""
    return f"(({x}) - ((({x}) % {d}) + {d}) % {d}) // {d}"


def _epoch_sql(ts: str) -> str:
    """DuckDB's ``epoch(ts)`` of a ``TIMESTAMPTZ`` (seconds as a double) as arithmetic on
    its microseconds, so every engine computes the same double: whole milliseconds over
    1,000 plus the microseconds left over 10^6, floored before 1970 (DuckDB's own, to the
    last bit; ``epoch_us(ts) / 1e6`` differs from it in the last bit for a quarter of
    timestamps)."""
    rem = f"((epoch_us({ts}) % 1000) + 1000) % 1000"
    return f"((epoch_us({ts}) - {rem}) // 1000)::DOUBLE / 1000 + ({rem})::DOUBLE / 1e6"


def session_starts_sql(s: DetectSettings) -> str:
    """``session_starts(aid, t)``: each request after at least ``session_gap_minutes`` of
    the account's silence (or its first), ``t`` its epoch seconds rounded half to even
    (DuckDB's cast of ``epoch(ts)``)."""
    return f"""
        SELECT aid, round_even({_epoch_sql("ts")}, 0)::BIGINT AS t FROM (
            SELECT aid, ts, lag(ts) OVER (PARTITION BY aid ORDER BY ts) AS prev FROM req)
        WHERE prev IS NULL
           OR {_epoch_sql("ts")} - {_epoch_sql("prev")} >= {_double(s.session_gap_minutes * 60)}"""


def tokens_sql(times: str, width: int, s: DetectSettings, spacing: float = 0) -> str:
    """Distinct ``(aid, tok)`` of the times ``t`` (epoch seconds) of the table ``times``:
    each time's bucket of ``width`` seconds on two grids half a bucket apart (``2 * b``
    and ``2 * b + 1``), for accounts with at least ``session_min_count`` times on
    ``session_min_days`` days and at most ``coactive_max_day_share`` of the buckets of
    those days (a round-the-clock account has no schedule to share). When an account's
    times are at least ``spacing >= width`` seconds apart, no two share a bucket and
    the rows are distinct without ``DISTINCT``."""
    share = _double(s.coactive_max_day_share * (86400 / width))
    distinct = "DISTINCT" if width > spacing else ""
    return f"""
        WITH active AS (
            SELECT aid FROM (
                SELECT aid, count(*) AS n, count(DISTINCT {_fdiv("t", 86400)}) AS days
                FROM {times} GROUP BY aid)
            WHERE n >= {int(s.session_min_count)} AND days >= {int(s.session_min_days)}
              AND n <= {share} * greatest(days, 1)),
        times AS (SELECT aid, t FROM {times} JOIN active USING (aid))
        SELECT {distinct} aid, tok FROM (
            SELECT aid, 2 * {_fdiv("t", width)} AS tok FROM times
            UNION ALL SELECT aid, 2 * {_fdiv(f"t + {width // 2}", width)} + 1 FROM times)"""


def _kept_sql(ws: Workspace, tokens: str, s: DetectSettings) -> str | None:
    """SQL of the rows ``(aid, tok)`` of the table ``tokens`` whose bucket is held by at
    most ``session_crowd_factor`` times the median occupied bucket's accounts (the top
    of the hour, when every cron job fires, is commodity timing); ``None`` when there
    are no tokens. The median is the one global number: computed on the driver over
    the histogram of occupancy (a row per distinct number of holders)."""
    hist = ws.fetch(
        f"SELECT h, count(*) AS c FROM (SELECT count(*) AS h FROM {tokens} GROUP BY tok) GROUP BY h"
    )
    if not hist.num_rows:
        return None
    holders = np.repeat(hist.column("h").to_numpy(), hist.column("c").to_numpy())
    limit = s.session_crowd_factor * float(np.median(holders))
    return f"""SELECT aid, tok FROM {tokens} JOIN (
                   SELECT tok FROM {tokens} GROUP BY tok HAVING count(*) <= {_double(limit)}
               ) USING (tok)"""


def _alike_sql(
    ws: Workspace, etype: str, times: str, minutes: float, spacing: float, s: DetectSettings
) -> str | None:
    """SQL of the ``etype`` events of the pairs of accounts whose bucket tokens of the
    times ``t`` of the table ``times`` (``spacing`` seconds apart at least, per account:
    :func:`tokens_sql`) are alike (:func:`similar_pairs`), ``None`` when
    no account has tokens: two events per pair (one per account), keyed
    ``j<J>|<aid>|<aid>``; ``n``, first and last use: the account's own times. Leaves the
    scratch tables ``coact_<etype>_*`` the query reads."""
    prefix = f"coact_{etype}"
    ws.create(f"{prefix}_tok", tokens_sql(times, int(minutes * 60), s, spacing))
    kept = _kept_sql(ws, f"{prefix}_tok", s)
    if kept is None:
        return None
    pairs = _similar(ws, kept, prefix, s)
    ws.drop(f"{prefix}_tok")  # each account's tokens are in its signature now
    return f"""
        SELECT aid, '{etype}' AS etype, ekey, n, make_timestamp(lo * 1000000) AS first_ts,
               make_timestamp(hi * 1000000) AS last_ts
        FROM (SELECT p.*, s.n, s.lo, s.hi FROM (
                  SELECT 0 AS side, x AS aid, x, y, ekey FROM {pairs}
                  UNION ALL SELECT 1, y, x, y, ekey FROM {pairs}) p
              JOIN (SELECT aid, count(*) AS n, min(t) AS lo, max(t) AS hi
                    FROM {times} GROUP BY aid) s USING (aid)
              ORDER BY side, x, y)"""


def bucket_tokens(
    aid: np.ndarray, t: np.ndarray, minutes: float, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (account, token) pairs of times ``t`` (epoch seconds) of accounts ``aid``
    as the stage makes them (:func:`tokens_sql`, crowded buckets dropped), sorted; run
    on an in-memory DuckDB."""
    with DuckDBBackend() as backend:
        ws = Workspace.on(backend)
        times = pa.table({"aid": np.asarray(aid, np.int64), "t": np.asarray(t, np.int64)})
        with ws.registered("times_in", times):
            ws.create("tokens", tokens_sql("times_in", int(minutes * 60), s))
        kept = _kept_sql(ws, "tokens", s)
        if kept is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        got = ws.fetch(f"SELECT aid, tok FROM ({kept}) ORDER BY aid, tok")
    return (
        got.column("aid").to_numpy().astype(np.int64),
        got.column("tok").to_numpy().astype(np.int64),
    )


def session_tokens(
    aid: np.ndarray, t: np.ndarray, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bucket_tokens` of session starts, in ``session_bucket_minutes`` buckets."""
    return bucket_tokens(aid, t, s.session_bucket_minutes, s)


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


def signature_schema(s: DetectSettings) -> pa.Schema:
    """Columns of :func:`signatures`."""
    fields = [("aid", pa.int32()), ("size", pa.int64()), ("lo", pa.int64()), ("hi", pa.int64())]
    fields += [(f"m{h}", pa.int64()) for h in range(s.session_bands * s.session_rows)]
    for band in range(s.session_bands):
        fields += [(f"b{band}", pa.int64()), (f"s{band}", pa.int64())]
    return pa.schema(fields)


_SIGN = np.uint64(1 << 63)


def signatures(s: DetectSettings, rows: pa.Table) -> pa.Table:
    """One row per account of ``rows`` (``aid, idx, tok``; every token of each account
    present, ``idx`` the account's position among all accounts with tokens): its number
    of tokens ``size``, least and greatest token ``lo``, ``hi``, MinHash values
    ``m0..`` (:func:`minhashes`), band signatures ``b0..`` (:func:`band_signatures`)
    and each band's shuffle key ``s0..``: the account's place in its band bucket,
    hashed from ``idx`` and the band. 64-bit values travel as ``int64`` bits; shuffle
    keys with the sign bit flipped, so that signed order is the unsigned hash's order."""
    aid = np.asarray(rows.column("aid").to_numpy(), np.int64)
    order = _by_account(aid)
    aid = aid[order]
    tok = np.asarray(rows.column("tok").to_numpy(), np.int64)[order]
    accounts, mins = minhashes(aid, tok, s)
    starts = np.flatnonzero(np.r_[True, aid[1:] != aid[:-1]]) if len(aid) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(aid)].astype(np.int64)
    lo = np.minimum.reduceat(tok, starts) if len(tok) else tok
    hi = np.maximum.reduceat(tok, starts) if len(tok) else tok
    sig = band_signatures(mins, s)
    pos = np.asarray(rows.column("idx").take(order[starts]).to_numpy(), np.uint64)
    bands = np.uint64(s.session_bands)
    cols: dict[str, np.ndarray] = {
        "aid": accounts.astype(np.int32),
        "size": ends - starts,
        "lo": lo,
        "hi": hi,
    }
    for h in range(mins.shape[1]):
        cols[f"m{h}"] = np.ascontiguousarray(mins[:, h]).view(np.int64)
    for band in range(s.session_bands):
        cols[f"b{band}"] = sig[band].view(np.int64)
        shuffle = _mix(pos * bands + np.uint64(band))  # candidate order within a bucket
        cols[f"s{band}"] = (shuffle ^ _SIGN).view(np.int64)
    return pa.table(cols, schema=signature_schema(s))


def _by_account(aid: np.ndarray) -> np.ndarray:
    """A stable order that groups rows by ``aid`` (``0 <= aid < 2**32``): two passes of
    numpy's radix sort on 16-bit digits, ten times faster than sorting int64 keys."""
    order = np.argsort((aid & 0xFFFF).astype(np.uint16), kind="stable")
    if len(aid) and int(aid.max()) >> 16:
        order = order[np.argsort((aid[order] >> 16).astype(np.uint16), kind="stable")]
    return order


def candidates_sql(sig: str, s: DetectSettings) -> str:
    """Distinct candidate pairs ``(x, y)``, ``x < y``, of the signatures table ``sig``
    (:func:`signatures`): accounts whose signature agrees on a band, each against the
    next ``lsh_neighbours`` of its band bucket in shuffle order (every pair of a bucket
    of up to ``lsh_neighbours + 1``; a bounded, well-mixed sample of a larger one)."""
    bands = ", ".join(f"{{'band': {b}, 'sig': b{b}, 'shuf': s{b}}}" for b in range(s.session_bands))
    after = range(1, max(int(s.lsh_neighbours), 0) + 1)
    if not after:
        return f"SELECT aid AS x, aid AS y FROM {sig} WHERE false"
    window = "OVER (PARTITION BY band, sig ORDER BY shuf)"
    leads = ", ".join(f"lead(aid, {k}) {window} AS n{k}" for k in after)
    others = ", ".join(f"n{k}" for k in after)
    return f"""
        WITH bands AS (
            SELECT aid, u.band, u.sig, u.shuf FROM (SELECT aid, unnest([{bands}]) AS u FROM {sig})),
        shared AS (SELECT * FROM bands JOIN (
            SELECT band, sig FROM bands GROUP BY band, sig HAVING count(*) > 1) USING (band, sig)),
        led AS (SELECT aid, {leads} FROM shared)
        SELECT DISTINCT least(aid, other) AS x, greatest(aid, other) AS y
        FROM (SELECT aid, unnest([{others}]) AS other FROM led) WHERE other IS NOT NULL"""


def _busy_sql(a: str) -> str:
    """SQL for the share of the buckets from first to last (one grid) the account of the
    signature row ``a`` is busy in, at most 1."""
    span = f"{_fdiv(f'{a}.hi', 2)} - {_fdiv(f'{a}.lo', 2)} + 1"
    return f"least(greatest({a}.size / 2 / greatest({span}, 1), 0.0), 1.0)"


def _similar(ws: Workspace, kept: str, prefix: str, s: DetectSettings) -> str:
    """Make the table ``<prefix>_pairs(x, y, sim, ekey)`` of the alike pairs of the token
    rows ``kept`` (SQL of ``aid, tok``), as :func:`similar_pairs` defines them, and
    return its name; also leaves ``<prefix>_sig`` and ``<prefix>_cand``."""
    sig, cand, out = f"{prefix}_sig", f"{prefix}_cand", f"{prefix}_pairs"
    ws.backend.map_by(
        sig,
        f"""WITH k AS ({kept})
            SELECT k.aid, i.idx, k.tok FROM k JOIN (
                SELECT aid, row_number() OVER (ORDER BY aid) - 1 AS idx
                FROM (SELECT DISTINCT aid FROM k)) i USING (aid)""",
        ["aid"],
        partial(signatures, s),
        signature_schema(s),
    )
    ws.create(cand, candidates_sql(sig, s), view=True)
    n_hash = s.session_bands * s.session_rows
    same = " + ".join(f"(p.m{h} = q.m{h})::INTEGER" for h in range(n_hash))
    # J is the share of equal MinHash values, one of n_hash + 1 values: its key text too
    sims = [k / n_hash for k in range(n_hash + 1)]
    similarity = pa.table(
        {
            "same": pa.array(range(n_hash + 1), pa.int32()),
            "sim": pa.array(sims, pa.float64()),
            "jtext": [f"j{v:.2f}" for v in sims],
        }
    )
    with ws.registered(f"{prefix}_j", similarity):
        ws.create(
            out,
            f"""SELECT x, y, sim, jtext || '|' || CAST(x AS VARCHAR) || '|' || CAST(y AS VARCHAR)
                       AS ekey
                FROM (SELECT c.x, c.y, {same} AS same, p.size + q.size AS sizes,
                             {_busy_sql("p")} AS bp, {_busy_sql("q")} AS bq
                      FROM {cand} c JOIN {sig} p ON p.aid = c.x JOIN {sig} q ON q.aid = c.y)
                JOIN {prefix}_j USING (same)
                WHERE sim >= {_double(s.coactivity_min_jaccard)}
                  AND sim >= {_double(s.coactivity_min_lift)}
                             * (bp * bq / greatest(bp + bq - bp * bq, 1e-12))
                  AND sim / (1 + sim) * sizes >= {_double(s.coactivity_min_shared)}""",
        )
    return out


def similar_pairs(
    a: np.ndarray, tok: np.ndarray, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of accounts whose token sets (``a`` sorted, ``tok`` its tokens) are alike:
    estimated Jaccard similarity ``J`` at least ``coactivity_min_jaccard`` and at least
    ``coactivity_min_lift`` times what chance gives two accounts as busy as they are,
    over at least ``coactivity_min_shared`` shared tokens (a few buckets in common
    between two near-idle accounts is no schedule).

    Candidates come from :func:`candidates_sql`; ``J`` is the share of the
    ``bands * rows`` MinHash values the pair has in common. Chance: accounts busy in
    shares ``p`` and ``q`` of the buckets of their active span share
    ``pq / (p + q - pq)`` of their buckets at random, so two bots busy around the clock
    are not alike for that. Returns account ids ``x < y`` and ``J``, as the stage finds
    them (run on an in-memory DuckDB).
    """
    with DuckDBBackend() as backend:
        ws = Workspace.on(backend)
        tokens = pa.table({"aid": np.asarray(a, np.int32), "tok": np.asarray(tok, np.int64)})
        with ws.registered("tokens_in", tokens):
            pairs = _similar(ws, "SELECT aid, tok FROM tokens_in", "pairs", s)
            got = ws.fetch(f"SELECT x, y, sim FROM {pairs} ORDER BY x, y")
    return (
        got.column("x").to_numpy().astype(np.int64),
        got.column("y").to_numpy().astype(np.int64),
        got.column("sim").to_numpy(),
    )


def signup_sql(accounts: str, s: DetectSettings) -> str:
    """``signup`` events of the accounts of the query ``accounts`` (``aid, created_at,
    country, email_domain``): accounts created in the same ``signup_window_minutes``
    window (on two grids, ``a`` from the epoch and ``b`` half a window later) share an
    entity, per profile (``*``: everyone; else ``country|email_domain``, ``?`` when
    missing), when the window holds at least ``signup_burst_min`` of them and
    ``signup_burst_factor`` times the profile's mean per window over the week either
    side (its own window included)."""
    width = int(s.signup_window_minutes * 60)
    half = 7 * 86400 // width
    seconds = _fdiv("epoch_us(created_at)", 1_000_000)
    grids = " UNION ALL ".join(
        f"SELECT aid, created_at, '{tag}' AS tag, {prof} AS prof, "
        f"{_fdiv(f't + {shift}', width)} AS w FROM a"
        for tag, shift in (("a", 0), ("b", width // 2))
        for prof in ("'*'", "profile")
    )
    return f"""
        SELECT aid, 'signup' AS etype, ekey, 1::BIGINT AS n, created_at AS first_ts,
               created_at AS last_ts
        FROM (
            WITH a AS (
                SELECT aid, created_at, {seconds} AS t,
                       coalesce(CAST(country AS VARCHAR), '?') || '|'
                       || coalesce(CAST(email_domain AS VARCHAR), '?') AS profile
                FROM ({accounts})),
            w AS ({grids}),
            g AS (SELECT tag, prof, w, count(*) AS c FROM w GROUP BY tag, prof, w),
            r AS (SELECT tag, prof, w, c, sum(c) OVER (
                      PARTITION BY tag, prof ORDER BY w
                      RANGE BETWEEN {half} PRECEDING AND {half} FOLLOWING) AS around
                  FROM g)
            SELECT w.aid, w.tag, w.prof, w.created_at,
                   w.tag || CAST(w.w AS VARCHAR) || '|' || w.prof AS ekey
            FROM w JOIN r USING (tag, prof, w)
            WHERE r.c >= {int(s.signup_burst_min)}
              AND r.c >= {_double(s.signup_burst_factor)} * (r.around / {2 * half + 1})
            ORDER BY tag, prof <> '*', aid)"""


def signup_events(accounts: pd.DataFrame, s: DetectSettings) -> pd.DataFrame:
    """``signup`` events from ``accounts`` (``aid, created_at, country, email_domain``),
    as the stage finds them (:func:`signup_sql`, run on an in-memory DuckDB)."""
    with DuckDBBackend() as backend:
        ws = Workspace.on(backend)
        rows = accounts[["aid", "created_at", "country", "email_domain"]]
        with ws.registered("accounts_in", rows):
            got = ws.fetch(signup_sql("SELECT * FROM accounts_in", s)).to_pandas()
    return got.astype({"aid": np.int32, "n": np.int64})
