"""The ban list rows: one per flagged account, with its campaign's reasons and its own
activity (the rows ``linkage export banlist`` writes and the service streams)."""

from __future__ import annotations

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
)
"""Columns of a ban list, in order."""


def banlist_rows(result: ResultDir) -> pd.DataFrame:
    """Flagged accounts with their campaign's reasons and their own activity, sorted by
    campaign score then account score, descending (ties by account id)."""
    accounts = result.read_accounts()
    flagged = accounts[accounts.flagged]
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
    finally:
        con.close()
    rows = flagged.merge(campaigns[["campaign_id", "campaign_score", "reasons"]], on="campaign_id")
    rows = rows.merge(activity, on="account_id", how="left")
    rows["request_count"] = rows.request_count.fillna(0).astype("int64")
    rows = rows.sort_values(
        ["campaign_score", "score", "account_id"], ascending=[False, False, True]
    )
    return rows[list(BANLIST_COLUMNS)].reset_index(drop=True)
