"""Benchmark: runs over time. Simulate a 45-day world, cut it at day 41 (what the
platform knew then), detect; then detect the whole 45 days with ``--previous`` the
day-41 result, with and without Leiden's warm start, and without ``--previous``.

Reports per run: the share of day-41 campaigns that continue (the day-45 campaign
holding most of their accounts holds at least half of them) and keep their id, the
Leiden stage's and the whole detect's time, and the day-45 quality (precision,
recall, ARI over campaign accounts) of each way.

    python benchmarks/bench_continuous.py [--seeds 0 1 2] [--sizes 10000]
        [--scenarios hard adversarial] [--cut-day 41] [--out bench-out]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from pathlib import Path

import pandas as pd

WAYS = ("cold", "previous", "warm")
"""``cold``: no ``--previous``; ``previous``: ids matched, Leiden from scratch;
``warm``: ids matched and Leiden warm-started from the previous campaigns."""


def kept_ids(before: Path, after: Path) -> tuple[int, int]:
    """(continuing campaigns of ``before``, those of them whose id ``after`` keeps)."""
    old = pd.read_parquet(before / "accounts.parquet").dropna(subset=["campaign_id"])
    new = pd.read_parquet(after / "accounts.parquet")[["account_id", "campaign_id"]]
    both = old.merge(new, on="account_id", how="left", suffixes=("", "_after"))
    going, kept = 0, 0
    for cid, group in both.groupby("campaign_id"):
        counts = group.campaign_id_after.value_counts()
        if len(counts) and counts.iloc[0] >= len(group) / 2:
            going += 1
            kept += int(counts.index[0] == cid)
    return going, kept


def run(args: argparse.Namespace) -> None:
    from linkage.detect import detect
    from linkage.evaluate import evaluate
    from linkage.settings import DetectSettings
    from linkage.simulate import simulate
    from linkage.simulate.cut import cut_until, day_start

    rows = []
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        for scenario in args.scenarios:
            for seed in args.seeds:
                base = args.out / f"{scenario}-{size}-{seed}"
                shutil.rmtree(base, ignore_errors=True)
                simulate(base / "data", seed=seed, scenario=scenario, accounts=size)
                cut_until(base / "data", base / "data41", day_start(base / "data", args.cut_day))
                detect(base / "data41", base / "r41")
                row: dict = {"scenario": scenario, "accounts": size, "seed": seed}
                for way in WAYS:
                    s = DetectSettings()
                    if way == "previous":
                        s = dataclasses.replace(s, warm_start=False)
                    previous = None if way == "cold" else base / "r41"
                    result = detect(base / "data", base / f"r45-{way}", s, previous=previous)
                    going, kept = kept_ids(base / "r41", base / f"r45-{way}")
                    engine = evaluate(
                        base / f"r45-{way}", base / "data" / "labels.parquet", baselines=False
                    )["engine"]
                    leiden = next(x for x in result.stages if x["stage"] == "leiden")
                    row |= {
                        f"{way}_kept": kept / going if going else None,
                        f"{way}_continuing": going,
                        f"{way}_leiden_s": round(leiden["seconds"], 2),
                        f"{way}_detect_s": round(sum(x["seconds"] for x in result.stages), 1),
                        f"{way}_precision": engine["precision"],
                        f"{way}_recall": engine["recall"],
                        f"{way}_ari": engine["ari_campaign_accounts"],
                    }
                rows.append(row)
                print(row, file=sys.stderr)
                shutil.rmtree(base, ignore_errors=True)
                pd.DataFrame(rows).to_json(
                    args.out / "bench_continuous.json", orient="records", indent=2
                )
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    p.add_argument("--scenarios", nargs="+", default=["hard", "adversarial"])
    p.add_argument("--cut-day", type=int, default=41)
    p.add_argument("--out", type=Path, default=Path("bench-out"))
    run(p.parse_args())


if __name__ == "__main__":
    main()
