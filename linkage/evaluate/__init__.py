"""Evaluation of detections against labels, with baselines."""

from linkage.evaluate.evaluate import evaluate, read_labels, write_report
from linkage.evaluate.metrics import (
    adjusted_rand_index,
    average_precision,
    precision_recall_curve,
    precision_recall_f1,
)

__all__ = [
    "adjusted_rand_index",
    "average_precision",
    "evaluate",
    "precision_recall_curve",
    "precision_recall_f1",
    "read_labels",
    "write_report",
]
