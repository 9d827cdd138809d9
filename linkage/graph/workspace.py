"""The detection workspace: the backend the graph stages run on (DuckDB on the
store by default, or Spark), and the working tables the stages hand to each other
on it.

Every working table is listed once in :data:`TABLES`, with the stage that
creates it and its columns. A stage takes the workspace and the typed outputs
of the stages it reads (:class:`~linkage.graph.events.Events`,
:class:`~linkage.graph.project.Projection`, ...), and returns its own typed
output: a thin handle naming its tables plus counts, so the data flow shows in
the signatures while the heavy work stays in DuckDB.

Stages write their SQL once, in DuckDB's dialect, and run it through the
workspace (:meth:`Workspace.create`, :meth:`~Workspace.append`,
:meth:`~Workspace.fetch`, :meth:`~Workspace.registered`), which hands it to its
:class:`~linkage.backend.Backend`; the steps after the graph stages use the DuckDB
connection :attr:`Workspace.con` itself.

``events`` is the one table that grows after it is created: every evidence
stage (templates, prompt clusters, and whatever comes next) appends its
account-entity events ``(aid, etype, ekey, n, first_ts, last_ts)`` with a new
``etype``; the projection weighs them all alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from linkage.backend import Backend, DuckDBBackend
from linkage.backend.base import ArrowFn
from linkage.errors import LinkageError
from linkage.ingest import open_store
from linkage.ingest.store import limit_memory

__all__ = ["TABLES", "WorkTable", "Workspace", "tables_of"]


@dataclass(frozen=True)
class WorkTable:
    """A working table: its name, the stage that creates it, its columns."""

    name: str
    stage: str
    columns: tuple[str, ...]
    doc: str
    kind: str = "table"
    """``table`` (temp table), ``view`` (temp view) or ``arrow`` (a registered Arrow table)."""


def _t(name: str, stage: str, columns: str, doc: str, kind: str = "table") -> WorkTable:
    return WorkTable(name, stage, tuple(c.strip() for c in columns.split(",")), doc, kind)


TABLES: dict[str, WorkTable] = {
    t.name: t
    for t in (
        _t("acct", "events", "aid, account_id, created_at, email_domain, status, banned_at",
           "accounts with a dense integer id aid, in account_id order"),
        _t("req", "events",
           "aid, ts, ip, ip_version, ip_prefix, device_fp, api_key_id, prompt_text, "
           "input_tokens, output_tokens", "the store's requests by aid", "view"),
        _t("acct_hours", "events", "aid, hr, c, first_ts, last_ts",
           "requests per account and hour of day (UTC)"),
        _t("events", "events", "aid, etype, ekey, n, first_ts, last_ts",
           "account-entity events; evidence stages append their own etype"),
        _t("session_starts", "co-activity", "aid, t",
           "each session's first request (epoch seconds)"),
        _t("distinct_prompts", "templates", "prompt_text, skeleton", "each distinct prompt once"),
        _t("prompt_skeletons", "templates", "aid, ts, prompt_text, skeleton",
           "every prompt with its skeleton"),
        _t("templates", "templates", "template_id, skeleton, prompts, distinct_prompts, accounts",
           "shared skeletons whose slot varies"),
        _t("prompt_templates", "templates", "aid, ts, template_id", "prompts that follow one"),
        _t("prompt_texts", "prompt clusters", "tid, prompt_text", "what was embedded"),
        _t("prompt_sample", "prompt clusters", "aid, tid, n, first_ts, last_ts",
           "each account's sampled prompts"),
        _t("prompt_text_ids", "prompt clusters", "tid, cluster", "cluster of each embedded text"),
        _t("prompt_clusters", "prompt clusters", "cluster_id, size, accounts, label, capability",
           "one row per cluster"),
        _t("entity_kind", "ip intel", "etype, ekey, kind", "IP kind of ip and prefix entities"),
        _t("entities", "projection", "eid, etype, ekey, degree, uses, first_ts, last_ts, kind",
           "every entity, eid in (etype, ekey) order"),
        _t("links", "projection", "aid, eid, n, first_ts, last_ts", "events by entity id"),
        _t("entity_weight", "projection", "eid, etype, ekey, degree, kind, tcode, w",
           "the entities that link accounts, and their weight"),
        _t("pair_evidence", "projection", "src, dst, eid, w, tcode, strong, rare",
           "one row per (account pair, shared entity), src < dst; w before corroboration "
           "(read it through Projection.corroboration); strong: a bond; "
           "rare: weighs enough to corroborate", "arrow"),
        _t("edges", "projection", "src, dst, weight, bond, n_entities, signals, corroborated",
           "weighted account pairs, src < dst; bond: the weight from bonds; "
           "corroborated: circumstance counts in full"),
        _t("member", "scoring", "aid, comm", "community of each account in one"),
        _t("acct_feat", "scoring",
           "aid, account_id, created_at, banned, banned_at, n_req, first_ts, last_ts, "
           "out_tokens, n_prompts, n_elicit, n_templated, hour_entropy, infra_share, "
           "age_at_first_days",
           "per-account activity features"),
        _t("acct_pace", "scoring", "aid, sampled, pace, session_min, gap_cv",
           "request pace of community members and a platform sample"),
    )
}  # fmt: skip
"""Every working table, in the order the stages create them."""


def tables_of(stage: str) -> tuple[WorkTable, ...]:
    """The working tables a stage creates."""
    found = tuple(t for t in TABLES.values() if t.stage == stage)
    if not found:
        raise LinkageError(f"no working tables for stage {stage!r}")
    return found


class Workspace:
    """The backend detection works on, and the working tables on it.

    Open it with :meth:`open` (a store of ``ingest``), wrap a DuckDB connection, or
    put it :meth:`on` another backend. Working tables are temporary: a read-only
    store works too.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection | None = None,
        memory_limit_gb: float | None = None,
        *,
        backend: Backend | None = None,
    ) -> None:
        if backend is None:
            if con is None:
                raise LinkageError("a workspace needs a DuckDB connection or a backend")
            backend = DuckDBBackend(con)
        self.backend = backend
        """Where the stages' SQL runs."""
        self._con = con
        self.memory_limit_gb = memory_limit_gb
        """The cap given to :meth:`open` (``None``: DuckDB's own)."""
        self._kept: dict[str, pa.Table] = {}

    @classmethod
    def on(cls, backend: Backend) -> Workspace:
        """A workspace on ``backend``, whose store tables (``accounts``, ``requests``,
        ``payments``, ``identifiers``, ``ip_intel``, ``ingest_meta``) are already
        registered there."""
        con = backend.con if isinstance(backend, DuckDBBackend) else None
        return cls(con, backend=backend)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for the steps written against DuckDB itself."""
        if self._con is None:
            raise LinkageError(
                f"this step runs on DuckDB only; the workspace is on {self.backend.name}"
            )
        return self._con

    @classmethod
    @contextmanager
    def open(
        cls, store: str | Path, *, read_only: bool, memory_limit_gb: float | None = None
    ) -> Iterator[Workspace]:
        """A workspace on the store at ``store`` (file or directory), closed on exit."""
        con = open_store(Path(store), read_only=read_only)
        try:
            if memory_limit_gb is not None:
                limit_memory(con, memory_limit_gb)
            yield cls(con, memory_limit_gb)
        finally:
            con.close()

    def create(self, name: str, sql: str, *, view: bool = False) -> None:
        """Make the DuckDB-dialect query ``sql`` the working table ``name`` (a view
        when ``view``), replacing it."""
        self.backend.create_table(name, sql, view=view)

    def append(self, name: str, sql: str) -> None:
        """Append the rows of ``sql`` (the columns of ``name``, in order) to ``name``."""
        self.backend.insert(name, sql)

    def fetch(self, sql: str) -> pa.Table:
        """The result of the DuckDB-dialect query ``sql``, brought here as Arrow."""
        return self.backend.fetch(sql)

    def drop(self, *names: str) -> None:
        """Forget the scratch tables ``names`` a stage made on the backend."""
        for name in names:
            self.backend.drop(name)

    def map_by(
        self,
        out: str,
        sql: str,
        key: Sequence[str],
        fn: ArrowFn,
        schema: pa.Schema,
        *,
        order: Sequence[str] = (),
        keep: bool = False,
    ) -> pa.Table | None:
        """Make ``fn`` over the rows of ``sql`` the working table ``out``
        (:meth:`Backend.map_by <linkage.backend.Backend.map_by>`: whole values of ``key``
        at a time, sorted by ``order``; on the executors of a cluster).

        With ``keep``, where ``fn`` runs in this process (DuckDB: once, on all rows) its
        result stays Arrow, registered and kept as by :meth:`keep` rather than copied
        into a table, and is returned; elsewhere ``out`` is a table on the backend and
        ``None`` is returned.
        """
        if keep and isinstance(self.backend, DuckDBBackend):
            got = self.backend.map_arrow(sql, fn, schema, order)
            self.keep(out, got)
            return got
        self.backend.map_by(out, sql, key, fn, schema, order=order)
        return None

    def hold(self, nbytes: int) -> None:
        """Arrays of about ``nbytes`` now live beside DuckDB (in numpy, or registered
        Arrow): lower DuckDB's cap by as much, to a quarter of it at least, so that the
        process stays near the cap of :meth:`open`. A later call replaces the amount."""
        if self.memory_limit_gb is None or self._con is None:
            return
        gb = max(self.memory_limit_gb / 4, self.memory_limit_gb - nbytes / 1e9)
        self.con.execute(f"SET memory_limit = '{gb:.3f}GB'")

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        """Run one statement on the workspace's DuckDB connection."""
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def count(self, table: str) -> int:
        """Rows in a working table."""
        return self.backend.count(TABLES[table].name)

    @contextmanager
    def registered(self, name: str, data: pa.Table | pd.DataFrame) -> Iterator[None]:
        """``data`` (Arrow or pandas) visible as ``name`` for the duration of the block."""
        self.backend.register_arrow(name, data)
        try:
            yield
        finally:
            self.backend.unregister(name)

    def keep(self, name: str, table: pa.Table) -> None:
        """Register the Arrow working table ``name`` for the rest of the workspace's life."""
        self.backend.register_arrow(name, table)
        self._kept[name] = table

    def arrow(self, name: str) -> pa.Table:
        """The Arrow working table ``name`` given to :meth:`keep` (for work in numpy)."""
        if name not in self._kept:
            raise LinkageError(f"no Arrow working table {name!r} on this workspace")
        return self._kept[name]

    def present(self) -> set[str]:
        """Names of the tables and views now on the workspace's backend."""
        return self.backend.names()

    def columns(self, table: str) -> tuple[str, ...]:
        """The columns a working table has now (to check against :data:`TABLES`)."""
        rel = self.con.sql(f'SELECT * FROM "{table}" LIMIT 0')
        return tuple(rel.columns)
