"""``evaluate``: a result directory against ground-truth labels, with baselines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from linkage.errors import LinkageError
from linkage.evaluate.baselines import BASELINES
from linkage.evaluate.breakdown import campaign_ari, campaign_breakdown, flagged_per_population
from linkage.evaluate.metrics import adjusted_rand_index, average_precision, precision_recall_f1
from linkage.graph import Workspace, build_graph
from linkage.result import ResultDir
from linkage.settings import DetectSettings

__all__ = ["evaluate", "read_labels"]


def read_labels(path: str | Path) -> pd.DataFrame:
    """Labels (``account_id``, ``campaign_id``, and ``population`` when the file has
    that optional column) from Parquet, CSV or JSONL."""
    path = Path(path)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    elif path.suffix == ".jsonl":
        df = pd.read_json(path, lines=True, dtype=False)
    else:
        raise LinkageError(f"{path}: labels must be .parquet, .csv or .jsonl")
    missing = {"account_id", "campaign_id"} - set(df.columns)
    if missing:
        raise LinkageError(f"{path}: missing column(s) {sorted(missing)}")
    columns = ["account_id", "campaign_id"] + (["population"] if "population" in df else [])
    df = df[columns].copy()
    for col in columns[1:]:
        df[col] = df[col].where(df[col].notna() & (df[col] != ""), None)
    return df


def _metrics(
    truth: pd.Series,
    flagged: np.ndarray,
    score: np.ndarray,
    group: np.ndarray,
    population: pd.Series | None = None,
) -> dict[str, Any]:
    is_campaign = truth.notna().to_numpy()
    p, r, f1 = precision_recall_f1(is_campaign, flagged)
    true_labels = truth.fillna("(legitimate)").to_numpy()
    pred_labels = np.where(flagged, group.astype(str), "(none)")
    true_campaign = truth.to_numpy(dtype=object)
    campaigns = campaign_breakdown(true_campaign, flagged, group)
    out = {
        "precision": p,
        "recall": r,
        "f1": f1,
        "average_precision": average_precision(is_campaign, score),
        "ari": adjusted_rand_index(true_labels, pred_labels),
        "ari_campaign_accounts": campaign_ari(true_campaign, flagged, group),
        "flagged": int(flagged.sum()),
        "false_positives": int((flagged & ~is_campaign).sum()),
        "recall_per_campaign": {name: c["recall"] for name, c in campaigns.items()},
        "campaigns": campaigns,
    }
    if population is not None:
        out["false_positives_per_population"] = flagged_per_population(
            true_campaign, flagged, population.to_numpy(dtype=object)
        )
    return out


def evaluate(
    result_dir: str | Path, labels: str | Path, *, baselines: bool = True
) -> dict[str, Any]:
    """Account-level precision, recall, F1 and average precision, campaign-level
    ARI (over all accounts, and over the true campaign accounts only), per-campaign
    recall and purity, and false positives per legitimate population when the
    labels name populations; for the engine and (on the same data, same run, the
    same account graph) the baselines."""
    result_dir = Path(result_dir)
    accounts = ResultDir.open(result_dir).read_accounts()
    settings = ResultDir(result_dir).settings()
    truth = read_labels(labels)
    df = accounts.merge(truth, on="account_id", how="left", suffixes=("", "_true"))
    unknown = len(set(truth.account_id) - set(accounts.account_id))
    population = df.population if "population" in truth else None
    out: dict[str, Any] = {
        "accounts": len(df),
        "campaign_accounts": int(df.campaign_id_true.notna().sum()),
        "labels_not_in_result": unknown,
        "flag_threshold": settings.flag_threshold,
        "engine": _metrics(
            df.campaign_id_true,
            df.flagged.to_numpy(bool),
            df.score.to_numpy(float),
            df.campaign_id.fillna("(none)").to_numpy(),
            population,
        ),
    }
    if baselines:
        out["baselines"] = _baselines(result_dir, df, settings, population is not None)
    return out


def _baselines(
    result_dir: Path, df: pd.DataFrame, settings: DetectSettings, populations: bool
) -> dict[str, Any]:
    """Each baseline on the account graph ``detect`` builds (:func:`build_graph`)."""
    with Workspace.open(
        ResultDir(result_dir).store_path, read_only=True, memory_limit_gb=settings.memory_limit_gb
    ) as ws:
        graph = build_graph(ws, settings)
        order = ws.execute("SELECT account_id FROM acct ORDER BY aid").df().account_id
        labels = df.set_index("account_id").reindex(order).reset_index(drop=True)
        results = {}
        for name, fn in BASELINES.items():
            group = fn(ws, graph, settings.min_campaign_size)
            flagged = group >= 0
            results[name] = _metrics(
                labels.campaign_id_true,
                flagged,
                flagged.astype(float),
                group,
                labels.population if populations else None,
            )
        return results


def write_report(report: dict[str, Any], path: str | Path) -> None:
    """Save an evaluation report as JSON."""
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
