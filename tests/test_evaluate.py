"""Honest evaluation: ARI over campaign accounts, per-campaign recall and purity,
false positives per population, against hand computations and a brute-force
pair-counting oracle; and the report and CLI on a real detection."""

from __future__ import annotations

import itertools
import json
from math import comb

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from linkage.cli import app
from linkage.evaluate import (
    campaign_ari,
    campaign_breakdown,
    evaluate,
    flagged_per_population,
    read_labels,
)

# a0-a3 belong to campaign A, b0-b2 to B, l0-l2 are legitimate. The engine puts
# a0-a2, b0, b1 and l0 in detection X, a3 in Y, and misses b2.
ACCOUNTS = ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "l0", "l1", "l2"]
TRUTH = np.array(["A"] * 4 + ["B"] * 3 + [None] * 3, dtype=object)
FLAGGED = np.array([1, 1, 1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
GROUP = np.array(["X", "X", "X", "Y", "X", "X", "(none)", "X", "(none)", "(none)"])
POPULATION = np.array([None] * 7 + ["individual", "company", None], dtype=object)


def brute_force_ari(true: list, pred: list) -> float:
    """ARI from pair counts by enumerating every pair."""
    both = same_true = same_pred = 0
    for i, j in itertools.combinations(range(len(true)), 2):
        t, p = true[i] == true[j], pred[i] == pred[j]
        both += t and p
        same_true += t
        same_pred += p
    expected = same_true * same_pred / comb(len(true), 2)
    return (both - expected) / ((same_true + same_pred) / 2 - expected)


def test_ari_over_campaign_accounts_by_hand_and_by_oracle():
    # campaign accounts only: AAAA BBB vs X X X Y X X (b2 missed: a cluster of its own)
    # same-true pairs 9, same-pred pairs 10, both 4, expected 90/21: ARI = -4/73
    got = campaign_ari(TRUTH, FLAGGED, GROUP)
    assert got == pytest.approx(-4 / 73, abs=1e-12)
    oracle = brute_force_ari(list("AAAABBB"), ["X", "X", "X", "Y", "X", "X", "missed"])
    assert got == pytest.approx(oracle, abs=1e-12)
    # perfect separation is 1 whatever the legitimate accounts do
    perfect = np.array(["P", "P", "P", "P", "Q", "Q", "Q", "P", "(none)", "(none)"])
    assert campaign_ari(TRUTH, np.ones(10, bool), perfect) == 1.0
    # missing every campaign account is no agreement at all
    assert campaign_ari(TRUTH, np.zeros(10, bool), GROUP) == 0.0
    assert campaign_ari(np.array([None, None], dtype=object), FLAGGED[:2], GROUP[:2]) is None


def test_ari_over_campaign_accounts_matches_the_oracle_on_random_labels():
    rng = np.random.default_rng(3)
    for _ in range(25):
        n = int(rng.integers(4, 30))
        truth = np.array([None if x == 0 else f"c{x}" for x in rng.integers(0, 4, n)], dtype=object)
        flagged = rng.random(n) < 0.7
        group = np.array([f"g{x}" for x in rng.integers(0, 3, n)])
        rows = [i for i in range(n) if truth[i] is not None]
        if len(rows) < 2 or len({truth[i] for i in rows}) < 2:
            continue
        pred = [group[i] if flagged[i] else f"missed{i}" for i in rows]
        want = brute_force_ari([truth[i] for i in rows], pred)
        assert campaign_ari(truth, flagged, group) == pytest.approx(want, abs=1e-9)


def test_per_campaign_recall_and_purity_by_hand():
    got = campaign_breakdown(TRUTH, FLAGGED, GROUP)
    # X holds a0 a1 a2 b0 b1 l0 (6 flagged accounts)
    assert got["A"] == {
        "accounts": 4,
        "recall": 1.0,
        "detected_as": "X",
        "pieces": 2,
        "captured": 0.75,
        "purity": 0.5,
    }
    assert got["B"] == {
        "accounts": 3,
        "recall": pytest.approx(2 / 3),
        "detected_as": "X",
        "pieces": 1,
        "captured": pytest.approx(2 / 3),
        "purity": pytest.approx(2 / 6),
    }
    missed = campaign_breakdown(TRUTH, np.zeros(10, bool), GROUP)["B"]
    assert missed["recall"] == 0.0 and missed["detected_as"] is None
    assert missed["purity"] is None and missed["pieces"] == 0


def test_false_positives_per_population_by_hand():
    assert flagged_per_population(TRUTH, FLAGGED, POPULATION) == {
        "(unlabelled)": {"accounts": 1, "flagged": 0},
        "company": {"accounts": 1, "flagged": 0},
        "individual": {"accounts": 1, "flagged": 1},
    }


def test_read_labels_keeps_an_optional_population(tmp_path):
    path = tmp_path / "labels.csv"
    pd.DataFrame({"account_id": ACCOUNTS, "campaign_id": TRUTH, "population": POPULATION}).to_csv(
        path, index=False
    )
    labels = read_labels(path)
    assert list(labels.columns) == ["account_id", "campaign_id", "population"]
    assert labels.population.isna().sum() == 8 and labels.campaign_id.isna().sum() == 3
    pd.DataFrame({"account_id": ACCOUNTS, "campaign_id": TRUTH}).to_csv(path, index=False)
    assert list(read_labels(path).columns) == ["account_id", "campaign_id"]


@pytest.fixture(scope="module")
def labelled(detected, tmp_path_factory):
    """The detected run's labels with a population per legitimate account, from its
    email domain (companies, campuses, everyone else)."""
    root, _ = detected
    labels = pd.read_parquet(root / "data" / "labels.parquet")
    domains = pd.read_parquet(root / "data" / "accounts.parquet")[["account_id", "email_domain"]]
    labels = labels.merge(domains, on="account_id")
    pop = np.select(
        [
            labels.email_domain.str.match(r"company\d+\.io").fillna(False),
            labels.email_domain.str.match(r"univ\d+\.edu").fillna(False),
        ],
        ["company", "campus"],
        "individual",
    )
    labels["population"] = np.where(labels.campaign_id.isna(), pop, None)
    path = tmp_path_factory.mktemp("labels") / "labels.parquet"
    labels[["account_id", "campaign_id", "population"]].to_parquet(path)
    return root, path


def test_report_has_the_honest_figures_for_engine_and_baselines(labelled):
    root, path = labelled
    report = evaluate(root / "result", path)
    legit = report["accounts"] - report["campaign_accounts"]
    for name, m in {"engine": report["engine"], **report["baselines"]}.items():
        assert m["ari_campaign_accounts"] is None or -1 <= m["ari_campaign_accounts"] <= 1, name
        assert set(m["campaigns"]) == set(m["recall_per_campaign"]), name
        pops = m["false_positives_per_population"]
        assert set(pops) == {"company", "campus", "individual"}, name
        assert sum(p["accounts"] for p in pops.values()) == legit, name
        assert sum(p["flagged"] for p in pops.values()) == m["false_positives"], name
    engine = report["engine"]
    assert engine["ari_campaign_accounts"] <= engine["ari"]
    for c in engine["campaigns"].values():
        assert c["recall"] >= c["captured"] > 0 and 0 < c["purity"] <= 1
    json.dumps(report)  # the report is plain JSON


def test_cli_prints_the_honest_figures(labelled, tmp_path):
    root, path = labelled
    out = tmp_path / "evaluation.json"
    r = CliRunner().invoke(
        app, ["evaluate", str(root / "result"), "--labels", str(path), "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "camp." in text and "purity" in text and "campus" in text
    report = json.loads(out.read_text())
    assert "false_positives_per_population" in report["engine"]
