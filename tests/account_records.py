"""Each account's ``{table: rows}`` of a data directory, as ``Scorer.score_account`` and
``POST /score`` take them: shared by the scoring tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

TABLES = ("accounts", "requests", "payments", "identifiers")


def account_records(
    data: Path, *, text_timestamps: bool = True, accounts: Iterable[str] | None = None
) -> dict[str, dict[str, list[dict]]]:
    """``{account_id: {table: rows}}`` for ``accounts`` (default every account of
    ``data``), timestamps as ISO text unless ``text_timestamps`` is false."""
    frames = {}
    for name in TABLES:
        df = pd.read_parquet(data / f"{name}.parquet")
        if text_timestamps:
            for c in df.columns:
                if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                    df[c] = df[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        df = df.astype(object)
        frames[name] = dict(tuple(df.where(df.notna(), None).groupby("account_id")))
    chosen = frames["accounts"] if accounts is None else accounts
    return {
        a: {n: g[a].to_dict(orient="records") if a in g else [] for n, g in frames.items()}
        for a in chosen
    }
