"""``detect``: data directory in, result directory out.

Stages: ingest -> account-entity events (with activity rhythm) -> prompt
templates -> prompt clusters -> IP intelligence -> evidence projection -> Leiden
-> features and scores -> contract outputs -> the investigation graph in the
store (``docs/RESULT_STORE.md``). Each stage reports progress and its time and
peak memory, saved in ``detect_summary.json``.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.detect.leiden import leiden
from linkage.detect.persist import persist_graph, write_evidence_files
from linkage.graph import annotate_ip_kinds, build_events, build_templates, project_pairs
from linkage.graph.clusters import build_prompt_clusters
from linkage.ingest import ingest, open_store
from linkage.ingest.store import limit_memory
from linkage.progress import ProgressFn
from linkage.result import ResultDir
from linkage.result.replace import staged
from linkage.score import account_features, community_features, score_accounts, score_campaigns
from linkage.settings import DetectSettings

__all__ = ["DetectionResult", "detect"]


@dataclass
class DetectionResult:
    """Where the outputs are, and what each stage cost."""

    out_dir: Path
    accounts: int
    campaigns: int
    flagged: int
    edges: int
    stages: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "accounts": self.accounts,
            "campaigns": self.campaigns,
            "flagged": self.flagged,
            "edges": self.edges,
            "stages": self.stages,
        }


class _Stages:
    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.records: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        if self.progress:
            self.progress(name, 0, 1)
        began = time.perf_counter()
        value = fn()
        self.records.append(
            {
                "stage": name,
                "seconds": round(time.perf_counter() - began, 3),
                "peak_rss_gib": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3
                ),
            }
        )
        if self.progress:
            self.progress(name, 1, 1)
        return value


def detect(
    data_dir: str | Path,
    out_dir: str | Path,
    settings: DetectSettings | None = None,
    *,
    progress: ProgressFn | None = None,
    force: bool = False,
) -> DetectionResult:
    """Find coordinated campaigns in a contract data directory.

    Writes to ``out_dir``: the store and quarantine (see :func:`linkage.ingest.ingest`),
    ``accounts.parquet`` and ``campaigns.parquet`` (per the data contract),
    ``edges.parquet`` and ``evidence.parquet`` (why accounts are linked),
    ``settings.json`` and ``detect_summary.json``. The result is built beside
    ``out_dir`` and replaces it whole only when finished (:mod:`linkage.result.replace`);
    refused: an ``out_dir`` inside ``data_dir``, or a non-empty directory that is not
    a linkage result unless ``force``.
    """
    s = settings or DetectSettings()
    stages = _Stages(progress)
    # Written beside out_dir and swapped in whole at the end: an older result stays usable.
    with staged(Path(data_dir), Path(out_dir), force=force) as out:
        stages.run("ingest", lambda: ingest(Path(data_dir), out, progress=progress))
        con = open_store(ResultDir(out).store_path, read_only=False)
        limit_memory(con, s.memory_limit_gb)
        try:
            result = _detect(con, out, s, stages)
        finally:
            con.close()
        result.out_dir = Path(out_dir)
        ResultDir(out).write_detect_summary(result.to_dict())
        ResultDir(out).mark_complete()  # last, once the store is closed
    return result


def _detect(
    con: duckdb.DuckDBPyConnection, out: Path, s: DetectSettings, stages: _Stages
) -> DetectionResult:
    n = stages.run("events", lambda: build_events(con))
    stages.run("templates", lambda: build_templates(con))
    stages.run("prompt clusters", lambda: build_prompt_clusters(con, s, stages.progress))
    stages.run("ip intel", lambda: annotate_ip_kinds(con))
    n_edges = stages.run("projection", lambda: project_pairs(con, s))
    edges = con.execute("SELECT src, dst, weight FROM edges ORDER BY src, dst").fetchnumpy()
    comms = stages.run(
        "leiden",
        lambda: leiden(
            n,
            edges["src"],
            edges["dst"],
            edges["weight"],
            resolution=s.resolution,
            seed=s.seed,
            min_size=s.min_campaign_size,
            max_size=s.max_campaign_size,
        ),
    )
    membership = comms.membership

    def scoring() -> tuple[pd.DataFrame, pd.DataFrame]:
        inside = membership >= 0
        con.register(
            "member_df", pd.DataFrame({"aid": np.flatnonzero(inside), "comm": membership[inside]})
        )
        con.execute("CREATE OR REPLACE TEMP TABLE member AS SELECT * FROM member_df")
        con.unregister("member_df")
        feats = account_features(con)
        camps = score_campaigns(community_features(con))
        inside_w = _inside_weight(n, edges, membership)
        comm_score = np.zeros(max(1, comms.n_communities))
        comm_score[camps.comm.to_numpy()] = camps.score.to_numpy()
        feats["score"] = score_accounts(membership, comm_score, inside_w)
        return feats, camps

    feats, camps = stages.run("scoring", scoring)
    result, accounts = stages.run(
        "write", lambda: _write(con, out, s, membership, feats, camps, n_edges)
    )
    stages.run("graph store", lambda: _write_graph(con, out, accounts))
    result.stages = stages.records
    ResultDir(out).write_detect_summary(result.to_dict())
    return result


def _inside_weight(n: int, edges: dict[str, np.ndarray], membership: np.ndarray) -> np.ndarray:
    src, dst, w = edges["src"], edges["dst"], edges["weight"]
    same = (membership[src] == membership[dst]) & (membership[src] >= 0)
    return np.bincount(src[same], w[same], minlength=n) + np.bincount(
        dst[same], w[same], minlength=n
    )


def _write(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    s: DetectSettings,
    membership: np.ndarray,
    feats: pd.DataFrame,
    camps: pd.DataFrame,
    n_edges: int,
) -> tuple[DetectionResult, pa.Table]:
    reported = camps[camps.score >= s.report_threshold].copy()
    ids = (
        con.execute(
            """SELECT m.comm, 'cmp_' || substr(
                   md5(string_agg(a.account_id, ',' ORDER BY a.account_id)), 1, 12)
           FROM member m JOIN acct a USING (aid) GROUP BY m.comm"""
        )
        .df()
        .set_index("comm")
        .iloc[:, 0]
    )
    reported["campaign_id"] = ids.reindex(reported.comm).to_numpy()
    comm_to_id = np.full(max(1, int(membership.max()) + 1), None, dtype=object)
    comm_to_id[reported.comm.to_numpy()] = reported.campaign_id.to_numpy()
    account_campaign = np.where(membership >= 0, comm_to_id[np.maximum(membership, 0)], None)
    flagged = (feats.score.to_numpy() >= s.flag_threshold) & pd.notna(account_campaign)
    accounts = pa.table(
        {
            "account_id": pa.array(feats.account_id, pa.string()),
            "campaign_id": pa.array(account_campaign, pa.string()),
            "score": pa.array(feats.score.to_numpy(), pa.float64()),
            "flagged": pa.array(flagged),
        }
    )
    ResultDir(out).write_accounts(accounts)
    campaigns = pa.table(
        {
            "campaign_id": pa.array(reported.campaign_id, pa.string()),
            "size": pa.array(reported["size"].astype("int64")),
            "score": pa.array(reported.score.astype(float)),
            "reasons": pa.array(reported.reasons.tolist(), pa.list_(pa.string())),
            "first_seen": pa.array(pd.to_datetime(reported.first_seen, utc=True)).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "last_seen": pa.array(pd.to_datetime(reported.last_seen, utc=True)).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "request_count": pa.array(reported.request_count.astype("int64")),
        }
    ).sort_by([("score", "descending"), ("campaign_id", "ascending")])
    ResultDir(out).write_campaigns(campaigns)
    ResultDir(out).write_settings(s)
    result = DetectionResult(out, len(feats), len(reported), int(flagged.sum()), n_edges)
    return result, accounts


def _write_graph(con: duckdb.DuckDBPyConnection, out: Path, accounts: pa.Table) -> None:
    """The investigation tables in the store, and the evidence files derived from them."""
    persist_graph(con, accounts)
    write_evidence_files(con, ResultDir(out))
