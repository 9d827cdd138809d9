"""Prove that a change leaves detection results unchanged.

Simulates the ``default`` and ``hard`` scenarios at seeds 0-3 (or the
``--scenarios``, ``--seeds`` and ``--accounts`` given; cached by scenario, size
and seed), runs ``detect`` on each and keeps the four result files whose
content must not move: ``accounts``, ``campaigns``, ``edges`` and
``evidence``. ``save`` stores them as a reference; ``compare`` runs the current
code and compares every file with the reference, column by column and row by
row, and exits 1 on any difference.

    python scripts/check_identical.py save REF_DIR [--work DIR]
    python scripts/check_identical.py compare REF_DIR [--work DIR]
        [--scenarios default hard adversarial] [--seeds 0 3] [--accounts 100000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq

FILES = ("accounts", "campaigns", "edges", "evidence")


def _name(scenario: str, seed: int, accounts: int | None) -> str:
    """The run's directory name; the scenario's own size keeps the old names."""
    return f"{scenario}-{seed}" if accounts is None else f"{scenario}-{accounts}-{seed}"


def _run(work: Path, scenario: str, seed: int, accounts: int | None) -> Path:
    from linkage.detect import detect
    from linkage.simulate import simulate

    name = _name(scenario, seed, accounts)
    data = work / "data" / name
    if not (data / "simulation.json").exists():
        shutil.rmtree(data, ignore_errors=True)
        simulate(data, seed=seed, scenario=scenario, accounts=accounts)
    out = work / "result" / name
    shutil.rmtree(out, ignore_errors=True)
    detect(data, out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["save", "compare"])
    parser.add_argument("ref", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/linkage-identical"))
    parser.add_argument("--scenarios", nargs="+", default=["default", "hard"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--accounts", type=int, default=None, help="default: the scenario's")
    args = parser.parse_args()
    differences = 0
    for scenario in args.scenarios:
        for seed in args.seeds:
            differences += _check(args, scenario, seed)
    if args.mode == "save":
        print(f"reference saved in {args.ref}")
    return 1 if differences else 0


def _check(args: argparse.Namespace, scenario: str, seed: int) -> int:
    """Save or compare one run; the number of files that differ."""
    out = _run(args.work, scenario, seed, args.accounts)
    ref = args.ref / _name(scenario, seed, args.accounts)
    ref.mkdir(parents=True, exist_ok=True)
    differences = 0
    for name in FILES:
        got = out / f"{name}.parquet"
        if args.mode == "save":
            shutil.copy(got, ref / got.name)
            continue
        same = pq.read_table(got).equals(pq.read_table(ref / got.name))
        differences += not same
        size = "" if args.accounts is None else f" {args.accounts:,}"
        print(f"{scenario}{size} seed {seed} {name}: {'identical' if same else 'DIFFERENT'}")
    return differences


if __name__ == "__main__":
    sys.exit(main())
