"""Attribution by shared entities: accounts left outside every community join the
campaign whose infrastructure they sit on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.graph import Workspace
from linkage.graph.project import ATTACH_TYPES
from linkage.settings import DetectSettings

__all__ = ["ATTACH_ROUNDS", "ATTACH_TYPES", "attach_by_entities"]

ATTACH_ROUNDS = 2
"""Rounds of attachment: a replacement of a replacement joins in the second."""


def attach_by_entities(
    ws: Workspace, membership: np.ndarray, settings: DetectSettings
) -> np.ndarray:
    """Put each account outside every community, or in a piece (a community of at most
    ``piece_max_size`` accounts), into the larger community whose members hold its
    entities, when that tie is strong enough; return the new membership.

    A replacement account created after a ban with a handful of requests, or a
    low-volume account of a surgical swarm, links to its campaign by a few
    exits, a card or a device, each weighed like any shared entity
    (``entity_weight``) but scaled by the share of the entity's other holders
    inside the community (entities most of whose other holders are in it). It
    joins the community where that sum is largest (ties: the lowest label) and reaches
    ``entity_attach_weight`` over at least ``entity_attach_min`` distinct
    entities: a household whose single home address a proxy borrowed shares one
    entity with the swarm and stays out. A piece of a swarm that shares no card or
    device (a surgical swarm on its own proxy prefixes) joins the rest of it
    account by account, by its exits. Two rounds, so a replacement created on
    another replacement's card follows it; an account tied to the campaign only
    through an account that was never attached (a relative of a household
    member) is not. What is left of a piece below ``min_campaign_size`` is outside
    every community (``-1``), as :func:`linkage.detect.leiden.leiden` leaves it.
    """
    out = membership
    for _ in range(ATTACH_ROUNDS):
        out = _attach_round(ws, out, settings)
    # a piece whose members moved on may be left too small to be a community
    sizes = np.bincount(out[out >= 0], minlength=1)
    left = (out >= 0) & (sizes[np.maximum(out, 0)] < settings.min_campaign_size)
    return np.where(left, -1, out)


def _attach_round(ws: Workspace, membership: np.ndarray, s: DetectSettings) -> np.ndarray:
    if s.entity_attach_weight <= 0 or not len(membership):
        return membership
    sizes = np.bincount(membership[membership >= 0], minlength=1)
    size = np.where(membership >= 0, sizes[np.maximum(membership, 0)], 0)
    inside = size > s.piece_max_size
    member = pd.DataFrame({"aid": np.flatnonzero(inside), "comm": membership[inside]})
    outside = pd.DataFrame({"aid": np.flatnonzero(~inside)})
    if member.empty or outside.empty:
        return membership
    with ws.registered("attach_member", member), ws.registered("attach_outside", outside):
        best = ws.execute(
            """
            WITH held AS (
                SELECT l.eid, m.comm, count(*) AS n
                FROM links l JOIN attach_member m USING (aid)
                JOIN entity_weight w USING (eid) WHERE w.w > 0
                GROUP BY l.eid, m.comm),
            share AS (
                SELECT h.eid, h.comm, w.w * h.n / (w.degree - 1) AS part
                FROM held h JOIN entity_weight w USING (eid)
                WHERE w.w > 0 AND h.n * 2 >= w.degree - 1 AND list_contains(?, w.etype)),
            tie AS (
                SELECT l.aid, s.comm, sum(s.part) AS tie, count(*) AS entities
                FROM links l SEMI JOIN attach_outside o ON o.aid = l.aid
                JOIN share s USING (eid)
                GROUP BY l.aid, s.comm)
            SELECT aid, comm FROM tie
            WHERE tie >= ? AND entities >= ?
            QUALIFY row_number() OVER (PARTITION BY aid ORDER BY tie DESC, comm) = 1
            ORDER BY aid
            """,
            [sorted(ATTACH_TYPES), s.entity_attach_weight, s.entity_attach_min],
        ).fetchnumpy()
    out = membership.copy()
    out[best["aid"].astype(np.int64)] = best["comm"]
    return out
