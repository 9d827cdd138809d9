"""Contract v2 campaign columns: ``contributions`` reproduce the score and the reasons,
``lineage`` and ``previous_campaign_ids`` say every campaign is new, and the
service returns them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage.detect.leiden import find_communities
from linkage.graph import Workspace, build_graph, edge_list
from linkage.ingest import STORE_FILE
from linkage.investigate import open_result
from linkage.result import ResultDir
from linkage.score import score_communities
from linkage.score.scoring import BIAS, FEATURES, MIN_REASON_CONTRIBUTION
from linkage.settings import DetectSettings

NAMES = [f.name for f in FEATURES]


@pytest.fixture(scope="module")
def rescored(detected):
    """Every community of the detected store scored again, with its features, keyed by
    the campaign id of the reported ones (``None`` for the rest)."""
    root, _ = detected
    s = DetectSettings.load(root / "result" / "settings.json")
    with Workspace.open(root / "result" / STORE_FILE, read_only=True) as ws:
        graph = build_graph(ws, s)
        edges = edge_list(ws, graph)
        comms = find_communities(graph.accounts, edges, s)
        camps = score_communities(ws, graph, edges, comms.membership, s).campaigns
        ids = ws.execute("SELECT account_id FROM acct ORDER BY aid").df().account_id
    accounts = pd.read_parquet(root / "result" / "accounts.parquet").set_index("account_id")
    reported = accounts.campaign_id.reindex(ids).to_numpy()
    inside = comms.membership >= 0
    pairs = pd.DataFrame({"comm": comms.membership[inside], "cid": reported[inside]})
    by_comm = pairs.groupby("comm").cid.agg(lambda c: c.iloc[0] if c.nunique() == 1 else None)
    camps["campaign_id"] = by_comm.reindex(camps.comm).to_numpy()
    return camps


def test_campaigns_parquet_has_the_v2_columns(detected):
    root, _ = detected
    table = pq.read_table(root / "result" / "campaigns.parquet")
    schema = table.schema
    assert schema.field("contributions").type == pa.map_(pa.string(), pa.float64())
    assert schema.field("lineage").type == pa.string()
    assert schema.field("previous_campaign_ids").type == pa.list_(pa.string())
    campaigns = ResultDir.open(root / "result").read_campaigns()
    assert len(campaigns) >= 2
    assert (campaigns.lineage == "new").all()
    assert all(list(p) == [] for p in campaigns.previous_campaign_ids)
    for c in campaigns.itertuples():
        assert list(c.contributions) == NAMES
        logit = BIAS + sum(c.contributions.values())
        assert abs(1 / (1 + math.exp(-logit)) - c.score) <= 1e-9
        signed = [c.contributions[f.name] * np.sign(f.weight) for f in FEATURES]
        shown = sum(v >= MIN_REASON_CONTRIBUTION for v in signed)
        assert len(c.reasons) == max(shown, 1)


def test_contributions_reproduce_the_logit_and_render_the_reasons(rescored, detected):
    root, _ = detected
    for _, row in rescored.iterrows():
        contrib = row.contributions
        assert list(contrib) == NAMES
        assert abs(BIAS + sum(contrib.values()) - row.logit) <= 1e-9
        assert all(contrib[n] == row[f"contrib_{n}"] for n in NAMES)
        ranked = sorted(
            (f for f in FEATURES if contrib[f.name] * np.sign(f.weight) >= MIN_REASON_CONTRIBUTION),
            key=lambda f: -abs(contrib[f.name]),
        )
        want = [f.reason(row) for f in ranked]
        if want:
            assert row.reasons == want
        else:
            assert len(row.reasons) == 1 and "no campaign behaviour stands out" in row.reasons[0]
    # the result's campaigns are these rows
    written = ResultDir.open(root / "result").read_campaigns().set_index("campaign_id")
    mine = rescored.dropna(subset=["campaign_id"]).set_index("campaign_id")
    assert set(written.index) <= set(mine.index)
    for cid, c in written.iterrows():
        assert c.contributions == mine.loc[cid, "contributions"]
        assert list(c.reasons) == mine.loc[cid, "reasons"]


def test_the_service_returns_the_v2_columns(detected):
    root, _ = detected
    with open_result(root / "result") as inv:
        page, _ = inv.campaigns(limit=5)
        one = inv.campaign(page[0]["campaign_id"])
    for c in [*page, one]:
        assert list(c["contributions"]) == NAMES
        assert c["lineage"] == "new" and c["previous_campaign_ids"] == []


def test_a_v1_campaigns_file_reads_as_new(detected, tmp_path):
    root, _ = detected
    v1 = pq.read_table(root / "result" / "campaigns.parquet").drop_columns(
        ["contributions", "lineage", "previous_campaign_ids"]
    )
    pq.write_table(v1, tmp_path / "campaigns.parquet")
    campaigns = ResultDir(tmp_path).read_campaigns()
    assert (campaigns.lineage == "new").all()
    assert all(
        list(p) == [] and c == {}
        for p, c in zip(campaigns.previous_campaign_ids, campaigns.contributions, strict=True)
    )
