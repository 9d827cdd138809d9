"""Benchmark: detection quality (engine vs baselines) and detection speed.

Quality: for each scenario and seed, simulate, detect and evaluate against the
labels, with the three baselines on the same data in the same run; also counts
flagged accounts of simulated company teams and campuses (which must be 0). With
several backends, the first is scored and each other's result compared with it
(accounts flagged differently, same campaigns, largest score difference).
Speed: detect at the given sizes on the given backends, several runs each in a
fresh subprocess; median wall time and peak memory per stage, and the ratio of the
whole detect to a baseline measured in the same session (reading
``requests.parquet`` whole with pyarrow). With several backends, their flagged
accounts and campaigns are compared (parity) and scores' largest difference given.
Peak memory is the Python process's; on Spark, the JVM's own peak resident memory
(read from ``/proc`` before the process ends) is reported apart, as ``jvm_peak_gib``
(Spark's Python workers end with the session and are not measured).

    python benchmarks/bench_detection.py quality [--seeds 0 .. 7] [--sizes 10000 100000]
        [--scenarios default hard adversarial] [--baselines-upto 10000]
        [--backends duckdb spark]
    python benchmarks/bench_detection.py speed [--sizes 100000 1000000] [--runs 3]
        [--backends duckdb spark]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

SPEED_STEP = r"""
import json, resource, sys, time
from pathlib import Path
data, out, step = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
if step.startswith("detect"):
    from linkage.detect import detect
    stages = detect(data, out, backend=step.partition(":")[2] or "duckdb").stages
else:
    import pyarrow.parquet as pq
    pq.read_table(data / "requests.parquet")
    stages = []


def peak_gib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return 0.0


jvm = None
if "pyspark" in sys.modules:  # the JVM outlives the session
    from pyspark import SparkContext
    proc = getattr(SparkContext._gateway, "proc", None)
    if proc is not None and proc.poll() is None:
        jvm = peak_gib(proc.pid)
print(json.dumps({"seconds": time.perf_counter() - t, "stages": stages,
                  "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "jvm_peak_gib": jvm}))
"""


def quality(args: argparse.Namespace) -> None:
    from linkage.detect import detect
    from linkage.evaluate import evaluate
    from linkage.simulate import simulate

    rows: list[dict] = []
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        for scenario in args.scenarios:
            for seed in args.seeds:
                base = args.out / f"{scenario}-{size}-{seed}"
                shutil.rmtree(base, ignore_errors=True)
                simulate(base / "data", seed=seed, scenario=scenario, accounts=size)
                detect(base / "data", base / "result", backend=args.backends[0])
                agree: dict[str, object] = {}
                for backend in args.backends[1:]:  # the first backend's result is scored
                    detect(base / "data", base / f"result-{backend}", backend=backend)
                    p = parity(base / "result", base / f"result-{backend}")
                    agree[f"{backend}_flagged_differ"] = p["flagged_differ"]
                    agree[f"{backend}_same_campaigns"] = p["same_campaigns"]
                    agree[f"{backend}_max_score_diff"] = max(
                        p["max_account_score_diff"], p["max_campaign_score_diff"]
                    )
                baselines = size <= args.baselines_upto
                report = evaluate(
                    base / "result", base / "data" / "labels.parquet", baselines=baselines
                )
                extra = _groups(base)
                methods = {"linkage": report["engine"], **report.get("baselines", {})}
                for method, m in methods.items():
                    rows.append(
                        {
                            "scenario": scenario,
                            "accounts": size,
                            "seed": seed,
                            "method": method,
                            **{k: m[k] for k in QUALITY_KEYS},
                            "min_campaign_recall": min(
                                c["recall"] for c in m["campaigns"].values()
                            ),
                            "weakest": _weakest(m["campaigns"]),
                            **({**extra, **agree} if method == "linkage" else {}),
                        }
                    )
                shutil.rmtree(base, ignore_errors=True)
                pd.DataFrame(rows).to_json(
                    args.out / "bench_detection_quality.json", orient="records", indent=2
                )
                print(f"{scenario} {size:,} seed {seed}: {rows[-len(methods)]}", file=sys.stderr)
    df = pd.DataFrame(rows)
    print(df.to_markdown(index=False, floatfmt=".3f"))


QUALITY_KEYS = ("precision", "recall", "ari_campaign_accounts", "flagged", "false_positives")


def _weakest(campaigns: dict[str, dict]) -> str:
    """The campaign found worst: the lowest share captured in its best match times that
    match's purity (a campaign in pieces, or merged with another, scores low)."""
    name, c = min(campaigns.items(), key=lambda kv: kv[1]["captured"] * (kv[1]["purity"] or 0))
    return (
        f"{name} recall {c['recall']:.2f} captured {c['captured']:.2f} "
        f"pieces {c['pieces']} purity {c['purity'] or 0:.2f}"
    )


def _groups(base: Path) -> dict:
    """Regrowth recall and the legitimate groups with any flagged account."""
    acc = pd.read_parquet(base / "result" / "accounts.parquet").merge(
        pd.read_parquet(base / "data" / "labels.parquet"), on="account_id", suffixes=("", "_true")
    )
    regrowth = acc[acc.population == "regrowth"]
    legit = acc[acc.campaign_id_true.isna() & acc.flagged]
    grouped = legit[legit.group_id.notna()]
    return {
        "regrowth_recall": float(regrowth.flagged.mean()) if len(regrowth) else None,
        "legit_groups_flagged": int(grouped.group_id.nunique()),
        "fp_populations": legit.population.value_counts().to_dict(),
    }


def speed(args: argparse.Namespace) -> None:
    from linkage.simulate import simulate

    results = []
    for size in args.sizes:
        data = args.out / f"data-{size}"
        if not (data / "requests.parquet").exists():
            simulate(data, accounts=size, seed=1)
        steps = ["read"] + [f"detect:{b}" for b in args.backends]
        runs: dict[str, list[dict]] = {step: [] for step in steps}
        for i in range(args.runs):
            for step in steps:
                out = args.out / f"result-{size}-{step.partition(':')[2] or 'read'}"
                shutil.rmtree(out, ignore_errors=True)
                proc = subprocess.run(
                    [sys.executable, "-c", SPEED_STEP, str(data), str(out), step],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[step].append(json.loads(proc.stdout.strip().splitlines()[-1]))
                print(
                    f"{size:,} {step} run {i + 1}: {runs[step][-1]['seconds']:.1f} s, "
                    f"{runs[step][-1]['peak_gib']:.2f} GiB",
                    file=sys.stderr,
                )
        read_s = statistics.median(r["seconds"] for r in runs["read"])
        for backend in args.backends:
            det = runs[f"detect:{backend}"]
            stage_names = [s["stage"] for s in det[0]["stages"]]
            median_s = statistics.median(r["seconds"] for r in det)
            results.append(
                {
                    "accounts": size,
                    "backend": backend,
                    "detect_median_s": median_s,
                    "detect_peak_gib": statistics.median(r["peak_gib"] for r in det),
                    "jvm_peak_gib": (
                        statistics.median(r["jvm_peak_gib"] for r in det)
                        if det[0]["jvm_peak_gib"] is not None
                        else None
                    ),
                    "read_median_s": read_s,
                    "ratio_to_read": median_s / read_s,
                    "stages": {
                        name: {
                            "median_s": statistics.median(r["stages"][k]["seconds"] for r in det),
                            "peak_gib_after": statistics.median(
                                r["stages"][k]["peak_rss_gib"] for r in det
                            ),
                        }
                        for k, name in enumerate(stage_names)
                    },
                }
            )
        if len(args.backends) > 1:
            results[-1]["parity"] = parity(
                args.out / f"result-{size}-{args.backends[0]}",
                args.out / f"result-{size}-{args.backends[-1]}",
            )
    for r in results:
        print(
            f"\n{r['accounts']:,} accounts, {r['backend']}: "
            f"detect {r['detect_median_s']:.1f} s median "
            f"({r['ratio_to_read']:.0f}x a full read of requests.parquet), "
            f"peak {r['detect_peak_gib']:.2f} GiB"
        )
        if "parity" in r:
            print(f"parity: {json.dumps(r['parity'])}")
        print("| stage | median s | peak GiB so far |\n|---|---|---|")
        for name, st in r["stages"].items():
            print(f"| {name} | {st['median_s']:.1f} | {st['peak_gib_after']:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_detection_speed.json").write_text(json.dumps(results, indent=2) + "\n")


def parity(a: Path, b: Path) -> dict:
    """How two results of the same input agree: flagged accounts, campaigns (by members),
    and the largest score difference."""
    acc = [
        pd.read_parquet(d / "accounts.parquet").set_index("account_id").sort_index() for d in (a, b)
    ]
    members = [
        {frozenset(g.index) for _, g in x[x.campaign_id.notna()].groupby("campaign_id")}
        for x in acc
    ]
    camps = [pd.read_parquet(d / "campaigns.parquet").set_index("campaign_id") for d in (a, b)]
    common = camps[0].index.intersection(camps[1].index)
    return {
        "same_flagged": bool((acc[0].flagged == acc[1].flagged).all()),
        "flagged": [int(x.flagged.sum()) for x in acc],
        "flagged_differ": int((acc[0].flagged != acc[1].flagged).sum()),
        "same_campaigns": members[0] == members[1],
        "campaigns": [len(c) for c in camps],
        "max_account_score_diff": float((acc[0].score - acc[1].score).abs().max()),
        "max_campaign_score_diff": float(
            (camps[0].score[common] - camps[1].score[common]).abs().max() if len(common) else 0.0
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    q.add_argument("--scenarios", nargs="+", default=["default", "hard", "adversarial"])
    q.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    q.add_argument("--baselines-upto", type=int, default=10_000)
    q.add_argument(
        "--backends",
        nargs="+",
        default=["duckdb"],
        choices=["duckdb", "spark"],
        help="the first is scored; each other one's result is compared with it (parity)",
    )
    s = sub.add_parser("speed")
    s.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    s.add_argument("--runs", type=int, default=3)
    s.add_argument("--backends", nargs="+", default=["duckdb"], choices=["duckdb", "spark"])
    for p in (q, s):
        p.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()
    quality(args) if args.what == "quality" else speed(args)


if __name__ == "__main__":
    main()
