"""The result of an ingest run: per-table row counts and quarantine reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["IngestSummary", "TableSummary"]


@dataclass
class TableSummary:
    """Counts for one table. ``rows_read == rows_kept + rows_quarantined``.

    ``reasons`` counts quarantined rows per reason without per-row detail
    (``unknown account``, not ``unknown account: acc_1``). ``file`` is None for
    an optional table that was not given.
    """

    table: str
    file: str | None = None
    format: str | None = None
    rows_read: int = 0
    rows_kept: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    cards_redacted: int = 0

    def add_reason(self, reason: str, count: int = 1) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + count


@dataclass
class IngestSummary:
    """What ``ingest`` read, kept and quarantined, table by table."""

    contract_version: str
    store: str
    embedding_dim: int | None = None
    tables: dict[str, TableSummary] = field(default_factory=dict)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (reasons sorted by name)."""
        out = asdict(self)
        for t in out["tables"].values():
            t["reasons"] = dict(sorted(t["reasons"].items()))
        return out
