"""Benchmark: scoring new accounts against a result (``linkage score``). Simulate a
45-day world, cut it at day 41 (what the platform knew then), detect, and score the
accounts created since (their rows only) against the day-41 result.

Reports per world: new accounts of a campaign (and of them the ``regrowth``
population: replacements after bans) attributed to their true campaign (the label
most of the detected campaign's members carry) and flagged; new legitimate accounts
flagged; the index's rows; the time to load the index, to score the new accounts,
and to score ``--timing-accounts`` accounts of the world (a data directory of them
alone, with ``--all``).

    python benchmarks/bench_score.py [--seeds 0 1 2] [--sizes 10000] [--scenario hard]
        [--cut-day 41] [--timing-accounts 10000] [--out bench-out] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

TABLES = ("accounts", "requests", "payments", "identifiers")


def true_campaigns(data: Path, result: Path) -> pd.Series:
    """Each detected campaign's true campaign: the label most of its members carry."""
    labels = pd.read_parquet(data / "labels.parquet")
    members = pd.read_parquet(result / "accounts.parquet").dropna(subset=["campaign_id"])
    both = members.merge(labels, on="account_id", suffixes=("", "_true"))
    return both.groupby("campaign_id").campaign_id_true.agg(
        lambda s: s.mode().iloc[0] if s.notna().any() else None
    )


def subset(data: Path, out: Path, n: int, seed: int) -> Path:
    """A data directory of ``n`` accounts of ``data`` drawn at random, with their rows."""
    out.mkdir(parents=True, exist_ok=True)
    accounts = pd.read_parquet(data / "accounts.parquet")
    accounts = accounts.sample(min(n, len(accounts)), random_state=seed)
    keep = set(accounts.account_id)
    accounts.to_parquet(out / "accounts.parquet", index=False)
    for name in TABLES[1:]:
        if (data / f"{name}.parquet").exists():
            df = pd.read_parquet(data / f"{name}.parquet")
            df[df.account_id.isin(keep)].to_parquet(out / f"{name}.parquet", index=False)
    return out


def quality(base: Path, run_rows: pd.DataFrame) -> dict:
    labels = pd.read_parquet(base / "data" / "labels.parquet")
    rows = run_rows.merge(labels, on="account_id", suffixes=("", "_true"))
    rows["found"] = rows.campaign_id.map(true_campaigns(base / "data", base / "r41"))
    fraud = rows[rows.campaign_id_true.notna()]
    regrowth = rows[rows.population == "regrowth"]
    legit = rows[rows.campaign_id_true.isna()]
    right = fraud.found == fraud.campaign_id_true
    return {
        "new_accounts": len(rows),
        "new_campaign_accounts": len(fraud),
        "attributed": round(float(right.mean()), 4) if len(fraud) else None,
        "flagged_campaign": round(float(fraud.flagged.mean()), 4) if len(fraud) else None,
        "new_regrowth": len(regrowth),
        "regrowth_attributed": round(float((regrowth.found == regrowth.campaign_id_true).mean()), 4)
        if len(regrowth)
        else None,
        "new_legit": len(legit),
        "legit_flagged": int(legit.flagged.sum()),
        "legit_flagged_share": round(float(legit.flagged.mean()), 5) if len(legit) else None,
    }


def run(args: argparse.Namespace) -> None:
    from linkage.detect import detect
    from linkage.result import INDEX_TABLE, ResultDir
    from linkage.score import Scorer
    from linkage.simulate import simulate
    from linkage.simulate.cut import cut_until, day_start, new_since

    rows = []
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        for seed in args.seeds:
            base = args.out / f"{args.scenario}-{size}-{seed}"
            shutil.rmtree(base, ignore_errors=True)
            simulate(base / "data", seed=seed, scenario=args.scenario, accounts=size)
            cut = day_start(base / "data", args.cut_day)
            cut_until(base / "data", base / "data41", cut)
            new_since(base / "data", base / "new", cut)
            result = detect(base / "data41", base / "r41")
            store = next(s for s in result.stages if s["stage"] == "graph store")
            with ResultDir.open(base / "r41").connect((INDEX_TABLE,)) as con:
                index_rows = con.execute(f"SELECT count(*) FROM {INDEX_TABLE}").fetchone()
            t0 = time.perf_counter()
            scorer = Scorer.open(base / "r41")
            t1 = time.perf_counter()
            new = scorer.score_data_dir(base / "new")
            t2 = time.perf_counter()
            sample = subset(base / "data", base / "sample", args.timing_accounts, seed)
            t3 = time.perf_counter()
            timed = scorer.score_data_dir(sample, all_accounts=True)
            t4 = time.perf_counter()
            scorer.close()
            row = {
                "scenario": args.scenario,
                "accounts": size,
                "seed": seed,
                **quality(base, new.rows),
                "index_rows": index_rows[0] if index_rows else 0,
                "graph_store_s": round(store["seconds"], 2),
                "load_index_s": round(t1 - t0, 3),
                "score_new_s": round(t2 - t1, 2),
                "timing_accounts": len(timed.rows),
                "score_timing_s": round(t4 - t3, 2),
            }
            rows.append(row)
            print(row, file=sys.stderr)
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
            pd.DataFrame(rows).to_json(args.out / "bench_score.json", orient="records", indent=2)
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    p.add_argument("--scenario", default="hard")
    p.add_argument("--cut-day", type=int, default=41)
    p.add_argument("--timing-accounts", type=int, default=10_000)
    p.add_argument("--out", type=Path, default=Path("bench-out"))
    p.add_argument("--keep", action="store_true", help="Keep each world's files.")
    run(p.parse_args())


if __name__ == "__main__":
    main()
