"""Attribution by shared entities against a brute-force oracle, and the two cases it
exists for: a replacement account on a banned account's card and exits joins its
campaign; a household whose one address a proxy borrowed does not."""

from __future__ import annotations

import math
from collections import defaultdict

import duckdb
import numpy as np
import pandas as pd

from linkage.detect.attach import ATTACH_ROUNDS, ATTACH_TYPES, attach_by_entities
from linkage.graph import Workspace
from linkage.settings import DetectSettings

S = DetectSettings()
TYPES = ["card", "device", "ip", "template", "prefix", "signup"]


def _workspace(links: pd.DataFrame, weights: pd.DataFrame) -> Workspace:
    con = duckdb.connect()
    con.register("l_df", links)
    con.register("w_df", weights)
    con.execute("CREATE TABLE links AS SELECT * FROM l_df")
    con.execute("CREATE TABLE entity_weight AS SELECT * FROM w_df")
    return Workspace(con)


def _weights(links: pd.DataFrame, etype: dict[int, str]) -> pd.DataFrame:
    degree = links.groupby("eid").size()
    return pd.DataFrame(
        {
            "eid": degree.index.to_numpy(np.int32),
            "etype": [etype[e] for e in degree.index],
            "degree": degree.to_numpy(np.int64),
            "w": [2.0 / math.log(1 + d) for d in degree],
        }
    )


def brute_attach(membership: np.ndarray, links: pd.DataFrame, weights: pd.DataFrame) -> np.ndarray:
    """Each round: for every account outside all communities or in one of at most
    ``piece_max_size`` accounts, and every larger community, sum over its entities of
    an attach type whose other holders are at least half in that community, the
    entity's weight times that share; join the community with the largest sum (ties:
    lowest label) when it reaches ``entity_attach_weight`` over at least
    ``entity_attach_min`` entities. Then communities left below ``min_campaign_size``
    are none (``-1``)."""
    holders = links.groupby("eid").aid.apply(list).to_dict()
    info = weights.set_index("eid")
    m = membership.copy()
    for _ in range(ATTACH_ROUNDS):
        sizes = pd.Series(m[m >= 0]).value_counts()
        big = np.array([x >= 0 and sizes[x] > S.piece_max_size for x in m])
        before = np.where(big, m, -1)
        for a in np.flatnonzero(~big):
            tie: dict[int, float] = defaultdict(float)
            count: dict[int, int] = defaultdict(int)
            for e in links.eid[links.aid == a]:
                if info.etype[e] not in ATTACH_TYPES:
                    continue
                others = [b for b in holders[e] if b != a]
                per_comm: dict[int, int] = defaultdict(int)
                for b in others:
                    if before[b] >= 0:
                        per_comm[int(before[b])] += 1
                for c, n in per_comm.items():
                    if 2 * n >= len(others):
                        tie[c] += info.w[e] * n / len(others)
                        count[c] += 1
            ok = [
                c
                for c in tie
                if tie[c] >= S.entity_attach_weight and count[c] >= S.entity_attach_min
            ]
            if ok:
                m[a] = min(ok, key=lambda c: (-round(tie[c], 9), c))
    sizes = pd.Series(m[m >= 0]).value_counts()
    return np.array([x if x >= 0 and sizes[x] >= S.min_campaign_size else -1 for x in m])


def test_attachment_matches_the_brute_force_definition():
    rng = np.random.default_rng(7)
    n = 300
    # five communities of 40, three pieces of 4 (their members may move), 88 outside
    membership = np.where(np.arange(n) < 200, np.arange(n) % 5, -1)
    membership[200:212] = 5 + np.arange(12) % 3
    rows, etype = [], {}
    for e in range(600):
        k = int(rng.integers(2, 9))
        if rng.random() < 0.5:  # an entity of one community, plus outsiders
            c = int(rng.integers(0, 5))
            pool = np.r_[np.flatnonzero(membership == c), np.arange(200, n)]
        else:
            pool = np.arange(n)
        rows += [(int(a), e) for a in rng.choice(pool, k, replace=False)]
        etype[e] = TYPES[int(rng.integers(0, len(TYPES)))]
    links = pd.DataFrame(rows, columns=["aid", "eid"]).astype(np.int32)
    weights = _weights(links, etype)
    got = attach_by_entities(_workspace(links, weights), membership, S)
    want = brute_attach(membership, links, weights)
    assert (got == want).all()
    joined = (membership < 0) & (got >= 0)
    assert 10 <= joined.sum() < (membership < 0).sum()
    assert (got[:200] == membership[:200]).all()
    assert (got[200:212] != membership[200:212]).any()
    left = pd.Series(got[got >= 0]).value_counts()
    assert left.min() >= S.min_campaign_size


def test_a_replacement_joins_and_a_borrowed_home_does_not():
    """Community 0: accounts 0-9 on cards 100-104 and exits 200-209. Account 10, created
    after a ban, uses card 100 and exits 200 and 201, and hands card 300 to account
    11, which also uses exit 202: it follows account 10 in the second round. Account
    12 lives at exit 205 (a home the proxy borrowed) and has its own card; account 13
    is its relative on that card."""
    rows = [(a, 100 + a // 2) for a in range(10)] + [(a, 200 + a) for a in range(10)]
    rows += [(a, 200 + (a + 1) % 10) for a in range(10)]
    rows += [(10, 100), (10, 200), (10, 201), (10, 300), (11, 300), (11, 202)]
    rows += [(12, 205), (12, 400), (13, 400), (13, 401)]
    links = pd.DataFrame(rows, columns=["aid", "eid"]).astype(np.int32)
    etype = {e: "card" if e < 200 or e in (300, 400) else "ip" for e in links.eid.unique()}
    weights = _weights(links, etype)
    membership = np.array([0] * 10 + [-1] * 4)
    got = attach_by_entities(_workspace(links, weights), membership, S)
    assert got.tolist() == [0] * 12 + [-1, -1]
