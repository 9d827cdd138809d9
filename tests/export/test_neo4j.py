"""Neo4j: push to a REAL Bolt server (ArcadeDB, started here on 127.0.0.1), read back
with Cypher, push again without duplicates; the password stays out of argv and logs;
`linkage explore` end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import neo4j
import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.export.neo4j import BoltServer, push_result
from linkage.export.neo4j.assets import QUERIES
from linkage.export.neo4j.server import free_port
from linkage.export.property_graph import ResultGraph

LINKAGE = [str(Path(sys.executable).parent / "linkage")]


@pytest.fixture(scope="session")
def bolt(tmp_path_factory):
    """A real ArcadeDB Bolt server on a free 127.0.0.1 port, stopped at the end."""
    server = BoltServer(tmp_path_factory.mktemp("bolt"), password="t3st-" + os.urandom(6).hex())
    server.start()
    yield server
    process = server.process
    server.stop()
    assert process is not None and process.poll() is not None


@pytest.fixture(scope="module")
def pushed(bolt, result_dir):
    summary = push_result(
        result_dir, bolt.uri, bolt.user, bolt.password, database=bolt.database, batch_size=500
    )
    return summary


def _run(server, query, **params):
    auth = (server.user, server.password)
    with (
        neo4j.GraphDatabase.driver(server.uri, auth=auth) as d,
        d.session(database=server.database) as s,
    ):
        return s.run(query, **params).data()


def _counts(server):
    nodes = {
        r["l"]: r["c"] for r in _run(server, "MATCH (n) RETURN labels(n)[0] AS l, count(*) AS c")
    }
    rels = {
        r["t"]: r["c"] for r in _run(server, "MATCH ()-[e]->() RETURN type(e) AS t, count(*) AS c")
    }
    return nodes, rels


def _table_counts(result_dir):
    with ResultGraph(result_dir) as g:
        nodes = {n.label: g.count(n) for n in g.nodes}
        rels = {r.type: g.count(r) for r in g.relationships}
    return {k: v for k, v in nodes.items() if v}, {k: v for k, v in rels.items() if v}


def test_counts_per_label_and_type_equal_the_tables(bolt, pushed, result_dir):
    nodes, rels = _counts(bolt)
    want_nodes, want_rels = _table_counts(result_dir)
    assert nodes == want_nodes
    assert rels == want_rels
    assert {k: v for k, v in pushed.nodes.items() if v} == want_nodes
    accounts = pd.read_parquet(result_dir / "accounts.parquet")
    assert nodes["Account"] == len(accounts)
    assert nodes["Campaign"] == len(pd.read_parquet(result_dir / "campaigns.parquet"))


def test_constraints_come_first_from_the_schema(bolt, pushed):
    names = {r["name"] for r in _run(bolt, "SHOW CONSTRAINTS")}
    assert {f"linkage_{label}_key" for label in pushed.nodes} <= names
    assert pushed.constraints == len(pushed.nodes)


def test_a_campaigns_accounts_and_properties(bolt, pushed, result_dir):
    accounts = pd.read_parquet(result_dir / "accounts.parquet")
    cid = accounts.campaign_id.dropna().iloc[0]
    got = _run(
        bolt,
        "MATCH (a:Account)-[m:MEMBER_OF]->(c:Campaign {campaign_id: $cid}) "
        "RETURN a.account_id AS a, m.score AS s, a.flagged AS f",
        cid=cid,
    )
    members = accounts[accounts.campaign_id == cid].set_index("account_id")
    assert {r["a"] for r in got} == set(members.index)
    for r in got:
        assert r["s"] == pytest.approx(members.loc[r["a"], "score"])
        assert r["f"] == bool(members.loc[r["a"], "flagged"])
    camp = _run(bolt, "MATCH (c:Campaign {campaign_id: $cid}) RETURN c.reasons AS r", cid=cid)
    campaigns = pd.read_parquet(result_dir / "campaigns.parquet").set_index("campaign_id")
    assert camp[0]["r"] == list(campaigns.loc[cid, "reasons"])


def test_two_hop_path_through_a_shared_card(bolt, pushed, result_dir):
    con = duckdb.connect(str(result_dir / "linkage.duckdb"), read_only=True)
    a, b, card = con.execute("""
        SELECT x.account_id, y.account_id, e.entity
        FROM graph_links l1 JOIN graph_links l2 ON l1.eid = l2.eid AND l1.aid < l2.aid
        JOIN graph_entities e ON e.eid = l1.eid
        JOIN graph_accounts x ON x.aid = l1.aid JOIN graph_accounts y ON y.aid = l2.aid
        WHERE e.entity_type = 'card' ORDER BY e.entity, x.account_id, y.account_id LIMIT 1
    """).fetchone()
    con.close()
    paths = _run(
        bolt,
        "MATCH p = (a:Account {account_id: $a})-[*1..2]-(b:Account {account_id: $b}) "
        "RETURN [n IN nodes(p) | coalesce(n.account_id, n.fingerprint, n.address)] AS ids",
        a=a,
        b=b,
    )
    assert [a, card, b] in [p["ids"] for p in paths]


def test_linked_edges_keep_their_evidence(bolt, pushed, result_dir):
    rows = _run(
        bolt,
        "MATCH (a:Account)-[l:LINKED]->(b:Account) RETURN a.account_id AS a, b.account_id AS b,"
        " l.weight AS w, l.signals AS s, l.evidence AS e ORDER BY w DESC LIMIT 5",
    )
    assert len(rows) == 5
    for r in rows:
        evidence = json.loads(r["e"])
        assert evidence and {"type", "entity", "weight"} <= set(evidence[0])
        assert set(r["s"]) >= {e["type"] for e in evidence}


def test_saved_queries_run_on_the_server(bolt, pushed, result_dir):
    accounts = pd.read_parquet(result_dir / "accounts.parquet")
    member = accounts[accounts.flagged].sort_values("account_id").iloc[0]
    con = duckdb.connect(str(result_dir / "linkage.duckdb"), read_only=True)
    card = con.execute(
        "SELECT entity FROM graph_entities WHERE entity_type = 'card' AND accounts >= 2 "
        "ORDER BY entity LIMIT 1"
    ).fetchone()[0]
    con.close()
    params = {
        "campaign_id": member.campaign_id,
        "account_id": member.account_id,
        "fingerprint": card,
    }
    for title, query in QUERIES:
        rows = _run(bolt, query, **params)
        assert rows, title


def test_password_never_in_argv_or_logs_and_second_push_adds_nothing(
    bolt, pushed, result_dir, tmp_path
):
    before = _counts(bolt)
    env = {**os.environ, "NEO4J_PASSWORD": bolt.password, "COLUMNS": "200"}
    argv = [
        *LINKAGE,
        "neo4j",
        "push",
        str(result_dir),
        "--uri",
        bolt.uri,
        "--user",
        bolt.user,
        "--database",
        bolt.database,
        "--batch-size",
        "700",
    ]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert bolt.password not in cmdline and bolt.password not in " ".join(argv)
    assert bolt.password not in out.decode() + err.decode()
    assert "relationships" in err.decode()
    # idempotent: the second push creates nothing new
    assert _counts(bolt) == before
    # the server got its password from a file it no longer has, not from argv or the log
    server_cmdline = Path(f"/proc/{bolt.process.pid}/cmdline").read_bytes().decode()
    assert bolt.password not in server_cmdline
    assert bolt.password not in bolt.log_path.read_text(errors="replace")
    assert not (bolt.root_dir / "java.args").exists()
    # a wrong password: a clear error that does not echo it
    wrong = "not-the-" + bolt.password
    r = subprocess.run(
        [*LINKAGE, "neo4j", "push", str(result_dir), "--uri", bolt.uri, "--user", bolt.user],
        env={**env, "NEO4J_PASSWORD": wrong},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "login refused" in " ".join(r.stderr.split())
    assert wrong not in r.stdout + r.stderr


def test_unreachable_server_and_bad_arguments(result_dir):
    port = free_port()
    with pytest.raises(LinkageError, match="cannot reach the Bolt server"):
        push_result(result_dir, f"bolt://127.0.0.1:{port}", "u", "p")
    with pytest.raises(LinkageError, match="not a Bolt URI"):
        push_result(result_dir, "http://x", "u", "p")
    with pytest.raises(LinkageError, match="--batch-size"):
        push_result(result_dir, "bolt://127.0.0.1:1", "u", "p", batch_size=0)


def test_missing_extra_names_it(monkeypatch):
    import importlib.util

    from linkage.export.neo4j.server import arcadedb_home

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LinkageError, match=r"linkage\[explore\]"):
        arcadedb_home()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGHUP])
def test_explore_serves_the_result_until_interrupted(result_dir, tmp_path, stop_signal):
    """Served until Ctrl-C or a closed terminal, even when started with SIGINT ignored
    (as a child of a process that ignores it inherits)."""
    port = free_port()
    password = "expl-" + os.urandom(6).hex()
    proc = subprocess.Popen(
        [*LINKAGE, "explore", str(result_dir), "--port", str(port), "--root", str(tmp_path / "r")],
        env={**os.environ, "NEO4J_PASSWORD": password},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint,
    )
    try:
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(lines)
        assert f"bolt://127.0.0.1:{port}" in text, proc.stderr.read() if proc.poll() else text
        assert ":style node {" in text and "node.Campaign" in text
        assert password not in text
        server = BoltServer(password=password, port=port)
        n = _run(server, "MATCH (a:Account) RETURN count(a) AS n")[0]["n"]
        assert n == len(pd.read_parquet(result_dir / "accounts.parquet"))
        proc.send_signal(stop_signal)
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        assert not (tmp_path / "r" / "java.args").exists()
        with pytest.raises(neo4j.exceptions.ServiceUnavailable):
            _run(server, "RETURN 1 AS x")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_password_from_a_hidden_prompt_when_not_in_the_environment(bolt, result_dir):
    from typer.testing import CliRunner

    from linkage.cli import app

    wrong = "prompted-" + os.urandom(4).hex()
    r = CliRunner().invoke(
        app,
        ["neo4j", "push", str(result_dir), "--uri", bolt.uri, "--user", bolt.user],
        input=wrong + "\n",
        env={"NEO4J_PASSWORD": None},
    )
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert f"password for {bolt.user} at {bolt.uri}" in text  # it asked
    assert "login refused" in text
    assert wrong not in r.output  # hidden input is not echoed


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_explore_cleans_up_on_hangup_and_terminate(result_dir, sig):
    proc = subprocess.Popen(
        [*LINKAGE, "explore", str(result_dir)],
        env={**os.environ, "COLUMNS": "1000"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        while (line := proc.stdout.readline()) and "Press Ctrl-C" not in line:
            lines.append(line)
        text = "".join(lines)
        assert "https://browser.neo4j.io cannot connect" in text and "http://" in text
        root = Path(text.split("starting the local Bolt server in ")[1].split(" ...")[0])
        assert root.is_dir()
        java = _children(proc.pid)
        assert java, text
        proc.send_signal(sig)
        proc.wait(timeout=90)
        assert proc.returncode == 0, proc.stdout.read()
        assert not root.exists()
        for pid in java:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
