"""Investigators' decisions as data: an append-only log in a state directory.

A decision is ``confirm``, ``dismiss`` or ``watch`` on a campaign, or ``confirm`` or
``dismiss`` on an account, with a free-text note, who made it and when. It lives
outside any one result directory (``STATE_DIR/decisions.jsonl``, one JSON object a
line), so it outlives the run it was made on: ``detect --previous`` carries campaign
decisions along campaign lineage (:mod:`linkage.review.apply`). Lines are only ever
appended, under an exclusive lock and flushed to disk; the latest decision on a
target is the one in force.

A campaign decision keeps the campaign's per-feature ``contributions`` when it was
made (``evidence``): a dismissal holds while the evidence of abuse stays as it was.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from linkage.errors import LinkageError, NotFoundError
from linkage.result import ResultDir
from linkage.result.timestamps import iso_utc

__all__ = [
    "ACTIONS",
    "MAX_ID_CHARS",
    "MAX_NOTE_CHARS",
    "TARGETS",
    "Decision",
    "DecisionLog",
    "check_decision",
    "decide",
    "in_effect",
]

TARGETS = ("campaign", "account")
ACTIONS: dict[str, tuple[str, ...]] = {
    "campaign": ("confirm", "dismiss", "watch"),
    "account": ("confirm", "dismiss"),
}
"""What may be decided on each kind of target."""
MAX_NOTE_CHARS = 2000
MAX_ID_CHARS = 256
MAX_BY_CHARS = 128
LOG_NAME = "decisions.jsonl"


@dataclass(frozen=True)
class Decision:
    """One investigator's decision on one campaign or account."""

    target: str
    """``campaign`` or ``account``."""
    id: str
    """The campaign id (stable across runs with ``--previous``) or account id."""
    action: str
    note: str
    by: str
    at: str
    """When, ISO-8601 UTC (``2026-12-02T05:01:02Z``)."""
    evidence: dict[str, float] = field(default_factory=dict)
    """For a campaign: its per-feature contributions when decided (empty for accounts)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> Decision:
        """A decision read back from the log (``where`` names the file and line)."""
        if not isinstance(data, Mapping):
            raise LinkageError(f"{where}: expected a JSON object")
        missing = [k for k in ("target", "id", "action", "by", "at") if k not in data]
        if missing:
            raise LinkageError(f"{where}: missing field(s) {', '.join(missing)}")
        evidence = data.get("evidence") or {}
        if not isinstance(evidence, Mapping) or not all(
            isinstance(v, int | float) for v in evidence.values()
        ):
            raise LinkageError(f"{where}: evidence must map feature names to numbers")
        try:
            at = datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise LinkageError(f"{where}: at is not an ISO-8601 time: {data['at']!r}") from exc
        decision = cls(
            target=str(data["target"]),
            id=str(data["id"]),
            action=str(data["action"]),
            note=str(data.get("note") or ""),
            by=str(data["by"]),
            at=_iso(at),
            evidence={str(k): float(v) for k, v in evidence.items()},
        )
        check_decision(decision.target, decision.id, decision.action, decision.note, where)
        return decision


def check_decision(target: str, id: str, action: str, note: str, where: str = "decision") -> None:
    """Refuse, naming the field, a target, id, action or note that cannot be recorded."""
    if target not in TARGETS:
        raise LinkageError(f"{where}: target must be one of {', '.join(TARGETS)}, got {target!r}")
    if action not in ACTIONS[target]:
        raise LinkageError(
            f"{where}: action on a {target} must be one of {', '.join(ACTIONS[target])}, "
            f"got {action!r}"
        )
    if not id or len(id) > MAX_ID_CHARS or not id.isprintable():
        raise LinkageError(
            f"{where}: id must be 1-{MAX_ID_CHARS} printable characters, got {id[:40]!r}"
        )
    if len(note) > MAX_NOTE_CHARS:
        raise LinkageError(f"{where}: note is {len(note)} characters; at most {MAX_NOTE_CHARS}")


def _iso(when: datetime) -> str:
    """``when`` in the one output format (naive taken as UTC), so decisions sort by time
    as text."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    text = iso_utc(when)
    assert text is not None
    return text


class DecisionLog:
    """``STATE_DIR/decisions.jsonl``: record decisions, read them back, the ones in force."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOG_NAME
        self._cache: tuple[tuple[int, int] | None, dict[tuple[str, str], Decision]] | None = None

    def __repr__(self) -> str:
        return f"DecisionLog({str(self.state_dir)!r})"

    def record(
        self,
        target: str,
        id: str,
        action: str,
        *,
        by: str,
        note: str = "",
        evidence: Mapping[str, float] | None = None,
        at: datetime | None = None,
    ) -> Decision:
        """Append one decision (validated; ``at`` defaults to now) and return it."""
        check_decision(target, id, action, note)
        by = by.strip()
        if not by or len(by) > MAX_BY_CHARS or not by.isprintable():
            raise LinkageError(f"decision: by must be 1-{MAX_BY_CHARS} printable characters")
        decision = Decision(
            target=target,
            id=id,
            action=action,
            note=note,
            by=by,
            at=_iso(at or datetime.now(UTC)),
            evidence={str(k): float(v) for k, v in (evidence or {}).items()},
        )
        line = json.dumps(decision.to_dict(), ensure_ascii=True, sort_keys=True) + "\n"
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)  # releases the lock
        except OSError as exc:
            raise LinkageError(f"{self.path}: cannot record the decision: {exc}") from exc
        return decision

    def stamp(self) -> tuple[int, int] | None:
        """The log's modification time and size (``None`` while it does not exist): a
        reader that cached :meth:`current` reads again when this changes."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def read(self) -> list[Decision]:
        """Every decision, oldest first; none when the log does not exist yet.

        A line that is not a decision stops the read with an error naming the file
        and line: a log that cannot be read whole is not acted on.
        """
        try:
            with self.path.open("rb") as f:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH)
                raw = f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise LinkageError(f"{self.path}: cannot read decisions: {exc}") from exc
        out = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{self.path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LinkageError(f"{where}: not a JSON decision: {exc.msg}") from exc
            out.append(Decision.from_dict(data, where))
        return out

    def current(self) -> dict[tuple[str, str], Decision]:
        """The decision in force on each ``(target, id)``: its latest. Read again only
        when the log's :meth:`stamp` changed (the service asks on every request)."""
        stamp = self.stamp()
        cached = self._cache
        if cached is not None and cached[0] == stamp:
            return dict(cached[1])
        latest: dict[tuple[str, str], Decision] = {}
        for decision in self.read():
            key = (decision.target, decision.id)
            if key not in latest or decision.at >= latest[key].at:
                latest[key] = decision
        self._cache = (stamp, latest)
        return dict(latest)


def decide(
    log: DecisionLog,
    result: ResultDir,
    target: str,
    id: str,
    action: str,
    *,
    by: str,
    note: str = "",
) -> Decision:
    """Record a decision on a campaign or account of a finished result.

    Refused (:class:`NotFoundError`, naming the result) when the result does not hold
    ``id``; a campaign decision keeps the campaign's per-feature contributions as its
    ``evidence``.
    """
    check_decision(target, id, action, note)
    evidence: dict[str, float] = {}
    if target == "campaign":
        campaigns = result.read_campaigns()
        rows = campaigns[campaigns.campaign_id == id]
        if rows.empty:
            raise NotFoundError(f"no campaign {id!r} in result {result.path.name!r}")
        evidence = dict(rows.contributions.iloc[0])
    else:
        found = pq.read_table(
            result.accounts_path, columns=["account_id"], filters=[("account_id", "==", id)]
        )
        if found.num_rows == 0:
            raise NotFoundError(f"no account {id!r} in result {result.path.name!r}")
    return log.record(target, id, action, by=by, note=note, evidence=evidence)


def in_effect(
    target: str,
    id: str,
    current: Mapping[tuple[str, str], Decision],
    applied: pd.DataFrame,
) -> dict[str, Any] | None:
    """The decision on a campaign or account of a result, as an investigator should see
    it: the decision fields, ``decided_id`` and ``status``: what the run did with it
    (``applied``, ``reopened``, ``conflict``), or ``pending`` for one recorded after
    the run (it takes effect on the next). ``current``: the log's
    (:meth:`DecisionLog.current`); ``applied``: the result's ``decisions.parquet``."""
    ran = None
    if not applied.empty:
        rows = applied[(applied.target == target) & (applied.id == id)]
        ran = rows.iloc[0] if len(rows) else None
    logged = current.get((target, id))
    if logged is not None and (ran is None or logged.at > str(ran["at"])):
        return {**logged.to_dict(), "decided_id": logged.id, "status": "pending"}
    if ran is None:
        return None
    return {
        "target": target,
        "id": id,
        "action": str(ran["action"]),
        "note": str(ran["note"]),
        "by": str(ran["by"]),
        "at": str(ran["at"]),
        "evidence": dict(ran["evidence"]),
        "decided_id": str(ran["decided_id"]),
        "status": str(ran["status"]),
    }
