"""Evaluation of detections against labels."""

from linkage.evaluate.metrics import adjusted_rand_index, average_precision, precision_recall_f1

__all__ = ["adjusted_rand_index", "average_precision", "precision_recall_f1"]
