"""The ban list: one row per flagged account, for enforcement systems."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.errors import LinkageError
from linkage.ingest import STORE_FILE, open_store

__all__ = ["BANLIST_COLUMNS", "banlist", "write_banlist"]

BANLIST_COLUMNS = (
    "account_id",
    "campaign_id",
    "score",
    "reasons",
    "first_seen",
    "last_seen",
    "request_count",
)
FORMATS = (".csv", ".jsonl", ".parquet")


def banlist(result_dir: str | Path) -> pd.DataFrame:
    """Flagged accounts with their campaign's reasons and their own activity, sorted by
    campaign score then account score, descending (ties by account id)."""
    result_dir = Path(result_dir)
    for name in ("accounts.parquet", "campaigns.parquet", STORE_FILE):
        if not (result_dir / name).exists():
            raise LinkageError(
                f"{result_dir} is not a result directory: {name} is missing "
                "(run `linkage detect` first)"
            )
    accounts = pd.read_parquet(result_dir / "accounts.parquet")
    flagged = accounts[accounts.flagged]
    campaigns = pd.read_parquet(result_dir / "campaigns.parquet").rename(
        columns={"score": "campaign_score"}
    )
    con = open_store(result_dir / STORE_FILE, read_only=True)
    try:
        con.register("flagged_ids", flagged[["account_id"]])
        activity = con.execute("""
            SELECT r.account_id, min(r.ts) AS first_seen, max(r.ts) AS last_seen,
                   count(*) AS request_count
            FROM requests r SEMI JOIN flagged_ids f ON f.account_id = r.account_id
            GROUP BY r.account_id
        """).df()
    finally:
        con.close()
    rows = flagged.merge(campaigns[["campaign_id", "campaign_score", "reasons"]], on="campaign_id")
    rows = rows.merge(activity, on="account_id", how="left")
    rows["request_count"] = rows.request_count.fillna(0).astype("int64")
    rows = rows.sort_values(
        ["campaign_score", "score", "account_id"], ascending=[False, False, True]
    )
    return rows[list(BANLIST_COLUMNS)].reset_index(drop=True)


def write_banlist(result_dir: str | Path, path: str | Path) -> int:
    """Write the ban list; the format follows the extension. Atomic: a crash never
    leaves a half-written file. Returns the number of rows."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise LinkageError(f"{path}: ban list format must be one of {', '.join(FORMATS)}")
    rows = banlist(result_dir)
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix == ".parquet":
            table = pa.Table.from_pandas(rows, preserve_index=False)
            pq.write_table(table, tmp)
        elif path.suffix == ".csv":
            text = rows.assign(
                reasons=rows.reasons.map(lambda r: "; ".join(r)),
                first_seen=rows.first_seen.map(_iso),
                last_seen=rows.last_seen.map(_iso),
            )
            text.to_csv(tmp, index=False)
        else:
            with tmp.open("w", encoding="utf-8") as fh:
                for rec in rows.to_dict(orient="records"):
                    rec["reasons"] = list(rec["reasons"])
                    rec["first_seen"], rec["last_seen"] = (
                        _iso(rec["first_seen"]),
                        _iso(rec["last_seen"]),
                    )
                    fh.write(json.dumps(rec) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(rows)


def _iso(ts: object) -> str | None:
    if ts is None or pd.isna(ts):  # type: ignore[arg-type]
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")
