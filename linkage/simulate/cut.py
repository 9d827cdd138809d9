"""Cut a data directory in time: what the platform knew at a moment, or only what is new
since then. For measuring runs over time (``detect --previous``, ``linkage score``) on
simulated worlds.

Only Parquet data directories (as :func:`linkage.simulate.simulate` writes them) are cut;
other files (``ip_intel``, ``simulation.json``) are copied as they are.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd

from linkage.contract import INPUT_TABLES
from linkage.errors import LinkageError

__all__ = ["cut_until", "day_start", "new_since"]

ACCOUNTS = f"{INPUT_TABLES['accounts'].name}.parquet"
"""The input's accounts table, as the data contract names it."""
TIMED = {"requests": "ts", "payments": "ts", "identifiers": "ts"}
"""Tables of events in time, and their time column."""


def day_start(data_dir: str | Path, day: int) -> datetime:
    """Midnight UTC ``day`` days after the day of the data's first request: the moment
    "what the platform knew on day ``day``" is cut at."""
    path = Path(data_dir) / f"{INPUT_TABLES['requests'].name}.parquet"
    first = pd.read_parquet(path, columns=["ts"]).ts.min()
    if pd.isna(first):
        raise LinkageError(f"{path}: no requests, so no first day to count from")
    return (first.normalize() + pd.Timedelta(days=day)).to_pydatetime()


def cut_until(data_dir: str | Path, out_dir: str | Path, until: datetime) -> Path:
    """The data as known just before ``until``: accounts created before it, events before
    it, and a ban only when it came before it (``status``, ``banned_at``); ``labels``
    follow the accounts kept."""
    data, out = _paths(data_dir, out_dir)
    ts = pd.Timestamp(until)
    accounts = pd.read_parquet(data / ACCOUNTS)
    accounts = accounts[accounts.created_at < ts].copy()
    if "banned_at" in accounts:
        later = accounts.banned_at.notna() & (accounts.banned_at >= ts)
        accounts.loc[later, "banned_at"] = pd.NaT
        if "status" in accounts:
            accounts.loc[later, "status"] = "active"
    return _write(data, out, accounts, lambda df, col: df[df[col] < ts])


def new_since(data_dir: str | Path, out_dir: str | Path, since: datetime) -> Path:
    """Only what is new at or after ``since``: the accounts created then, and their rows."""
    data, out = _paths(data_dir, out_dir)
    ts = pd.Timestamp(since)
    accounts = pd.read_parquet(data / ACCOUNTS)
    return _write(data, out, accounts[accounts.created_at >= ts].copy(), lambda df, col: df)


def _paths(data_dir: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    data, out = Path(data_dir), Path(out_dir)
    if not (data / ACCOUNTS).is_file():
        raise LinkageError(f"{data}: no accounts.parquet to cut (only Parquet data is cut)")
    if out.resolve() == data.resolve():
        raise LinkageError(f"{out}: the cut must go to another directory than its input")
    out.mkdir(parents=True, exist_ok=True)
    return data, out


def _write(
    data: Path,
    out: Path,
    accounts: pd.DataFrame,
    keep_rows: Callable[[pd.DataFrame, str], pd.DataFrame],
) -> Path:
    """Write ``accounts``, every account table filtered to them (and by ``keep_rows`` for
    timed tables), and copy everything else."""
    kept = set(accounts.account_id)
    accounts.to_parquet(out / ACCOUNTS, index=False)
    for path in sorted(data.iterdir()):
        if path.name == ACCOUNTS or not path.is_file():
            continue
        name = path.name.removesuffix(".parquet")
        if path.suffix == ".parquet" and name in (*TIMED, "labels"):
            df = pd.read_parquet(path)
            df = df[df.account_id.isin(kept)]
            if name in TIMED:
                df = keep_rows(df, TIMED[name])
            df.to_parquet(out / path.name, index=False)
        else:
            shutil.copy2(path, out / path.name)
    return out
