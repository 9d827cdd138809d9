"""Quarantine: rejected rows as JSON lines, with every value as a string or null.

Each line is ``{"table", "file", "row", "reason", "record"}``. ``record`` holds
every contract column of the table as read: text as in the file (an empty
string shown as null), Parquet and JSON values rendered as text (timestamps in
ISO 8601 with ``Z`` for UTC, lists as JSON). Card numbers in every value
but a list of numbers (and in the reason) are masked.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa

from linkage.contract import TableSpec
from linkage.ingest.cards import redact_cards
from linkage.ingest.readers import BadRow, Record

__all__ = ["QuarantineWriter", "quarantine_line", "render_records", "render_value"]


def render_value(value: Any, kind: str) -> str | None:
    """One value as read, rendered as the text a CSV file would hold (or None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if kind == "integer" and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        if value.tzinfo is not None and value.utcoffset() == dt.timedelta(0):
            text = text.removesuffix("+00:00") + "Z"
        return text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def _safe(text: str | None) -> str | None:
    return None if text is None else redact_cards(text)[0]


def render_records(data: pa.Table, idx: np.ndarray, spec: TableSpec) -> list[Record]:
    """The records of rows ``idx`` of a raw batch, card numbers masked."""
    if not len(idx):
        return []
    sub = data.take(pa.array(idx, pa.int64()))
    values = sub.to_pydict()
    # Lists (embeddings) are numbers, shown as is; every other value is masked.
    text = {f.name: not pa.types.is_nested(f.type) for f in sub.schema}
    columns = [(c.name, c.type, values[c.name], text[c.name]) for c in spec.columns]
    return [
        {
            name: _safe(v) if is_text else v
            for name, kind, col, is_text in columns
            for v in (render_value(col[i], kind),)
        }
        for i in range(len(idx))
    ]


def quarantine_line(table: str, file: str, bad: BadRow) -> str:
    """The quarantine line of one rejected row of ``table`` read from ``file``."""
    entry = {
        "table": table,
        "file": file,
        "row": int(bad.row),
        "reason": _safe(bad.reason),
        "record": bad.record,
    }
    return json.dumps(entry, ensure_ascii=False) + "\n"


class QuarantineWriter:
    """Appends rejected rows of one table to ``<dir>/<table>.jsonl`` and counts reasons."""

    def __init__(self, directory: Path, table: str, file: str) -> None:
        self.table = table
        self.file = file
        self.path = directory / f"{table}.jsonl"
        self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self.count = 0

    def write(self, rows: list[BadRow]) -> None:
        """Write rejected rows (already in file order)."""
        self._fh.writelines(quarantine_line(self.table, self.file, b) for b in rows)
        self.count += len(rows)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
