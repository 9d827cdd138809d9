"""What decisions do to a run: which campaign each decision reaches, and the flags.

**Which campaign a decision reaches.** A campaign of this run *descends* from every
previous campaign it continues (``previous_campaign_ids``, from
:mod:`linkage.detect.lineage`), or, when it continues none, from its own id (the same
members give the same id without ``--previous``). The decisions in force on those ids are the log's
latest and those the previous result carried (:func:`in_force`). When every id it
descends from carries a decision and they all agree, the newest applies; when they
differ, or some were never reviewed (a dismissed team merged with a group nobody
looked at), none applies and the campaign says so (``conflict``).

**What it does** (:func:`apply_flags`):

- ``dismiss``: the campaign's members are not flagged while its evidence of abuse
  stays as it was: when the abuse features' contributions now sum to at least
  ``reopen_abuse_margin`` more than when it was dismissed, it is ``reopened`` and
  flagged as the engine says, with a reason naming what grew.
- ``confirm``: members are flagged whatever the campaign's score, when tied to it
  (account score over campaign score at least ``confirmed_min_attachment``, a lower
  bar than the engine's own), so regrowth with a few requests is banned at once and a
  household whose address a proxy borrowed still is not.
- ``watch``: nothing changes but the reason.
- An account's own decision overrides its campaign's: ``dismiss`` never flagged,
  ``confirm`` always.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from linkage.review.decisions import Decision

__all__ = [
    "APPLIED_COLUMNS",
    "STATUSES",
    "Applied",
    "account_applied",
    "apply_flags",
    "campaign_decisions",
    "carried_conflicts",
    "carried_decisions",
    "in_force",
    "result_decisions",
]

STATUSES = ("applied", "reopened", "conflict")
NOTE_IN_REASON = 160
"""Characters of a note quoted in a reason."""
APPLIED_COLUMNS = (
    "target",
    "id",
    "action",
    "status",
    "decided_id",
    "by",
    "at",
    "note",
    "reason",
    "evidence",
)


@dataclass(frozen=True)
class Applied:
    """A decision as it reaches one campaign or account of this run."""

    target: str
    id: str
    """This run's campaign id, or the account id."""
    decision: Decision
    """The decision in force (made on ``decision.id``: this id or one it descends from)."""
    status: str
    """``applied``, ``reopened`` (a dismissal whose evidence of abuse grew) or
    ``conflict`` (differing or partial decisions: none applied)."""
    reason: str
    """What it does, said first among the campaign's reasons."""

    @property
    def effective(self) -> str | None:
        """The action that changes flags: ``confirm`` or ``dismiss`` when applied."""
        return self.decision.action if self.status == "applied" else None

    def row(self) -> dict[str, object]:
        """One row of the result's ``decisions.parquet``."""
        d = self.decision
        return {
            "target": self.target,
            "id": self.id,
            "action": d.action,
            "status": self.status,
            "decided_id": d.id,
            "by": d.by,
            "at": d.at,
            "note": d.note,
            "reason": self.reason,
            "evidence": list(d.evidence.items()),
        }


def in_force(log: Iterable[Decision], carried: Mapping[str, Decision]) -> dict[str, Decision]:
    """Campaign id -> the newest campaign decision on it: the log's, or one a previous
    result carried to that id (:func:`carried_decisions`; its ``id`` stays the id decided on)."""
    out: dict[str, Decision] = dict(carried)
    for d in log:
        if d.target == "campaign" and (d.id not in out or d.at > out[d.id].at):
            out[d.id] = d
    return out


def carried_decisions(rows: pd.DataFrame) -> dict[str, Decision]:
    """Campaign id -> the decision a result applied to it, from its ``decisions.parquet``
    rows (:meth:`Applied.row`); conflicts carry nothing."""
    chosen = rows[(rows.target == "campaign") & (rows.status != "conflict")]
    return {str(r.id): _decision_of(r) for r in chosen.itertuples()}


def _decision_of(row: Any) -> Decision:
    """The decision behind one ``decisions.parquet`` row (made on ``decided_id``)."""
    return Decision(
        target=str(row.target),
        id=str(row.decided_id),
        action=str(row.action),
        note=str(row.note),
        by=str(row.by),
        at=str(row.at),
        evidence={str(k): float(v) for k, v in dict(row.evidence or {}).items()},
    )


def carried_conflicts(rows: pd.DataFrame) -> dict[str, str]:
    """Campaign id -> when (``at``) a result found its decisions in conflict, from its
    ``decisions.parquet`` rows: the conflict holds on until a newer decision on the id."""
    if rows.empty:
        return {}
    chosen = rows[(rows.target == "campaign") & (rows.status == "conflict")]
    return {str(r.id): str(r.at) for r in chosen.itertuples()}


def campaign_decisions(
    campaigns: pd.DataFrame,
    decisions: Mapping[str, Decision],
    abuse_features: Sequence[str],
    reopen_margin: float,
    grown_reasons: Mapping[str, Mapping[str, str]] | None = None,
    conflicts: Mapping[str, str] | None = None,
) -> dict[str, Applied]:
    """This run's campaign id -> the decision that reaches it (module docstring).

    ``campaigns``: ``campaign_id``, ``previous_campaign_ids`` (list) and
    ``contributions`` (feature -> contribution). ``grown_reasons``: campaign id ->
    feature -> its reason now, for saying what grew when a dismissal re-opens.
    ``conflicts`` (:func:`carried_conflicts`): previous campaigns left in conflict; one
    counts as not reviewed until a decision newer than the conflict is made on it, so a
    dismissed team merged with a group nobody looked at stays unresolved on later runs.
    """
    out: dict[str, Applied] = {}
    open_ = conflicts or {}
    for row in campaigns.itertuples(index=False):
        cid = str(row.campaign_id)
        ancestors = sorted(set(row.previous_campaign_ids)) or [cid]
        stale = [a for a in ancestors if a in open_ and not _newer(decisions.get(a), open_[a])]
        if stale and any(a in decisions for a in ancestors):
            known = max((decisions[a] for a in ancestors if a in decisions), key=lambda d: d.at)
            out[cid] = Applied(
                "campaign",
                cid,
                known,
                "conflict",
                f"descends from {', '.join(stale)}, unresolved since {open_[stale[0]][:10]} "
                "(merged campaigns with differing or no decisions): no decision applied; "
                "review again",
            )
            continue
        decided = {a: decisions[a] for a in ancestors if a in decisions}
        if not decided:
            continue
        newest = max(decided.values(), key=lambda d: d.at)
        actions = {d.action for d in decided.values()}
        if len(actions) > 1 or len(decided) < len(ancestors):
            said = ", ".join(
                f"{a} ({_past(decided[a].action) if a in decided else 'not reviewed'})"
                for a in ancestors
            )
            out[cid] = Applied(
                "campaign",
                cid,
                newest,
                "conflict",
                f"descends from {said}: no decision applied; review again",
            )
            continue
        status, reason = "applied", _said(newest, cid)
        if newest.action == "dismiss":
            grown = _grown(dict(row.contributions), newest.evidence, abuse_features)
            if sum(grown.values()) >= reopen_margin and newest.evidence:
                texts = (grown_reasons or {}).get(cid, {})
                what = "; ".join(texts.get(f, f) for f in sorted(grown, key=lambda f: -grown[f]))
                status = "reopened"
                reason = f"re-opened: {_said(newest, cid)}; but its evidence of abuse grew: {what}"
        out[cid] = Applied("campaign", cid, newest, status, reason)
    return out


def result_decisions(
    campaigns: pd.DataFrame,
    applied: pd.DataFrame,
    current: Mapping[tuple[str, str], Decision],
    abuse_features: Sequence[str],
    reopen_margin: float,
) -> tuple[dict[str, Applied], dict[str, Decision]]:
    """The decisions in force on a finished result's campaigns and accounts, for scoring
    new accounts against it: what its run applied (``applied``, its
    ``decisions.parquet``), overridden by a decision logged since on one of its own
    campaign ids (``current``: the log's, :meth:`DecisionLog.current`; ``campaigns``:
    the result's, with ``contributions``). Returns campaign id -> :class:`Applied` and
    account id -> the account's own decision."""
    out: dict[str, Applied] = {}
    if not applied.empty:
        for r in applied[applied.target == "campaign"].itertuples():
            out[str(r.id)] = Applied(
                "campaign", str(r.id), _decision_of(r), str(r.status), str(r.reason)
            )
    newer = {
        d.id: d
        for (target, _), d in current.items()
        if target == "campaign" and (d.id not in out or d.at > out[d.id].decision.at)
    }
    rows = campaigns[campaigns.campaign_id.isin(list(newer))]
    if len(rows):
        rows = rows[["campaign_id", "contributions"]].assign(
            previous_campaign_ids=[[] for _ in range(len(rows))]
        )
        out.update(campaign_decisions(rows, newer, abuse_features, reopen_margin))
    accounts = {d.id: d for (target, _), d in current.items() if target == "account"}
    return out, accounts


def apply_flags(
    account_id: np.ndarray,
    campaign_id: np.ndarray,
    score: np.ndarray,
    flagged: np.ndarray,
    campaign_score: Mapping[str, float],
    campaigns: Mapping[str, Applied],
    account_decisions: Mapping[str, Decision],
    confirmed_min_attachment: float,
) -> np.ndarray:
    """``flagged`` after decisions (module docstring), for accounts ``account_id`` in
    campaigns ``campaign_id`` (``None`` for none) with the engine's ``score`` and
    ``flagged``. Plain arrays: detection's million accounts and the service's one."""
    out = np.asarray(flagged, dtype=bool).copy()
    if not campaigns and not account_decisions:
        return out
    effective = {c: a.effective for c, a in campaigns.items() if a.effective}
    action = np.array([effective.get(c) for c in campaign_id], dtype=object)
    out[action == "dismiss"] = False
    confirmed = np.flatnonzero(action == "confirm")
    if len(confirmed):
        own = np.array([campaign_score[c] for c in campaign_id[confirmed]], dtype=float)
        tie = np.asarray(score, dtype=float)[confirmed] / np.maximum(own, 1e-9)
        out[confirmed] |= tie >= confirmed_min_attachment
    if account_decisions:
        mine = [account_decisions.get(a) for a in account_id]
        out[[i for i, d in enumerate(mine) if d is not None and d.action == "dismiss"]] = False
        out[[i for i, d in enumerate(mine) if d is not None and d.action == "confirm"]] = True
    return out


def account_applied(
    account_ids: Iterable[str], account_decisions: Mapping[str, Decision]
) -> list[Applied]:
    """The account decisions that reach accounts of this run."""
    return [
        Applied("account", a, account_decisions[a], "applied", _said(account_decisions[a], a))
        for a in sorted(set(account_ids) & set(account_decisions))
    ]


def _grown(
    now: Mapping[str, float], then: Mapping[str, float], abuse_features: Sequence[str]
) -> dict[str, float]:
    """Abuse features whose contribution rose since the decision, by how much."""
    rise = {f: now.get(f, 0.0) - then.get(f, 0.0) for f in abuse_features}
    return {f: r for f, r in rise.items() if r > 0}


def _newer(decision: Decision | None, than: str) -> bool:
    return decision is not None and decision.at > than


def _past(action: str) -> str:
    return {"confirm": "confirmed", "dismiss": "dismissed", "watch": "watched"}[action]


def _said(d: Decision, here: str) -> str:
    """``dismissed by alice on 2026-12-02 (on cmp_x): "note"``."""
    text = f"{_past(d.action)} by {d.by} on {d.at[:10]}"
    if d.id != here:
        text += f" (decided on {d.id})"
    note = d.note if len(d.note) <= NOTE_IN_REASON else d.note[: NOTE_IN_REASON - 1] + "…"
    return f'{text}: "{note}"' if note else text
