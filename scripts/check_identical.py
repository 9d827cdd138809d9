"""Prove that a change leaves detection results unchanged.

Simulates the ``default`` and ``hard`` scenarios at seeds 0-3 (cached by
scenario and seed), runs ``detect`` on each and keeps the four result files
whose content must not move: ``accounts``, ``campaigns``, ``edges`` and
``evidence``. ``save`` stores them as a reference; ``compare`` runs the current
code and compares every file with the reference, column by column and row by
row, and exits 1 on any difference.

    python scripts/check_identical.py save REF_DIR [--work DIR]
    python scripts/check_identical.py compare REF_DIR [--work DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq

FILES = ("accounts", "campaigns", "edges", "evidence")
RUNS = [(scenario, seed) for scenario in ("default", "hard") for seed in range(4)]


def _run(work: Path, scenario: str, seed: int) -> Path:
    from linkage.detect import detect
    from linkage.simulate import simulate

    data = work / "data" / f"{scenario}-{seed}"
    if not (data / "simulation.json").exists():
        shutil.rmtree(data, ignore_errors=True)
        simulate(data, seed=seed, scenario=scenario)
    out = work / "result" / f"{scenario}-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    detect(data, out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["save", "compare"])
    parser.add_argument("ref", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/linkage-identical"))
    args = parser.parse_args()
    differences = 0
    for scenario, seed in RUNS:
        out = _run(args.work, scenario, seed)
        ref = args.ref / f"{scenario}-{seed}"
        ref.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            got = out / f"{name}.parquet"
            if args.mode == "save":
                shutil.copy(got, ref / got.name)
                continue
            same = pq.read_table(got).equals(pq.read_table(ref / got.name))
            differences += not same
            print(f"{scenario} seed {seed} {name}: {'identical' if same else 'DIFFERENT'}")
    if args.mode == "save":
        print(f"reference saved in {args.ref}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
