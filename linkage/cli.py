"""The ``linkage`` command line: simulate, ingest, detect, score, evaluate, export, and the
demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
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
neo4j_app = typer.Typer(
    help="Push results to Neo4j or write its import files.", no_args_is_help=True
)
app.add_typer(neo4j_app, name="neo4j")


StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        envvar="LINKAGE_STATE_DIR",
        help="State directory holding investigators' decisions (decisions.jsonl); "
        "default $LINKAGE_STATE_DIR.",
    ),
]


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(str(exc))}")
    return typer.Exit(code=2)


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the contract files and labels.")],
    accounts: Annotated[
        int | None, typer.Option(help="Total accounts (default: scenario's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, identical files.")] = 0,
    scenario: Annotated[
        str, typer.Option(help="default, hard, adversarial, or a scenario .json file.")
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
    data_dir: Annotated[
        str,
        typer.Argument(
            help="Directory with the contract tables (with --backend spark, also a URL "
            "Spark reads: s3a://, gs://, abfss://)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Result directory.")],
    settings: Annotated[
        Path | None, typer.Option(help="Detection settings JSON (as in a result's settings.json).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the settings' seed.")] = None,
    force: Annotated[
        bool, typer.Option(help="Write into a non-empty --out that is not a linkage result.")
    ] = False,
    previous: Annotated[
        Path | None,
        typer.Option(
            help="An earlier result (--out itself may be it): campaigns that go on keep "
            "their ids; lineage says new, continued, merged or split."
        ),
    ] = None,
    state: StateOption = None,
    backend: Annotated[
        str,
        typer.Option(
            envvar="LINKAGE_BACKEND",
            help="Where the evidence is built and communities found: duckdb (in process) or "
            "spark (local mode, or the session of spark-submit); default $LINKAGE_BACKEND.",
        ),
    ] = "duckdb",
) -> None:
    """Find coordinated campaigns: accounts.parquet, campaigns.parquet, evidence, settings.
    The result replaces --out whole once finished; an interrupted run leaves it as it was.
    With --state, investigators' decisions reach the campaigns they were made on (and,
    with --previous, the campaigns that continue them)."""
    from linkage.detect import detect as run_detect
    from linkage.review import DecisionLog
    from linkage.settings import DetectSettings

    try:
        s = DetectSettings.load(settings) if settings else DetectSettings()
        if seed is not None:
            s = DetectSettings.from_dict({**s.to_dict(), "seed": seed})
        with progress_bar() as progress:
            result = run_detect(
                data_dir,
                out,
                s,
                progress=progress,
                force=force,
                previous=previous,
                decisions=DecisionLog(state) if state is not None else None,
                backend=backend,
            )
    except LinkageError as exc:
        raise _fail(exc) from exc
    for text in result.warnings:
        console.print(f"[bold red]WARNING[/]: {escape(text)}")
    _print_stages(result.stages)
    _print_campaigns(out)
    console.print(
        f"{result.flagged:,} of {result.accounts:,} accounts flagged in {result.campaigns} "
        f"campaigns; results in {out}"
    )


@app.command()
def score(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    data_dir: Annotated[
        Path, typer.Argument(help="Contract input holding the accounts to score (and their rows).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="File: .csv, .jsonl, .parquet.")],
    all_accounts: Annotated[
        bool,
        typer.Option("--all", help="Score every account of DATA_DIR, those the result knows too."),
    ] = False,
    state: StateOption = None,
) -> None:
    """Score new accounts against the campaigns a result knows, without detecting again:
    campaign, score, flag and reasons per account. With --state, investigators'
    decisions apply, those made since the run included."""
    from linkage.export import write_scores
    from linkage.review import DecisionLog
    from linkage.score import score_new

    try:
        log = DecisionLog(state) if state is not None else None
        run = score_new(result_dir, data_dir, all_accounts=all_accounts, decisions=log)
        write_scores(run.table(), output)
    except LinkageError as exc:
        raise _fail(exc) from exc
    for text in run.warnings:
        console.print(f"[bold yellow]warning[/]: {escape(text)}")
    skipped = f" ({run.skipped_known:,} the result knows skipped)" if run.skipped_known else ""
    console.print(
        f"{len(run.rows):,} of {run.accounts:,} accounts scored{skipped}: {run.tied:,} tied to "
        f"a known campaign, {run.flagged:,} flagged; written to {escape(str(output))}"
    )


@app.command()
def decide(
    result_dir: Annotated[Path, typer.Argument(help="The result the decision is made on.")],
    target: Annotated[str, typer.Argument(help="campaign or account.")],
    target_id: Annotated[str, typer.Argument(metavar="ID", help="Campaign or account id.")],
    action: Annotated[
        str, typer.Argument(help="confirm, dismiss or watch (watch: campaigns only).")
    ],
    state: StateOption = None,
    note: Annotated[str, typer.Option(help="Why (kept with the decision).")] = "",
    by: Annotated[str | None, typer.Option(help="Who decides; default the login name.")] = None,
) -> None:
    """Record an investigator's decision in the state directory's append-only log. Later
    runs with --state apply it: a dismissed campaign is not flagged while its evidence of
    abuse stays as it was; a confirmed campaign's members are flagged."""
    import getpass

    from linkage.result import ResultDir
    from linkage.review import DecisionLog
    from linkage.review import decide as record

    try:
        if state is None:
            raise LinkageError("no state directory: pass --state DIR or set LINKAGE_STATE_DIR")
        decision = record(
            DecisionLog(state),
            ResultDir.open(result_dir),
            target,
            target_id,
            action,
            by=by or getpass.getuser(),
            note=note,
        )
    except LinkageError as exc:
        raise _fail(exc) from exc
    console.print(
        f"{escape(decision.action)} on {decision.target} {escape(decision.id)} recorded by "
        f"{escape(decision.by)} at {decision.at} in {escape(str(DecisionLog(state).path))}"
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
    """Precision, recall, F1, average precision and ARI (all accounts and campaign accounts
    only), for the engine and the baselines; per-campaign recall and purity; false
    positives per legitimate population when the labels have a ``population`` column."""
    from linkage.evaluate import evaluate as run_evaluate
    from linkage.evaluate import write_report

    try:
        report = run_evaluate(result_dir, labels, baselines=baselines)
    except LinkageError as exc:
        raise _fail(exc) from exc
    _print_evaluation(result_dir, report)
    path = output or result_dir / "evaluation.json"
    write_report(report, path)
    console.print(f"report: {path}")


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _print_evaluation(result_dir: Path, report: dict[str, Any]) -> None:
    """The headline figures per method, then the engine's per-campaign and per-population ones."""
    table = Table(title=f"{result_dir}: {report['campaign_accounts']:,} campaign accounts")
    cols = ("method", "precision", "recall", "F1", "avg prec.", "ARI", "ARI camp.", "flagged")
    for col in (*cols, "false pos."):
        table.add_column(col, justify="left" if col == "method" else "right")
    keys = ("precision", "recall", "f1", "average_precision", "ari", "ari_campaign_accounts")
    for name, m in {"linkage": report["engine"], **report.get("baselines", {})}.items():
        table.add_row(
            name, *(_fmt(m[k]) for k in keys), f"{m['flagged']:,}", f"{m['false_positives']:,}"
        )
    console.print(table)
    engine = report["engine"]
    camps = Table(title="linkage per true campaign (purity: share of the best-matching detection)")
    for col in ("campaign", "accounts", "recall", "detected as", "pieces", "purity"):
        camps.add_column(col, justify="left" if col in ("campaign", "detected as") else "right")
    for name, c in engine["campaigns"].items():
        camps.add_row(
            name,
            f"{c['accounts']:,}",
            _fmt(c["recall"]),
            c["detected_as"] or "-",
            str(c["pieces"]),
            _fmt(c["purity"]),
        )
    console.print(camps)
    if "false_positives_per_population" in engine:
        pops = Table(title="linkage false positives per legitimate population")
        for col in ("population", "accounts", "flagged"):
            pops.add_column(col, justify="left" if col == "population" else "right")
        for name, p in engine["false_positives_per_population"].items():
            pops.add_row(name, f"{p['accounts']:,}", f"{p['flagged']:,}")
        console.print(pops)


@export_app.command("banlist")
def export_banlist(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File: .csv, .jsonl, .parquet.")],
    since: Annotated[
        Path | None,
        typer.Option(help="Previous ban list (any format): also write FILE's .diff with changes."),
    ] = None,
    max_removed_share: Annotated[
        float | None,
        typer.Option(
            help="With --since: refuse, writing nothing, when the diff would remove more "
            "than this share (0 to 1) of the previous list. Default 0.2."
        ),
    ] = None,
    allow_mass_removal: Annotated[
        bool,
        typer.Option(help="With --since: write even when more than --max-removed-share goes."),
    ] = False,
) -> None:
    """One row per flagged account, strongest campaigns first, plus a manifest (and a diff)."""
    from linkage.export import MAX_REMOVED_SHARE, export_banlist

    try:
        done = export_banlist(
            result_dir,
            output,
            since=since,
            max_removed_share=MAX_REMOVED_SHARE if max_removed_share is None else max_removed_share,
            allow_mass_removal=allow_mass_removal,
        )
    except LinkageError as exc:
        raise _fail(exc) from exc
    console.print(f"ban list: {done.rows:,} accounts written to {output}")
    console.print(f"manifest: {done.manifest_path}")
    if done.diff_path is not None:
        console.print(
            f"since {since}: {done.added:,} added, {done.removed:,} removed, "
            f"{done.changed:,} changed ({done.removed_share:.1%} of the previous list "
            f"removed); diff: {done.diff_path}"
        )


@export_app.command("stix")
def export_stix(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The bundle, a .json file.")],
    campaign: Annotated[str | None, typer.Option(help="Only this campaign id.")] = None,
    min_score: Annotated[
        float | None, typer.Option(help="Only campaigns scoring at least this.")
    ] = None,
    tlp: Annotated[
        str, typer.Option(help="TLP 2.0 marking: clear, green, amber, amber+strict, red.")
    ] = "amber",
    include_accounts: Annotated[
        bool, typer.Option(help="Also export flagged account ids (user-account objects).")
    ] = False,
    producer: Annotated[str, typer.Option(help="Name of the producing identity.")] = "linkage",
    valid_days: Annotated[
        int, typer.Option(help="Indicators are valid this many days after last seen.")
    ] = 30,
) -> None:
    """STIX 2.1 bundle: campaigns, their infrastructure as indicators, TLP marking."""
    from linkage.export.stix import write_stix

    try:
        done = write_stix(
            result_dir,
            output,
            campaign=campaign,
            min_score=min_score,
            tlp=tlp,
            include_accounts=include_accounts,
            producer=producer,
            valid_days=valid_days,
        )
    except LinkageError as exc:
        raise _fail(exc) from exc
    console.print(
        f"STIX 2.1 bundle: {done.campaigns} campaigns, {done.indicators} indicators, "
        f"{done.notes} notes, {done.accounts} accounts ({done.objects} objects) "
        f"written to {output}"
    )


@export_app.command("graph")
def export_graph(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File: .graphml or .gexf.")],
    campaign: Annotated[
        str | None, typer.Option(help="Only this campaign (default: the whole result).")
    ] = None,
    max_nodes: Annotated[int, typer.Option(help="Node cap for --campaign.")] = 5000,
    max_edges: Annotated[int, typer.Option(help="LINKED edge cap for --campaign.")] = 50000,
) -> None:
    """GraphML or GEXF for Gephi: node types, relationship types and evidence as attributes."""
    from linkage.export.graph import write_graph_file

    try:
        with progress_bar() as progress:
            done = write_graph_file(
                result_dir,
                output,
                campaign=campaign,
                max_nodes=max_nodes,
                max_edges=max_edges,
                progress=progress,
            )
    except LinkageError as exc:
        raise _fail(exc) from exc
    console.print(f"{done.nodes:,} nodes and {done.edges:,} edges written to {output}")
    if done.truncated:
        console.print(f"capped: {done.sampling}")


@neo4j_app.command("push")
def neo4j_push(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    uri: Annotated[str, typer.Option(help="Bolt URI, e.g. bolt://localhost:7687.")],
    user: Annotated[str, typer.Option(help="User name.")] = "neo4j",
    database: Annotated[
        str | None, typer.Option(help="Database (default: the server's default).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Rows per UNWIND batch.")] = 2000,
) -> None:
    """MERGE the result's graph into a Neo4j-compatible server (idempotent). The password
    comes from the environment variable NEO4J_PASSWORD, else from a hidden prompt."""
    import os

    from linkage.export.neo4j import push_result

    password = os.environ.get("NEO4J_PASSWORD")
    if password is None:
        password = typer.prompt(f"password for {user} at {uri}", hide_input=True)
    try:
        with progress_bar() as progress:
            summary = push_result(
                result_dir,
                uri,
                user,
                password,
                database=database,
                batch_size=batch_size,
                progress=progress,
            )
    except LinkageError as exc:
        raise _fail(exc) from exc
    _print_push(summary.to_dict())


@neo4j_app.command("export")
def neo4j_export(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for the files.")],
) -> None:
    """CSV files for neo4j-admin import, constraints, a Browser style sheet, saved queries."""
    from linkage.export.neo4j import export_bulk

    try:
        with progress_bar() as progress:
            done = export_bulk(result_dir, output, progress=progress)
    except LinkageError as exc:
        raise _fail(exc) from exc
    console.print(
        f"{sum(done.nodes.values()):,} nodes and {sum(done.relationships.values()):,} "
        f"relationships in {len(done.files)} files under {output}; import with "
        f"{output / 'import.sh'}"
    )


@app.command()
def explore(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of `linkage detect`.")],
    port: Annotated[int | None, typer.Option(help="Bolt port (default: a free one).")] = None,
    root: Annotated[
        Path | None, typer.Option(help="Server directory (default: temporary, removed on exit).")
    ] = None,
) -> None:
    """Start a local Bolt server (ArcadeDB, extra `linkage[explore]`), load the result and
    wait for Neo4j Browser until Ctrl-C, SIGTERM or SIGHUP, which stop the server and
    remove its temporary folder. The password is NEO4J_PASSWORD or a random one."""
    import os
    import signal

    from linkage.export.neo4j import BoltServer, push_result

    # Ctrl-C, kill and a closed terminal all stop the server cleanly, even where the
    # parent process left SIGINT ignored (children inherit an ignored signal).
    stopping = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def interrupt(*_: Any) -> None:  # like Ctrl-C: unwind, stop Java, clean up; once
        for sig in stopping:
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in stopping}
    try:
        server = BoltServer(root, port=port, password=os.environ.get("NEO4J_PASSWORD"))
        console.print(f"starting the local Bolt server in {server.root_dir} ...")
        with server:
            with progress_bar() as progress:
                summary = push_result(
                    result_dir,
                    server.uri,
                    server.user,
                    server.password,
                    database=server.database,
                    progress=progress,
                )
            _print_push(summary.to_dict())
            shown = "(as in NEO4J_PASSWORD)" if "NEO4J_PASSWORD" in os.environ else server.password
            print(_explore_help(server, shown), flush=True)
            try:
                signal.pause()
            except KeyboardInterrupt:
                console.print("stopping the Bolt server ...")
    except KeyboardInterrupt:
        console.print("stopped before the server was ready")
    except LinkageError as exc:
        raise _fail(exc) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("stopped")


def _explore_help(server: Any, password: str) -> str:
    """How to connect: which Neo4j Browser works with this plain (no TLS) Bolt server."""
    from linkage.export.neo4j import style_command
    from linkage.schema import load_schema

    return (
        "Connect with a Neo4j Browser served over http:// (Neo4j Desktop's Browser, or a\n"
        "local Neo4j server's http://localhost:7474/browser/): it opens ws:// to this\n"
        "server. The hosted https://browser.neo4j.io cannot connect: an https page may\n"
        "only open wss://, and this Bolt server has no TLS. The Python driver and\n"
        "cypher-shell connect directly.\n"
        f"  URL:      {server.uri}\n"
        f"  user:     {server.user}\n"
        f"  password: {password}\n"
        f"  database: {server.database}\n"
        "then paste this style command:\n"
        f"{style_command(load_schema())}\n"
        "Press Ctrl-C to stop the server."
    )


def _print_push(summary: dict[str, Any]) -> None:
    table = _table(f"pushed to {summary['uri']}", ("label or type", "rows"), ("label or type",))
    for name, n in {**summary["nodes"], **summary["relationships"]}.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    console.print(
        f"{summary['constraints']} constraints, {sum(summary['nodes'].values()):,} nodes, "
        f"{sum(summary['relationships'].values()):,} relationships in {summary['seconds']:.1f} s"
    )


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
    workers: Annotated[
        int, typer.Option(help="Server processes; each loads the account graph.", min=1, max=16)
    ] = 1,
    state: StateOption = None,
) -> None:
    """Serve the investigator API and web page over a result, read-only (needs API keys)."""
    import os

    import uvicorn
    from pydantic import ValidationError

    from api import Settings, create_app
    from api.main import LOG_CONFIG

    try:
        settings = Settings(result_dir=result_dir.resolve())
        if keys_file is not None:
            settings = settings.model_copy(update={"api_keys_file": keys_file.resolve()})
        if state is not None:
            settings = settings.model_copy(update={"state_dir": state.resolve()})
        application = create_app(settings)
    except (LinkageError, ValidationError) as exc:
        raise _fail(exc) from exc
    console.print(
        f"serving {result_dir} on http://{host}:{port}/ (API docs at /docs), {workers} worker(s)"
    )
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_config=LOG_CONFIG, access_log=False)
        return
    application.state.investigation.close()  # each worker opens its own
    if not isinstance(application.state.scorer, str):
        application.state.scorer.close()
    os.environ["LINKAGE_RESULT_DIR"] = str(settings.result_dir)
    if settings.api_keys_file is not None:
        os.environ["LINKAGE_API_KEYS_FILE"] = str(settings.api_keys_file)
    if settings.state_dir is not None:
        os.environ["LINKAGE_STATE_DIR"] = str(settings.state_dir)
    uvicorn.run(
        "api.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=LOG_CONFIG,
        access_log=False,
    )


@app.command("api-key")
def api_key(
    name: Annotated[str, typer.Argument(help="Who the key is for (logged, never the key).")],
    role: Annotated[
        str,
        typer.Option(
            help="investigator, reviewer (may also decide), admin (may also decide and "
            "export), or scorer (POST /score only)."
        ),
    ] = "investigator",
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
        from linkage.result import ResultDir

        console.print(f"quarantined rows, with reasons: {ResultDir(out).quarantine_dir}")


def _print_stages(stages: list[dict[str, Any]]) -> None:
    table = _table("detection stages", ("stage", "seconds", "peak memory GiB"), ("stage",))
    for s in stages:
        table.add_row(s["stage"], f"{s['seconds']:.2f}", f"{s['peak_rss_gib']:.2f}")
    console.print(table)


def _print_campaigns(result_dir: Path, top: int = 10) -> None:
    from linkage.result import ResultDir

    campaigns = ResultDir.open(result_dir).read_campaigns().head(top)
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
