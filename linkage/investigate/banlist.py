"""The ban list rows: one per flagged account, with its campaign's reasons, its own
activity and its status in the input (the rows ``linkage export banlist`` writes and the
service streams)."""

from __future__ import annotations

import duckdb
import pandas as pd

from linkage.result import ResultDir

__all__ = ["BANLIST_COLUMNS", "banlist_rows"]

BANLIST_COLUMNS = (
    "account_id",
    "campaign_id",
    "score",
    "reasons",
    "first_seen",
    "last_seen",
    "request_count",
    "status",
    "banned_at",
)
"""Columns of a ban list, in order (contract v2 appends ``status`` and ``banned_at``)."""


def banlist_rows(result: ResultDir, campaign_id: str | None = None) -> pd.DataFrame:
    """Flagged accounts with their campaign's reasons, their own activity and their input
    ``status`` (``active`` or ``banned``) and ``banned_at`` (null when active), sorted by
    campaign score then account score, descending (ties by account id); with
    ``campaign_id``, that campaign's rows only."""
    accounts = result.read_accounts()
    flagged = accounts[accounts.flagged]
    if campaign_id is not None:
        flagged = flagged[flagged.campaign_id == campaign_id]
    campaigns = result.read_campaigns().rename(columns={"score": "campaign_score"})
    con = result.connect()
    try:
        con.register("flagged_ids", flagged[["account_id"]])
        activity = con.execute("""
            SELECT r.account_id, min(r.ts) AS first_seen, max(r.ts) AS last_seen,
                   count(*) AS request_count
            FROM requests r SEMI JOIN flagged_ids f ON f.account_id = r.account_id
            GROUP BY r.account_id
        """).df()
        standing = _input_status(con)
    finally:
        con.close()
    rows = flagged.merge(campaigns[["campaign_id", "campaign_score", "reasons"]], on="campaign_id")
    rows = rows.merge(activity, on="account_id", how="left")
    rows = rows.merge(standing, on="account_id", how="left")
    rows["status"] = rows.status.fillna("active")
    rows["request_count"] = rows.request_count.fillna(0).astype("int64")
    rows = rows.sort_values(
        ["campaign_score", "score", "account_id"], ascending=[False, False, True]
    )
    return rows[list(BANLIST_COLUMNS)].reset_index(drop=True)


def _input_status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``account_id, status, banned_at`` of the flagged accounts (registered as
    ``flagged_ids``) as the input gave them: ``active`` unless banned, ``banned_at`` only
    for a banned account."""
    return con.execute("""
        SELECT a.account_id, coalesce(a.status, 'active') AS status,
               CASE WHEN coalesce(a.status, 'active') = 'banned' THEN a.banned_at END
                   AS banned_at
        FROM accounts a SEMI JOIN flagged_ids f ON f.account_id = a.account_id
    """).df()
