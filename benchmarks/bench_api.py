"""Latency and throughput of the investigator service on a real result.

Starts `linkage serve RESULT_DIR` (uvicorn, one process) on loopback, then drives it
with N concurrent clients (threads, each with its own keep-alive connection) over a
fixed, seeded mix of look-ups: campaign detail, account ("why linked"), entity and
a 2-hop neighbourhood capped at 500 nodes; plus `/health` in the same run as the
baseline (what the server costs for a request that reads nothing). With ``--score
DATA_DIR`` the mix is `POST /score` of accounts of DATA_DIR (their sign-up record and
up to 500 of their requests, their payments and identifiers) and `/health`. Repeats the run
and reports, per look-up kind, the median over runs of p50 / p99 latency, the
requests per second and the errors, as JSON.

    python benchmarks/bench_api.py RESULT_DIR [--clients 8] [--workers 1] [--requests 400]
        [--runs 3] [--seconds S] [--score DATA_DIR]

With ``--seconds`` each run is a soak: every client cycles through its share of
the look-ups until ``S`` seconds have passed. Each run also reports the resident
memory of every server process (the uvicorn parent and its workers) at its end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pandas as pd

from linkage import open_result

KEY = "bench-" + "k" * 26
KINDS = ("health", "campaign", "account", "entity", "neighborhood")
SCORE_KINDS = ("health", "score")
Item = tuple[str, str, bytes | None]
"""A request: its kind, its URL and its JSON body (``None``: a GET)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(result_dir: Path, port: int, log: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LINKAGE_API_KEYS": f"bench:investigator:{KEY}"}
    cmd = [sys.executable, "-c", "from linkage.cli import app; app()", "serve", str(result_dir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not start in 10 minutes")


def workload(result_dir: Path, n: int, seed: int) -> list[Item]:
    """Look-ups, ``n`` per kind, drawn with ``seed`` from the result."""
    rng = random.Random(seed)
    q = urllib.parse.quote
    with open_result(result_dir) as inv:
        campaigns, _ = inv.campaigns(limit=1000)
        cids = [c["campaign_id"] for c in campaigns]
        members: list[str] = []
        for cid in cids[:20]:
            rows, _ = inv.campaign_members(cid, limit=200)
            members += [r["account_id"] for r in rows]
        accounts = inv.banlist().account_id.tolist()
        pool = sorted(set(members)) or accounts
        entities: list[tuple[str, str]] = []
        for aid in rng.sample(pool, min(40, len(pool))):
            for e in inv.account(aid, max_links=1, max_entities=20)["entities"]:
                if e["entity_type"] in ("ip", "prefix", "device", "card", "bin", "email_domain"):
                    entities.append((e["entity_type"], e["entity"]))
    everyone = pool + accounts
    urls: list[tuple[str, str]] = []
    for _ in range(n):
        urls.append(("health", "/health"))
        urls.append(("campaign", f"/campaigns/{q(rng.choice(cids), safe='')}"))
        urls.append(("account", f"/accounts/{q(rng.choice(everyone), safe='')}"))
        etype, value = rng.choice(entities)
        urls.append(("entity", f"/entities/{etype}/{q(value, safe='/')}"))
        urls.append(
            (
                "neighborhood",
                f"/accounts/{q(rng.choice(pool), safe='')}/neighborhood?hops=2&max_nodes=500",
            )
        )
    rng.shuffle(urls)
    return [(kind, url, None) for kind, url in urls]


def score_workload(data_dir: Path, n: int, seed: int) -> list[Item]:
    """``n`` `POST /score` bodies of accounts of ``data_dir`` drawn with ``seed``, and
    ``n`` `/health`."""
    everyone = pd.read_parquet(data_dir / "accounts.parquet", columns=["account_id"])
    ids = everyone.account_id.sample(n, replace=True, random_state=seed)
    wanted = [("account_id", "in", sorted(set(ids)))]  # only their rows: 1M worlds fit
    tables = {t: pd.read_parquet(data_dir / f"{t}.parquet", filters=wanted) for t in _SCORED}
    grouped = {t: dict(tuple(df.groupby("account_id"))) for t, df in tables.items()}
    items: list[Item] = [("health", "/health", None)] * n
    for aid in ids:
        body: dict[str, Any] = {}
        for table, columns in _SCORED.items():
            rows = _records(grouped[table].get(aid), columns)
            if table == "accounts":
                body.update(account_id=aid, **rows[0])
            else:
                body[table] = rows[:500]
        items.append(("score", "/score", json.dumps(body).encode()))
    random.Random(seed).shuffle(items)
    return items


_SCORED = {
    "accounts": ["created_at", "email_domain", "country", "status", "banned_at"],
    "requests": ["ts", "ip", "device_fp", "api_key_id", "user_agent", "prompt_text"],
    "payments": ["ts", "instrument_fp", "bin", "card_country", "amount_usd"],
    "identifiers": ["kind", "value", "ts"],
}


def _records(df: pd.DataFrame | None, columns: list[str]) -> list[dict[str, Any]]:
    if df is None:
        return []
    df = df[[c for c in columns if c in df]].copy()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.DatetimeTZDtype):
            df[c] = df[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    df = df.astype(object)
    return df.where(df.notna(), None).to_dict(orient="records")


def server_rss_mib(proc: subprocess.Popen[bytes]) -> list[float]:
    """Resident memory (MiB) of the server process and each of its children."""
    pids = [proc.pid]
    kids = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True
    ).stdout.split()
    pids += [int(k) for k in kids]
    out = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        out.append(round(kb / 1024, 1))
    return out


def drive(
    port: int, urls: list[Item], clients: int, seconds: float | None = None
) -> dict[str, Any]:
    """Send ``urls`` from ``clients`` threads (cycling until ``seconds`` have passed when
    given); latencies in ms per kind, errors, rps."""
    kinds = sorted({kind for kind, _, _ in urls})
    lat: dict[str, list[float]] = {k: [] for k in kinds}
    errors: dict[str, int] = dict.fromkeys(kinds, 0)
    lock = threading.Lock()
    chunks = [urls[i::clients] for i in range(clients)]
    sizes: list[int] = []
    deadline = time.perf_counter() + seconds if seconds else None

    def requests(mine: list[Item]) -> Any:
        while True:
            for item in mine:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                yield item
            if deadline is None:
                return

    def client(mine: list[Item]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
        for kind, url, body in requests(mine):
            began = time.perf_counter()
            try:
                conn.request("GET" if body is None else "POST", url, body=body, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ok, body = False, b""
            ms = (time.perf_counter() - began) * 1000
            with lock:
                lat[kind].append(ms)
                sizes.append(len(body))
                if not ok:
                    errors[kind] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    sent = sum(len(v) for v in lat.values())
    out: dict[str, Any] = {"wall_s": wall, "rps": sent / wall, "kinds": {}}
    for kind in kinds:
        xs = sorted(lat[kind])
        out["kinds"][kind] = {
            "requests": len(xs),
            "errors": errors[kind],
            "p50_ms": _pct(xs, 50),
            "p99_ms": _pct(xs, 99),
            "max_ms": xs[-1] if xs else None,
        }
    out["mean_response_bytes"] = statistics.fmean(sizes) if sizes else 0
    return out


def _pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, round(p / 100 * len(xs) + 0.5) - 1))
    return xs[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result_dir", type=Path)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--requests", type=int, default=400, help="per look-up kind and run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, help="soak: each run lasts this long")
    ap.add_argument("-o", "--output", type=Path, help="also write the JSON here")
    ap.add_argument("--score", type=Path, help="DATA_DIR: drive POST /score with its accounts")
    args = ap.parse_args()
    kinds = SCORE_KINDS if args.score else KINDS

    def load(seed: int) -> list[Item]:
        if args.score:
            return score_workload(args.score, args.requests, seed)
        return workload(args.result_dir, args.requests, seed)

    port = free_port()
    log = Path(args.output or "bench_api").with_suffix(".server.log")
    started = time.perf_counter()
    proc = start_server(args.result_dir, port, log, args.workers)
    startup = time.perf_counter() - started
    try:
        urls = load(args.seed)
        drive(port, urls[: 10 * len(kinds)], args.clients)  # warm-up
        runs = []
        for r in range(args.runs):
            urls = load(args.seed + r)
            runs.append(drive(port, urls, args.clients, args.seconds))
            runs[-1]["server_rss_mib"] = server_rss_mib(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    summary: dict[str, Any] = {
        "result_dir": str(args.result_dir),
        "clients": args.clients,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "requests_per_kind_per_run": args.requests,
        "runs": args.runs,
        "seconds_per_run": args.seconds,
        "server_rss_mib_at_end": runs[-1]["server_rss_mib"],
        "server_start_s": round(startup, 2),
        "rps_median": round(statistics.median(r["rps"] for r in runs), 1),
        "kinds": {},
    }
    for kind in kinds:
        p50 = statistics.median(r["kinds"][kind]["p50_ms"] for r in runs)
        p99 = statistics.median(r["kinds"][kind]["p99_ms"] for r in runs)
        summary["kinds"][kind] = {
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "errors": sum(r["kinds"][kind]["errors"] for r in runs),
            "requests": sum(r["kinds"][kind]["requests"] for r in runs),
        }
    base = summary["kinds"]["health"]["p50_ms"] or 1.0
    for kind in kinds:
        summary["kinds"][kind]["p50_vs_health"] = round(summary["kinds"][kind]["p50_ms"] / base, 2)
    summary["per_run"] = runs
    text = json.dumps(summary, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
