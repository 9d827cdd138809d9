"""Benchmark: export speed (ban list, STIX, GraphML, neo4j-admin files, Bolt push).

Simulates and detects one result, then times each export several times; figures
are medians, each also given as a ratio to a baseline measured in the same run on
the same result: one full scan of every node and relationship set of the property
graph (``ResultGraph``), the reading every graph export starts from. The Bolt push
runs against the local ArcadeDB server (extra ``linkage[explore]``) at two batch
sizes, each push into a freshly started server. Not a test: run it by hand.

    python benchmarks/bench_exports.py [--accounts 1500] [--runs 3] [--out bench-exports]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from linkage import detect, simulate
from linkage.export import export_banlist
from linkage.export.graph import write_graph_file
from linkage.export.neo4j import BoltServer, export_bulk, push_result
from linkage.export.property_graph import ResultGraph
from linkage.export.stix import write_stix


def scan(result: Path) -> int:
    rows = 0
    with ResultGraph(result) as g:
        for part in [*g.nodes, *g.relationships]:
            for batch in g.batches(part):
                rows += batch.num_rows
    return rows


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-exports"))
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    data, result, files = args.out / "data", args.out / "result", args.out / "files"
    simulate(data, accounts=args.accounts, seed=1)
    detect(data, result)
    rows = scan(result)
    base = timed(lambda: scan(result), args.runs)
    steps: dict[str, Callable[[], object]] = {
        "banlist csv + manifest": lambda: export_banlist(result, files / "ban.csv"),
        "banlist csv --since": lambda: export_banlist(
            result, files / "ban2.csv", since=files / "ban.csv"
        ),
        "stix bundle": lambda: write_stix(result, files / "bundle.json"),
        "graphml, whole result": lambda: write_graph_file(result, files / "g.graphml"),
        "neo4j-admin files": lambda: export_bulk(result, files / "neo4j"),
    }
    out: dict[str, dict[str, float]] = {"graph scan (baseline)": {"seconds": base, "ratio": 1.0}}
    for name, fn in steps.items():
        s = timed(fn, args.runs)
        out[name] = {"seconds": s, "ratio": s / base}
    for batch in (200, 2000):  # each push into a fresh server: MERGE creates everything
        times = []
        for _ in range(args.runs):
            with BoltServer() as server:
                t = time.perf_counter()
                push_result(
                    result,
                    server.uri,
                    server.user,
                    server.password,
                    database=server.database,
                    batch_size=batch,
                )
                times.append(time.perf_counter() - t)
        s = statistics.median(times)
        out[f"bolt push, batch {batch} (ArcadeDB)"] = {"seconds": s, "ratio": s / base}
    print(json.dumps({"accounts": args.accounts, "graph_rows": rows, "runs": args.runs}))
    width = max(len(k) for k in out)
    for name, m in out.items():
        print(f"{name:<{width}}  {m['seconds']:8.3f} s  {m['ratio']:8.1f}x")


if __name__ == "__main__":
    main()
