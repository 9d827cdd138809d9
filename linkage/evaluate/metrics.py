"""Detection quality metrics, in numpy (no scikit-learn dependency)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "adjusted_rand_index",
    "average_precision",
    "precision_recall_curve",
    "precision_recall_f1",
]


def _comb2(x: np.ndarray) -> float:
    x = x.astype(np.float64)
    return float((x * (x - 1) / 2).sum())


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Adjusted Rand index of two partitions given as label arrays (any hashable labels).

    >>> round(adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 2])), 6)
    0.571429
    """
    t = np.unique(np.asarray(labels_true), return_inverse=True)[1]
    p = np.unique(np.asarray(labels_pred), return_inverse=True)[1]
    n = len(t)
    if n != len(p):
        raise ValueError("label arrays differ in length")
    if n < 2:
        return 1.0
    pairs = t.astype(np.int64) * (p.max() + 1) + p
    index = _comb2(np.unique(pairs, return_counts=True)[1])
    a = _comb2(np.bincount(t))
    b = _comb2(np.bincount(p))
    expected = a * b / _comb2(np.array([n]))
    maximum = (a + b) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def precision_recall_f1(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of boolean predictions (1.0 precision when nothing is predicted)."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp = float((truth & predicted).sum())
    precision = tp / predicted.sum() if predicted.any() else 1.0
    recall = tp / truth.sum() if truth.any() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def precision_recall_curve(
    truth: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall when flagging every account scoring at least each threshold;
    one point per distinct score, highest threshold first (``thresholds`` descending).

    >>> p, r, t = precision_recall_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> p.tolist(), r.tolist(), t.tolist()
    ([1.0, 0.5, 0.6666666666666666, 0.5], [0.5, 0.5, 1.0, 1.0], [0.8, 0.4, 0.35, 0.1])
    """
    truth = np.asarray(truth, bool)
    score = np.asarray(score, np.float64)
    if len(truth) != len(score):
        raise ValueError("truth and score differ in length")
    order = np.argsort(-score, kind="stable")
    s, y = score[order], truth[order]
    # group tied scores: one threshold per distinct score
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1] if len(s) else np.array([], np.int64)
    tp = np.cumsum(y)[last].astype(np.float64)
    precision = tp / (last + 1)
    recall = tp / truth.sum() if truth.any() else np.zeros(len(last))
    return precision, recall, s[last]


def average_precision(truth: np.ndarray, score: np.ndarray) -> float:
    """Average precision of a ranking by ``score`` (higher first), step-wise as in scikit-learn.

    >>> average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.8333333333333333
    """
    truth = np.asarray(truth, bool)
    if not truth.any():
        return 0.0
    precision, recall, _ = precision_recall_curve(truth, score)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
