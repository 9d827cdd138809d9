"""The ``linkage`` command line: simulate, ingest, detect, evaluate, export, and the demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from linkage.errors import LinkageError
from linkage.progress import console, progress_bar

app = typer.Typer(
    help="Find coordinated swarms of fraudulent accounts (Hydra campaigns) on AI API platforms.",
    no_args_is_help=True,
    add_completion=False,
)
export_app = typer.Typer(help="Export results for enforcement and sharing.", no_args_is_help=True)
app.add_typer(export_app, name="export")


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=2)


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the contract files and labels.")],
    accounts: Annotated[
        int | None, typer.Option(help="Total accounts (default: scenario's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, identical files.")] = 0,
    scenario: Annotated[
        str, typer.Option(help="default, hard, or a scenario .json file.")
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
    out: Annotated[Path, typer.Option("--out", help="Result directory for store and quarantine.")],
) -> None:
    """Validate and load a data directory into the embedded store; bad rows go to quarantine/."""
    from linkage.ingest import ingest as run_ingest

    try:
        with progress_bar() as progress:
            summary = run_ingest(data_dir, out, progress=progress)
    except LinkageError as exc:
        raise _fail(exc) from exc
    _print_ingest(summary.to_dict(), data_dir, out)


@app.command()
def detect(
    data_dir: Annotated[Path, typer.Argument(help="Directory with the contract tables.")],
    out: Annotated[Path, typer.Option("--out", help="Result directory.")],
    settings: Annotated[
        Path | None, typer.Option(help="Detection settings JSON (as in a result's settings.json).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the settings' seed.")] = None,
) -> None:
    """Find coordinated campaigns: accounts.parquet, campaigns.parquet, evidence, settings."""
    from linkage.detect import detect as run_detect
    from linkage.settings import DetectSettings

    try:
        s = DetectSettings.load(settings) if settings else DetectSettings()
        if seed is not None:
            s = DetectSettings.from_dict({**s.to_dict(), "seed": seed})
        with progress_bar() as progress:
            result = run_detect(data_dir, out, s, progress=progress)
    except LinkageError as exc:
        raise _fail(exc) from exc
    _print_stages(result.stages)
    _print_campaigns(out)
    console.print(
        f"{result.flagged:,} of {result.accounts:,} accounts flagged in {result.campaigns} "
        f"campaigns; results in {out}"
    )


@app.command()
def evaluate(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    labels: Annotated[Path, typer.Option(help="Ground-truth labels: .parquet, .csv or .jsonl.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="JSON report (default: in result dir).")
    ] = None,
    baselines: Annotated[bool, typer.Option(help="Also run the baselines.")] = True,
) -> None:
    """Precision, recall, F1, average precision and ARI, for the engine and the baselines."""
    from linkage.evaluate import evaluate as run_evaluate
    from linkage.evaluate import write_report

    try:
        report = run_evaluate(result_dir, labels, baselines=baselines)
    except LinkageError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"{result_dir}: {report['campaign_accounts']:,} campaign accounts")
    for col in ("method", "precision", "recall", "F1", "avg prec.", "ARI", "flagged", "false pos."):
        table.add_column(col, justify="left" if col == "method" else "right")
    for name, m in {"linkage": report["engine"], **report.get("baselines", {})}.items():
        table.add_row(
            name,
            *(f"{m[k]:.3f}" for k in ("precision", "recall", "f1", "average_precision", "ari")),
            f"{m['flagged']:,}",
            f"{m['false_positives']:,}",
        )
    console.print(table)
    path = output or result_dir / "evaluation.json"
    write_report(report, path)
    console.print(f"report: {path}")


@export_app.command("banlist")
def export_banlist(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File: .csv, .jsonl, .parquet.")],
) -> None:
    """One row per flagged account, strongest campaigns first."""
    from linkage.export import write_banlist

    try:
        n = write_banlist(result_dir, output)
    except LinkageError as exc:
        raise _fail(exc) from exc
    console.print(f"ban list: {n:,} accounts written to {output}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Working directory for the demo.")] = Path(
        "linkage-demo"
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """The main job on the embedded default: simulate, detect, show campaigns, write a ban list."""
    from linkage.detect import detect as run_detect
    from linkage.export import write_banlist
    from linkage.simulate import simulate as run_simulation

    data_dir, result_dir = out / "data", out / "result"
    with progress_bar() as progress:
        sim = run_simulation(data_dir, seed=seed, scenario="default", progress=progress)
        result = run_detect(data_dir, result_dir, progress=progress)
    _print_simulation(sim.to_dict(), data_dir)
    _print_stages(result.stages)
    _print_campaigns(result_dir)
    path = out / "banlist.csv"
    n = write_banlist(result_dir, path)
    console.print(f"{n:,} accounts flagged in {result.campaigns} campaigns")
    console.print(f"ban list written to {path}")


@app.command()
def serve(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    keys_file: Annotated[
        Path | None,
        typer.Option(help="API key file (JSON); default: $LINKAGE_API_KEYS_FILE / _API_KEYS."),
    ] = None,
) -> None:
    """Serve the investigator API and web page over a result, read-only (needs API keys)."""
    import logging

    import uvicorn
    from pydantic import ValidationError

    from api import Settings, create_app

    try:
        settings = Settings(result_dir=result_dir)
        if keys_file is not None:
            settings = settings.model_copy(update={"api_keys_file": keys_file})
        application = create_app(settings)
    except (LinkageError, ValidationError) as exc:
        raise _fail(exc) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    console.print(f"serving {result_dir} on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command("api-key")
def api_key(
    name: Annotated[str, typer.Argument(help="Who the key is for (logged, never the key).")],
    role: Annotated[str, typer.Option(help="investigator or admin.")] = "investigator",
) -> None:
    """Make an API key: prints the key once, and the entry for the key file (its hash)."""
    from api.security import ROLES, hash_key, new_key

    if role not in ROLES:
        raise _fail(LinkageError(f"role must be one of {', '.join(ROLES)}, got {role!r}"))
    key = new_key()
    entry = {"name": name, "role": role, "sha256": hash_key(key)}
    typer.echo(f"key (give it to {name}; it is not stored): {key}")
    typer.echo(f"key file entry: {json.dumps(entry)}")


def _table(title: str, columns: tuple[str, ...], left: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in left else "right")
    return table


def _print_ingest(data: dict[str, Any], data_dir: Path, out: Path) -> None:
    table = _table(
        f"ingest of {data_dir}", ("table", "file", "read", "kept", "quarantined"), ("table", "file")
    )
    quarantined = 0
    for name, t in data["tables"].items():
        quarantined += t["rows_quarantined"]
        table.add_row(
            name,
            t["file"],
            f"{t['rows_read']:,}",
            f"{t['rows_kept']:,}",
            f"{t['rows_quarantined']:,}",
        )
    console.print(table)
    console.print(f"store: {data['store']}")
    if quarantined:
        console.print(f"quarantined rows, with reasons: {out / 'quarantine'}")


def _print_stages(stages: list[dict[str, Any]]) -> None:
    table = _table("detection stages", ("stage", "seconds", "peak memory GiB"), ("stage",))
    for s in stages:
        table.add_row(s["stage"], f"{s['seconds']:.2f}", f"{s['peak_rss_gib']:.2f}")
    console.print(table)


def _print_campaigns(result_dir: Path, top: int = 10) -> None:
    import pandas as pd

    campaigns = pd.read_parquet(result_dir / "campaigns.parquet").head(top)
    table = _table(
        f"top campaigns in {result_dir}",
        ("campaign", "accounts", "score", "requests", "strongest reasons"),
        ("campaign", "strongest reasons"),
    )
    for c in campaigns.itertuples():
        table.add_row(
            c.campaign_id,
            f"{c.size:,}",
            f"{c.score:.3f}",
            f"{c.request_count:,}",
            "\n".join(list(c.reasons)[:3]),
        )
    console.print(table)


def _print_simulation(summary: dict[str, Any], out_dir: Path) -> None:
    table = _table(
        f"simulated {summary['scenario']['name']} scenario, seed {summary['seed']}",
        ("campaign", "accounts", "banned", "requests"),
        ("campaign",),
    )
    for c in summary["campaigns"]:
        table.add_row(
            c["campaign_id"] or "(legitimate)",
            f"{c['accounts']:,}",
            f"{c.get('banned', 0):,}",
            f"{c['requests']:,}",
        )
    console.print(table)
    console.print(f"wrote {json.dumps(summary['rows'])} to {out_dir}")
