"""Prompt clusters: seeded k-means invariants, the stage on small contract data
through the real ingest (text and precomputed embeddings), and detect's stage list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.graph import Events, Workspace, build_events, build_templates
from linkage.graph.clusters import build_prompt_clusters as run_stage
from linkage.graph.clusters import spherical_kmeans
from linkage.ingest import STORE_FILE, ingest, open_store
from linkage.settings import DetectSettings

T0 = datetime(2026, 9, 1, tzinfo=UTC)

CODING = [
    "Write a Python function that returns the n-th Fibonacci number",
    "Implement binary search over a sorted Python list and return the index",
    "Fix this bug: my Python loop raises IndexError when the list is empty",
    "Write a SQL query that counts orders per customer and sorts them",
    "Refactor this JavaScript function to use async/await instead of callbacks",
    "Write unit tests with pytest for a function that parses dates",
]
EVERYDAY = [
    "Write a polite email to my landlord asking to fix the heating",
    "Suggest a name for my new coffee shop",
    "Give me tips for a job interview tomorrow",
    "Plan a weekend trip to the mountains with friends",
    "Write a birthday message for my grandmother",
    "How can I improve my sleep schedule?",
]


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_store(tmp_path, requests, name="out"):
    data = tmp_path / f"data-{name}"
    data.mkdir()
    ids = sorted({r["account_id"] for r in requests})
    pd.DataFrame([{"account_id": a, "created_at": iso(T0)} for a in ids]).to_csv(
        data / "accounts.csv", index=False
    )
    path = data / "requests.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in requests))
    ingest(data, tmp_path / name)
    con = open_store(tmp_path / name / STORE_FILE, read_only=True)
    ws = Workspace(con)
    build_templates(ws, build_events(ws))
    return con


def build_prompt_clusters(con, settings) -> int:
    """The stage on a connection; the number of clusters it found."""
    ws = Workspace(con)
    return run_stage(ws, Events(ws.count("acct")), settings).count


def topic_requests(n_accounts=16, per_account=6, seed=0):
    """Half the accounts ask coding questions, half ask everyday questions."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_accounts):
        pool = CODING if i % 2 == 0 else EVERYDAY
        for j in range(per_account):
            rows.append(
                {
                    "account_id": f"acc{i:02d}",
                    "ts": iso(T0 + timedelta(hours=i * 10 + j)),
                    "ip": f"198.51.100.{i + 1}",
                    "prompt_text": str(rng.choice(pool)),
                }
            )
        rows.append(  # a request without a prompt
            {"account_id": f"acc{i:02d}", "ts": iso(T0 + timedelta(days=9)), "ip": "192.0.2.1"}
        )
    return rows


def cluster_of(con) -> dict[str, set[str]]:
    rows = con.execute(
        """SELECT a.account_id, e.ekey FROM events e JOIN acct a USING (aid)
           WHERE e.etype = 'prompt_cluster'"""
    ).fetchall()
    out: dict[str, set[str]] = {}
    for acc, cid in rows:
        out.setdefault(acc, set()).add(cid)
    return out


def test_spherical_kmeans_finds_separated_groups_and_is_seeded():
    rng = np.random.default_rng(1)
    centres = np.eye(8, dtype=np.float32)[:4]
    x = np.repeat(centres, 50, axis=0) + 0.05 * rng.standard_normal((200, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    c1 = spherical_kmeans(x, 4, seed=3)
    c2 = spherical_kmeans(x, 4, seed=3)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(np.linalg.norm(c1, axis=1), 1.0, rtol=1e-5)
    labels = (x @ c1.T).argmax(axis=1)
    # each planted group is exactly one cluster
    assert all(len(set(labels[g * 50 : (g + 1) * 50])) == 1 for g in range(4))
    assert len(set(labels)) == 4
    # a fit sample smaller than the data still gives unit centroids for every group
    c3 = spherical_kmeans(x, 4, seed=3, fit_sample=40)
    assert len(set((x @ c3.T).argmax(axis=1))) == 4
    with pytest.raises(LinkageError, match="non-empty"):
        spherical_kmeans(x[:0], 2, seed=0)


def test_stage_separates_topics_names_capabilities_and_bounds_events(tmp_path):
    con = make_store(tmp_path, topic_requests())
    s = DetectSettings(prompt_cluster_k=2, prompt_clusters_per_account=1)
    assert build_prompt_clusters(con, s) == 2
    clusters = cluster_of(con)
    assert len(clusters) == 16 and all(len(c) == 1 for c in clusters.values())
    coding = {next(iter(clusters[f"acc{i:02d}"])) for i in range(0, 16, 2)}
    everyday = {next(iter(clusters[f"acc{i:02d}"])) for i in range(1, 16, 2)}
    assert len(coding) == 1 and len(everyday) == 1 and coding != everyday
    table = con.execute("SELECT * FROM prompt_clusters ORDER BY cluster_id").df()
    assert list(table.columns) == ["cluster_id", "size", "accounts", "label", "capability"]
    assert table.cluster_id.str.fullmatch(r"pc_[0-9a-f]{12}").all()
    by_id = table.set_index("cluster_id")
    assert by_id.loc[coding.pop(), "capability"] == "coding"
    assert by_id.loc[everyday.pop(), "capability"] == "everyday"
    assert table.accounts.tolist() == [8, 8] and table["size"].sum() == 16 * 6
    assert (table.label.str.split().map(len) <= 3).all() and (table.label != "").all()
    # the events carry counts and first/last use like every other entity
    ev = con.execute(
        "SELECT n, first_ts <= last_ts FROM events WHERE etype = 'prompt_cluster'"
    ).fetchall()
    assert all(n == 6 and ordered for n, ordered in ev)


def test_stage_is_deterministic_per_seed_and_bounded_by_settings(tmp_path):
    con = make_store(tmp_path, topic_requests(n_accounts=20, per_account=8, seed=2))
    s = DetectSettings(prompt_cluster_k=3, seed=5)

    def snapshot():
        build_events(Workspace(con))  # fresh events table
        build_prompt_clusters(con, s)
        ev = con.execute(
            """SELECT aid, ekey, n FROM events WHERE etype = 'prompt_cluster'
               ORDER BY aid, ekey"""
        ).fetchall()
        return ev, con.execute("SELECT * FROM prompt_clusters ORDER BY cluster_id").fetchall()

    assert snapshot() == snapshot()
    # at most prompt_samples_per_account distinct texts per account are used ...
    bounded = DetectSettings(prompt_cluster_k=3, prompt_samples_per_account=2, seed=5)
    build_events(Workspace(con))
    build_prompt_clusters(con, bounded)
    per_account = con.execute(
        "SELECT max(c) FROM (SELECT aid, count(*) AS c FROM prompt_sample GROUP BY aid)"
    ).fetchone()[0]
    assert per_account <= 2
    # ... and at most prompt_max_embeddings are embedded, every account's first
    # sampled text before anyone's second
    capped = DetectSettings(prompt_cluster_k=3, prompt_max_embeddings=5, seed=5)
    build_events(Workspace(con))
    build_prompt_clusters(con, capped)
    assert con.execute("SELECT count(*) FROM prompt_texts").fetchone()[0] == 5
    off = DetectSettings(prompt_cluster_k=0)
    build_events(Workspace(con))
    assert build_prompt_clusters(con, off) == 0
    assert con.execute("SELECT count(*) FROM prompt_clusters").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM prompt_texts").fetchone()[0] == 0
    assert (
        con.execute("SELECT count(*) FROM events WHERE etype = 'prompt_cluster'").fetchone()[0] == 0
    )


def test_precomputed_embeddings_are_used_when_present(tmp_path):
    """Every prompt is an everyday request, so text embeddings would put all accounts
    together; the precomputed vectors split them in two groups, and win."""
    rows = []
    for i in range(12):
        axis = 0 if i < 6 else 1
        for j in range(4):
            vec = [0.0] * 8
            vec[axis] = 1.0
            vec[7] = 0.01 * j
            rows.append(
                {
                    "account_id": f"acc{i:02d}",
                    "ts": iso(T0 + timedelta(hours=i * 5 + j)),
                    "ip": f"198.51.100.{i + 1}",
                    "prompt_text": EVERYDAY[(i + j) % len(EVERYDAY)],
                    "prompt_embedding": vec,
                }
            )
    con = make_store(tmp_path, rows)
    assert con.execute("SELECT embedding_dim FROM ingest_meta").fetchone()[0] == 8
    assert build_prompt_clusters(con, DetectSettings(prompt_cluster_k=2)) == 2
    clusters = cluster_of(con)
    first = {frozenset(clusters[f"acc{i:02d}"]) for i in range(6)}
    second = {frozenset(clusters[f"acc{i:02d}"]) for i in range(6, 12)}
    assert len(first) == 1 and len(second) == 1 and first != second
    caps = con.execute("SELECT DISTINCT capability FROM prompt_clusters").fetchall()
    assert caps == [("everyday",)]  # named from the texts by the shipped embedder
    # the cap takes every account's first sampled request before anyone's second
    build_events(Workspace(con))
    capped = DetectSettings(prompt_cluster_k=2, prompt_max_embeddings=12)
    build_prompt_clusters(con, capped)
    per_account = con.execute("SELECT aid, count(*) FROM prompt_sample GROUP BY aid").fetchall()
    assert len(per_account) == 12 and all(c == 1 for _, c in per_account)


def test_detect_runs_the_stage_after_templates(tmp_path):
    from linkage.detect import detect

    rows = topic_requests(n_accounts=10, per_account=3)
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame([{"account_id": f"acc{i:02d}", "created_at": iso(T0)} for i in range(10)]).to_csv(
        data / "accounts.csv", index=False
    )
    (data / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    detect(data, tmp_path / "result")
    summary = json.loads((tmp_path / "result" / "detect_summary.json").read_text())
    stages = [st["stage"] for st in summary["stages"]]
    assert stages[stages.index("templates") + 1] == "prompt clusters"
    saved = DetectSettings.load(tmp_path / "result" / "settings.json")
    assert saved.prompt_cluster_k == DetectSettings().prompt_cluster_k


def test_new_settings_round_trip(tmp_path):
    s = DetectSettings(prompt_cluster_k=7, prompt_max_embeddings=1000, prompt_embedder="static")
    s.save(tmp_path / "s.json")
    assert DetectSettings.load(tmp_path / "s.json") == s


def test_no_prompt_text_gives_no_clusters(tmp_path):
    rows = [
        {"account_id": f"acc{i}", "ts": iso(T0 + timedelta(hours=i)), "ip": "192.0.2.7"}
        for i in range(4)
    ]
    con = make_store(tmp_path, rows)
    assert build_prompt_clusters(con, DetectSettings()) == 0
    assert con.execute("SELECT count(*) FROM prompt_clusters").fetchone()[0] == 0
    assert (
        con.execute("SELECT count(*) FROM events WHERE etype = 'prompt_cluster'").fetchone()[0] == 0
    )
