"""Metrics against hand-computed values and networkx-free invariants."""

from __future__ import annotations

import numpy as np
import pytest

from linkage.evaluate import (
    adjusted_rand_index,
    average_precision,
    precision_recall_curve,
    precision_recall_f1,
)


def test_ari_known_values():
    assert adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])) == 1.0
    assert adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 2])) == pytest.approx(
        0.5714285714, abs=1e-9
    )
    assert adjusted_rand_index(np.array([0, 0, 0, 0]), np.array([0, 1, 2, 3])) == 0.0
    assert adjusted_rand_index(np.array(["a", "a", "b"]), np.array(["x", "x", "y"])) == 1.0


def test_precision_recall_f1():
    p, r, f = precision_recall_f1(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    assert (p, r, f) == (0.5, 0.5, 0.5)
    assert precision_recall_f1(np.array([1, 0]), np.array([0, 0]))[0] == 1.0


def test_average_precision():
    assert average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == (
        pytest.approx(0.8333333333)
    )
    assert average_precision(np.array([1, 1, 0]), np.array([0.9, 0.8, 0.1])) == 1.0


def test_precision_recall_curve_matches_flagging_at_each_threshold():
    rng = np.random.default_rng(7)
    truth = rng.random(300) < 0.2
    score = np.round(np.where(truth, rng.random(300) + 0.3, rng.random(300)), 2)  # with ties
    precision, recall, thresholds = precision_recall_curve(truth, score)
    assert len(thresholds) == len(np.unique(score))
    assert np.all(np.diff(thresholds) < 0) and np.all(np.diff(recall) >= 0)
    for p, r, t in zip(precision, recall, thresholds, strict=True):
        assert (p, r) == pytest.approx(precision_recall_f1(truth, score >= t)[:2])
    assert recall[-1] == 1.0 and precision[-1] == pytest.approx(truth.mean())
