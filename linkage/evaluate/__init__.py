"""Evaluation of detections against labels, with baselines."""

from linkage.evaluate.breakdown import campaign_ari, campaign_breakdown, flagged_per_population
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
    "campaign_ari",
    "campaign_breakdown",
    "evaluate",
    "flagged_per_population",
    "precision_recall_curve",
    "precision_recall_f1",
    "read_labels",
    "write_report",
]
