"""Metrics against hand-computed values and networkx-free invariants."""

from __future__ import annotations

import numpy as np
import pytest

from linkage.evaluate import adjusted_rand_index, average_precision, precision_recall_f1


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
