"""Read-only queries over a result directory: campaigns, accounts, entities and the
graph around them.

Everything reads the tables ``linkage detect`` leaves in ``RESULT/linkage.duckdb``
(``docs/RESULT_STORE.md``) through one read-only connection; every query is
parameterised. Look-ups use the stores' sort orders and indexes: accounts by
``account_id`` (sorted), entities by ``(entity_type, entity)`` (sorted), links by
``eid`` (sorted) or ``aid`` (indexed), edges by ``src`` (sorted) or ``dst``
(indexed). An :class:`Investigation` is safe to share between threads: each call
runs on its own cursor.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from linkage.detect.persist import check_result_dir
from linkage.errors import LinkageError
from linkage.ingest import STORE_FILE, open_store
from linkage.investigate.adjacency import Adjacency, load_adjacency
from linkage.investigate.banlist_text import banlist_lines
from linkage.investigate.graph import Subgraph
from linkage.schema import ENTITY_LABELS, ENTITY_PARENTS, ENTITY_RELATIONSHIPS, load_schema

__all__ = [
    "CAMPAIGN_SORTS",
    "ENTITY_TYPES",
    "MAX_EDGES_LIMIT",
    "MAX_NODES_LIMIT",
    "MAX_PAGE",
    "Investigation",
    "NotFoundError",
    "open_result",
]

ENTITY_TYPES: tuple[str, ...] = tuple(ENTITY_LABELS)
"""Entity types a look-up accepts (``graph_entities.entity_type``)."""

CAMPAIGN_SORTS: dict[str, str] = {
    "score": "score",
    "size": "size",
    "requests": "request_count",
    "first_seen": "first_seen",
    "last_seen": "last_seen",
}
"""``sort`` keys of :meth:`Investigation.campaigns` -> column; prefix ``-`` for descending."""

MAX_NODES_LIMIT = 5000
"""Largest node cap any graph query accepts."""

MAX_EDGES_LIMIT = 50000
"""Largest edge cap any graph query accepts."""

MAX_PAGE = 1000
"""Largest page (``limit``) a list query accepts."""

MAX_EVIDENCE = 8
"""Evidence entities stored per edge (``graph_evidence``)."""

_REQUIRED_TABLES = (
    "graph_accounts",
    "graph_entities",
    "graph_links",
    "graph_edges",
    "graph_evidence",
    "campaign_daily",
    "campaign_indicators",
)


def _iso(col: str, alias: str | None = None) -> str:
    """SQL for a TIMESTAMPTZ column as ISO-8601 UTC text (``...Z``), whatever the session
    time zone."""
    return f"strftime({col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS {alias or col}"


_ACCOUNT_COLUMNS = (
    f"account_id, {_iso('created_at')}, email_domain, country, status, {_iso('banned_at')}, "
    f"request_count, {_iso('first_seen')}, {_iso('last_seen')}, campaign_id, score, flagged"
)
_ENTITY_COLUMNS = (
    f"eid, entity_type, entity, accounts, uses, {_iso('first_seen')}, {_iso('last_seen')}, "
    "weight, kind, parent_eid"
)


class NotFoundError(LinkageError):
    """An id, account or entity that is not in the result."""


def open_result(result_dir: str | Path, *, threads: int | None = None) -> Investigation:
    """Open a result directory of ``linkage detect`` for read-only queries.

    Use it as a context manager (``with open_result(d) as inv: ...``) or call
    :meth:`Investigation.close`. ``threads`` caps DuckDB's threads (a service doing
    many small look-ups at once is faster with 1). Raises :class:`LinkageError` when
    the directory is not a result or predates the investigation tables.
    """
    return Investigation(result_dir, threads=threads)


def _check_range(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LinkageError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise LinkageError(f"{name} must be between {low} and {high}, got {value}")
    return value


class Investigation:
    """Read-only queries over one result directory (see :func:`open_result`)."""

    def __init__(self, result_dir: str | Path, *, threads: int | None = None) -> None:
        self.result_dir = check_result_dir(result_dir)
        if threads is not None:
            _check_range("threads", threads, 1, 256)
        self._con = open_store(self.result_dir / STORE_FILE, read_only=True)
        if threads is not None:
            self._con.execute("SET threads = ?", [threads])
        present = {
            r[0]
            for r in self._con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
            ).fetchall()
        }
        missing = [t for t in _REQUIRED_TABLES if t not in present]
        if missing:
            self._con.close()
            raise LinkageError(
                f"{self.result_dir / STORE_FILE} lacks the investigation tables "
                f"{', '.join(missing)}: it was made by an older linkage; run `linkage detect` again"
            )
        self._local = threading.local()
        self._campaigns = pd.read_parquet(self.result_dir / "campaigns.parquet")
        self._campaign_index = {c: i for i, c in enumerate(self._campaigns.campaign_id)}
        schema = load_schema()
        self._keys = {label: node.key for label, node in schema.nodes.items()}
        self._closed = False
        self._lock = threading.Lock()
        self._adjacency: Adjacency | None = None

    # -- plumbing -----------------------------------------------------------------

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
        return self._closed

    def close(self) -> None:
        """Close the connection; later queries raise."""
        if not self._closed:
            self._closed = True
            self._con.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise LinkageError(f"the investigation of {self.result_dir} is closed")
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self._cursor()
        cur.execute(sql, list(params))
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _aid(self, account_id: str) -> dict[str, Any]:
        aid = self.adjacency.aid(account_id)
        rows = (
            []
            if aid is None
            else self._rows(
                f"SELECT aid, {_ACCOUNT_COLUMNS} FROM graph_accounts WHERE aid = ?", [aid]
            )
        )
        if not rows:
            raise NotFoundError(f"account {account_id!r} is not in this result")
        return rows[0]

    def _campaign_row(self, campaign_id: str) -> dict[str, Any]:
        i = self._campaign_index.get(campaign_id)
        if i is None:
            raise NotFoundError(f"campaign {campaign_id!r} is not in this result")
        return _campaign_record(self._campaigns.iloc[i])

    def _entity_node(self, row: dict[str, Any]) -> dict[str, Any]:
        etype = row["entity_type"]
        label = ENTITY_LABELS.get(etype, etype)
        props = {
            self._keys.get(label, "key"): row["entity"],
            "entity_type": etype,
            "accounts": row["accounts"],
            "uses": row["uses"],
            "first_seen": row["first_seen"],
            "last_seen": row["last_seen"],
            "weight": row["weight"],
            "kind": row["kind"],
        }
        return {
            "id": f"{etype}:{row['entity']}",
            "label": label,
            "key": row["entity"],
            "properties": props,
        }

    # -- campaigns ----------------------------------------------------------------

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
        self._cursor()  # raises once closed
        key = sort.removeprefix("-")
        if key not in CAMPAIGN_SORTS:
            raise LinkageError(
                f"sort must be one of {', '.join(CAMPAIGN_SORTS)} (prefix - for descending), "
                f"got {sort!r}"
            )
        _check_range("limit", limit, 1, MAX_PAGE)
        _check_range("offset", offset, 0, 10**9)
        c = self._campaigns
        sel = c[(c.score >= float(min_score)) & (c["size"] >= int(min_size))]
        sel = sel.sort_values(
            [CAMPAIGN_SORTS[key], "campaign_id"],
            ascending=[not sort.startswith("-"), True],
            kind="stable",
        )
        page = sel.iloc[offset : offset + limit]
        return [_campaign_record(r) for _, r in page.iterrows()], len(sel)

    def campaign(self, campaign_id: str, indicators_per_type: int = 10) -> dict[str, Any]:
        """One campaign: its row (size, score, reasons, dates, requests), ``flagged``
        (members flagged for banning), ``timeline`` (requests and active accounts per
        UTC day) and ``indicators``: per entity type, the shared infrastructure used
        by the most members (``members``, ``member_share``, ``outside_accounts``)."""
        _check_range("indicators_per_type", indicators_per_type, 1, 25)
        row = self._campaign_row(campaign_id)
        adj = self.adjacency
        code = adj.campaigns.index(campaign_id) if campaign_id in adj.campaigns else -2
        row["flagged"] = int((adj.flagged & (adj.campaign_code == code)).sum())
        row["timeline"] = self._rows(
            "SELECT strftime(day, '%Y-%m-%d') AS day, requests, accounts FROM campaign_daily "
            "WHERE campaign_id = ? ORDER BY day",
            [campaign_id],
        )
        inds = self._rows(
            "SELECT entity_type, entity, members, member_share, outside_accounts, uses, rank "
            "FROM campaign_indicators WHERE campaign_id = ? AND rank <= ? "
            "ORDER BY entity_type, rank",
            [campaign_id, indicators_per_type],
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for r in inds:
            r["label"] = ENTITY_LABELS.get(r["entity_type"], r["entity_type"])
            grouped.setdefault(r["entity_type"], []).append(r)
        row["indicators"] = grouped
        return row

    def campaign_members(
        self, campaign_id: str, limit: int = 100, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Members of a campaign, highest score first (ties by account id), and how
        many there are."""
        self._campaign_row(campaign_id)
        _check_range("limit", limit, 1, MAX_PAGE)
        _check_range("offset", offset, 0, 10**9)
        rows = self._rows(
            f"SELECT {_ACCOUNT_COLUMNS} FROM graph_accounts WHERE campaign_id = ? "
            "ORDER BY score DESC, account_id LIMIT ? OFFSET ?",
            [campaign_id, limit, offset],
        )
        total = self._rows(
            "SELECT count(*) AS n FROM graph_accounts WHERE campaign_id = ?", [campaign_id]
        )[0]["n"]
        return rows, int(total)

    def subgraph(
        self,
        campaign_id: str,
        max_nodes: int = 300,
        max_edges: int = 3000,
        evidence_per_edge: int = 3,
    ) -> Subgraph:
        """The campaign's property graph: its member accounts (``Account``), the
        entities that bind them (used by at least two members), each member's
        relationship to them (``USED_IP``, ``PAID_WITH``, ...), and ``LINKED``
        evidence edges between members. A shared prefix or BIN comes with the
        members' IPs or cards in it (``IN_PREFIX``, ``HAS_BIN``): accounts reach it
        through them.

        Over ``max_nodes``, keeps the members with the highest score (ties by
        account id), leaving a third of the cap to entities, which are taken by how
        many kept members share them (ties by type and value). ``max_edges`` caps
        the ``LINKED`` edges, heaviest first; each carries its ``evidence_per_edge``
        strongest shared entities (all of them: :meth:`account`). Deterministic;
        ``sampling`` says what was left out.
        """
        _check_range("max_nodes", max_nodes, 2, MAX_NODES_LIMIT)
        _check_range("max_edges", max_edges, 1, MAX_EDGES_LIMIT)
        _check_range("evidence_per_edge", evidence_per_edge, 1, MAX_EVIDENCE)
        self._campaign_row(campaign_id)
        members = self._rows(
            f"SELECT aid, {_ACCOUNT_COLUMNS} FROM graph_accounts WHERE campaign_id = ? "
            "ORDER BY score DESC, account_id",
            [campaign_id],
        )
        aids = [m["aid"] for m in members]
        n_ent = int(
            self._rows(
                """
                SELECT count(*) AS n FROM (
                    SELECT eid FROM graph_links WHERE aid = ANY(?::INTEGER[])
                    GROUP BY eid HAVING count(*) >= 2)
                """,
                [aids],
            )[0]["n"]
        )
        n_acc = len(members)
        total_nodes = n_acc + n_ent
        truncated = total_nodes > max_nodes
        notes: list[str] = []
        kept = members
        if truncated:
            k_acc = min(n_acc, max(2, max_nodes - min(n_ent, max_nodes // 3)))
            kept = members[:k_acc]
            notes.append(
                f"{k_acc} of {n_acc} members with the highest score (ties by account id), "
                f"then the entities shared by the most of them, up to {max_nodes} nodes"
            )
        kept_aids = [m["aid"] for m in kept]
        links = self._rows(
            """
            SELECT l.aid, l.eid, e.parent_eid
            FROM graph_links l JOIN graph_entities e USING (eid)
            WHERE l.aid = ANY(?::INTEGER[])
            """,
            [kept_aids],
        )
        chosen = _binding_entities(links, max_nodes - len(kept))
        eids = sorted(chosen)
        entities = self._rows(
            f"SELECT {_ENTITY_COLUMNS} FROM graph_entities WHERE eid = ANY(?::INTEGER[]) "
            "ORDER BY eid",
            [eids],
        )
        shown_binding = sum(1 for e in entities if chosen[e["eid"]])
        if truncated and shown_binding < n_ent:
            notes.append(f"{shown_binding} of {n_ent} binding entities shown")
        nodes = [_account_node(m) for m in kept]
        ent_nodes = {e["eid"]: self._entity_node(e) for e in entities}
        nodes.extend(ent_nodes.values())
        by_aid = {m["aid"]: m["account_id"] for m in kept}
        edges: list[dict[str, Any]] = []
        for link in self._rows(
            f"""
            SELECT aid, eid, uses, {_iso("first_seen")}, {_iso("last_seen")}
            FROM graph_links
            WHERE eid = ANY(?::INTEGER[]) AND aid = ANY(?::INTEGER[])
            ORDER BY aid, eid
            """,
            [eids, kept_aids],
        ):
            ent = ent_nodes[link["eid"]]
            rel = ENTITY_RELATIONSHIPS.get(ent["properties"]["entity_type"])
            if rel is None:  # prefix / BIN: reached through the IP / card
                continue
            edges.append(
                {
                    "source": f"account:{by_aid[link['aid']]}",
                    "target": ent["id"],
                    "type": rel,
                    "properties": {
                        "count": link["uses"],
                        "first_seen": link["first_seen"],
                        "last_seen": link["last_seen"],
                    },
                }
            )
        for e in entities:
            parent = e["parent_eid"]
            if parent is not None and parent in ent_nodes:
                edges.append(
                    {
                        "source": ent_nodes[e["eid"]]["id"],
                        "target": ent_nodes[parent]["id"],
                        "type": ENTITY_PARENTS[e["entity_type"]][1],
                        "properties": {},
                    }
                )
        linked, total_linked = self._linked_among(kept_aids, max_edges, evidence_per_edge)
        edges.extend(linked)
        if total_linked > len(linked):
            truncated = True
            notes.append(f"{len(linked)} of {total_linked} LINKED edges, heaviest first")
        return Subgraph(
            kind="campaign",
            center=campaign_id,
            nodes=nodes,
            edges=edges,
            total_nodes=total_nodes,
            total_edges=len(edges) - len(linked) + total_linked,
            max_nodes=max_nodes,
            max_edges=max_edges,
            truncated=truncated,
            sampling="; ".join(notes) or None,
            params={
                "campaign_id": campaign_id,
                "max_nodes": max_nodes,
                "max_edges": max_edges,
                "evidence_per_edge": evidence_per_edge,
            },
        )

    # -- the account graph ---------------------------------------------------------

    @property
    def adjacency(self) -> Adjacency:
        """The account graph in memory (loaded on first use, then shared)."""
        adj = self._adjacency
        if adj is None:
            with self._lock:
                if self._adjacency is None:
                    self._adjacency = load_adjacency(self._cursor())
                adj = self._adjacency
        assert adj is not None
        return adj

    def warm(self) -> None:
        """Load what the first graph query would load (the adjacency), now."""
        _ = self.adjacency

    def _linked_among(
        self, aids: list[int], max_edges: int, per_edge: int = MAX_EVIDENCE
    ) -> tuple[list[dict[str, Any]], int]:
        """``LINKED`` edges among ``aids``, heaviest first (ties by the two aids), at
        most ``max_edges``, each with its ``per_edge`` strongest evidence entities; and
        how many there were."""
        if len(aids) < 2:
            return [], 0
        edge, w, ends = self.adjacency.edges_among(np.asarray(aids))
        cand = np.arange(len(w))
        if len(w) > max_edges:  # only edges at least as heavy as the max_edges-th can be kept
            kth = np.partition(w, len(w) - max_edges)[len(w) - max_edges]
            cand = np.flatnonzero(w >= kth)
        order = cand[np.lexsort((ends[cand, 1], ends[cand, 0], -w[cand]))][:max_edges]
        return self._linked_records(edge[order], per_edge), len(edge)

    def _linked_records(self, edges: np.ndarray, per_edge: int) -> list[dict[str, Any]]:
        """``LINKED`` edge records for edge ids (:class:`Adjacency`), in the given order."""
        adj = self.adjacency
        evidence = self._evidence(edges, per_edge)
        src, dst = adj.edge_src[edges], adj.edge_dst[edges]
        columns = zip(
            src.tolist(),
            dst.tolist(),
            adj.account_ids[src].tolist(),
            adj.account_ids[dst].tolist(),
            adj.edge_w[edges].tolist(),
            adj.edge_n[edges].tolist(),
            adj.edge_signals[edges].tolist(),
            strict=True,
        )
        return [
            {
                "source": f"account:{a}",
                "target": f"account:{b}",
                "type": "LINKED",
                "properties": {
                    "weight": w,
                    "n_entities": n,
                    "signals": adj.signal_sets[sig],
                    "evidence": evidence.get((s, d), []),
                },
            }
            for s, d, a, b, w, n, sig in columns
        ]

    def _evidence(
        self, edges: np.ndarray, per_edge: int = MAX_EVIDENCE
    ) -> dict[tuple[int, int], list[dict[str, Any]]]:
        """The ``per_edge`` strongest evidence entities of edges (edge ids):
        ``(src, dst) -> [{entity_type, entity, label, weight, accounts, kind}]``."""
        if len(edges) == 0:
            return {}
        adj = self.adjacency
        edges = np.asarray(edges, dtype=np.int64)
        found = adj.evidence(edges, per_edge)
        if found is not None:
            e_edge, e_eid, e_w = found
            cols = zip(
                adj.edge_src[e_edge].tolist(),
                adj.edge_dst[e_edge].tolist(),
                e_eid.tolist(),
                e_w.tolist(),
                strict=True,
            )
            ev = [{"src": s, "dst": d, "eid": i, "weight": w} for s, d, i, w in cols]
        else:  # not stored contiguously per edge: join on the pairs
            ev = self._rows(
                """
                WITH p AS (SELECT unnest(?::INTEGER[]) AS src, unnest(?::INTEGER[]) AS dst)
                SELECT v.src, v.dst, v.eid, v.weight FROM graph_evidence v JOIN p USING (src, dst)
                """,
                [adj.edge_src[edges].tolist(), adj.edge_dst[edges].tolist()],
            )
        ents = self._entities_by_eid({r["eid"] for r in ev})
        out: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for r in ev:
            e = ents[r["eid"]]
            out.setdefault((r["src"], r["dst"]), []).append(
                {
                    "entity_type": e["entity_type"],
                    "entity": e["entity"],
                    "label": ENTITY_LABELS.get(e["entity_type"], e["entity_type"]),
                    "weight": r["weight"],
                    "accounts": e["accounts"],
                    "kind": e["kind"],
                }
            )
        for key, items in out.items():
            items.sort(key=lambda x: (-x["weight"], x["entity_type"], x["entity"]))
            out[key] = items[:per_edge]
        return out

    def _entities_by_eid(self, eids: set[int]) -> dict[int, dict[str, Any]]:
        return self.adjacency.entity_rows(sorted(eids))

    # -- accounts -----------------------------------------------------------------

    def account(
        self, account_id: str, max_links: int = 50, max_entities: int = 50
    ) -> dict[str, Any]:
        """One account: its row, its ``campaign`` (id, score, size, reasons) if any,
        its ``links`` -- linked accounts, heaviest first (ties by account), each with
        the shared entities behind the link ("why linked") -- and the ``entities``
        it used, most used first; ``links_total`` and ``entities_total`` count all."""
        _check_range("max_links", max_links, 1, MAX_PAGE)
        _check_range("max_entities", max_entities, 1, MAX_PAGE)
        acc = self._aid(account_id)
        aid = acc.pop("aid")
        out: dict[str, Any] = {"account": acc, "campaign": None}
        if acc["campaign_id"] is not None and acc["campaign_id"] in self._campaign_index:
            c = self._campaign_row(acc["campaign_id"])
            out["campaign"] = {k: c[k] for k in ("campaign_id", "score", "size", "reasons")}
        adj = self.adjacency
        nbr, _, edge = adj.neighbours(aid)
        out["links_total"] = len(nbr)
        nbr, edge = nbr[:max_links], edge[:max_links]
        evidence = self._evidence(edge)
        links = []
        for other, rid in zip(nbr.tolist(), edge.tolist(), strict=True):
            pair = (min(aid, other), max(aid, other))
            summary = adj.account_summary(other)
            summary.pop("status")
            links.append(
                {
                    **summary,
                    "weight": float(adj.edge_w[rid]),
                    "n_entities": int(adj.edge_n[rid]),
                    "signals": adj.signal_sets[adj.edge_signals[rid]],
                    "evidence": evidence.get(pair, []),
                }
            )
        out["links"] = links
        used = self._rows(
            f"SELECT eid, uses, {_iso('first_seen')}, {_iso('last_seen')} "
            "FROM graph_links WHERE aid = ?",
            [aid],
        )
        used.sort(key=lambda r: (-r["uses"], r["eid"]))
        out["entities_total"] = len(used)
        used = used[:max_entities]
        ents = self._entities_by_eid({r["eid"] for r in used})
        out["entities"] = [
            {
                "entity_type": ents[r["eid"]]["entity_type"],
                "entity": ents[r["eid"]]["entity"],
                "label": ENTITY_LABELS.get(
                    ents[r["eid"]]["entity_type"], ents[r["eid"]]["entity_type"]
                ),
                "accounts": ents[r["eid"]]["accounts"],
                "weight": ents[r["eid"]]["weight"],
                "kind": ents[r["eid"]]["kind"],
                "uses": r["uses"],
                "first_seen": r["first_seen"],
                "last_seen": r["last_seen"],
            }
            for r in used
        ]
        return out

    def neighbourhood(
        self,
        account_id: str,
        hops: int = 1,
        max_nodes: int = 200,
        max_edges: int = 1000,
        evidence_per_edge: int = 1,
    ) -> Subgraph:
        """The ego graph of an account over ``LINKED`` edges, ``hops`` (1 or 2) deep.

        Over ``max_nodes``: the account, then its direct neighbours heaviest link
        first, then second-hop accounts by their heaviest link into the first hop
        (ties by aid, i.e. account id). Edges are the ``LINKED`` edges among the kept
        accounts, heaviest first up to ``max_edges``, each with its
        ``evidence_per_edge`` strongest shared entities. Nodes carry the account's
        ``account_id, campaign_id, score, flagged, status`` and ``hop`` (how far it
        is); :meth:`account` has the rest.
        """
        _check_range("hops", hops, 1, 2)
        _check_range("max_nodes", max_nodes, 1, MAX_NODES_LIMIT)
        _check_range("max_edges", max_edges, 1, MAX_EDGES_LIMIT)
        _check_range("evidence_per_edge", evidence_per_edge, 1, MAX_EVIDENCE)
        adj = self.adjacency
        found = adj.aid(account_id)
        if found is None:
            raise NotFoundError(f"account {account_id!r} is not in this result")
        aid = found
        hop1, _, _ = adj.neighbours(aid)
        ranked = [int(a) for a in hop1]
        hop_of = {aid: 0, **dict.fromkeys(ranked, 1)}
        if hops == 2 and len(hop1):
            _, to, w, _ = adj.gather(hop1)
            inside = adj.mask(hop1)
            inside[aid] = True
            outside = ~inside[to]
            to, w = to[outside], w[outside]
            if len(to):
                order = np.argsort(to, kind="stable")
                to, w = to[order], w[order]
                first = np.flatnonzero(np.r_[True, to[1:] != to[:-1]])
                cand, best = to[first], np.maximum.reduceat(w, first)
                order = np.lexsort((cand, -best))
                ranked += cand[order].tolist()
        total = 1 + len(ranked)
        kept = [aid, *ranked[: max_nodes - 1]]
        notes = []
        if total > len(kept):
            notes.append(
                f"{len(kept)} of {total} accounts: the account, then first-hop neighbours by "
                "heaviest link, then second-hop accounts by heaviest link into the first hop "
                "(ties by account)"
            )
        nodes = []
        for a in kept:
            props = adj.account_summary(a)
            props["hop"] = hop_of.get(a, 2)
            nodes.append(
                {
                    "id": f"account:{props['account_id']}",
                    "label": "Account",
                    "key": props["account_id"],
                    "properties": props,
                }
            )
        edges, total_edges = self._linked_among(kept, max_edges, evidence_per_edge)
        if total_edges > len(edges):
            notes.append(f"{len(edges)} of {total_edges} LINKED edges, heaviest first")
        return Subgraph(
            kind="neighbourhood",
            center=account_id,
            nodes=nodes,
            edges=edges,
            total_nodes=total,
            total_edges=total_edges,
            max_nodes=max_nodes,
            max_edges=max_edges,
            truncated=bool(notes),
            sampling="; ".join(notes) or None,
            params={
                "account_id": account_id,
                "hops": hops,
                "max_nodes": max_nodes,
                "max_edges": max_edges,
                "evidence_per_edge": evidence_per_edge,
            },
        )

    # -- entities -----------------------------------------------------------------

    def entity(
        self, entity_type: str, value: str, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """Every account that used an entity (IP, prefix, device, card fingerprint,
        BIN, email domain, ...), most uses first (ties by account id), with its
        campaign, score, uses and first / last use; ``accounts_total`` counts them."""
        if entity_type not in ENTITY_LABELS:
            raise LinkageError(
                f"entity type must be one of {', '.join(ENTITY_TYPES)}, got {entity_type!r}"
            )
        _check_range("limit", limit, 1, MAX_PAGE)
        _check_range("offset", offset, 0, 10**9)
        found = self._rows(
            f"SELECT {_ENTITY_COLUMNS} FROM graph_entities WHERE entity_type = ? AND entity = ?",
            [entity_type, value],
        )
        if not found:
            raise NotFoundError(f"no {entity_type} {value!r} in this result")
        ent = found[0]
        eid, parent = ent.pop("eid"), ent.pop("parent_eid")
        ent["label"] = ENTITY_LABELS[entity_type]
        ent["parent"] = None
        if parent is not None:
            p = self.adjacency.entity_rows([int(parent)])[int(parent)]
            ent["parent"] = {"entity_type": p["entity_type"], "entity": p["entity"]}
        adj = self.adjacency
        columns = f"aid, uses, {_iso('first_seen')}, {_iso('last_seen')}"
        if adj.link_lo is not None:  # the page is a row range: no sort of a big entity
            start = int(adj.link_lo[eid]) + offset
            stop = int(adj.link_lo[eid]) + min(offset + limit, int(ent["accounts"]))
            links = self._rows(
                f"SELECT {columns} FROM graph_links WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
                [start, stop],
            )
        else:
            links = self._rows(
                f"SELECT {columns} FROM graph_links WHERE eid = ? "
                "ORDER BY uses DESC, aid LIMIT ? OFFSET ?",
                [eid, limit, offset],
            )
        accounts = [
            {
                **adj.account_summary(r["aid"]),
                "uses": r["uses"],
                "first_seen": r["first_seen"],
                "last_seen": r["last_seen"],
            }
            for r in links
        ]
        return {"entity": ent, "accounts": accounts, "accounts_total": ent["accounts"]}

    # -- ban list -----------------------------------------------------------------

    def banlist(self) -> pd.DataFrame:
        """The ban list, the same rows as ``linkage export banlist``
        (:func:`linkage.export.banlist`)."""
        from linkage.export import banlist

        return banlist(self.result_dir)

    def banlist_lines(self, fmt: str = "csv", chunk: int = 1000) -> Iterator[str]:
        """The ban list as text, ``chunk`` rows at a time, byte for byte what
        ``linkage export banlist -o FILE.csv|.jsonl`` writes."""
        return banlist_lines(self.banlist(), fmt, chunk)


def _binding_entities(links: list[dict[str, Any]], budget: int) -> dict[int, bool]:
    """Entities to show for member links ``links`` (``aid, eid, parent_eid``):
    ``eid -> binding`` (used by at least two of the members; ``False`` for an IP or
    card shown only to reach a binding prefix or BIN). Most members first (ties by
    eid, which orders by type and value); a prefix or BIN comes with the members'
    IPs or cards in it, and only when all of them fit in ``budget``."""
    users: dict[int, int] = {}
    children: dict[int, set[int]] = {}
    for r in links:
        users[r["eid"]] = users.get(r["eid"], 0) + 1
        if r["parent_eid"] is not None:
            children.setdefault(r["parent_eid"], set()).add(r["eid"])
    ranked = sorted((eid for eid, n in users.items() if n >= 2), key=lambda e: (-users[e], e))
    chosen: dict[int, bool] = {}
    for eid in ranked:
        if eid in chosen:
            chosen[eid] = True
            continue
        if budget <= 0:
            break
        need = [c for c in sorted(children.get(eid, ())) if c not in chosen]
        if 1 + len(need) > budget:
            continue
        chosen[eid] = True
        for c in need:
            chosen[c] = users[c] >= 2
        budget -= 1 + len(need)
    return chosen


def _campaign_record(r: pd.Series) -> dict[str, Any]:
    return {
        "campaign_id": r["campaign_id"],
        "size": int(r["size"]),
        "score": float(r["score"]),
        "reasons": [str(x) for x in r["reasons"]],
        "first_seen": _ts(r["first_seen"]),
        "last_seen": _ts(r["last_seen"]),
        "request_count": int(r["request_count"]),
    }


def _ts(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _account_node(row: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k != "aid"}
    return {
        "id": f"account:{row['account_id']}",
        "label": "Account",
        "key": row["account_id"],
        "properties": props,
    }
