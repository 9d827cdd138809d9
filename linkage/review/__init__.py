"""Investigators' decisions: the append-only log (:mod:`~linkage.review.decisions`) and
what decisions do to a run's flags and reasons (:mod:`~linkage.review.apply`)."""

from linkage.review.apply import (
    APPLIED_COLUMNS,
    Applied,
    account_applied,
    apply_flags,
    campaign_decisions,
    carried_conflicts,
    carried_decisions,
    in_force,
    result_decisions,
)
from linkage.review.decisions import (
    ACTIONS,
    TARGETS,
    Decision,
    DecisionLog,
    check_decision,
    decide,
    in_effect,
)

__all__ = [
    "ACTIONS",
    "APPLIED_COLUMNS",
    "TARGETS",
    "Applied",
    "Decision",
    "DecisionLog",
    "account_applied",
    "apply_flags",
    "campaign_decisions",
    "carried_conflicts",
    "carried_decisions",
    "check_decision",
    "decide",
    "in_effect",
    "in_force",
    "result_decisions",
]
