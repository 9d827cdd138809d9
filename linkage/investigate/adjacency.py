"""The account graph (``graph_edges``) in memory as compressed adjacency, for fast
"who is linked to whom" and ego graphs, plus where each edge's evidence rows lie."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

__all__ = ["Adjacency", "load_adjacency"]


@dataclass(frozen=True)
class Adjacency:
    """CSR adjacency of the undirected account graph.

    ``nbr[indptr[a]:indptr[a + 1]]`` are the accounts linked to ``a`` with weights
    ``w`` and the ``graph_edges`` row ids ``edge``. ``ev_lo[edge]`` / ``ev_n[edge]``
    give the contiguous ``graph_evidence`` row ids of an edge's evidence, or
    ``ev_lo is None`` when that table is not stored contiguously per edge.
    """

    n: int
    indptr: np.ndarray
    nbr: np.ndarray
    w: np.ndarray
    edge: np.ndarray
    ev_lo: np.ndarray | None
    ev_n: np.ndarray | None

    def neighbours(self, a: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(accounts, weights, edge row ids)`` of ``a``, heaviest first (ties by aid)."""
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

    def edges_among(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The edges with both ends in ``nodes``: ``(edge row ids, weights, (src, dst))``
        stacked as ``(k,)``, ``(k,)`` and ``(k, 2)`` with ``src < dst``."""
        nodes = np.unique(np.asarray(nodes, dtype=np.int64))
        frm, to, w, edge = self.gather(nodes)
        keep = (frm < to) & np.isin(to, nodes)
        return edge[keep], w[keep], np.stack([frm[keep], to[keep]], axis=1)


def load_adjacency(cur: duckdb.DuckDBPyConnection) -> Adjacency:
    """Read ``graph_edges`` (and the layout of ``graph_evidence``) into memory."""
    row = cur.execute("SELECT count(*) FROM graph_accounts").fetchone()
    n = int(row[0]) if row else 0
    e = cur.execute("SELECT rowid AS r, src, dst, weight FROM graph_edges").fetchnumpy()
    rid = np.asarray(e["r"], dtype=np.int64)
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
    ev_lo, ev_n = _evidence_layout(cur, n, rid, src, dst)
    return Adjacency(n, indptr, nbr, weights, edge, ev_lo, ev_n)


def _evidence_layout(
    cur: duckdb.DuckDBPyConnection, n: int, rid: np.ndarray, src: np.ndarray, dst: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    ev = cur.execute(
        "SELECT src, dst, min(rowid) AS lo, max(rowid) AS hi, count(*) AS k "
        "FROM graph_evidence GROUP BY src, dst"
    ).fetchnumpy()
    lo = np.asarray(ev["lo"], dtype=np.int64)
    k = np.asarray(ev["k"], dtype=np.int64)
    if len(lo) and not np.array_equal(np.asarray(ev["hi"], dtype=np.int64) - lo + 1, k):
        return None, None
    size = int(rid.max()) + 1 if len(rid) else 0
    ev_lo = np.full(size, -1, dtype=np.int64)
    ev_n = np.zeros(size, dtype=np.int16)
    edge_key = src * max(n, 1) + dst
    order = np.argsort(edge_key)
    key = np.asarray(ev["src"], dtype=np.int64) * max(n, 1) + np.asarray(ev["dst"], dtype=np.int64)
    pos = np.searchsorted(edge_key[order], key)
    pos = np.minimum(pos, max(len(order) - 1, 0))
    found = (len(order) > 0) & (edge_key[order][pos] == key) if len(order) else np.zeros(0, bool)
    target = rid[order][pos[found]]
    ev_lo[target] = lo[found]
    ev_n[target] = k[found]
    return ev_lo, ev_n
