"""The pair screen before edges are grouped: it drops only pairs certainly too light."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import linkage.graph.project as project
from linkage.graph.project import fixed_point, may_reach


def _pairs(seed: int, n: int = 5_000) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "src": rng.integers(0, 60, n).astype(np.int32),
            "dst": rng.integers(60, 120, n).astype(np.int32),
            "w": rng.choice([0.1, 0.25, 0.5, 0.05, 1 / 3], n) * rng.random(n),
        }
    )


@pytest.mark.parametrize("buckets", [1, 8, 1 << 20])
@pytest.mark.parametrize("seed", [0, 1])
def test_screen_keeps_every_pair_that_may_reach(
    monkeypatch: pytest.MonkeyPatch, buckets: int, seed: int
) -> None:
    monkeypatch.setattr(project, "SCREEN_BUCKETS", buckets)
    pairs = _pairs(seed)
    keep = np.asarray(may_reach(pairs, 0.5))
    df = pairs.to_pandas()
    df["fixed"] = fixed_point(df.w.to_numpy())
    total = df.groupby(["src", "dst"]).fixed.transform("sum") / 1e9
    assert keep[(total >= 0.5).to_numpy()].all()  # nothing that may reach is dropped
    per_pair = pd.Series(keep).groupby([df.src, df.dst]).nunique()
    assert (per_pair == 1).all()  # a pair is kept or dropped whole
    if buckets >= 1 << 20:
        assert not keep.all()  # and light pairs do go


def test_fixed_point_rounds_as_duckdb() -> None:
    x = np.array([0.5e-9, 1.5e-9, 2.5e-9, 0.1, 1 / 3, 0.30000000000000004, 7.25e-10, 0.0])
    got = fixed_point(x)
    con = duckdb.connect()
    con.register("xs", pd.DataFrame({"x": x}))
    want = con.execute("SELECT round(x * 1e9)::BIGINT AS r FROM xs").fetchnumpy()["r"]
    assert got.tolist() == want.astype(float).tolist()


def _typed_pairs(seed: int, n: int = 5_000) -> pa.Table:
    rng = np.random.default_rng(seed)
    pairs = _pairs(seed, n)
    return (
        pairs.append_column("tcode", pa.array(rng.integers(0, 5, n).astype(np.int8)))
        .append_column("strong", pa.array(rng.random(n) < 0.02))
        .append_column("rare", pa.array(rng.random(n) < 0.5))
    )


@pytest.mark.parametrize("buckets", [1, 8, 1 << 20])
@pytest.mark.parametrize("seed", [0, 1])
def test_corroborated_screen_keeps_every_pair_that_may_reach(
    monkeypatch: pytest.MonkeyPatch, buckets: int, seed: int
) -> None:
    # types: 0 card, 1 cosession, 2 ip, 3 prefix, 4 template
    rule = project.corroborate(["card", "cosession", "ip", "prefix", "template"], 0.3)
    monkeypatch.setattr(project, "SCREEN_BUCKETS", buckets)
    pairs = _typed_pairs(seed)
    keep = np.asarray(may_reach(pairs, 0.5, rule))
    con = duckdb.connect()
    con.register("pe", pairs)
    weight = con.execute(
        f"SELECT src, dst, {rule.weight()} AS weight FROM pe GROUP BY src, dst"
    ).df()
    df = pairs.select(["src", "dst"]).to_pandas().merge(weight, on=["src", "dst"], how="left")
    assert keep[(df.weight >= 0.5).to_numpy()].all()  # nothing that may reach is dropped
    per_pair = pd.Series(keep).groupby([df.src, df.dst]).nunique()
    assert (per_pair == 1).all()
    if buckets >= 1 << 20:  # tighter than the screen without the rule, never looser
        plain = np.asarray(may_reach(pairs, 0.5))
        assert not (keep & ~plain).any() and (plain & ~keep).any()
