"""Seeded Leiden (CPM) community detection on a weighted account graph, with
refinement of oversized communities. A thin wrapper over igraph's C core."""

from __future__ import annotations

import random
from dataclasses import dataclass

import igraph as ig
import numpy as np
import pandas as pd

from linkage.arrays import unique_inverse
from linkage.graph import EdgeList
from linkage.settings import DetectSettings

__all__ = [
    "Communities",
    "consolidate",
    "find_communities",
    "leiden",
    "separate",
    "warm_start",
]


@dataclass(frozen=True)
class Communities:
    """Community per node (``-1``: in none of at least ``min_size``) and how it was found."""

    membership: np.ndarray
    quality: float
    resolution: float
    seed: int
    refined: int
    """How many oversized communities were split by refinement."""

    @property
    def n_communities(self) -> int:
        return int(self.membership.max()) + 1 if len(self.membership) else 0

    def sizes(self) -> np.ndarray:
        m = self.membership[self.membership >= 0]
        return np.bincount(m, minlength=self.n_communities)


def leiden(
    n_nodes: int,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    *,
    resolution: float,
    seed: int,
    min_size: int = 2,
    max_size: int | None = None,
    refine_factor: float = 4.0,
    max_refine_rounds: int = 4,
    merge_ratio: float = 0.0,
    bond: np.ndarray | None = None,
    bond_ratio: float = 0.0,
    core_bond: float = 0.0,
    core_share: float = 0.0,
    rest_share: float = 0.0,
    schedule: np.ndarray | None = None,
    initial: np.ndarray | None = None,
) -> Communities:
    """Leiden with the Constant Potts Model on an undirected weighted graph.

    Nodes are ``0..n_nodes-1``; edges are ``src[i] - dst[i]`` with ``weight[i] > 0``.
    Communities larger than ``max_size`` are re-partitioned on their own
    subgraph at ``refine_factor`` times the resolution (up to
    ``max_refine_rounds`` times). Labels are canonical: ordered by size
    (largest first), then by smallest node id, so the same input and seed give
    the same labels. Communities smaller than ``min_size`` get ``-1``. With
    ``merge_ratio``, pieces are merged back (:func:`consolidate`, with ``bond`` and
    ``bond_ratio``); with ``core_share``, the rest of a community is then split off
    its dominant core (:func:`separate`, with ``rest_share``; cores are tied by
    ``bond`` of at least ``core_bond`` or by a verified ``schedule``). ``initial`` (a
    label per node) warm-starts the first Leiden run from it.

    >>> import numpy as np
    >>> src, dst, w = np.array([0, 2]), np.array([1, 3]), np.array([1.0, 1.0])
    >>> c = leiden(4, src, dst, w, resolution=0.1, seed=1)
    >>> c.membership.tolist()
    [0, 0, 1, 1]
    """
    src, dst, weight = (np.asarray(a) for a in (src, dst, weight))
    if not (len(src) == len(dst) == len(weight)):
        raise ValueError("src, dst and weight must have the same length")
    if len(src) and (src.min() < 0 or max(src.max(), dst.max()) >= n_nodes):
        raise ValueError(f"edge endpoints must lie in 0..{n_nodes - 1}")
    if len(weight) and not (weight > 0).all():
        raise ValueError("edge weights must be positive")
    if resolution <= 0:
        raise ValueError("resolution must be positive")
    graph = ig.Graph(n=n_nodes, edges=np.column_stack([src, dst]).astype(np.int64), directed=False)
    graph.es["weight"] = weight.astype(np.float64)
    membership, quality = _run(graph, resolution, seed, initial)
    refined = 0
    if max_size is not None:
        for _ in range(max_refine_rounds):
            sizes = np.bincount(membership)
            big = np.flatnonzero(sizes > max_size)
            if not len(big):
                break
            next_label = int(membership.max()) + 1
            for label in big.tolist():
                nodes = np.flatnonzero(membership == label)
                sub = graph.induced_subgraph(nodes.tolist())
                sub_m, _ = _run(sub, resolution * refine_factor ** (refined + 1), seed)
                membership[nodes] = sub_m + next_label
                next_label += int(sub_m.max()) + 1
                refined += 1
    if merge_ratio > 0:
        membership = consolidate(
            membership, src, dst, weight, merge_ratio, max(min_size, 2), bond, bond_ratio
        )
    if core_share > 0 and bond is not None:
        core = bond >= core_bond if schedule is None else (bond >= core_bond) | schedule
        membership = separate(
            membership, src, dst, weight, core, max(min_size, 2), core_share, rest_share
        )
    return Communities(_canonical(membership, min_size), quality, resolution, seed, refined)


def consolidate(
    membership: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    ratio: float,
    min_size: int = 2,
    bond: np.ndarray | None = None,
    bond_ratio: float = 0.0,
    max_rounds: int = 10,
) -> np.ndarray:
    """Merge communities that are no better separated than they are dense.

    The density of a community is its internal edge weight per pair of
    members; the density between two communities is their cross weight per
    pair. Two communities of at least ``min_size`` members merge when the density
    between them is at least ``ratio`` times the larger of their densities, and
    the density of their cross ``bond`` (the part of each edge's weight from
    shared identities; all of it when not given) at least
    ``bond_ratio`` times: pieces of one sparse swarm that CPM cut apart are about
    as tied to each other as inside, by the cards and devices they pass along,
    while two operators sharing a proxy pool, or a household beside a swarm, are
    tied far less, and by addresses. The tie must also be broad: at least as many
    edges between them as the smaller has members, so one stray edge between two
    small groups merges nothing. Repeated until stable.
    """
    m = membership.copy()
    bond = weight if bond is None else bond
    for _ in range(max_rounds):
        ca, cb = m[src], m[dst]
        n_comm = int(m.max()) + 1
        size = np.bincount(m, minlength=n_comm).astype(np.float64)
        same = ca == cb
        internal = np.bincount(ca[same], weight[same], minlength=n_comm)
        density = np.where(size > 1, internal / np.maximum(size * (size - 1) / 2, 1), 0.0)
        lo, hi = np.minimum(ca[~same], cb[~same]), np.maximum(ca[~same], cb[~same])
        if not len(lo):
            break
        key = lo.astype(np.int64) * n_comm + hi
        keys, inv = unique_inverse(key)
        cross = np.bincount(inv, weight[~same])
        cross_bond = np.bincount(inv, bond[~same])
        n_cross = np.bincount(inv)
        a, b = keys // n_comm, keys % n_comm
        between = cross / (size[a] * size[b])
        ok = (size[a] >= min_size) & (size[b] >= min_size)
        ok &= n_cross >= np.minimum(size[a], size[b])
        ok &= between >= ratio * np.maximum(density[a], density[b])
        ok &= cross_bond / (size[a] * size[b]) >= bond_ratio * np.maximum(density[a], density[b])
        if not ok.any():
            break
        parent = np.arange(n_comm)
        for x, y in zip(a[ok].tolist(), b[ok].tolist(), strict=True):
            rx, ry = _find(parent, x), _find(parent, y)
            if rx != ry:
                parent[max(rx, ry)] = min(rx, ry)
        roots = np.array([_find(parent, c) for c in range(n_comm)])
        m = roots[m]
    return m


def separate(
    membership: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    core: np.ndarray,
    min_size: int,
    core_share: float,
    rest_share: float,
) -> np.ndarray:
    """Split off the rest of a community from its one dominant operator.

    A core is a connected component of a community's ``core`` edges (pairs bonded by
    cards, keys, identifiers or rare devices, or keeping verified alike schedules)
    of at least ``min_size`` members. A community whose largest core holds at least
    ``core_share`` of it, while its other cores together hold at least ``rest_share``
    (and ``min_size``) with no such tie to the largest, is two: the largest core's
    operator and the rest. Two operators behind one proxy pool sending the same
    public templates are one dense community to CPM, but not one bonded core; a
    swarm that passes cards along in threes is many small cores, none dominant, and
    stays whole. Members in no core follow the side they are tied to by the most
    edge weight, through other members if need be (label propagation), the largest
    core's when tied to neither. The largest core's side keeps the label.
    """
    m = membership.copy()
    if not len(src) or m.max() < 0:
        return m
    same = (m[src] == m[dst]) & (m[src] >= 0)
    inside = same & core
    comp = np.asarray(
        ig.Graph(n=len(m), edges=np.column_stack([src[inside], dst[inside]]).astype(np.int64))
        .connected_components()
        .membership
    )
    placed = np.flatnonzero(m >= 0)
    size = np.bincount(m[placed])
    key, counts = np.unique(m[placed].astype(np.int64) * len(m) + comp[placed], return_counts=True)
    owner_comm = key // len(m)
    is_core = counts >= min_size
    largest = np.zeros(len(size), np.int64)
    np.maximum.at(largest, owner_comm[is_core], counts[is_core])
    rest = np.bincount(owner_comm[is_core], counts[is_core], minlength=len(size)) - largest
    split = np.flatnonzero(
        (largest >= core_share * size) & (rest >= np.maximum(min_size, rest_share * size))
    )
    next_label = len(size)
    for c in split.tolist():
        nodes = np.flatnonzero(m == c)
        labels, counts = np.unique(comp[nodes], return_counts=True)
        first = labels[np.lexsort((labels, -counts))[0]]
        others = labels[(counts >= min_size) & (labels != first)]
        owner = np.where(comp[nodes] == first, 0, np.where(np.isin(comp[nodes], others), 1, -1))
        sel = same & (m[src] == c)
        a, b, w = np.searchsorted(nodes, src[sel]), np.searchsorted(nodes, dst[sel]), weight[sel]
        a, b, w = np.r_[a, b], np.r_[b, a], np.r_[w, w]
        for _ in range(len(nodes)):
            known = (owner[b] >= 0) & (owner[a] < 0)
            if not known.any():
                break
            pull = np.zeros((len(nodes), 2))
            np.add.at(pull, (a[known], owner[b[known]]), w[known])
            reached = np.flatnonzero((owner < 0) & (pull.max(axis=1) > 0))
            owner[reached] = pull[reached].argmax(axis=1)
        m[nodes[owner == 1]] = next_label
        next_label += 1
    return m


def _find(parent: np.ndarray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = int(parent[x])
    return x


def find_communities(
    n_nodes: int, edges: EdgeList, settings: DetectSettings, initial: np.ndarray | None = None
) -> Communities:
    """:func:`leiden` on the projection's edges with every parameter from ``settings``:
    the one call ``detect`` makes (and anything that must reproduce it); ``initial``:
    a warm start (:func:`warm_start`)."""
    s = settings
    return leiden(
        n_nodes,
        edges.src,
        edges.dst,
        edges.weight,
        resolution=s.resolution,
        seed=s.seed,
        min_size=s.min_campaign_size,
        max_size=s.max_campaign_size,
        merge_ratio=s.merge_ratio,
        bond=edges.bond,
        bond_ratio=s.merge_bond_ratio,
        core_bond=s.split_bond_weight,
        core_share=s.split_core_share,
        rest_share=s.split_rest_share,
        schedule=edges.schedule,
        initial=initial,
    )


def warm_start(campaign_of: np.ndarray) -> np.ndarray:
    """Leiden's initial labels from the previous run: accounts of one previous campaign
    (``campaign_of[i]``, ``None`` outside every campaign) together, every other alone."""
    known = pd.notna(campaign_of)
    labels = np.arange(len(campaign_of), dtype=np.int64)
    if known.any():
        _, first = np.unique(campaign_of[known].astype(str), return_inverse=True)
        labels[known] = np.flatnonzero(known)[np.unique(first, return_index=True)[1]][first]
    return labels


def _run(
    graph: ig.Graph, resolution: float, seed: int, initial: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    previous = random.getstate()
    ig.set_random_number_generator(random.Random(seed))
    try:
        part = graph.community_leiden(
            objective_function="CPM",
            weights="weight",
            resolution=resolution,
            n_iterations=-1,
            initial_membership=None if initial is None else initial.tolist(),
        )
    finally:
        ig.set_random_number_generator(random)
        random.setstate(previous)
    return np.asarray(part.membership, dtype=np.int64), float(part.quality)


def _canonical(membership: np.ndarray, min_size: int) -> np.ndarray:
    """Relabel: largest community 0, ties by smallest node id; small ones -1."""
    if not len(membership):
        return membership.astype(np.int64)
    labels, first, counts = np.unique(membership, return_index=True, return_counts=True)
    keep = counts >= min_size
    order = np.lexsort((first[keep], -counts[keep]))
    mapping = np.full(labels.max() + 1, -1, dtype=np.int64)
    mapping[labels[keep][order]] = np.arange(int(keep.sum()))
    return mapping[membership]
