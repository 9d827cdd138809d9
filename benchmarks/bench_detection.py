"""Benchmark: detection quality (engine vs baselines) and detection speed.

Quality: for each scenario and seed, simulate, detect and evaluate against the
labels, with the three baselines on the same data in the same run; also counts
flagged accounts of simulated company teams and campuses (which must be 0).
Speed: detect at the given sizes, several runs each in a fresh subprocess;
median wall time and peak memory per stage, and the ratio of the whole detect
to a baseline measured in the same session (reading ``requests.parquet`` whole
with pyarrow).

    python benchmarks/bench_detection.py quality [--seeds 0 .. 7] [--sizes 10000 100000]
        [--scenarios default hard adversarial] [--baselines-upto 10000]
    python benchmarks/bench_detection.py speed [--sizes 100000 1000000] [--runs 3]
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
if step == "detect":
    from linkage.detect import detect
    stages = detect(data, out).stages
else:
    import pyarrow.parquet as pq
    pq.read_table(data / "requests.parquet")
    stages = []
print(json.dumps({"seconds": time.perf_counter() - t, "stages": stages,
                  "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
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
                detect(base / "data", base / "result")
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
                            **(extra if method == "linkage" else {}),
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
        data, out = args.out / f"data-{size}", args.out / f"result-{size}"
        if not (data / "requests.parquet").exists():
            simulate(data, accounts=size, seed=1)
        runs: dict[str, list[dict]] = {"detect": [], "read": []}
        for i in range(args.runs):
            for step in ("read", "detect"):
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
        det = runs["detect"]
        stage_names = [s["stage"] for s in det[0]["stages"]]
        results.append(
            {
                "accounts": size,
                "detect_median_s": statistics.median(r["seconds"] for r in det),
                "detect_peak_gib": statistics.median(r["peak_gib"] for r in det),
                "read_median_s": statistics.median(r["seconds"] for r in runs["read"]),
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
        r = results[-1]
        r["ratio_to_read"] = r["detect_median_s"] / r["read_median_s"]
    for r in results:
        print(
            f"\n{r['accounts']:,} accounts: detect {r['detect_median_s']:.1f} s median "
            f"({r['ratio_to_read']:.0f}x a full read of requests.parquet), "
            f"peak {r['detect_peak_gib']:.2f} GiB"
        )
        print("| stage | median s | peak GiB so far |\n|---|---|---|")
        for name, st in r["stages"].items():
            print(f"| {name} | {st['median_s']:.1f} | {st['peak_gib_after']:.2f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_detection_speed.json").write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    q.add_argument("--scenarios", nargs="+", default=["default", "hard", "adversarial"])
    q.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    q.add_argument("--baselines-upto", type=int, default=10_000)
    s = sub.add_parser("speed")
    s.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    s.add_argument("--runs", type=int, default=3)
    for p in (q, s):
        p.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()
    quality(args) if args.what == "quality" else speed(args)


if __name__ == "__main__":
    main()
