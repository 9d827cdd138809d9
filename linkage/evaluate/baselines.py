"""Baselines the engine must beat, computed on the account graph ``detect`` builds
(:func:`linkage.graph.build_graph`: the same events and pairs).

- ``connected_components``: link every pair of accounts that share any identifier.
- ``fraud_ring``: the usual graph-database recipe: link accounts that share at
  least two cards or devices each used by at most 10 accounts, then weakly
  connected components.
- ``louvain``: Louvain (modularity) on the unweighted projection (the same
  bounded account pairs the engine weighs, without weights).

Each returns a group label per account (``-1``: in no group of ``min_size``).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import igraph as ig
import numpy as np

from linkage.graph import Projection, Workspace

__all__ = ["BASELINES", "connected_components", "fraud_ring", "louvain"]

RING_MAX_DEGREE = 10
RING_MIN_SHARED = 2


def _groups(n: int, src: np.ndarray, dst: np.ndarray, min_size: int) -> np.ndarray:
    g = ig.Graph(n=n, edges=np.column_stack([src, dst]).astype(np.int64), directed=False)
    return _relabel(np.asarray(g.connected_components().membership), min_size)


def _relabel(membership: np.ndarray, min_size: int) -> np.ndarray:
    labels, inverse, counts = np.unique(membership, return_inverse=True, return_counts=True)
    keep = counts >= min_size
    new = np.full(len(labels), -1)
    new[keep] = np.arange(int(keep.sum()))
    return new[inverse]


def connected_components(ws: Workspace, graph: Projection, min_size: int) -> np.ndarray:
    """Components of 'shares any identifier' (each entity links its accounts as a star)."""
    e = ws.execute("""
        SELECT aid AS src, first_value(aid) OVER (PARTITION BY etype, ekey ORDER BY aid) AS dst
        FROM events
    """).fetchnumpy()
    keep = e["src"] != e["dst"]
    return _groups(graph.accounts, e["src"][keep], e["dst"][keep], min_size)


def fraud_ring(ws: Workspace, graph: Projection, min_size: int) -> np.ndarray:
    """Accounts sharing >= 2 cards/devices of degree <= 10, weakly connected."""
    e = ws.execute(
        """
        WITH ent AS (SELECT etype, ekey FROM events WHERE etype IN ('card', 'device')
                     GROUP BY etype, ekey HAVING count(*) BETWEEN 2 AND ?),
             ev AS (SELECT aid, etype, ekey FROM events SEMI JOIN ent USING (etype, ekey))
        SELECT a.aid AS src, b.aid AS dst FROM ev a JOIN ev b
          ON a.etype = b.etype AND a.ekey = b.ekey AND a.aid < b.aid
        GROUP BY a.aid, b.aid HAVING count(*) >= ?
        """,
        [RING_MAX_DEGREE, RING_MIN_SHARED],
    ).fetchnumpy()
    return _groups(graph.accounts, e["src"], e["dst"], min_size)


def louvain(ws: Workspace, graph: Projection, min_size: int, seed: int = 0) -> np.ndarray:
    """Louvain on the unweighted account projection (``pair_evidence`` pairs)."""
    e = ws.execute("SELECT DISTINCT src, dst FROM pair_evidence ORDER BY src, dst").fetchnumpy()
    g = ig.Graph(
        n=graph.accounts,
        edges=np.column_stack([e["src"], e["dst"]]).astype(np.int64),
        directed=False,
    )
    previous = random.getstate()
    ig.set_random_number_generator(random.Random(seed))
    try:
        membership = np.asarray(g.community_multilevel().membership)
    finally:
        ig.set_random_number_generator(random)
        random.setstate(previous)
    return _relabel(membership, min_size)


Baseline = Callable[[Workspace, Projection, int], np.ndarray]
"""``baseline(ws, graph, min_size)``: a group per account of ``graph`` (``-1``: none)."""

BASELINES: dict[str, Baseline] = {
    "connected_components": connected_components,
    "fraud_ring": fraud_ring,
    "louvain": louvain,
}
