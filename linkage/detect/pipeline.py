"""``detect``: data directory in, result directory out.

Stages: ingest -> the graph stages of :func:`linkage.graph.build_graph`
(account-entity events with activity rhythm, prompt templates, prompt clusters,
IP intelligence, evidence projection) -> Leiden -> features and scores ->
contract outputs -> the investigation graph in the store
(``docs/RESULT_STORE.md``). They hand each other typed outputs over one
:class:`~linkage.graph.Workspace` (``docs/ARCHITECTURE.md``). Each stage reports
progress and its time and peak memory, saved in ``detect_summary.json``.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.backend import Backend, SparkBackend
from linkage.detect import scale
from linkage.detect.attach import attach_by_entities
from linkage.detect.decisions import apply_decisions, decisions_table, dismissed_infrastructure
from linkage.detect.leiden import Communities, warm_start
from linkage.detect.lineage import Previous, assign_lineage
from linkage.detect.persist import persist_graph, write_evidence_files
from linkage.errors import LinkageError
from linkage.graph import (
    Corroboration,
    EdgeList,
    Projection,
    Workspace,
    build_graph,
    edge_list,
)
from linkage.ingest import IngestSummary, ingest
from linkage.ingest.spark import ingest_on
from linkage.progress import ProgressFn, StageLog
from linkage.result import ResultDir
from linkage.result.replace import staged
from linkage.review import DecisionLog
from linkage.score import score_communities
from linkage.settings import DetectSettings

__all__ = ["DetectionResult", "detect", "input_warnings"]

_ENGINE_DIR = ".backend"
"""Inside the result being built: the store as Parquet and the tables handed back from
a scale-out backend; removed once they are in the DuckDB store and workspace."""

logger = logging.getLogger(__name__)


@dataclass
class DetectionResult:
    """Where the outputs are, and what each stage cost."""

    out_dir: Path
    accounts: int
    campaigns: int
    flagged: int
    edges: int
    stages: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What an operator must see before acting on the result (an empty input)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "accounts": self.accounts,
            "campaigns": self.campaigns,
            "flagged": self.flagged,
            "edges": self.edges,
            "stages": self.stages,
            "warnings": self.warnings,
        }


def detect(
    data_dir: str | Path,
    out_dir: str | Path,
    settings: DetectSettings | None = None,
    *,
    progress: ProgressFn | None = None,
    force: bool = False,
    previous: str | Path | None = None,
    decisions: DecisionLog | None = None,
    backend: str = "duckdb",
) -> DetectionResult:
    """Find coordinated campaigns in a contract data directory.

    Writes to ``out_dir``: the store and quarantine (see :func:`linkage.ingest.ingest`),
    ``accounts.parquet`` and ``campaigns.parquet`` (per the data contract),
    ``edges.parquet`` and ``evidence.parquet`` (why accounts are linked),
    ``settings.json`` and ``detect_summary.json``. The result is built beside
    ``out_dir`` and replaces it whole only when finished (:mod:`linkage.result.replace`);
    refused: an ``out_dir`` inside ``data_dir``, or a non-empty directory that is not
    a linkage result unless ``force``.

    With ``previous`` (an earlier result directory, ``out_dir`` itself included),
    campaigns that go on keep their ids (:mod:`linkage.detect.lineage`), and an input
    with fewer than ``previous_min_share`` of the previous run's accounts is warned
    about (``warnings``, logged, and in ``detect_summary.json``). A ``previous`` that
    does not exist yet (a daily job's first run) is warned about and every campaign is
    new; one that exists but is not a finished result is refused.

    With ``decisions`` (investigators' decision log), the decisions in force reach this
    run's campaigns through lineage and change flags and reasons
    (:mod:`linkage.review.apply`); ``decisions.parquet`` says what reached what. With
    ``previous`` too, the infrastructure of dismissed campaigns weighs
    ``dismissed_entity_weight`` of its usual weight.

    ``backend``: where the evidence is built and communities found: ``duckdb`` (in
    process) or ``spark`` (:mod:`linkage.detect.scale`); the outputs are the same.
    """
    s = settings or DetectSettings()
    scale.check_backend(backend, s)
    log = StageLog(progress)
    first_run = previous is not None and not Path(previous).exists()
    prev = Previous.read(previous) if previous is not None and not first_run else None
    known_legitimate = dismissed_infrastructure(prev, decisions)
    # Written beside out_dir and swapped in whole at the end: an older result stays usable.
    with staged(Path(data_dir), Path(out_dir), force=force) as out, scale.engine(backend) as engine:
        summary = log.run("ingest", lambda: _ingest(engine, data_dir, out, progress))
        accounts = summary.tables["accounts"].rows_kept if "accounts" in summary.tables else 0
        warnings = input_warnings(accounts, prev, s)
        if first_run:
            warnings.insert(0, f"no previous result at {previous}: every campaign is new")
        for text in warnings:
            logger.warning(text)
        with Workspace.open(
            ResultDir(out).store_path, read_only=False, memory_limit_gb=s.memory_limit_gb
        ) as ws:
            graph, edges, comms = _communities(ws, engine, out, s, log, prev, known_legitimate)
            result = _detect(ws, out, s, log, graph, edges, comms, prev, decisions)
        result.out_dir = Path(out_dir)
        result.warnings = warnings
        ResultDir(out).write_detect_summary(result.to_dict())
        ResultDir(out).mark_complete()  # last, once the store is closed
    return result


def input_warnings(accounts: int, previous: Previous | None, s: DetectSettings) -> list[str]:
    """Warnings about an input that looks empty or cut short next to the previous run's."""
    if previous is None:
        return []
    if accounts == 0:
        return [
            f"the input holds no accounts; the previous run ({previous.path}) saw "
            f"{previous.accounts:,}: do not act on a ban list diff from this run"
        ]
    if accounts < s.previous_min_share * previous.accounts:
        return [
            f"the input holds {accounts:,} accounts, {accounts / previous.accounts:.0%} of "
            f"the previous run's {previous.accounts:,} ({previous.path}): check that it is "
            "whole before acting on a ban list diff from this run"
        ]
    return []


def _ingest(
    engine: Backend | None, data_dir: str | Path, out: Path, progress: ProgressFn | None
) -> IngestSummary:
    """Ingest in process, or on ``engine`` (Spark: validation on the executors, the store
    as Parquet under ``out/.backend`` for the graph stages, and the result's DuckDB store
    loaded from it)."""
    if engine is None:
        return ingest(Path(data_dir), out, progress=progress)
    if not isinstance(engine, SparkBackend):
        raise LinkageError(f"detection has no ingest on the {engine.name} backend")
    store = str(out / _ENGINE_DIR / "store")
    return ingest_on(engine, str(data_dir), out, store=store, duckdb=True, progress=progress)


def _communities(
    ws: Workspace,
    engine: Backend | None,
    out: Path,
    s: DetectSettings,
    log: StageLog,
    previous: Previous | None,
    known_legitimate: pd.DataFrame | None,
) -> tuple[Projection, EdgeList, Communities]:
    """The graph stages and Leiden, in process or on ``engine`` (over the store tables
    ingest registered there); after them the working tables are on ``ws`` either way.
    Whole-graph Leiden runs on the edge list read once from ``ws``; per component, on
    the backend that holds the graph, before the hand-over."""
    gws = ws if engine is None else Workspace.on(engine)
    graph = build_graph(gws, s, log, known_legitimate)
    initial = _warm_start(gws, previous) if previous is not None and s.warm_start else None
    comms = None
    if s.leiden_scope == "component":
        comms = log.run("leiden", lambda: scale.communities_on(gws, graph, s, initial))
    if engine is not None:
        log.run("hand over", lambda: scale.hand_over(gws, ws, out / _ENGINE_DIR / "tables"))
        shutil.rmtree(out / _ENGINE_DIR, ignore_errors=True)
    edges = edge_list(ws, graph)
    if comms is None:
        comms = log.run("leiden", lambda: scale.communities_on(ws, graph, s, initial, edges))
    return graph, edges, comms


def _detect(
    ws: Workspace,
    out: Path,
    s: DetectSettings,
    log: StageLog,
    graph: Projection,
    edges: EdgeList,
    comms: Communities,
    previous: Previous | None,
    decisions: DecisionLog | None,
) -> DetectionResult:
    """The stages after the communities: attachment, scores, outputs."""
    membership = log.run("attachment", lambda: attach_by_entities(ws, comms.membership, s))
    scores = log.run("scoring", lambda: score_communities(ws, graph, edges, membership, s))
    con = ws.con
    result, accounts = log.run(
        "write",
        lambda: _write(
            con,
            out,
            s,
            membership,
            scores.accounts,
            scores.campaigns,
            graph.edges,
            previous,
            decisions,
        ),
    )
    log.run("graph store", lambda: _write_graph(con, out, accounts, graph.corroboration, s))
    result.stages = log.records
    return result


def _write(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    s: DetectSettings,
    membership: np.ndarray,
    feats: pd.DataFrame,
    camps: pd.DataFrame,
    n_edges: int,
    previous: Previous | None,
    decisions: DecisionLog | None,
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
    reported = _with_lineage(con, reported, previous, s)
    comm_to_id = np.full(max(1, int(membership.max()) + 1), None, dtype=object)
    comm_to_id[reported.comm.to_numpy()] = reported.campaign_id.to_numpy()
    account_campaign = np.where(membership >= 0, comm_to_id[np.maximum(membership, 0)], None)
    flagged = (feats.score.to_numpy() >= s.flag_threshold) & pd.notna(account_campaign)
    engine = pd.DataFrame(
        {
            "account_id": feats.account_id.to_numpy(),
            "campaign_id": account_campaign,
            "score": feats.score.to_numpy(),
            "flagged": flagged,
        }
    )
    reviewed = apply_decisions(reported, engine, decisions, previous, s)
    flagged, reported = reviewed.flagged, reviewed.reported
    accounts = pa.table(
        {
            "account_id": pa.array(feats.account_id, pa.string()),
            "campaign_id": pa.array(account_campaign, pa.string()),
            "score": pa.array(feats.score.to_numpy(), pa.float64()),
            "flagged": pa.array(flagged),
        }
    )
    ResultDir(out).write_accounts(accounts)
    ResultDir(out).write_campaigns(_campaigns_table(reported))
    ResultDir(out).write_decisions(decisions_table(reviewed.applied))
    ResultDir(out).write_settings(s)
    result = DetectionResult(out, len(feats), len(reported), int(flagged.sum()), n_edges)
    return result, accounts


def _warm_start(ws: Workspace, previous: Previous) -> np.ndarray:
    """Leiden's initial labels: this run's accounts grouped by their previous campaign."""
    ids = ws.fetch("SELECT account_id FROM acct ORDER BY aid").column(0).to_pandas()
    campaign = previous.members.set_index("account_id").campaign_id
    return warm_start(campaign.reindex(ids).to_numpy(dtype=object))


def _with_lineage(
    con: duckdb.DuckDBPyConnection,
    reported: pd.DataFrame,
    previous: Previous | None,
    s: DetectSettings,
) -> pd.DataFrame:
    """``reported`` with ``campaign_id`` (the previous run's id where a campaign goes on),
    ``lineage`` and ``previous_campaign_ids`` (:func:`assign_lineage`)."""
    comm_id = reported[["comm", "campaign_id"]]
    con.register("reported_df", comm_id)
    try:
        members = con.execute(
            """SELECT a.account_id, r.campaign_id FROM member m JOIN acct a USING (aid)
               JOIN reported_df r USING (comm)"""
        ).df()
    finally:
        con.unregister("reported_df")
    lineage = assign_lineage(members, previous, s.lineage_min_overlap).set_index("provisional_id")
    out = reported.copy()
    got = lineage.reindex(out.campaign_id)
    out["lineage"] = got.lineage.fillna("new").to_numpy()
    out["previous_campaign_ids"] = [
        p if isinstance(p, list) else [] for p in got.previous_campaign_ids
    ]
    out["campaign_id"] = got.campaign_id.to_numpy()
    return out


def _campaigns_table(reported: pd.DataFrame) -> pa.Table:
    """``campaigns.parquet`` (contract v2) from the reported scored communities, highest
    score first."""
    return pa.table(
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
            "contributions": pa.array(
                [list(c.items()) for c in reported.contributions],
                pa.map_(pa.string(), pa.float64()),
            ),
            "lineage": pa.array(reported.lineage.tolist(), pa.string()),
            "previous_campaign_ids": pa.array(
                reported.previous_campaign_ids.tolist(), pa.list_(pa.string())
            ),
        }
    ).sort_by([("score", "descending"), ("campaign_id", "ascending")])


def _write_graph(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    accounts: pa.Table,
    corroboration: Corroboration,
    s: DetectSettings,
) -> None:
    """The investigation tables in the store, and the evidence files derived from them."""
    persist_graph(con, accounts, corroboration, s)
    write_evidence_files(con, ResultDir(out))
