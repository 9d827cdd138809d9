"""Leiden wrapper: recovers planted groups, deterministic, refines, validates; pieces
merge back by bonds, not by shared addresses."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from linkage.detect import leiden
from linkage.detect.leiden import consolidate, separate
from linkage.evaluate import adjusted_rand_index


def edges_of(g: nx.Graph, weight: float = 1.0):
    e = np.array(list(g.edges()), dtype=np.int64).reshape(-1, 2)
    return e[:, 0], e[:, 1], np.full(len(e), weight)


def test_recovers_planted_partition():
    g = nx.planted_partition_graph(20, 25, 0.5, 0.004, seed=7)
    truth = np.array([g.nodes[v]["block"] for v in g.nodes()])
    c = leiden(g.number_of_nodes(), *edges_of(g), resolution=0.1, seed=1)
    assert adjusted_rand_index(truth, c.membership) > 0.95


def test_small_groups_survive_in_a_large_graph():
    # CPM has no resolution limit: 5 cliques of 6 inside 1,000 nodes of weaker,
    # sparse background links are kept as they are.
    background = nx.gnp_random_graph(1000, 0.004, seed=3)
    src, dst, w = edges_of(background, 0.5)
    groups = [list(range(k * 6, k * 6 + 6)) for k in range(5)]
    clique = np.array([(a, b) for grp in groups for i, a in enumerate(grp) for b in grp[i + 1 :]])
    src, dst = np.r_[src, clique[:, 0]], np.r_[dst, clique[:, 1]]
    w = np.r_[w, np.ones(len(clique))]
    c = leiden(1000, src, dst, w, resolution=0.3, seed=2)
    for grp in groups:
        labels = set(c.membership[grp].tolist())
        assert len(labels) == 1 and labels != {-1}
        assert (c.membership == c.membership[grp[0]]).sum() <= 8


def test_same_seed_same_labels_and_canonical_order():
    g = nx.planted_partition_graph(10, 30, 0.3, 0.01, seed=5)
    a = leiden(g.number_of_nodes(), *edges_of(g), resolution=0.05, seed=9)
    b = leiden(g.number_of_nodes(), *edges_of(g), resolution=0.05, seed=9)
    assert np.array_equal(a.membership, b.membership)
    sizes = a.sizes()
    assert list(sizes) == sorted(sizes, reverse=True)


def test_every_node_in_exactly_one_community_or_none():
    g = nx.planted_partition_graph(8, 10, 0.6, 0.01, seed=1)
    n = g.number_of_nodes() + 5  # five isolated nodes
    c = leiden(n, *edges_of(g), resolution=0.1, seed=1, min_size=3)
    assert c.membership.shape == (n,)
    assert (c.membership[-5:] == -1).all()
    assert set(np.unique(c.membership[c.membership >= 0])) == set(range(c.n_communities))
    assert (c.sizes() >= 3).all()


def test_oversized_community_is_refined():
    # two dense groups joined by many weak edges: a low resolution merges them,
    # max_size forces a refinement that separates them again.
    g = nx.disjoint_union(nx.complete_graph(30), nx.complete_graph(30))
    src, dst, w = edges_of(g)
    bridge = np.array([(i, 30 + i) for i in range(30)])
    src, dst = np.r_[src, bridge[:, 0]], np.r_[dst, bridge[:, 1]]
    w = np.r_[w, np.full(30, 0.5)]
    merged = leiden(60, src, dst, w, resolution=0.01, seed=1)
    assert merged.n_communities == 1
    split = leiden(60, src, dst, w, resolution=0.01, seed=1, max_size=40)
    assert split.refined >= 1
    assert split.n_communities == 2
    assert adjusted_rand_index(np.repeat([0, 1], 30), split.membership) == 1.0


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="positive"):
        leiden(2, np.array([0]), np.array([1]), np.array([0.0]), resolution=0.1, seed=1)
    with pytest.raises(ValueError, match="endpoints"):
        leiden(2, np.array([0]), np.array([5]), np.array([1.0]), resolution=0.1, seed=1)
    with pytest.raises(ValueError, match="resolution"):
        leiden(2, np.array([0]), np.array([1]), np.array([1.0]), resolution=0, seed=1)


def _pieces_and_a_neighbour() -> tuple[np.ndarray, ...]:
    """Two pieces of one swarm (0-14, 15-29) and another operator (30-44), each a clique
    of weight 1. Twenty edges of 0.5 join the pieces, all of it bond (they pass cards
    along); forty edges of 0.5 join the other operator to the first piece, none of it
    bond (a proxy pool both rent)."""
    rng = np.random.default_rng(2)
    src, dst, w, bond = [], [], [], []
    for lo in (0, 15, 30):
        for i in range(lo, lo + 15):
            for j in range(i + 1, lo + 15):
                src.append(i)
                dst.append(j)
                w.append(1.0)
                bond.append(1.0)
    for a, b, tie in [(0, 15, 0.5)] * 20 + [(30, 0, 0.0)] * 40:
        i, j = a + int(rng.integers(0, 15)), b + int(rng.integers(0, 15))
        src.append(min(i, j))
        dst.append(max(i, j))
        w.append(0.5)
        bond.append(tie)
    membership = np.repeat([0, 1, 2], 15)
    return membership, np.array(src), np.array(dst), np.array(w), np.array(bond)


def test_consolidate_merges_pieces_tied_by_bonds_not_operators_tied_by_addresses():
    membership, src, dst, w, bond = _pieces_and_a_neighbour()
    merged = consolidate(membership, src, dst, w, 0.01, 5, bond, 0.002)
    assert len(set(merged[:30])) == 1 and merged[30] != merged[0]
    assert len(set(merged[30:])) == 1
    # without bonds to tell them apart, address ties merge the other operator too
    assert len(set(consolidate(membership, src, dst, w, 0.01, 5).tolist())) == 1


def _operators_behind_one_pool(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """One community of 80 accounts: operator A (0-49) and operator B (50-69), each a
    chain of bonded pairs (cards passed along), every pair of the 80 tied at random by
    shared proxy exits and templates (weight 0.3, no bond), and 10 hangers-on (70-79)
    tied only by circumstance, each more to A or to B. Returns membership, src, dst,
    weight, core, and the hanger-on's operator by its circumstantial weight."""
    edges: dict[tuple[int, int], tuple[float, bool]] = {}
    for lo, hi in ((0, 50), (50, 70)):
        for i in range(lo, hi - 1):
            edges[(i, i + 1)] = (1.0, True)
        for _ in range(hi - lo):
            i, j = sorted(rng.choice(np.arange(lo, hi), 2, replace=False).tolist())
            edges[(i, j)] = (1.0, True)
    for _ in range(600):
        i, j = sorted(rng.choice(70, 2, replace=False).tolist())
        edges.setdefault((i, j), (0.3, False))
    side = {}
    for h in range(70, 80):
        side[h] = int(rng.integers(0, 2))
        mine = np.arange(0, 50) if side[h] == 0 else np.arange(50, 70)
        other = np.arange(50, 70) if side[h] == 0 else np.arange(0, 50)
        for k in rng.choice(mine, 6, replace=False).tolist():
            edges[(k, h)] = (0.3, False)
        for k in rng.choice(other, 2, replace=False).tolist():
            edges[(k, h)] = (0.3, False)
    keys = sorted(edges)
    src, dst = (np.array(x) for x in zip(*keys, strict=True))
    weight = np.array([edges[k][0] for k in keys])
    core = np.array([edges[k][1] for k in keys])
    return np.zeros(80, np.int64), src, dst, weight, core, side


def test_separate_splits_another_operator_off_the_dominant_core():
    membership, src, dst, weight, core, side = _operators_behind_one_pool(np.random.default_rng(4))
    out = separate(membership, src, dst, weight, core, 5, 0.4, 0.2)
    # the oracle: networkx components of the core edges are the operators
    g = nx.Graph()
    g.add_nodes_from(range(80))
    g.add_edges_from((int(a), int(b)) for a, b, c in zip(src, dst, core, strict=True) if c)
    cores = sorted((c for c in nx.connected_components(g) if len(c) >= 16), key=len)
    assert [len(c) for c in cores] == [20, 50]
    for c in cores:
        assert len({int(out[i]) for i in c}) == 1
    a, b = out[0], out[50]
    assert a != b and a == 0  # the largest core keeps the label
    for h, s in side.items():
        assert out[h] == (a if s == 0 else b)


def test_separate_leaves_a_swarm_of_small_bonded_groups_whole():
    """Cards passed along in threes: no core of ``min_size``, let alone a dominant one."""
    rng = np.random.default_rng(6)
    src, dst, weight, core = [], [], [], []
    for i in range(0, 90, 3):
        for a, b in ((i, i + 1), (i + 1, i + 2)):
            src.append(a)
            dst.append(b)
            weight.append(1.0)
            core.append(True)
    for _ in range(400):
        i, j = sorted(rng.choice(90, 2, replace=False).tolist())
        src.append(i)
        dst.append(j)
        weight.append(0.3)
        core.append(False)
    membership = np.zeros(90, np.int64)
    out = separate(
        membership, np.array(src), np.array(dst), np.array(weight), np.array(core), 5, 0.4, 0.2
    )
    assert (out == 0).all()


def test_separate_keeps_nodes_outside_communities_and_other_labels():
    membership, src, dst, weight, core, _ = _operators_behind_one_pool(np.random.default_rng(4))
    membership = np.r_[membership + 1, [-1, 0, 0, 0, 0, 0]]  # a small community 0, one outsider
    out = separate(membership, src + 0, dst + 0, weight, core, 5, 0.4, 0.2)
    assert out[80] == -1 and (out[81:] == 0).all()
    assert set(np.unique(out[:80]).tolist()) == {1, 2}
