"""Stable campaign ids across runs: this run's campaigns matched to a previous
result's by the accounts they share.

The rule (``detect --previous``):

- A previous campaign ``P`` and a campaign ``N`` of this run are *linked* when they
  share at least ``lineage_min_overlap`` of the smaller one's accounts.
- Ids go to links in order of shared accounts (most first; ties by previous id, then
  by this run's provisional id): ``N`` takes ``P``'s id unless either already has one.
  So a campaign that goes on keeps its id however many accounts join or leave it.
- ``lineage``: ``new`` when ``N`` is linked to no previous campaign (a new id, as
  without ``--previous``); ``merged`` when to two or more (it keeps the id of the one
  it shares most with); ``split`` when its one previous campaign is linked to two or
  more of this run's (the part that shares most keeps the id, the others get new ids);
  ``continued`` otherwise. ``previous_campaign_ids`` lists every linked previous
  campaign, sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from linkage.errors import LinkageError
from linkage.result import ResultDir

__all__ = ["LINEAGES", "Previous", "assign_lineage"]

LINEAGES = ("new", "continued", "merged", "split")


@dataclass(frozen=True)
class Previous:
    """What ``--previous`` contributes: the previous run's campaign members and size."""

    path: Path
    members: pd.DataFrame
    """``account_id, campaign_id`` of every account in a previous campaign."""
    accounts: int
    """Accounts the previous run saw."""
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The decisions that reached the previous run (``decisions.parquet``; may be empty)."""

    @classmethod
    def read(cls, path: str | Path) -> Previous:
        """Read a finished result directory (refused, naming it, when it is not one)."""
        result = ResultDir.open(path)
        try:
            acc = result.read_accounts(["account_id", "campaign_id"])
        except (OSError, ValueError, KeyError) as exc:
            raise LinkageError(
                f"{result.accounts_path}: cannot read the previous run: {exc}"
            ) from exc
        members = acc.dropna(subset=["campaign_id"]).reset_index(drop=True)
        return cls(result.path, members, len(acc), result.read_decisions())


def assign_lineage(
    current: pd.DataFrame, previous: Previous | None, min_overlap: float
) -> pd.DataFrame:
    """Ids and lineage for this run's campaigns.

    ``current``: ``account_id, campaign_id`` of every member, ``campaign_id`` the
    provisional (member-hash) id. Returns one row per current campaign, in provisional
    id order: ``provisional_id, campaign_id, lineage, previous_campaign_ids``.
    """
    ids = pd.Index(sorted(current.campaign_id.unique()), name="provisional_id")
    out = pd.DataFrame(
        {
            "campaign_id": ids.to_numpy(),
            "lineage": "new",
            "previous_campaign_ids": [[] for _ in range(len(ids))],
        },
        index=ids,
    )
    if previous is None or previous.members.empty or current.empty:
        return out.reset_index()
    links = _links(current, previous.members, min_overlap)
    if links.empty:
        return out.reset_index()
    taken_new: set[str] = set()
    taken_old: set[str] = set()
    for row in links.sort_values(
        ["shared", "previous_id", "provisional_id"], ascending=[False, True, True]
    ).itertuples():
        if row.provisional_id in taken_new or row.previous_id in taken_old:
            continue
        out.loc[row.provisional_id, "campaign_id"] = row.previous_id
        taken_new.add(row.provisional_id)
        taken_old.add(row.previous_id)
    parts = links.groupby("previous_id").provisional_id.nunique()
    for new_id, group in links.groupby("provisional_id"):
        prev = sorted(group.previous_id)
        out.at[new_id, "previous_campaign_ids"] = prev
        if len(prev) >= 2:
            out.loc[new_id, "lineage"] = "merged"
        elif parts[prev[0]] >= 2:
            out.loc[new_id, "lineage"] = "split"
        else:
            out.loc[new_id, "lineage"] = "continued"
    return out.reset_index()


def _links(current: pd.DataFrame, members: pd.DataFrame, min_overlap: float) -> pd.DataFrame:
    """``provisional_id, previous_id, shared`` for every linked pair of campaigns."""
    both = current.merge(members, on="account_id", suffixes=("", "_previous"))
    shared = (
        both.groupby(["campaign_id", "campaign_id_previous"])
        .size()
        .rename("shared")
        .reset_index()
        .rename(columns={"campaign_id": "provisional_id", "campaign_id_previous": "previous_id"})
    )
    size_new = current.campaign_id.value_counts()
    size_old = members.campaign_id.value_counts()
    smaller = np.minimum(
        size_new.reindex(shared.provisional_id).to_numpy(),
        size_old.reindex(shared.previous_id).to_numpy(),
    )
    return shared[shared.shared >= min_overlap * smaller].reset_index(drop=True)
