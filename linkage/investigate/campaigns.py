"""Campaign queries: the list, one campaign with its timeline and indicators, its members."""

from __future__ import annotations

from typing import Any

from linkage.errors import LinkageError
from linkage.investigate.context import ResultContext
from linkage.investigate.limits import (
    CAMPAIGN_SORTS,
    MAX_INDICATORS,
    MAX_OFFSET,
    MAX_PAGE,
    check_range,
)
from linkage.investigate.records import ACCOUNT_COLUMNS, campaign_record
from linkage.schema import ENTITY_LABELS

__all__ = ["CampaignQueries"]


class CampaignQueries:
    """Queries over ``campaigns.parquet``, ``campaign_daily`` and ``campaign_indicators``."""

    def __init__(self, ctx: ResultContext) -> None:
        self.ctx = ctx

    def count(self) -> int:
        """How many campaigns the result reports (:class:`LinkageError` once closed),
        without sorting them."""
        self.ctx.cursor()  # raises once closed
        return len(self.ctx.campaigns)

    def campaigns(
        self,
        min_score: float = 0.0,
        min_size: int = 0,
        sort: str = "-score",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Reported campaigns with ``score >= min_score`` and ``size >= min_size``,
        sorted by ``sort`` (a key of :data:`CAMPAIGN_SORTS`, ``-`` prefix for
        descending; ties by campaign id). Returns ``(page, total matching)``."""
        self.ctx.cursor()  # raises once closed
        key = sort.removeprefix("-")
        if key not in CAMPAIGN_SORTS:
            raise LinkageError(
                f"sort must be one of {', '.join(CAMPAIGN_SORTS)} (prefix - for descending), "
                f"got {sort!r}"
            )
        check_range("limit", limit, 1, MAX_PAGE)
        check_range("offset", offset, 0, MAX_OFFSET)
        c = self.ctx.campaigns
        sel = c[(c.score >= float(min_score)) & (c["size"] >= int(min_size))]
        sel = sel.sort_values(
            [CAMPAIGN_SORTS[key], "campaign_id"],
            ascending=[not sort.startswith("-"), True],
            kind="stable",
        )
        page = sel.iloc[offset : offset + limit]
        return [campaign_record(r) for _, r in page.iterrows()], len(sel)

    def campaign(self, campaign_id: str, indicators_per_type: int = 10) -> dict[str, Any]:
        """One campaign: its row (size, score, reasons, dates, requests), ``flagged``
        (members flagged for banning), ``timeline`` (requests and active accounts per
        UTC day), ``baseline`` (the same for the whole platform, :meth:`baseline`) and
        ``indicators``: per entity type, the shared infrastructure used
        by the most members (``members``, ``member_share``, ``outside_accounts``)."""
        check_range("indicators_per_type", indicators_per_type, 1, MAX_INDICATORS)
        row = self.ctx.campaign_row(campaign_id)
        adj = self.ctx.adjacency
        code = adj.campaigns.index(campaign_id) if campaign_id in adj.campaigns else -2
        row["flagged"] = int((adj.flagged & (adj.campaign_code == code)).sum())
        row["timeline"] = self.ctx.rows(
            "SELECT strftime(day, '%Y-%m-%d') AS day, requests, accounts FROM campaign_daily "
            "WHERE campaign_id = ? ORDER BY day",
            [campaign_id],
        )
        row["baseline"] = self.baseline()
        inds = self.ctx.rows(
            "SELECT entity_type, entity, members, member_share, outside_accounts, uses, rank "
            "FROM campaign_indicators WHERE campaign_id = ? AND rank <= ? "
            "ORDER BY entity_type, rank",
            [campaign_id, indicators_per_type],
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for r in inds:
            r["label"] = ENTITY_LABELS.get(r["entity_type"], r["entity_type"])
            r["text"] = self.ctx.text(r["entity_type"], r["entity"])
            grouped.setdefault(r["entity_type"], []).append(r)
        row["indicators"] = grouped
        return row

    def baseline(self) -> list[dict[str, Any]]:
        """The whole platform's requests and active accounts per UTC day (every
        account, in a campaign or not), to set a campaign's timeline against."""
        return self.ctx.rows(
            "SELECT strftime(day, '%Y-%m-%d') AS day, sum(requests)::BIGINT AS requests, "
            "sum(accounts)::BIGINT AS accounts FROM campaign_daily GROUP BY day ORDER BY day"
        )

    def campaign_members(
        self, campaign_id: str, limit: int = 100, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Members of a campaign, highest score first (ties by account id), and how
        many there are."""
        self.ctx.campaign_row(campaign_id)
        check_range("limit", limit, 1, MAX_PAGE)
        check_range("offset", offset, 0, MAX_OFFSET)
        rows = self.ctx.rows(
            f"SELECT {ACCOUNT_COLUMNS} FROM graph_accounts WHERE campaign_id = ? "
            "ORDER BY score DESC, account_id LIMIT ? OFFSET ?",
            [campaign_id, limit, offset],
        )
        total = self.ctx.rows(
            "SELECT count(*) AS n FROM graph_accounts WHERE campaign_id = ?", [campaign_id]
        )[0]["n"]
        return rows, int(total)
