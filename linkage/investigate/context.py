"""One read-only connection to a result and what every query module shares: a cursor
per thread, the campaign table, the account graph in memory, look-ups by id."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from linkage.errors import LinkageError, NotFoundError
from linkage.investigate.adjacency import Adjacency, load_adjacency
from linkage.investigate.describe import EntityText
from linkage.investigate.limits import MAX_THREADS, check_range
from linkage.investigate.records import ACCOUNT_COLUMNS, campaign_record
from linkage.result import INVESTIGATION_TABLES, ResultDir
from linkage.schema import load_schema

__all__ = ["NotFoundError", "ResultContext"]


class ResultContext:
    """The shared state of an investigation; safe to share between threads."""

    def __init__(self, result_dir: str | Path, *, threads: int | None = None) -> None:
        self.result = ResultDir.open(result_dir)
        if threads is not None:
            check_range("threads", threads, 1, MAX_THREADS)
        self._con = self.result.connect(INVESTIGATION_TABLES, threads=threads)
        self._local = threading.local()
        self.campaigns = self.result.read_campaigns()
        self.campaign_index = {c: i for i, c in enumerate(self.campaigns.campaign_id)}
        self.keys = {label: node.key for label, node in load_schema().nodes.items()}
        self.text = EntityText.of(self.result.settings())
        """An entity's key as an investigator reads it."""
        self.closed = False
        self._lock = threading.Lock()
        self._adjacency: Adjacency | None = None

    def close(self) -> None:
        """Close the connection; later queries raise."""
        if not self.closed:
            self.closed = True
            self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor; :class:`LinkageError` once closed."""
        if self.closed:
            raise LinkageError(f"the investigation of {self.result.path} is closed")
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """A parameterised query's rows as dicts."""
        cur = self.cursor()
        cur.execute(sql, list(params))
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    @property
    def adjacency(self) -> Adjacency:
        """The account graph in memory (loaded on first use, then shared)."""
        adj = self._adjacency
        if adj is None:
            with self._lock:
                if self._adjacency is None:
                    self._adjacency = load_adjacency(self.cursor())
                adj = self._adjacency
        assert adj is not None
        return adj

    def account_row(self, account_id: str) -> dict[str, Any]:
        """The ``graph_accounts`` row (with ``aid``) of an account, or :class:`NotFoundError`."""
        aid = self.adjacency.aid(account_id)
        rows = (
            []
            if aid is None
            else self.rows(
                f"SELECT aid, {ACCOUNT_COLUMNS} FROM graph_accounts WHERE aid = ?", [aid]
            )
        )
        if not rows:
            raise NotFoundError(f"account {account_id!r} is not in this result")
        return rows[0]

    def campaign_row(self, campaign_id: str) -> dict[str, Any]:
        """A reported campaign's row, or :class:`NotFoundError`."""
        i = self.campaign_index.get(campaign_id)
        if i is None:
            raise NotFoundError(f"campaign {campaign_id!r} is not in this result")
        return campaign_record(self.campaigns.iloc[i])
