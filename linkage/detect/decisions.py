"""Investigators' decisions applied to a run (``detect --state``): the rule is
:mod:`linkage.review.apply`; this module feeds it this run's campaigns and accounts,
the decision log's current decisions and those the previous result carried."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.detect.lineage import Previous
from linkage.result import INDEX_TABLE, ResultDir
from linkage.review import (
    Applied,
    DecisionLog,
    account_applied,
    apply_flags,
    campaign_decisions,
    carried_conflicts,
    carried_decisions,
    in_force,
)
from linkage.score import FEATURES
from linkage.settings import DetectSettings

__all__ = ["Reviewed", "apply_decisions", "decisions_table", "dismissed_infrastructure"]

ABUSE_FEATURES = tuple(f.name for f in FEATURES if f.role == "abuse")


@dataclass(frozen=True)
class Reviewed:
    """A run after decisions: flags, campaign reasons, and what reached what."""

    flagged: np.ndarray
    reported: pd.DataFrame
    """The reported campaigns, each reached campaign's decision said first in ``reasons``."""
    applied: list[Applied]


def apply_decisions(
    reported: pd.DataFrame,
    accounts: pd.DataFrame,
    log: DecisionLog | None,
    previous: Previous | None,
    s: DetectSettings,
) -> Reviewed:
    """Apply the decisions in force to this run (:mod:`linkage.review.apply`).

    ``reported``: the reported campaigns with ids and lineage, scoring's feature
    columns and ``contributions``; ``accounts``: ``account_id, campaign_id, score,
    flagged`` as the engine decided.
    """
    current = list(log.current().values()) if log is not None else []
    carried = (
        carried_decisions(previous.decisions)
        if previous is not None and not previous.decisions.empty
        else {}
    )
    decisions = in_force(current, carried)
    grown = {
        str(row.campaign_id): {f.name: f.reason(row) for f in FEATURES if f.role == "abuse"}
        for _, row in reported.iterrows()
        if str(row.campaign_id) in decisions or set(row.previous_campaign_ids) & set(decisions)
    }
    conflicts = carried_conflicts(previous.decisions) if previous is not None else {}
    by_campaign = campaign_decisions(
        reported, decisions, ABUSE_FEATURES, s.reopen_abuse_margin, grown, conflicts
    )
    mine = {d.id: d for d in current if d.target == "account"}
    score = dict(zip(reported.campaign_id, reported.score.astype(float), strict=True))
    flagged = apply_flags(
        accounts.account_id.to_numpy(dtype=object),
        accounts.campaign_id.to_numpy(dtype=object),
        accounts.score.to_numpy(dtype=float),
        accounts.flagged.to_numpy(dtype=bool),
        score,
        by_campaign,
        mine,
        s.confirmed_min_attachment,
    )
    out = reported.copy()
    out["reasons"] = [
        [by_campaign[c].reason, *r] if c in by_campaign else list(r)
        for c, r in zip(out.campaign_id, out.reasons, strict=True)
    ]
    present = accounts.account_id[accounts.account_id.isin(list(mine))] if mine else []
    applied = [*by_campaign.values(), *account_applied(present, mine)]
    return Reviewed(flagged, out, applied)


def dismissed_infrastructure(
    previous: Previous | None, log: DecisionLog | None
) -> pd.DataFrame | None:
    """``etype, ekey``: the infrastructure (``campaign_index`` entities) of the previous
    run's campaigns whose decision in force is a dismissal that held (not re-opened),
    for the projection to weigh as known-legitimate; ``None`` when there is none."""
    if previous is None:
        return None
    current = list(log.current().values()) if log is not None else []
    carried = carried_decisions(previous.decisions) if not previous.decisions.empty else {}
    held = {cid for cid, d in in_force(current, carried).items() if d.action == "dismiss"}
    if not previous.decisions.empty:
        held -= set(previous.decisions.id[previous.decisions.status != "applied"])
    if not held:
        return None
    con = ResultDir(previous.path).connect([INDEX_TABLE])
    try:
        found = con.execute(
            f"""SELECT DISTINCT entity_type AS etype, entity AS ekey FROM {INDEX_TABLE}
                WHERE campaign_id IN (SELECT unnest(?::VARCHAR[]))""",
            [sorted(held)],
        ).df()
    finally:
        con.close()
    return found if len(found) else None


def decisions_table(applied: list[Applied]) -> pa.Table:
    """``decisions.parquet``: one row per campaign or account a decision reached."""
    rows = [a.row() for a in sorted(applied, key=lambda a: (a.target, a.id))]
    strings = ("target", "id", "action", "status", "decided_id", "by", "at", "note", "reason")
    return pa.table(
        {
            **{c: pa.array([r[c] for r in rows], pa.string()) for c in strings},
            "evidence": pa.array([r["evidence"] for r in rows], pa.map_(pa.string(), pa.float64())),
        }
    )
