"""Stage ``scoring``: communities of the account graph in, scored campaigns and
accounts out (:class:`Scores`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.graph import EdgeList, Projection, Workspace, WorkTable
from linkage.graph.workspace import tables_of
from linkage.score.features import account_features, account_pace, community_features
from linkage.score.scoring import score_accounts, score_campaigns
from linkage.settings import DetectSettings

__all__ = ["Scores", "inside_evidence", "inside_weight", "score_communities"]


@dataclass(frozen=True)
class Scores:
    """Output of stage ``scoring`` (and the tables ``member``, ``acct_feat`` and ``acct_pace``).

    ``accounts``: one row per account (``aid`` order) with its features and
    ``score``; ``campaigns``: one row per community (``comm``) with its
    features, ``contrib_*`` per feature, ``score`` and ``reasons``.
    """

    accounts: pd.DataFrame
    campaigns: pd.DataFrame
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("scoring")


def score_communities(
    ws: Workspace,
    graph: Projection,
    edges: EdgeList,
    membership: np.ndarray,
    settings: DetectSettings,
) -> Scores:
    """Score every community of ``membership`` (community per ``aid``, ``-1``: none)
    found on ``edges`` (the projection's edges), and every account."""
    inside = membership >= 0
    member = pd.DataFrame({"aid": np.flatnonzero(inside), "comm": membership[inside]})
    with ws.registered("member_df", member):
        ws.execute("CREATE OR REPLACE TEMP TABLE member AS SELECT * FROM member_df")
    feats = account_features(ws, graph)
    account_pace(ws, settings.session_gap_minutes)
    camps = score_campaigns(community_features(ws, graph))
    n_communities = int(membership.max()) + 1 if len(membership) else 0
    comm_score = np.zeros(max(1, n_communities))
    comm_score[camps.comm.to_numpy()] = camps.score.to_numpy()
    weight = inside_weight(graph.accounts, edges, membership)
    distinct = inside_evidence(ws, graph, membership)
    feats["score"] = score_accounts(
        membership, comm_score, weight, distinct, settings.full_attachment
    )
    return Scores(feats, camps)


def inside_evidence(ws: Workspace, graph: Projection, membership: np.ndarray) -> np.ndarray:
    """Each account's evidence inside its own community (``membership``, ``-1``: none),
    each shared entity counted once (however many members share it), from
    ``pair_evidence`` (corroborated as ``graph.corroboration`` says).

    Which rows of ``pair_evidence`` (100M at a million accounts) join two members of
    one community is marked in numpy, chunk by chunk; SQL reads only those, with no join.
    """
    pairs = ws.arrow("pair_evidence")
    inside = []
    for batch in pairs.select(["src", "dst"]).to_batches(max_chunksize=_CHUNK):
        a = membership[batch.column(0).to_numpy()]
        b = membership[batch.column(1).to_numpy()]
        inside.append(pa.array((a == b) & (a >= 0)))
    # the pairs' own buffers plus one bit per row: nothing is copied
    marked = pairs.append_column("inside", pa.chunked_array(inside, pa.bool_()))
    same_community = "SELECT src, dst, eid, w, tcode, strong, rare FROM inside_pairs WHERE inside"
    with ws.registered("inside_pairs", marked):
        rows = ws.con.execute(
            f"""
            WITH p AS ({graph.corroboration.rows(same_community)}),
            per_entity AS (
                SELECT aid, eid, max(w) AS w FROM (
                    SELECT src AS aid, eid, w FROM p UNION ALL SELECT dst, eid, w FROM p)
                GROUP BY aid, eid)
            SELECT aid, sum(w) AS w FROM per_entity GROUP BY aid
            """
        ).fetchnumpy()
    out = np.zeros(graph.accounts)
    out[rows["aid"].astype(np.int64)] = rows["w"]
    return out


_CHUNK = 4_000_000
"""Pair rows compared per step in :func:`inside_evidence`."""


def inside_weight(n: int, edges: EdgeList, membership: np.ndarray) -> np.ndarray:
    """Each account's summed edge weight to members of its own community."""
    src, dst, w = edges.src, edges.dst, edges.weight
    same = (membership[src] == membership[dst]) & (membership[src] >= 0)
    return np.bincount(src[same], w[same], minlength=n) + np.bincount(
        dst[same], w[same], minlength=n
    )
