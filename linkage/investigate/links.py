"""``LINKED`` edges between accounts and the evidence behind each: the strongest shared
entities ("why linked"), read from the account graph in memory."""

from __future__ import annotations

from typing import Any

import numpy as np

from linkage.investigate.context import ResultContext
from linkage.investigate.limits import MAX_EVIDENCE
from linkage.schema import ENTITY_LABELS

__all__ = ["edge_evidence", "linked_among", "linked_records"]

Evidence = dict[tuple[int, int], list[dict[str, Any]]]


def linked_among(
    ctx: ResultContext, aids: list[int], max_edges: int, per_edge: int = MAX_EVIDENCE
) -> tuple[list[dict[str, Any]], int]:
    """``LINKED`` edges among ``aids``, heaviest first (ties by the two aids), at most
    ``max_edges``, each with its ``per_edge`` strongest evidence entities; and how
    many there were."""
    if len(aids) < 2:
        return [], 0
    edge, w, ends = ctx.adjacency.edges_among(np.asarray(aids))
    cand = np.arange(len(w))
    if len(w) > max_edges:  # only edges at least as heavy as the max_edges-th can be kept
        kth = np.partition(w, len(w) - max_edges)[len(w) - max_edges]
        cand = np.flatnonzero(w >= kth)
    order = cand[np.lexsort((ends[cand, 1], ends[cand, 0], -w[cand]))][:max_edges]
    return linked_records(ctx, edge[order], per_edge), len(edge)


def linked_records(ctx: ResultContext, edges: np.ndarray, per_edge: int) -> list[dict[str, Any]]:
    """``LINKED`` edge records for edge ids (:class:`Adjacency`), in the given order."""
    adj = ctx.adjacency
    evidence = edge_evidence(ctx, edges, per_edge)
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


def edge_evidence(ctx: ResultContext, edges: np.ndarray, per_edge: int = MAX_EVIDENCE) -> Evidence:
    """The ``per_edge`` strongest evidence entities of edges (edge ids):
    ``(src, dst) -> [{entity_type, entity, label, text, weight, accounts, kind}]``."""
    if len(edges) == 0:
        return {}
    edges = np.asarray(edges, dtype=np.int64)
    ev = _evidence_rows(ctx, edges, per_edge)
    ents: dict[int, dict[str, Any]] = ctx.adjacency.entity_rows(sorted({r["eid"] for r in ev}))
    out: Evidence = {}
    for r in ev:
        e = ents[r["eid"]]
        out.setdefault((r["src"], r["dst"]), []).append(
            {
                "entity_type": e["entity_type"],
                "entity": e["entity"],
                "label": ENTITY_LABELS.get(e["entity_type"], e["entity_type"]),
                "text": ctx.text(e["entity_type"], e["entity"]),
                "weight": r["weight"],
                "accounts": e["accounts"],
                "kind": e["kind"],
            }
        )
    for key, items in out.items():
        items.sort(key=lambda x: (-x["weight"], x["entity_type"], x["entity"]))
        out[key] = items[:per_edge]
    return out


def _evidence_rows(ctx: ResultContext, edges: np.ndarray, per_edge: int) -> list[dict[str, Any]]:
    """``{src, dst, eid, weight}`` evidence rows of edges: from memory, or from the store
    when ``graph_evidence`` is not laid out contiguously per edge."""
    adj = ctx.adjacency
    found = adj.evidence(edges, per_edge)
    if found is None:
        return ctx.rows(
            """
            WITH p AS (SELECT unnest(?::INTEGER[]) AS src, unnest(?::INTEGER[]) AS dst)
            SELECT v.src, v.dst, v.eid, v.weight FROM graph_evidence v JOIN p USING (src, dst)
            """,
            [adj.edge_src[edges].tolist(), adj.edge_dst[edges].tolist()],
        )
    e_edge, e_eid, e_w = found
    cols = zip(
        adj.edge_src[e_edge].tolist(),
        adj.edge_dst[e_edge].tolist(),
        e_eid.tolist(),
        e_w.tolist(),
        strict=True,
    )
    return [{"src": s, "dst": d, "eid": i, "weight": w} for s, d, i, w in cols]
