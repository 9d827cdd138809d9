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
from dataclasses import dataclass
from typing import Any

import numpy as np

from linkage.schema import ENTITY_PARENTS

__all__ = ["PARENT_TYPES", "MemberLinks", "pick_edges", "pick_entities", "strength"]

PARENT_TYPES = frozenset(parent for parent, _ in ENTITY_PARENTS.values())
"""Entity types accounts reach only through a child entity (prefix via IP, BIN via card)."""

TYPE_SHARE = 0.5
"""Share of the entity budget (after members' ties) spent round-robin over the types."""


def strength(weight: float | None, users: int) -> float:
    """How strongly an entity binds ``users`` shown members: weight x ln(1 + users)."""
    return (weight or 0.0) * math.log1p(users)


@dataclass(frozen=True)
class MemberLinks:
    """The shown members' links, one row per member and entity (``aid``, ``eid`` as
    arrays), and each linked entity's type, evidence weight and parent (an IP's
    prefix, a card's BIN)."""

    aid: np.ndarray
    eid: np.ndarray
    entity_type: dict[int, str]
    weight: dict[int, float | None]
    parent: dict[int, int]

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> MemberLinks:
        """From rows of ``aid, eid, entity_type, weight, parent_eid``."""
        rows = list(rows)
        return cls(
            aid=np.asarray([r["aid"] for r in rows], dtype=np.int64),
            eid=np.asarray([r["eid"] for r in rows], dtype=np.int64),
            entity_type={r["eid"]: r["entity_type"] for r in rows},
            weight={r["eid"]: r["weight"] for r in rows},
            parent={r["eid"]: r["parent_eid"] for r in rows if r["parent_eid"] is not None},
        )


class _Picker:
    """The entities chosen so far and the budget left (a prefix or BIN costs itself plus
    the members' IPs or cards in it that are not chosen yet)."""

    def __init__(self, links: MemberLinks, budget: int) -> None:
        self.links = links
        order = np.argsort(links.eid, kind="stable")
        self._by_eid = links.aid[order]
        uniq, first, counts = np.unique(links.eid[order], return_index=True, return_counts=True)
        self.n: dict[int, int] = dict(zip(uniq.tolist(), counts.tolist(), strict=True))
        self._first: dict[int, int] = dict(zip(uniq.tolist(), first.tolist(), strict=True))
        self.children: dict[int, set[int]] = {}
        for child, parent in links.parent.items():
            if child in self.n:
                self.children.setdefault(parent, set()).add(child)
        self.etype = links.entity_type
        self.strength = {e: strength(links.weight.get(e), n) for e, n in self.n.items()}
        self.ranked = sorted((e for e, n in self.n.items() if n >= 2), key=self.key)
        self.chosen: dict[int, bool] = {}
        self.budget = budget

    def key(self, eid: int) -> tuple[float, int]:
        """Strongest first, ties by eid (type, then value)."""
        return (-self.strength[eid], eid)

    def users(self, eid: int) -> set[int]:
        """The shown members that use ``eid``."""
        lo = self._first[eid]
        return set(self._by_eid[lo : lo + self.n[eid]].tolist())

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
            self.chosen[c] = self.n[c] >= 2
        self.budget -= 1 + len(need)
        return True

    def _fewest(self, eid: int, need: list[int]) -> list[int]:
        """The fewest of ``need`` (children of ``eid``, most used first) that, with the
        children already chosen, reach two members."""
        reached = {a for c in self.children.get(eid, ()) if c in self.chosen for a in self.users(c)}
        out = []
        for c in sorted(need, key=lambda c: (-self.n[c], c)):
            if len(reached) >= 2:
                break
            out.append(c)
            reached |= self.users(c)
        return out

    def ties(self, aid: int) -> list[int]:
        """``aid``'s binding entities, strongest first."""
        mine = set(self.links.eid[self.links.aid == aid].tolist())
        return [e for e in self.ranked if e in mine]


def pick_entities(links: MemberLinks, budget: int, untied: Iterable[int] = ()) -> dict[int, bool]:
    """Entities to draw for the shown members' links within ``budget`` nodes: ``eid -> binding``
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
