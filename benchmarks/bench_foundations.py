"""Benchmark: simulate and ingest time and peak memory at 100k and 1M accounts.

Each measured step runs in a fresh subprocess (so peak RSS is that step's own),
several times; figures are medians, and each is also given as a ratio to a
baseline measured in the same session on the same files: reading the whole
``requests.parquet`` with pyarrow. Not a test: run it by hand or ``make bench``.

    python benchmarks/bench_foundations.py [--sizes 100000 1000000] [--runs 3] [--out bench-out]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

STEP = r"""
import json, resource, sys, time
from pathlib import Path
step, size, data, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
t = time.perf_counter()
if step == "simulate":
    from linkage.simulate import simulate
    rows = simulate(data, accounts=size, seed=1).rows["requests"]
elif step == "ingest":
    from linkage.ingest import ingest
    rows = ingest(data, out).to_dict()["tables"]["requests"]["rows_kept"]
else:  # baseline: read the requests file whole with pyarrow
    import pyarrow.parquet as pq
    rows = pq.read_table(data / "requests.parquet").num_rows
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "rows": rows}))
"""


def run_step(step: str, size: int, data: Path, out: Path) -> dict:
    if step == "ingest" and out.exists():
        shutil.rmtree(out)
    proc = subprocess.run(
        [sys.executable, "-c", STEP, step, str(size), str(data), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        data, out = args.out / f"data-{size}", args.out / f"result-{size}"
        row: dict = {"accounts": size}
        for step in ("simulate", "baseline", "ingest"):
            runs = []
            for i in range(args.runs):
                began = time.perf_counter()
                runs.append(run_step(step, size, data, out))
                print(
                    f"{size:>9,} accounts  {step:<8} run {i + 1}/{args.runs}: "
                    f"{runs[-1]['seconds']:.1f} s, {runs[-1]['peak_bytes'] / 2**30:.2f} GiB "
                    f"(wall {time.perf_counter() - began:.1f} s)",
                    file=sys.stderr,
                )
            row[step] = {
                "median_s": statistics.median(r["seconds"] for r in runs),
                "median_peak_gib": statistics.median(r["peak_bytes"] for r in runs) / 2**30,
                "rows": runs[-1]["rows"],
                "runs_s": [round(r["seconds"], 2) for r in runs],
            }
        base = row["baseline"]["median_s"]
        for step in ("simulate", "ingest"):
            row[step]["ratio_to_baseline"] = row[step]["median_s"] / base
        results.append(row)
    print("| accounts | requests | step | median s | x baseline read | median peak GiB |")
    print("|---|---|---|---|---|---|")
    for row in results:
        for step in ("simulate", "ingest", "baseline"):
            r = row[step]
            ratio = f"{r['ratio_to_baseline']:.1f}" if "ratio_to_baseline" in r else "1.0"
            print(
                f"| {row['accounts']:,} | {row['simulate']['rows']:,} | {step} | "
                f"{r['median_s']:.1f} | {ratio} | {r['median_peak_gib']:.2f} |"
            )
    (args.out / "bench_foundations.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
