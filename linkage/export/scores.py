"""``linkage score`` output files: one row per scored account (contract v2)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from linkage.errors import LinkageError
from linkage.export.atomic import atomic_path
from linkage.export.banlist import banlist_lines

__all__ = ["SCORE_FORMATS", "write_scores"]

SCORE_FORMATS = (".csv", ".jsonl", ".parquet")


def write_scores(table: pa.Table, path: str | Path) -> int:
    """Write score rows (``account_id, campaign_id, score, flagged, reasons``) atomically
    in the format of ``path``'s extension, with the ban list's serializer (CSV: reasons
    joined by ``; ``); return the number of rows."""
    path = Path(path)
    if path.suffix not in SCORE_FORMATS:
        raise LinkageError(f"{path}: score format must be one of {', '.join(SCORE_FORMATS)}")
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            pq.write_table(table, tmp)
        else:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                for text in banlist_lines(table.to_pandas(), path.suffix.lstrip("."), 10_000):
                    fh.write(text)
    return table.num_rows
