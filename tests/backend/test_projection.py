"""The projection stage on Spark: ``project_pairs`` over the same inputs gives DuckDB's
entities, weights, pair evidence and edges (weights within 1e-9: the JVM's ``ln`` is
not the C library's in the last bit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from linkage.graph import Workspace
from linkage.graph.clusters import build_prompt_clusters
from linkage.graph.coactivity import build_coactivity
from linkage.graph.events import build_events
from linkage.graph.ipintel import annotate_ip_kinds
from linkage.graph.project import PAIR_SCHEMA, link_pairs, project_pairs
from linkage.graph.templates import build_templates
from linkage.settings import DetectSettings

from .conftest import mirror
from .test_backends import _canonical

INPUTS = ("events", "entity_kind")
"""The working tables the projection reads, made by the stages before it."""

FLOATS = {"entity_weight": ["w"], "pair_evidence": ["w"], "edges": ["weight", "bond"]}
"""Columns computed from ``ln``: equal within 1e-9 relative, not bit for bit."""

KEYS = {
    "entities": ["eid"],
    "entity_weight": ["eid"],
    "pair_evidence": ["src", "dst", "eid"],
    "edges": ["src", "dst"],
}


def _table(ws: Workspace, name: str) -> pd.DataFrame:
    rows = ws.fetch(f"SELECT * FROM {name}").to_pandas()
    if "signals" in rows:  # arrays: compared as text
        rows["signals"] = rows["signals"].map(lambda x: ",".join(x))
    return _canonical(rows).sort_values(KEYS[name]).reset_index(drop=True)


@pytest.fixture(scope="module")
def inputs(spark, store_parquet: tuple[Path, Path]):
    """``(duckdb workspace, the stages' outputs, dismissed infrastructure)``: the stages
    before the projection run on DuckDB, their tables mirrored to Spark."""
    s = DetectSettings()
    with Workspace.open(store_parquet[0], read_only=True) as ws:
        events = build_events(ws)
        stages = {
            "events": events,
            "coactivity": build_coactivity(ws, events, s),
            "templates": build_templates(ws, events),
            "prompt_clusters": build_prompt_clusters(ws, events, s),
            "ip_kinds": annotate_ip_kinds(ws, events),
        }
        # addresses a few accounts share, as if investigators dismissed them
        known = ws.fetch(
            "SELECT etype, ekey FROM events WHERE etype = 'ip' GROUP BY ALL "
            "HAVING count(*) BETWEEN 2 AND 4 ORDER BY ekey LIMIT 5"
        ).to_pandas()
        mirror(ws, spark, INPUTS)
        yield ws, stages, known


@pytest.fixture(scope="module", params=["no decisions", "dismissed infrastructure"])
def both(request, spark, inputs):
    """``(duckdb tables, spark tables, duckdb projection, spark projection)``."""
    ws, stages, known = inputs
    known = known if request.param == "dismissed infrastructure" else None
    s = DetectSettings()
    duck = project_pairs(ws, s, **stages, known_legitimate=known)
    assert ws.arrow("pair_evidence").num_rows == duck.pairs
    expected = {name: _table(ws, name) for name in KEYS}
    on_spark = Workspace.on(spark)
    got = project_pairs(on_spark, s, **stages, known_legitimate=known)
    if known is not None:  # the dismissed addresses still link accounts, weighed down
        assert len(known) == 5 and set(known.ekey) <= set(expected["entity_weight"].ekey)
    return expected, {name: _table(on_spark, name) for name in KEYS}, duck, got


@pytest.mark.parametrize("name", list(KEYS))
def test_projection_tables_on_spark_are_duckdbs(both, name):
    expected, got, _, _ = both
    want, have = expected[name], got[name]
    assert len(want) > 100
    exact = [c for c in want.columns if c not in FLOATS.get(name, [])]
    pd.testing.assert_frame_equal(have[exact], want[exact])
    for c in FLOATS.get(name, []):
        np.testing.assert_allclose(have[c], want[c], rtol=1e-9, atol=0)


def test_projection_counts_and_rule_are_the_same(both):
    _, got, duck, on_spark = both
    assert on_spark.pairs == duck.pairs == len(got["pair_evidence"])
    assert on_spark.edges == duck.edges == len(got["edges"])
    assert on_spark.corroboration == duck.corroboration
    assert got["edges"]["corroborated"].any() and got["pair_evidence"]["strong"].any()


def test_link_pairs_pairs_whole_entities_in_any_order_and_any_split():
    """What ``map_by`` may hand :func:`link_pairs`: the links of whole entities, in
    parts, shuffled; the pairs are those of all links at once in pairing order."""
    rng = np.random.default_rng(3)
    degrees = rng.integers(2, 40, size=60)
    eid = np.repeat(np.arange(len(degrees), dtype=np.int32), degrees)
    n = len(eid)
    first = rng.integers(0, 10**6, size=n) * 10**6  # ties in first use: ordered by account
    rows = pa.table(
        {
            "aid": rng.permutation(n).astype(np.int32),
            "eid": eid,
            "f": first,
            "l": first + rng.integers(0, 10**12, size=n),
            "w": rng.random(n),
            "tcode": rng.integers(0, 5, size=n).astype(np.int8),
            "strong": rng.random(n) < 0.3,
            "rare": rng.random(n) < 0.5,
        }
    )
    s = DetectSettings(clique_max_degree=12, hub_neighbours=3)
    ordered = rows.sort_by([("eid", "ascending"), ("f", "ascending"), ("aid", "ascending")])
    want = link_pairs(s, ordered)
    shuffled = rows.take(rng.permutation(n))
    odd = pc.equal(pc.bit_wise_and(shuffled.column("eid"), 1), 1)
    parts = [shuffled.filter(odd), shuffled.filter(pc.invert(odd))]
    got = pa.concat_tables([link_pairs(s, part) for part in parts])
    key = [("src", "ascending"), ("dst", "ascending"), ("eid", "ascending")]
    assert want.num_rows > 1000 and want.schema == PAIR_SCHEMA
    assert got.sort_by(key).equals(want.sort_by(key))
    assert link_pairs(s, ordered).equals(want)  # in order: as it comes, deterministically
