"""The prompt-clusters stage on Spark gives DuckDB's tables and ``prompt_cluster`` events,
from the same inputs: texts embedded by the shipped embedder (the 600-account store),
and precomputed vectors (a small store with requests at the same instant)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.arrays import duckdb_combine_hash, duckdb_hash_ints, duckdb_hash_strings
from linkage.backend import SparkBackend
from linkage.graph import Workspace, build_events
from linkage.graph.clusters import PromptClusters, build_prompt_clusters
from linkage.ingest import STORE_FILE, ingest
from linkage.settings import DetectSettings

from .conftest import mirror
from .test_backends import _canonical

STAGE_TABLES = ("prompt_texts", "prompt_sample", "prompt_text_ids", "prompt_clusters")
STORE_READ = ("requests", "ingest_meta")
"""Store tables the stage reads (besides the working tables ``req`` and ``events``)."""
SETTINGS = DetectSettings(prompt_cluster_k=12, prompt_samples_per_account=3, seed=7)


def _outputs(ws: Workspace) -> dict[str, pd.DataFrame]:
    out = {t: _canonical(ws.fetch(f"SELECT * FROM {t}").to_pandas()) for t in STAGE_TABLES}
    out["events"] = _canonical(
        ws.fetch("SELECT * FROM events WHERE etype = 'prompt_cluster'").to_pandas()
    )
    return out


def _on_both(
    ws: Workspace, spark: SparkBackend, settings: DetectSettings, parquet: Path | None = None
) -> tuple[tuple[PromptClusters, dict[str, pd.DataFrame]], ...]:
    """The stage on the DuckDB workspace ``ws`` (events built) and on Spark, whose
    inputs are mirrored from ``ws`` first (the store tables read from ``parquet``
    when given)."""
    events = build_events(ws)
    mirror(ws, spark, ("req", "events") + (STORE_READ if parquet is None else ()))
    for t in STORE_READ if parquet is not None else ():
        spark.read_parquet(t, [str(parquet / f"{t}.parquet")])
    duck = build_prompt_clusters(ws, events, settings)
    on_spark = Workspace.on(spark)
    got = build_prompt_clusters(on_spark, events, settings)
    return (duck, _outputs(ws)), (got, _outputs(on_spark))


def _assert_same(duck: dict[str, pd.DataFrame], got: dict[str, pd.DataFrame]) -> None:
    for name, expected in duck.items():
        pd.testing.assert_frame_equal(got[name], expected, obj=name)


def test_text_clusters_on_spark_are_duckdbs(spark, store_parquet):
    with Workspace.open(store_parquet[0], read_only=True) as ws:
        (duck, expected), (got, on_spark) = _on_both(ws, spark, SETTINGS, store_parquet[1])
    assert duck == got == PromptClusters(12, precomputed=False)
    assert len(expected["prompt_texts"]) > 100 and len(expected["events"]) > 300
    per_account = expected["prompt_sample"].groupby("aid").size()
    assert per_account.max() <= SETTINGS.prompt_samples_per_account
    assert (expected["prompt_clusters"]["label"] != "").all()
    _assert_same(expected, on_spark)


T0 = datetime(2026, 9, 1, tzinfo=UTC)
TOPICS = ["Plan a trip to the coast", "Fix my Python import error", "Summarise this contract"]


def _precomputed_store(tmp: Path) -> Path:
    """40 accounts, 6 requests each with an 8-d vector near one of two axes; every
    account sends its last two at the same instant (told apart by text and vector),
    some without a text."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(40):
        for j in range(6):
            vec = 0.05 * rng.standard_normal(8)
            vec[i % 2] += 1.0
            text = None if j == 2 else TOPICS[(i + j) % len(TOPICS)]
            rows.append(
                {
                    "account_id": f"acc{i:02d}",
                    "ts": (T0 + timedelta(hours=i, minutes=min(j, 4))).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "ip": f"198.51.100.{i + 1}",
                    **({"prompt_text": text} if text else {}),
                    "prompt_embedding": [round(float(v), 6) for v in vec],
                }
            )
    data = tmp / "data"
    data.mkdir()
    pd.DataFrame(
        [{"account_id": f"acc{i:02d}", "created_at": "2026-09-01T00:00:00Z"} for i in range(40)]
    ).to_csv(data / "accounts.csv", index=False)
    (data / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ingest(data, tmp / "store")
    return tmp / "store" / STORE_FILE


def test_precomputed_clusters_on_spark_are_duckdbs(spark, tmp_path):
    settings = DetectSettings(prompt_cluster_k=2, prompt_samples_per_account=5, seed=1)
    with Workspace.open(_precomputed_store(tmp_path), read_only=True) as ws:
        (duck, expected), (got, on_spark) = _on_both(ws, spark, settings)
    assert duck == got == PromptClusters(2, precomputed=True)
    # five of six requests per account: one of the two at the same instant may be cut
    assert len(expected["prompt_sample"]) == 40 * 5 and len(expected["events"]) == 40 * 1
    _assert_same(expected, on_spark)


def test_sampling_hash_is_duckdbs_hash():
    """The sample key computed in numpy is DuckDB's ``hash`` of the same values."""
    texts = ["", "a", "abcdefgh", "abcdefghijkl", "abcdefghijklm", "é" * 9, "x" * 1000]
    aid = np.array([0, 1, -1, 2**31 - 1, 7, 8, 9], np.int32)
    ts = np.array([0, 1, -1, 1_767_225_601_000_000, 5, 6, 2**62], np.int64)
    con = duckdb.connect()
    con.register(
        "v", pa.table({"s": texts, "aid": aid, "ts": pa.array(ts).cast(pa.timestamp("us", "UTC"))})
    )
    expected = con.sql(
        "SELECT hash(s, -3::BIGINT) AS a, hash(aid, ts, 11::BIGINT) AS b FROM v"
    ).to_arrow_table()
    seed = duckdb_hash_ints(np.array([-3, 11], np.int64))
    got_a = duckdb_combine_hash(duckdb_hash_strings(pa.array(texts)), seed[0])
    got_b = duckdb_combine_hash(
        duckdb_combine_hash(duckdb_hash_ints(aid), duckdb_hash_ints(ts)), seed[1]
    )
    assert got_a.tolist() == expected.column("a").to_pylist()
    assert got_b.tolist() == expected.column("b").to_pylist()
