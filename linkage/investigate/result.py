"""Read-only queries over a result directory: campaigns, accounts, entities and the
graph around them.

Everything reads the tables ``linkage detect`` leaves in ``RESULT/linkage.duckdb``
(``docs/RESULT_STORE.md``) through one read-only connection; every query is
parameterised. Look-ups use the stores' sort orders and indexes: accounts by
``account_id`` (sorted), entities by ``(entity_type, entity)`` (sorted), links by
``eid`` (sorted) or ``aid`` (indexed), edges by ``src`` (sorted) or ``dst``
(indexed). :class:`Investigation` composes one query object per subject
(:mod:`~linkage.investigate.campaigns`, :mod:`~linkage.investigate.accounts`,
:mod:`~linkage.investigate.entities`, :mod:`~linkage.investigate.subgraphs`) over one
:class:`~linkage.investigate.context.ResultContext`. It is safe to share between
threads: each call runs on its own cursor.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from linkage.investigate.accounts import AccountQueries
from linkage.investigate.adjacency import Adjacency
from linkage.investigate.banlist import banlist_rows
from linkage.investigate.campaigns import CampaignQueries
from linkage.investigate.context import NotFoundError, ResultContext
from linkage.investigate.entities import EntityQueries
from linkage.investigate.graph import Subgraph
from linkage.investigate.subgraphs import GraphQueries

__all__ = ["Investigation", "NotFoundError", "open_result"]


def open_result(result_dir: str | Path, *, threads: int | None = None) -> Investigation:
    """Open a result directory of ``linkage detect`` for read-only queries.

    Use it as a context manager (``with open_result(d) as inv: ...``) or call
    :meth:`Investigation.close`. ``threads`` caps DuckDB's threads (a service doing
    many small look-ups at once is faster with 1). Raises :class:`LinkageError` when
    the directory is not a complete result or predates the investigation tables.
    """
    return Investigation(result_dir, threads=threads)


class Investigation:
    """Read-only queries over one result directory (see :func:`open_result`)."""

    def __init__(self, result_dir: str | Path, *, threads: int | None = None) -> None:
        self._ctx = ResultContext(result_dir, threads=threads)
        self.result_dir = self._ctx.result.path
        self._campaigns = CampaignQueries(self._ctx)
        self._accounts = AccountQueries(self._ctx)
        self._entities = EntityQueries(self._ctx)
        self._graphs = GraphQueries(self._ctx)

    def __enter__(self) -> Investigation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._ctx.closed

    def close(self) -> None:
        """Close the connection; later queries raise."""
        self._ctx.close()

    @property
    def adjacency(self) -> Adjacency:
        """The account graph in memory (loaded on first use, then shared)."""
        return self._ctx.adjacency

    def warm(self) -> None:
        """Load what the first graph query would load (the adjacency), now."""
        _ = self._ctx.adjacency

    def campaign_count(self) -> int:
        """See :meth:`CampaignQueries.count`."""
        return self._campaigns.count()

    def campaigns(
        self,
        min_score: float = 0.0,
        min_size: int = 0,
        sort: str = "-score",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """See :meth:`CampaignQueries.campaigns`."""
        return self._campaigns.campaigns(min_score, min_size, sort, limit, offset)

    def campaign(self, campaign_id: str, indicators_per_type: int = 10) -> dict[str, Any]:
        """See :meth:`CampaignQueries.campaign`."""
        return self._campaigns.campaign(campaign_id, indicators_per_type)

    def campaign_members(
        self, campaign_id: str, limit: int = 100, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """See :meth:`CampaignQueries.campaign_members`."""
        return self._campaigns.campaign_members(campaign_id, limit, offset)

    def subgraph(
        self,
        campaign_id: str,
        max_nodes: int = 300,
        max_edges: int = 3000,
        evidence_per_edge: int = 3,
    ) -> Subgraph:
        """See :meth:`GraphQueries.subgraph`."""
        return self._graphs.subgraph(campaign_id, max_nodes, max_edges, evidence_per_edge)

    def account(
        self, account_id: str, max_links: int = 50, max_entities: int = 50
    ) -> dict[str, Any]:
        """See :meth:`AccountQueries.account`."""
        return self._accounts.account(account_id, max_links, max_entities)

    def neighbourhood(
        self,
        account_id: str,
        hops: int = 1,
        max_nodes: int = 200,
        max_edges: int = 1000,
        evidence_per_edge: int = 1,
    ) -> Subgraph:
        """See :meth:`GraphQueries.neighbourhood`."""
        return self._graphs.neighbourhood(account_id, hops, max_nodes, max_edges, evidence_per_edge)

    def entity(
        self, entity_type: str, value: str, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """See :meth:`EntityQueries.entity`."""
        return self._entities.entity(entity_type, value, limit, offset)

    def banlist(self, campaign_id: str | None = None) -> pd.DataFrame:
        """The ban list, the same rows as ``linkage export banlist`` (with
        ``campaign_id``, that campaign's rows; :class:`NotFoundError` for a campaign not
        in the result); serialise it with :func:`linkage.export.banlist_lines`."""
        self._ctx.cursor()  # raises once closed
        if campaign_id is not None:
            self._ctx.campaign_row(campaign_id)
        return banlist_rows(self._ctx.result, campaign_id)
