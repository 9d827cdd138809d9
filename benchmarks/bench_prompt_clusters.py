"""Benchmark: the "prompt clusters" detect stage on an ingested store.

Opens a store read-only (``RESULT_DIR/linkage.duckdb`` from ``linkage ingest``
or ``linkage detect``; DuckDB spills to a fresh temporary folder, never beside
the store), builds the account-entity events once, then for each run times
the "templates" stage (the baseline: another prompt stage over the same
requests, measured in the same process) and the "prompt clusters" stage.
Reports medians, the ratio to the baseline, the embedder's rate on the texts
the stage embedded, and with ``--projection`` the projection's time and pair
count with and without the prompt-cluster entities.

    python benchmarks/bench_prompt_clusters.py RESULT_DIR [--runs 3] [--projection]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _timed(fn):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - began


def main() -> None:
    from linkage.embed import get_embedder
    from linkage.graph import (
        Workspace,
        annotate_ip_kinds,
        build_events,
        build_prompt_clusters,
        build_templates,
        project_pairs,
    )
    from linkage.ingest import STORE_FILE, open_store
    from linkage.ingest.store import limit_memory
    from linkage.settings import DetectSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--projection", action="store_true")
    parser.add_argument("--settings", type=Path, default=None, help="DetectSettings JSON")
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()

    s = DetectSettings.load(args.settings) if args.settings else DetectSettings()
    store = args.result_dir / STORE_FILE if args.result_dir.is_dir() else args.result_dir
    spill = tempfile.mkdtemp(prefix="linkage-bench-spill-")
    con = open_store(store, read_only=True)
    limit_memory(con, s.memory_limit_gb)
    con.execute(f"SET temp_directory = '{spill}'")
    ws = Workspace(con)
    events, t_events = _timed(lambda: build_events(ws))
    n_accounts = events.accounts
    n_req, n_prompts = con.execute("SELECT count(*), count(prompt_text) FROM req").fetchone()
    print(
        f"{n_accounts:,} accounts, {n_req:,} requests, {n_prompts:,} with prompt text; "
        f"events {t_events:.1f} s",
        file=sys.stderr,
    )
    runs = []
    for i in range(args.runs):
        con.execute("DELETE FROM events WHERE etype IN ('template', 'prompt_cluster')")
        templates, t_tpl = _timed(lambda: build_templates(ws, events))
        clusters, t_pc = _timed(lambda: build_prompt_clusters(ws, events, s))
        runs.append({"templates_s": t_tpl, "prompt_clusters_s": t_pc, "clusters": clusters.count})
        print(
            f"run {i + 1}: templates {t_tpl:.1f} s, prompt clusters {t_pc:.1f} s", file=sys.stderr
        )
    texts = [r[0] for r in con.execute("SELECT prompt_text FROM prompt_texts").fetchall()]
    emb = get_embedder(s.prompt_embedder)
    _, t_embed = _timed(lambda: emb.embed(texts))
    stats = con.execute(
        """SELECT (SELECT count(*) FROM prompt_texts),
                  (SELECT count(DISTINCT aid) FROM prompt_sample), count(*),
                  count(DISTINCT aid), (SELECT max(accounts) FROM prompt_clusters)
           FROM events WHERE etype = 'prompt_cluster'"""
    ).fetchone()
    result = {
        "store": str(store),
        "accounts": n_accounts,
        "requests": n_req,
        "prompt_rows": n_prompts,
        "settings": {k: v for k, v in dataclasses.asdict(s).items() if k.startswith("prompt")},
        "runs": runs,
        "templates_median_s": statistics.median(r["templates_s"] for r in runs),
        "prompt_clusters_median_s": statistics.median(r["prompt_clusters_s"] for r in runs),
        "embedded_texts": stats[0],
        "accounts_sampled": stats[1],
        "prompt_cluster_events": stats[2],
        "accounts_with_cluster": stats[3],
        "largest_cluster_accounts": stats[4],
        "embed_rate_per_s": len(texts) / t_embed if t_embed > 0 else None,
    }
    result["ratio_to_templates"] = result["prompt_clusters_median_s"] / result["templates_median_s"]
    if args.projection:
        ip_kinds = annotate_ip_kinds(ws, events)
        proj = {}
        for label in ("with", "without"):
            if label == "without":
                con.execute("DELETE FROM events WHERE etype = 'prompt_cluster'")
            graph, t_proj = _timed(
                lambda: project_pairs(
                    ws,
                    s,
                    events=events,
                    templates=templates,
                    prompt_clusters=clusters,
                    ip_kinds=ip_kinds,
                )
            )
            proj[label] = {"seconds": t_proj, "pair_evidence": graph.pairs, "edges": graph.edges}
            print(f"projection {label} prompt clusters: {t_proj:.1f} s", file=sys.stderr)
        result["projection"] = proj
    result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    con.close()

    print(
        f"\n{n_accounts:,} accounts / {n_req:,} requests: prompt clusters "
        f"{result['prompt_clusters_median_s']:.1f} s median of {args.runs} "
        f"({result['ratio_to_templates']:.2f}x the templates stage, "
        f"{result['templates_median_s']:.1f} s, in the same runs)"
    )
    print(
        f"embedded {result['embedded_texts']:,} distinct texts for "
        f"{result['accounts_sampled']:,} accounts at {result['embed_rate_per_s']:,.0f} prompts/s; "
        f"{result['prompt_cluster_events']:,} prompt_cluster events on "
        f"{result['accounts_with_cluster']:,} accounts; largest cluster "
        f"{result['largest_cluster_accounts']:,} accounts; peak {result['peak_rss_gib']:.2f} GiB"
    )
    if args.projection:
        w, wo = result["projection"]["with"], result["projection"]["without"]
        print(
            f"projection: {w['seconds']:.1f} s / {w['pair_evidence']:,} pair rows / "
            f"{w['edges']:,} edges with prompt clusters, {wo['seconds']:.1f} s / "
            f"{wo['pair_evidence']:,} / {wo['edges']:,} without"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"bench_prompt_clusters_{n_accounts}.json"
    (args.out / name).write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
