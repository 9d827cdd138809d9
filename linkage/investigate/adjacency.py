"""The account graph (``graph_edges``) in memory as compressed adjacency, for fast
"who is linked to whom" and ego graphs; each edge's details and where its evidence
rows lie; and each account's id, campaign, score and flag.

At 1M accounts and a few million edges this is a few hundred MB, loaded once
(seconds) and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.errors import LinkageError

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
    acc = cur.execute(
        "SELECT aid, account_id, campaign_id, score, flagged, status FROM graph_accounts "
        "ORDER BY aid"
    ).df()
    n = len(acc)
    ids = acc.account_id.to_numpy(dtype=object)
    dense = (acc.aid.to_numpy() == np.arange(n)).all()
    if not dense or not (ids[1:] > ids[:-1]).all():
        raise LinkageError(
            "graph_accounts must number accounts densely in account_id order "
            "(docs/RESULT_STORE.md); run `linkage detect` again"
        )
    codes, campaigns = pd.factorize(acc.campaign_id, sort=True)
    status_codes, statuses = pd.factorize(acc.status, sort=True)
    e = cur.execute(
        "SELECT rowid AS r, src, dst, weight, n_entities, "
        "array_to_string(signals, ',') AS signals FROM graph_edges ORDER BY rowid"
    ).df()
    sig_codes, sig_values = pd.factorize(e.signals.fillna(""), sort=True)
    rid = np.asarray(e["r"], dtype=np.int64)
    if len(rid) and not (rid == np.arange(len(rid))).all():
        raise LinkageError("graph_edges row ids are not dense; run `linkage detect` again")
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
    ev_eid = ev_w = None
    if ev_lo is not None:
        ev = cur.execute(
            "SELECT rowid AS r, eid, weight FROM graph_evidence ORDER BY rowid"
        ).fetchnumpy()
        if np.array_equal(np.asarray(ev["r"]), np.arange(len(ev["r"]))):
            ev_eid = np.asarray(ev["eid"], dtype=np.int32)
            ev_w = np.asarray(ev["weight"], dtype=np.float64)
    entities: pa.Table = cur.sql(
        "SELECT eid, entity_type, entity, accounts, weight, kind FROM graph_entities ORDER BY eid"
    ).to_arrow_table()
    eid_col = entities.column("eid").to_numpy()
    if len(eid_col) and not np.array_equal(eid_col, np.arange(len(eid_col))):
        raise LinkageError("graph_entities.eid is not dense 0..n-1; run `linkage detect` again")
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
        account_ids=ids,
        campaign_code=codes.astype(np.int32),
        campaigns=[str(c) for c in campaigns],
        score=acc.score.to_numpy(dtype=np.float64, na_value=np.nan),
        flagged=acc.flagged.fillna(False).to_numpy(dtype=bool),
        status_code=status_codes.astype(np.int32),
        statuses=[str(x) for x in statuses],
        entities=entities.drop(["eid"]).combine_chunks(),
    )


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
