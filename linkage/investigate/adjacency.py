"""The account graph (``graph_edges``) in memory as compressed adjacency, for fast
"who is linked to whom" and ego graphs; each edge's details and where its evidence
rows lie; and each account's id, campaign, score and flag.

At 1M accounts and a few million edges this is a few hundred MB, loaded once
(seconds) and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from linkage.errors import LinkageError

__all__ = ["Adjacency", "load_adjacency"]


@dataclass(frozen=True)
class Adjacency:
    """CSR adjacency of the undirected account graph.

    ``nbr[indptr[a]:indptr[a + 1]]`` are the accounts linked to ``a`` with weights
    ``w`` and edge ids ``edge`` (an edge's position in ``edge_src`` / ``edge_dst`` /
    ``edge_w``...). ``ev_lo[edge]`` / ``ev_n[edge]`` give the first row and the
    number of rows of the edge's evidence in ``ev_eid`` / ``ev_w``, or
    ``ev_lo is None`` when that table is not stored contiguously per edge.
    """

    n: int
    indptr: np.ndarray
    nbr: np.ndarray
    w: np.ndarray
    edge: np.ndarray
    ev_lo: np.ndarray | None
    ev_n: np.ndarray | None
    ev_eid: np.ndarray | None
    ev_w: np.ndarray | None
    edge_src: np.ndarray
    edge_dst: np.ndarray
    edge_w: np.ndarray
    edge_n: np.ndarray
    edge_signals: np.ndarray
    signal_sets: list[list[str]]
    account_ids: np.ndarray
    campaign_code: np.ndarray
    campaigns: list[str]
    score: np.ndarray
    flagged: np.ndarray
    status_code: np.ndarray
    statuses: list[str]
    entities: pa.Table
    link_lo: np.ndarray | None = None
    """``graph_links`` row of each entity's first link (rows ordered by entity, then
    uses, descending): an entity's page of accounts is a row range. ``None`` when
    the table is not in that order."""

    def entity_rows(self, eids: list[int]) -> dict[int, dict[str, object]]:
        """``eid -> {entity_type, entity, accounts, weight, kind}`` (``graph_entities``,
        held in memory as Arrow: no query)."""
        if not eids:
            return {}
        rows = self.entities.take(pa.array(eids, pa.int64())).to_pylist()
        return dict(zip(eids, rows, strict=True))

    def aid(self, account_id: str) -> int | None:
        """The dense id of ``account_id`` (``aid`` numbers accounts in id order), or ``None``."""
        i = int(np.searchsorted(self.account_ids, account_id))
        if i < self.n and self.account_ids[i] == account_id:
            return i
        return None

    def account_summary(self, a: int) -> dict[str, object]:
        """``account_id, campaign_id, score, flagged`` of dense id ``a``."""
        code = int(self.campaign_code[a])
        score = float(self.score[a])
        return {
            "account_id": str(self.account_ids[a]),
            "campaign_id": self.campaigns[code] if code >= 0 else None,
            "score": None if np.isnan(score) else score,
            "flagged": bool(self.flagged[a]),
            "status": self.statuses[int(self.status_code[a])] if self.status_code[a] >= 0 else None,
        }

    def evidence(
        self, edges: np.ndarray, per_edge: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The strongest ``per_edge`` evidence rows of each edge (``graph_edges`` row
        ids) as ``(edge, eid, weight)`` arrays, or ``None`` when ``graph_evidence``
        is not laid out contiguously per edge (then ask the store)."""
        if self.ev_lo is None or self.ev_n is None or self.ev_eid is None or self.ev_w is None:
            return None
        lo = self.ev_lo[edges]
        k = np.minimum(self.ev_n[edges].astype(np.int64), per_edge)
        keep = k > 0
        edges, lo, k = edges[keep], lo[keep], k[keep]
        rows = np.repeat(lo - np.cumsum(k) + k, k) + np.arange(int(k.sum()))
        return np.repeat(edges, k), self.ev_eid[rows], self.ev_w[rows]

    def neighbours(self, a: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(accounts, weights, edge ids)`` of ``a``, heaviest first (ties by aid)."""
        lo, hi = self.indptr[a], self.indptr[a + 1]
        nbr, w, edge = self.nbr[lo:hi], self.w[lo:hi], self.edge[lo:hi]
        order = np.lexsort((nbr, -w))
        return nbr[order], w[order], edge[order]

    def gather(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For every node in ``nodes``, its adjacency entries:
        ``(from, to, weight, edge row id)`` arrays, concatenated."""
        nodes = np.asarray(nodes, dtype=np.int64)
        starts, ends = self.indptr[nodes], self.indptr[nodes + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), empty
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        idx = offsets + np.arange(total)
        return np.repeat(nodes, lengths), self.nbr[idx], self.w[idx], self.edge[idx]

    def mask(self, nodes: np.ndarray) -> np.ndarray:
        """A boolean array over all accounts, true at ``nodes``."""
        m = np.zeros(self.n, dtype=bool)
        m[nodes] = True
        return m

    def edges_among(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The edges with both ends in ``nodes``: ``(edge ids, weights, (src, dst))``
        stacked as ``(k,)``, ``(k,)`` and ``(k, 2)`` with ``src < dst``."""
        nodes = np.unique(np.asarray(nodes, dtype=np.int64))
        frm, to, w, edge = self.gather(nodes)
        keep = (frm < to) & self.mask(nodes)[to]
        return edge[keep], w[keep], np.stack([frm[keep], to[keep]], axis=1)


def load_adjacency(cur: duckdb.DuckDBPyConnection) -> Adjacency:
    """Read ``graph_edges`` (and the layout of ``graph_evidence``) into memory."""
    acc, campaigns, statuses = _load_accounts(cur)
    n = len(acc["aid"])
    e, signal_values = _load_edges(cur)
    sig_codes = np.asarray(e["signals"], dtype=np.int32)
    sig_codes[sig_codes < 0] = len(signal_values)  # no signals: the empty set appended below
    sig_values = [*signal_values, ""]
    rid = np.arange(len(e["src"]), dtype=np.int64)  # an edge's id: its position here
    src = np.asarray(e["src"], dtype=np.int64)
    dst = np.asarray(e["dst"], dtype=np.int64)
    w = np.asarray(e["weight"], dtype=np.float64)
    frm = np.concatenate([src, dst])
    order = np.argsort(frm, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(frm, minlength=n), out=indptr[1:])
    nbr = np.concatenate([dst, src])[order].astype(np.int32)
    weights = np.concatenate([w, w])[order]
    edge = np.concatenate([rid, rid])[order]
    layout = _evidence_layout(cur, n, src, dst)
    ev_lo, ev_n, ev_eid, ev_w = layout if layout is not None else (None, None, None, None)
    entities = _load_entities(cur)
    return Adjacency(
        n,
        indptr,
        nbr,
        weights,
        edge,
        ev_lo,
        ev_n,
        ev_eid,
        ev_w,
        edge_src=src.astype(np.int32),
        edge_dst=dst.astype(np.int32),
        edge_w=w,
        edge_n=np.asarray(e["n_entities"], dtype=np.int32),
        edge_signals=sig_codes.astype(np.int32),
        signal_sets=[v.split(",") if v else [] for v in sig_values],
        account_ids=np.asarray(acc["account_id"], dtype=object),
        campaign_code=np.asarray(acc["campaign_code"], dtype=np.int32),
        campaigns=campaigns,
        score=np.ma.filled(np.ma.asarray(acc["score"], dtype=np.float64), np.nan),
        flagged=np.asarray(acc["flagged"], dtype=bool),
        status_code=np.asarray(acc["status_code"], dtype=np.int32),
        statuses=statuses,
        entities=entities.drop(["eid"]).combine_chunks(),
        link_lo=_link_layout(cur, entities),
    )


def _load_accounts(
    cur: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """``graph_accounts`` as arrays with campaign and status codes, and the code tables;
    :class:`LinkageError` unless accounts are numbered densely in id order."""
    campaigns = _distinct(cur, "campaign_id", "graph_accounts")
    statuses = _distinct(cur, "status", "graph_accounts")
    acc = cur.execute(
        """
        SELECT a.aid, a.account_id, coalesce(c.code, -1)::INTEGER AS campaign_code, a.score,
               coalesce(a.flagged, false) AS flagged, coalesce(s.code, -1)::INTEGER AS status_code
        FROM graph_accounts a
        LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS v, generate_subscripts(?::VARCHAR[], 1) - 1
                   AS code) c ON c.v = a.campaign_id
        LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS v, generate_subscripts(?::VARCHAR[], 1) - 1
                   AS code) s ON s.v = a.status
        ORDER BY a.aid
        """,
        [campaigns, campaigns, statuses, statuses],
    ).fetchnumpy()
    n = len(acc["aid"])
    ids = np.asarray(acc["account_id"], dtype=object)
    dense = np.array_equal(np.asarray(acc["aid"]), np.arange(n))
    if not dense or not (ids[1:] > ids[:-1]).all():
        raise LinkageError(
            "graph_accounts must number accounts densely in account_id order "
            "(docs/RESULT_STORE.md); run `linkage detect` again"
        )
    return acc, campaigns, statuses


def _load_edges(cur: duckdb.DuckDBPyConnection) -> tuple[dict[str, np.ndarray], list[str]]:
    """``graph_edges`` as arrays with each edge's signal set as a code, and the codes."""
    signal_values = _distinct(cur, "array_to_string(signals, ',')", "graph_edges")
    e = cur.execute(
        """
        SELECT e.src, e.dst, e.weight, e.n_entities,
               coalesce(c.code, -1)::INTEGER AS signals
        FROM graph_edges e
        LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS v, generate_subscripts(?::VARCHAR[], 1) - 1
                   AS code) c ON c.v = array_to_string(e.signals, ',')
        """,
        [signal_values, signal_values],
    ).fetchnumpy()
    return e, signal_values


def _load_entities(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """``graph_entities`` in memory (Arrow), checked to be numbered densely."""
    entities: pa.Table = cur.sql(
        "SELECT eid, entity_type, entity, accounts, weight, kind FROM graph_entities ORDER BY eid"
    ).to_arrow_table()
    eid_col = entities.column("eid").to_numpy()
    if len(eid_col) and not np.array_equal(eid_col, np.arange(len(eid_col))):
        raise LinkageError("graph_entities.eid is not dense 0..n-1; run `linkage detect` again")
    return entities


def _link_layout(cur: duckdb.DuckDBPyConnection, entities: pa.Table) -> np.ndarray | None:
    """First ``graph_links`` row of every entity, or ``None`` unless the table is in
    ``(eid, uses DESC, aid)`` order (checked on the biggest entities and a spread
    of others, up to 1,000 rows each)."""
    accounts = np.asarray(entities.column("accounts").to_numpy(), dtype=np.int64)
    lo = np.cumsum(accounts) - accounts
    total = cur.execute("SELECT count(*) FROM graph_links").fetchone()
    if total is None or int(total[0]) != int(accounts.sum()):
        return None
    biggest = np.argsort(-accounts, kind="stable")[:32]
    spread = np.linspace(0, len(lo) - 1, num=min(len(lo), 32)).astype(np.int64)
    for eid in np.unique(np.concatenate([biggest, spread])).tolist():
        start = int(lo[eid])
        rows = cur.execute(
            "SELECT eid, uses, aid FROM graph_links WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
            [start, start + int(min(accounts[eid], 1000))],
        ).fetchall()
        keys = [(-uses, aid) for _, uses, aid in rows]
        if not rows or any(r[0] != eid for r in rows) or keys != sorted(keys):
            return None
    return lo


def _evidence_layout(
    cur: duckdb.DuckDBPyConnection, n: int, src: np.ndarray, dst: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """``graph_evidence`` in memory: per edge (position in ``src``/``dst``) the first
    row and the number of rows of its evidence, and every row's ``eid`` and
    ``weight``. ``None`` when the rows of an edge are not contiguous."""
    ev = cur.execute("SELECT src, dst, eid, weight FROM graph_evidence").fetchnumpy()
    width = max(n, 1)
    key = np.asarray(ev["src"], dtype=np.int64) * width + np.asarray(ev["dst"], dtype=np.int64)
    del ev["src"], ev["dst"]
    if len(key) and not (key[1:] >= key[:-1]).all():
        return None
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, int)
    counts = np.diff(np.r_[starts, len(key)])
    run_keys = key[starts]
    edge_key = src * width + dst
    order = np.argsort(edge_key, kind="stable")
    sorted_keys = edge_key[order]
    ev_lo = np.full(len(src), -1, dtype=np.int64)
    ev_n = np.zeros(len(src), dtype=np.int16)
    if len(sorted_keys) and len(run_keys):
        pos = np.minimum(np.searchsorted(sorted_keys, run_keys), len(sorted_keys) - 1)
        found = sorted_keys[pos] == run_keys
        ev_lo[order[pos[found]]] = starts[found]
        ev_n[order[pos[found]]] = counts[found]
    return (
        ev_lo,
        ev_n,
        np.asarray(ev["eid"], dtype=np.int32),
        np.asarray(ev["weight"], dtype=np.float64),
    )


def _distinct(cur: duckdb.DuckDBPyConnection, expr: str, table: str) -> list[str]:
    """Sorted distinct non-null values of a fixed (never user-given) SQL expression."""
    rows = cur.execute(
        f"SELECT DISTINCT {expr} AS v FROM {table} WHERE v IS NOT NULL ORDER BY v"
    ).fetchall()
    return [str(r[0]) for r in rows]
