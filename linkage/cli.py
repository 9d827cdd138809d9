"""The ``linkage`` command line: simulate, ingest, and the end-to-end demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from linkage.errors import LinkageError
from linkage.progress import console, progress_bar

app = typer.Typer(
    help="Find coordinated swarms of fraudulent accounts (Hydra campaigns) on AI API platforms.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=2)


@app.command()
def simulate(
    out_dir: Annotated[
        Path, typer.Argument(help="Directory to write the contract files and labels to.")
    ],
    accounts: Annotated[
        int | None, typer.Option(help="Total accounts (default: the scenario's).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives identical files.")
    ] = 0,
    scenario: Annotated[
        str, typer.Option(help="Scenario name (default, hard) or a scenario .json file.")
    ] = "default",
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or jsonl.")] = "parquet",
) -> None:
    """Simulate platform traffic with Hydra campaigns, plus ground-truth labels."""
    from linkage.simulate import simulate as run_simulation

    try:
        with progress_bar() as progress:
            result = run_simulation(
                out_dir, accounts=accounts, seed=seed, scenario=scenario, fmt=fmt, progress=progress
            )
    except (LinkageError, ValueError) as exc:
        raise _fail(exc) from exc
    _print_simulation(result.to_dict(), out_dir)


@app.command()
def ingest(
    data_dir: Annotated[Path, typer.Argument(help="Directory with the contract tables.")],
    out: Annotated[
        Path, typer.Option("--out", help="Result directory for the store and quarantine.")
    ],
) -> None:
    """Validate and load a data directory into the embedded store; bad rows go to quarantine/."""
    summary = _run_ingest(data_dir, out)
    console.print(f"store: {out / 'linkage.duckdb'}")
    if summary["quarantined"]:
        console.print(f"quarantined rows: {out / 'quarantine'}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Working directory for the demo.")] = Path(
        "linkage-demo"
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The main job on the embedded default: simulate a small scenario, then ingest it."""
    from linkage.simulate import simulate as run_simulation

    data_dir = out / "data"
    result_dir = out / "result"
    with progress_bar() as progress:
        result = run_simulation(data_dir, seed=seed, scenario="default", progress=progress)
    _print_simulation(result.to_dict(), data_dir)
    _run_ingest(data_dir, result_dir)
    console.print(f"store: {result_dir / 'linkage.duckdb'}")


def _run_ingest(data_dir: Path, out: Path) -> dict[str, int]:
    from linkage.ingest import ingest as run_ingest

    try:
        with progress_bar() as progress:
            summary = run_ingest(data_dir, out, progress=progress)
    except LinkageError as exc:
        raise _fail(exc) from exc
    data = summary.to_dict()
    table = Table(title=f"ingest of {data_dir}")
    for col in ("table", "file", "read", "kept", "quarantined"):
        table.add_column(col, justify="right" if col in ("read", "kept", "quarantined") else "left")
    totals = {"read": 0, "kept": 0, "quarantined": 0}
    for name, t in data["tables"].items():
        table.add_row(
            name, Path(t["file"]).name, f"{t['read']:,}", f"{t['kept']:,}", f"{t['quarantined']:,}"
        )
        for k in totals:
            totals[k] += t[k]
    console.print(table)
    return totals


def _print_simulation(summary: dict, out_dir: Path) -> None:
    table = Table(title=f"simulated {summary['scenario']['name']} scenario, seed {summary['seed']}")
    for col in ("campaign", "accounts", "banned", "requests"):
        table.add_column(col, justify="left" if col == "campaign" else "right")
    for c in summary["campaigns"]:
        table.add_row(
            c["campaign_id"] or "(legitimate)",
            f"{c['accounts']:,}",
            f"{c.get('banned', 0):,}",
            f"{c['requests']:,}",
        )
    console.print(table)
    console.print(f"wrote {json.dumps(summary['rows'])} to {out_dir}")
