"""Investigators' decisions in the service: the state directory's log, what the served
result applied, and the bodies of ``/decisions``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from linkage.review import DecisionLog, in_effect
from linkage.review.decisions import MAX_ID_CHARS, MAX_NOTE_CHARS

__all__ = ["DecisionIn", "DecisionPublic", "DecisionsPublic", "MePublic", "Review"]


@dataclass
class Review:
    """The decision log (``None`` when the service has no state directory) and the
    decisions the served result applied (its ``decisions.parquet``)."""

    log: DecisionLog | None
    applied: pd.DataFrame

    @classmethod
    def open(cls, state_dir: Path | None, applied: pd.DataFrame) -> Review:
        return cls(DecisionLog(state_dir) if state_dir is not None else None, applied)

    def of(self, target: str, id: str) -> dict[str, Any] | None:
        """The decision on a campaign or account as the page shows it
        (:func:`linkage.review.in_effect`)."""
        current = self.log.current() if self.log is not None else {}
        return in_effect(target, id, current, self.applied)


class DecisionIn(BaseModel):
    """A decision to record."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["campaign", "account"]
    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="Campaign or account id.")
    action: Literal["confirm", "dismiss", "watch"] = Field(
        description="`watch` is for campaigns only."
    )
    note: str = Field(default="", max_length=MAX_NOTE_CHARS, description="Why.")


class DecisionPublic(BaseModel):
    target: str
    id: str
    action: str
    note: str
    by: str = Field(description="The name of the key that decided.")
    at: str = Field(description="When, ISO 8601 UTC.")
    evidence: dict[str, float] = Field(
        default_factory=dict,
        description="A campaign's per-feature contributions when it was decided.",
    )
    decided_id: str | None = Field(
        default=None, description="The id decided on (a campaign this one continues)."
    )
    status: str | None = Field(
        default=None,
        description="What the served run did with it: `applied`, `reopened` (a dismissal "
        "whose evidence of abuse grew), `conflict`, or `pending` (recorded after the run; "
        "takes effect on the next).",
    )


class DecisionsPublic(BaseModel):
    data: list[DecisionPublic]
    count: int = Field(description="Decisions matching the filters (all pages).")


class MePublic(BaseModel):
    name: str
    role: str
    can_decide: bool = Field(description="May record decisions (`admin`, `reviewer`).")
