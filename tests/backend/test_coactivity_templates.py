"""Co-activity, templates and IP intelligence on DuckDB and Spark: from the same inputs
(the DuckDB pipeline's ``acct`` and ``events``, mirrored to Spark, and the store's
tables), each stage's tables are the same on both engines, row for row; the LSH
candidates in SQL are the in-memory definition's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from linkage.arrays import mix64, unique
from linkage.backend import Backend, DuckDBBackend
from linkage.graph import Workspace, build_events
from linkage.graph.coactivity import build_coactivity, candidates_sql, signatures
from linkage.graph.events import REQ_SQL, Events
from linkage.graph.ipintel import annotate_ip_kinds
from linkage.graph.templates import build_templates
from linkage.settings import DetectSettings

from .conftest import mirror, store_on
from .test_backends import _canonical

STAGE_TABLES = (
    "session_starts",
    "distinct_prompts",
    "prompt_skeletons",
    "templates",
    "prompt_templates",
    "entity_kind",
)
NEW_ETYPES = ("cosession", "coactive", "signup", "template")

LOOSE = replace(
    DetectSettings(),
    session_min_count=4,
    session_min_days=2,
    lsh_neighbours=2,
    coactivity_min_jaccard=0.15,
    coactivity_min_lift=1.2,
    coactivity_min_shared=4,
    signup_window_minutes=360.0,
    signup_burst_min=3,
    signup_burst_factor=2.0,
)
"""Looser than the defaults, so that the 600-account store has evidence of every kind
(by default: no sign-up burst, one ``cosession`` pair), and few LSH neighbours, so
that crowded band buckets are sampled in shuffle order."""


def _stages(ws: Workspace, settings: DetectSettings) -> dict[str, pd.DataFrame]:
    """Run the three stages as build_graph does; their tables, canonical."""
    events = Events(ws.backend.count("acct"))
    build_coactivity(ws, events, settings)
    build_templates(ws, events)
    annotate_ip_kinds(ws, events)
    got = {t: _canonical(ws.backend.fetch_pandas(f"SELECT * FROM {t}")) for t in STAGE_TABLES}
    etypes = ", ".join(f"'{e}'" for e in NEW_ETYPES)
    got["events"] = _canonical(
        ws.backend.fetch_pandas(f"SELECT * FROM events WHERE etype IN ({etypes})")
    )
    return got


@pytest.fixture(scope="module")
def both(spark, store_parquet: tuple[Path, Path]):
    """``(duckdb tables, spark tables)`` of the stages with :data:`LOOSE` settings (the
    defaults are checked on DuckDB against the in-memory definitions, and the
    candidates at the default ``lsh_neighbours`` on Spark, below)."""
    on_spark = store_on(spark, store_parquet[1])
    with Workspace.open(store_parquet[0], read_only=True) as ws:
        build_events(ws)
        mirror(ws, spark, ["acct", "events"])
        on_spark.create("req", REQ_SQL, view=True)
        duck = _stages(ws, LOOSE)
    return duck, _stages(on_spark, LOOSE)


@pytest.mark.parametrize("table", [*STAGE_TABLES, "events"])
def test_stage_tables_are_the_same_on_spark(both, table):
    duck, spark = both
    pd.testing.assert_frame_equal(spark[table], duck[table])


def test_the_store_has_evidence_of_every_kind(both):
    duck, _ = both
    counts = duck["events"].etype.value_counts()
    assert set(counts.index) == set(NEW_ETYPES) and counts.min() >= 8, counts  # cosession: 4 pairs
    assert len(duck["session_starts"]) > 10_000 and len(duck["templates"]) > 5
    assert (duck["entity_kind"].ekey.str.contains(":")).sum() > 100  # IPv6 matched too


def test_templates_of_any_text_are_the_same_on_spark(spark):
    """Text where Spark's own lower-casing, trim and ``\\s`` differ from DuckDB's: the
    skeleton (computed by DuckDB on every engine) and template id do not."""
    words = ["İstanbul", "ΟΔΟΣ ΣΑΣ", "\u00a0lead", "tab\x0bsplit", "a\u2003b", "Straße"]
    prompts = [f"{w} plan number {i} for the {i % 3} team" for w in words for i in range(4)]
    req = pa.table(
        {
            "aid": pa.array([i % 5 for i in range(len(prompts))], pa.int32()),
            "ts": pa.array(pd.date_range("2026-01-01", periods=len(prompts), freq="h", tz="UTC")),
            "prompt_text": prompts,
        }
    )
    got = []
    for backend in (DuckDBBackend(), spark):
        ws = Workspace.on(backend)
        backend.register_arrow("req", req)
        ws.create(
            "events",
            """SELECT aid, 'x' AS etype, 'x' AS ekey, 1::BIGINT AS n, ts AS first_ts,
                      ts AS last_ts FROM req WHERE false""",
        )
        build_templates(ws, Events(5))
        got.append(
            [
                _canonical(backend.fetch_pandas(f"SELECT * FROM {t}"))
                for t in ("distinct_prompts", "templates")
            ]
        )
    assert len(got[0][1]) == len(words)
    for spark_table, duck_table in zip(got[1], got[0], strict=True):
        pd.testing.assert_frame_equal(spark_table, duck_table)


# -- LSH candidates: SQL against the in-memory definition --------------------------------


def candidate_pairs(sig: np.ndarray, neighbours: int) -> np.ndarray:
    """The in-memory definition (the stage's before it ran on backends): distinct pairs
    ``i * n + j`` (``i < j``, positions in ``sig``'s columns) of accounts whose signature
    agrees on a band, each against the next ``neighbours`` of its band bucket in an
    order hashed per band."""
    bands, n = sig.shape
    idx = np.arange(n, dtype=np.uint64)
    out = []
    for band in range(bands):
        shuffle = mix64(idx * np.uint64(bands) + np.uint64(band))
        order = np.lexsort((shuffle, sig[band]))
        ss = sig[band][order]
        for off in range(1, neighbours + 1):
            same = np.flatnonzero(ss[off:] == ss[:-off])
            if not len(same):
                break
            i, j = order[same], order[same + off]
            out.append(np.minimum(i, j) * n + np.maximum(i, j))
    return unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


def _token_rows(rng: np.random.Generator) -> pa.Table:
    """(aid, idx, tok) of 300 accounts (sparse ids): groups of 2 to 40 with the same
    tokens (crowded band buckets), near copies and singles."""
    rows = []
    aid = 0
    while aid < 3000:
        base = rng.choice(5000, int(rng.integers(5, 30)), replace=False)
        for _ in range(int(rng.choice([1, 2, 3, 12, 40]))):
            toks = base if rng.random() < 0.7 else rng.choice(5000, len(base), replace=False)
            rows += [(aid, int(t)) for t in toks]
            aid += int(rng.integers(1, 20))
    a, t = np.array(rows).T
    _, idx = np.unique(a, return_inverse=True)
    return pa.table({"aid": a.astype(np.int32), "idx": idx.astype(np.int64), "tok": t})


@pytest.mark.parametrize("neighbours", [1, 2, 10])
def test_sql_candidates_are_the_in_memory_definitions(spark, neighbours):
    s = replace(DetectSettings(), lsh_neighbours=neighbours)
    rows = _token_rows(np.random.default_rng(neighbours))
    sig = signatures(s, rows)
    aids = sig.column("aid").to_numpy()
    bands = np.stack([sig.column(f"b{b}").to_numpy() for b in range(s.session_bands)])
    key = candidate_pairs(bands.view(np.uint64), neighbours)
    n = len(aids)
    want = set(zip(aids[key // n].tolist(), aids[key % n].tolist(), strict=True))
    assert len(want) > 1000
    backends: list[Backend] = [DuckDBBackend(), spark] if neighbours == 10 else [DuckDBBackend()]
    for backend in backends:
        backend.register_arrow("sig", sig)
        got = backend.fetch(candidates_sql("sig", s)).to_pylist()
        assert {(r["x"], r["y"]) for r in got} == want, backend.name
