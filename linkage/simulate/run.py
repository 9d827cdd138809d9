"""``simulate``: write a realistic platform's contract files plus ground-truth labels."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from linkage.contract import FORMATS
from linkage.progress import ProgressFn
from linkage.simulate.population import (
    DAY,
    KINDS,
    POPULATIONS,
    Population,
    build_population,
    epoch_seconds,
)
from linkage.simulate.scenario import Scenario, load_scenario
from linkage.simulate.tables import (
    accounts_table,
    identifiers_table,
    ip_intel_table,
    labels_table,
    payments_table,
)
from linkage.simulate.traffic import RequestGenerator
from linkage.simulate.world import World, hex_ids
from linkage.simulate.writer import TableWriter, write_table

__all__ = ["SimulationResult", "simulate"]

ACCOUNTS_PER_CHUNK = 40_000


@dataclass
class SimulationResult:
    """What a simulation wrote and the ground truth behind it."""

    out_dir: Path
    scenario: Scenario
    seed: int
    rows: dict[str, int]
    campaigns: list[dict[str, Any]]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.to_dict(),
            "seed": self.seed,
            "rows": self.rows,
            "campaigns": self.campaigns,
            **self.extra,
            "seconds": round(self.seconds, 2),
        }


def simulate(
    out_dir: str | Path,
    *,
    accounts: int | None = None,
    seed: int = 0,
    scenario: str | Path | Scenario = "default",
    fmt: str = "parquet",
    progress: ProgressFn | None = None,
) -> SimulationResult:
    """Simulate platform traffic with Hydra campaigns into ``out_dir``.

    Writes ``accounts``, ``requests``, ``payments``, ``ip_intel``,
    ``identifiers`` and ``labels`` in ``fmt`` (parquet, csv or jsonl) plus
    ``simulation.json``. The same ``seed`` and scenario give identical files.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if accounts is not None:
        sc = sc.with_accounts(accounts)
    began = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 1])
    world = World(rng=rng)
    pop = build_population(sc, world, rng)
    start = epoch_seconds(sc.start)
    end = start + sc.days * DAY
    rows = {
        "accounts": write_table(out, "accounts", fmt, accounts_table(pop)),
        "payments": write_table(
            out, "payments", fmt, payments_table(pop, start, np.random.default_rng([seed, 2]))
        ),
        "identifiers": write_table(out, "identifiers", fmt, identifiers_table(pop)),
        "ip_intel": write_table(out, "ip_intel", fmt, ip_intel_table(world)),
        "labels": write_table(out, "labels", fmt, labels_table(pop)),
    }
    gen = RequestGenerator(
        pop,
        sc,
        start,
        end,
        ip_pool=world.ip_pools.values(),
        dev_pool=world.dev_pools.values(),
        ip_text=pa.array(world.ip_text, pa.string()),
        dev_text=pa.array(world.device_text, pa.string()),
        key_text=pa.array(
            hex_ids(np.random.default_rng([seed, 3]), 2 * pop.n, "key_", 12), pa.string()
        ),
        seed=seed,
    )
    total = int(pop.n_req.sum())
    done = 0
    with TableWriter(out, "requests", fmt) as writer:
        for i, lo in enumerate(range(0, pop.n, ACCOUNTS_PER_CHUNK)):
            chunk = np.arange(lo, min(pop.n, lo + ACCOUNTS_PER_CHUNK))
            table = gen.generate(chunk, np.random.default_rng([seed, 100, i]))
            writer.write(table)
            done += table.num_rows
            if progress:
                progress("requests", done, total)
    rows["requests"] = writer.rows
    result = SimulationResult(
        out,
        sc,
        seed,
        rows,
        _campaign_truth(pop, sc),
        time.perf_counter() - began,
        {"populations": _population_truth(pop)},
    )
    (out / "simulation.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _campaign_truth(pop: Population, sc: Scenario) -> list[dict[str, Any]]:
    """Each campaign's true size (``regrowth``: replacement accounts after a mass ban)."""
    truth = []
    regrowth = pop.population == POPULATIONS.index("regrowth")
    for ci, (name, spec) in enumerate(zip(pop.campaign_names, sc.campaigns, strict=True)):
        sel = pop.campaign == ci
        truth.append(
            {
                "campaign_id": name,
                "kind": spec.kind,
                "accounts": int(sel.sum()),
                "banned": int((sel & pop.banned).sum()),
                "regrowth": int((sel & regrowth).sum()),
                "requests": int(pop.n_req[sel].sum()),
            }
        )
    legit = pop.kind != KINDS.index("campaign")
    truth.append(
        {"campaign_id": None, "accounts": int(legit.sum()), "requests": int(pop.n_req[legit].sum())}
    )
    return truth


def _population_truth(pop: Population) -> dict[str, dict[str, Any]]:
    """Accounts, requests and group sizes of every population present."""
    out: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(POPULATIONS):
        sel = pop.population == i
        if not sel.any():
            continue
        groups = pop.group_name[sel]
        named = groups[groups != None]  # noqa: E711 (object array)
        sizes: list[int] = (
            np.unique(named.astype(str), return_counts=True)[1].tolist() if len(named) else []
        )
        out[name] = {
            "accounts": int(sel.sum()),
            "requests": int(pop.n_req[sel].sum()),
            "groups": len(sizes),
            "group_sizes": sorted(sizes, reverse=True)[:50],
        }
    return out
