"""What to draw of a campaign's graph under a node cap: the strongest binding entities of
every type, and a tie for every member shown.

Pure functions over plain rows and arrays, so the rules are testable without a store:

* :func:`pick_entities`: members without a drawn ``LINKED`` edge first get their own
  strongest binding entity; then the strongest entities of every type (round-robin over
  the types, strongest type first), so cards, devices and identifiers are drawn before
  busy prefixes; then the rest by strength. An entity's *strength* is its evidence
  weight (type weight / ln(1 + accounts), see ``docs/ARCHITECTURE.md``) times
  ln(1 + the shown members that use it): rare and widely shared inside the campaign.
* :func:`pick_edges`: every account's heaviest ``LINKED`` edge first, then the
  heaviest others, up to the edge cap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from linkage.schema import ENTITY_PARENTS

__all__ = ["PARENT_TYPES", "pick_edges", "pick_entities", "strength"]

PARENT_TYPES = frozenset(parent for parent, _ in ENTITY_PARENTS.values())
"""Entity types accounts reach only through a child entity (prefix via IP, BIN via card)."""

TYPE_SHARE = 0.5
"""Share of the entity budget (after members' ties) spent round-robin over the types."""


def strength(weight: float | None, users: int) -> float:
    """How strongly an entity binds ``users`` shown members: weight x ln(1 + users)."""
    return (weight or 0.0) * math.log1p(users)


class _Picker:
    """The entities chosen so far and the budget left (a prefix or BIN costs itself plus
    the members' IPs or cards in it that are not chosen yet)."""

    def __init__(self, links: list[dict[str, Any]], budget: int) -> None:
        self.users: dict[int, set[int]] = {}
        self.children: dict[int, set[int]] = {}
        self.etype: dict[int, str] = {}
        weight: dict[int, float | None] = {}
        for r in links:
            eid = r["eid"]
            self.users.setdefault(eid, set()).add(r["aid"])
            self.etype[eid] = r["entity_type"]
            weight[eid] = r["weight"]
            if r["parent_eid"] is not None:
                self.children.setdefault(r["parent_eid"], set()).add(eid)
        self.strength = {e: strength(weight[e], len(u)) for e, u in self.users.items()}
        self.ranked = sorted((e for e, u in self.users.items() if len(u) >= 2), key=self.key)
        self.chosen: dict[int, bool] = {}
        self.budget = budget

    def key(self, eid: int) -> tuple[float, int]:
        """Strongest first, ties by eid (type, then value)."""
        return (-self.strength[eid], eid)

    def take(self, eid: int, partial: bool = False) -> bool:
        """Choose binding entity ``eid`` if it fits; whether it is (now) chosen. A
        prefix or BIN needs the members' IPs or cards in it, or with ``partial`` the
        fewest of them (most used first) that tie two members."""
        if self.chosen.get(eid):
            return True
        if eid in self.chosen:  # shown as a child only: now binding too, at no cost
            self.chosen[eid] = True
            return True
        need = [c for c in sorted(self.children.get(eid, ())) if c not in self.chosen]
        if partial and 1 + len(need) > self.budget:
            need = self._fewest(eid, need)
        if 1 + len(need) > self.budget:
            return False
        self.chosen[eid] = True
        for c in need:
            self.chosen[c] = len(self.users[c]) >= 2
        self.budget -= 1 + len(need)
        return True

    def _fewest(self, eid: int, need: list[int]) -> list[int]:
        """The fewest of ``need`` (children of ``eid``, most used first) that, with the
        children already chosen, reach two members."""
        reached = {a for c in self.children.get(eid, ()) if c in self.chosen for a in self.users[c]}
        out = []
        for c in sorted(need, key=lambda c: (-len(self.users[c]), c)):
            if len(reached) >= 2:
                break
            out.append(c)
            reached |= self.users[c]
        return out

    def ties(self, aid: int) -> list[int]:
        """``aid``'s binding entities, strongest first."""
        return [e for e in self.ranked if aid in self.users[e]]


def pick_entities(
    links: list[dict[str, Any]], budget: int, untied: Iterable[int] = ()
) -> dict[int, bool]:
    """Entities to draw for the shown members' links ``links`` (rows of ``aid, eid,
    parent_eid, entity_type, weight``) within ``budget`` nodes: ``eid -> binding``
    (used by at least two shown members; ``False`` for an IP or card drawn only to
    reach a binding prefix or BIN).

    In order, while the budget lasts: for each member of ``untied`` (members no drawn
    ``LINKED`` edge ties), its strongest binding entity that fits; then, round-robin
    over the entity types (strongest type first), each type's strongest entities, up to
    :data:`TYPE_SHARE` of the budget left; then every other binding entity, strongest
    first. A prefix or BIN comes with the members' IPs or cards in it, and only when
    they all fit, except in the round-robin, where it may come with the fewest of them
    that tie two members. Deterministic (ties by eid). With budget for every binding entity,
    all of them are chosen."""
    p = _Picker(links, budget)
    for aid in untied:
        for eid in p.ties(aid):
            if p.take(eid):
                break
    by_type: dict[str, list[int]] = {}
    for eid in p.ranked:
        by_type.setdefault(p.etype[eid], []).append(eid)
    if by_type:
        quota = max(1, int(p.budget * TYPE_SHARE) // len(by_type))
        for rnd in range(quota):
            for queue in by_type.values():  # types in order of their strongest entity
                for i, eid in enumerate(queue):
                    if p.take(eid, partial=True):
                        del queue[i]
                        break
                else:
                    queue.clear()  # nothing of this type fits any more
            if p.budget <= 0 or not any(by_type.values()) or rnd + 1 >= quota:
                break
    for eid in p.ranked:
        if p.budget <= 0:
            break
        p.take(eid)
    return p.chosen


def pick_edges(w: np.ndarray, ends: np.ndarray, max_edges: int) -> np.ndarray:
    """Positions of the edges to draw, of edges with weights ``w`` between ``ends``
    (``(k, 2)``): every account's heaviest edge (ties by the other end), then the
    heaviest others, at most ``max_edges`` in all; returned heaviest first (ties by the
    two ends)."""
    k = len(w)
    if k == 0 or max_edges <= 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.arange(k, dtype=np.int64)
    node = np.concatenate([ends[:, 0], ends[:, 1]])
    other = np.concatenate([ends[:, 1], ends[:, 0]])
    both = np.concatenate([pos, pos])
    order = np.lexsort((other, -np.concatenate([w, w]), node))
    first = np.r_[True, node[order][1:] != node[order][:-1]]
    tie = np.unique(both[order][first])
    heaviest = np.lexsort((ends[:, 1], ends[:, 0], -w))
    rank = np.empty(k, dtype=np.int64)
    rank[heaviest] = pos
    tie = tie[np.argsort(rank[tie], kind="stable")][:max_edges]
    rest = heaviest[~np.isin(heaviest, tie)][: max_edges - len(tie)]
    chosen = np.concatenate([tie, rest])
    return chosen[np.argsort(rank[chosen], kind="stable")]
