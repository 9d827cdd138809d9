"""Parity: on the same input and settings, detection on Spark flags the same accounts
in the same campaigns as on DuckDB, with scores within float tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from linkage import simulate
from linkage.detect import detect


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A ``hard`` world of 1,500 accounts detected on DuckDB and on Spark."""
    root = tmp_path_factory.mktemp("parity")
    simulate(root / "data", accounts=1500, seed=0, scenario="hard")
    detect(root / "data", root / "duckdb")
    detect(root / "data", root / "spark", backend="spark")
    return root / "duckdb", root / "spark"


def _accounts(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "accounts.parquet").set_index("account_id").sort_index()


def _campaigns(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "campaigns.parquet").set_index("campaign_id").sort_index()


def test_spark_flags_the_same_accounts_in_the_same_campaigns(both):
    duck, spark = (_accounts(d) for d in both)
    assert duck.flagged.sum() >= 50
    pd.testing.assert_series_equal(spark.flagged, duck.flagged)
    pd.testing.assert_series_equal(spark.campaign_id, duck.campaign_id)
    np.testing.assert_allclose(spark.score, duck.score, rtol=1e-9, atol=1e-12)


def test_spark_reports_the_same_campaigns_with_the_same_reasons(both):
    duck, spark = (_campaigns(d) for d in both)
    assert len(duck) >= 3
    assert list(spark.index) == list(duck.index)
    np.testing.assert_allclose(spark.score, duck.score, rtol=1e-9, atol=1e-12)
    for col in ("size", "request_count", "first_seen", "last_seen", "lineage"):
        pd.testing.assert_series_equal(spark[col], duck[col])
    assert [list(r) for r in spark.reasons] == [list(r) for r in duck.reasons]


def test_spark_ran_the_evidence_and_communities(both):
    stages = [
        s["stage"] for s in json.loads((both[1] / "detect_summary.json").read_text())["stages"]
    ]
    assert {"ingest", "events", "co-activity", "projection", "leiden", "hand over"} <= set(stages)
    assert not (both[1] / ".backend").exists()
