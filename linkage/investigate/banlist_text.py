"""The ban list as streamed text, identical to the files ``write_banlist`` writes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd

from linkage.errors import LinkageError

__all__ = ["BANLIST_TEXT_FORMATS", "banlist_lines"]

BANLIST_TEXT_FORMATS = ("csv", "jsonl")


def _iso(ts: object) -> str | None:
    if ts is None or pd.isna(ts):  # type: ignore[arg-type]
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def banlist_lines(rows: pd.DataFrame, fmt: str = "csv", chunk: int = 1000) -> Iterator[str]:
    """Yield the ban list ``rows`` (:func:`linkage.export.banlist`) as CSV or JSONL
    text, ``chunk`` rows at a time; the concatenation is byte for byte the file
    ``linkage export banlist -o FILE.csv|.jsonl`` writes."""
    if fmt not in BANLIST_TEXT_FORMATS:
        raise LinkageError(
            f"ban list format must be one of {', '.join(BANLIST_TEXT_FORMATS)}, got {fmt!r}"
        )
    if chunk < 1:
        raise LinkageError(f"chunk must be at least 1, got {chunk}")
    if fmt == "csv":
        text = rows.assign(
            reasons=rows.reasons.map(lambda r: "; ".join(r)),
            first_seen=rows.first_seen.map(_iso),
            last_seen=rows.last_seen.map(_iso),
        )
        yield text.iloc[:0].to_csv(index=False)
        for start in range(0, len(text), chunk):
            yield text.iloc[start : start + chunk].to_csv(index=False, header=False)
        return
    for start in range(0, len(rows), chunk):
        out = []
        for rec in rows.iloc[start : start + chunk].to_dict(orient="records"):
            rec["reasons"] = list(rec["reasons"])
            rec["first_seen"], rec["last_seen"] = _iso(rec["first_seen"]), _iso(rec["last_seen"])
            out.append(json.dumps(rec) + "\n")
        yield "".join(out)
