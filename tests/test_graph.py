"""The evidence graph: projection against a networkx oracle, hub bounds, IP
intelligence matching and template mining, on small hand-made contract data
that goes through the real ingest."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from linkage.errors import LinkageError
from linkage.graph import (
    Events,
    IpKinds,
    PromptClusters,
    Templates,
    Workspace,
    annotate_ip_kinds,
    build_events,
    build_templates,
    project_pairs,
)
from linkage.graph.coactivity import Coactivity, build_coactivity
from linkage.ingest import STORE_FILE, ingest, open_store
from linkage.settings import DetectSettings

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_store(tmp_path, requests, payments=(), intel=(), accounts=None, settings=None):
    """Ingest the rows and run the graph stages before the projection, in
    :func:`linkage.graph.build_graph`'s order (no prompt clusters)."""
    data = tmp_path / "data"
    data.mkdir()
    ids = sorted({r["account_id"] for r in requests} | {p["account_id"] for p in payments})
    pd.DataFrame(accounts or [{"account_id": a, "created_at": iso(T0)} for a in ids]).to_csv(
        data / "accounts.csv", index=False
    )
    pd.DataFrame(requests).to_csv(data / "requests.csv", index=False)
    if payments:
        pd.DataFrame(payments).to_csv(data / "payments.csv", index=False)
    if intel:
        pd.DataFrame(intel).to_csv(data / "ip_intel.csv", index=False)
    ingest(data, tmp_path / "out")
    con = open_store(tmp_path / "out" / STORE_FILE, read_only=True)
    ws = Workspace(con)
    events = build_events(ws)
    build_coactivity(ws, events, settings or DetectSettings())
    build_templates(ws, events)
    annotate_ip_kinds(ws, events)
    return con


def run_projection(con, settings):
    """The projection stage on what :func:`build_store` built (no prompt clusters)."""
    ws = Workspace(con)
    coactivity = dict(con.execute("SELECT etype, count(*) FROM events GROUP BY etype").fetchall())
    return project_pairs(
        ws,
        settings,
        events=Events(ws.count("acct")),
        coactivity=Coactivity(
            ws.count("session_starts"),
            coactivity.get("cosession", 0),
            coactivity.get("coactive", 0),
            coactivity.get("signup", 0),
        ),
        templates=Templates(ws.count("templates")),
        prompt_clusters=PromptClusters(0),
        ip_kinds=IpKinds(ws.count("entity_kind")),
    )


def test_projection_matches_a_networkx_oracle(tmp_path):
    rng = np.random.default_rng(5)
    accounts = [f"a{i:02d}" for i in range(16)]
    # a00-a06 sign up in one burst (a signup entity, another kind of circumstance
    # than a shared address); the rest on days of their own
    created = {a: T0 + timedelta(minutes=3 * i) for i, a in enumerate(accounts[:7])}
    created |= {a: T0 + timedelta(days=2 + 2 * i) for i, a in enumerate(accounts[7:])}
    devices = [f"dev{i}" for i in range(5)]
    ips = [f"198.51.100.{i}" for i in range(1, 7)]
    requests, payments = [], []
    for a in accounts:
        for _ in range(int(rng.integers(1, 4))):
            t = T0 + timedelta(days=float(rng.uniform(0, 30)))
            requests.append(
                {
                    "account_id": a,
                    "ts": iso(t),
                    "ip": str(rng.choice(ips)),
                    "device_fp": str(rng.choice(devices)),
                }
            )
        if rng.random() < 0.6:
            payments.append(
                {"account_id": a, "ts": iso(T0), "instrument_fp": f"pm_{rng.integers(0, 4)}"}
            )
    rows = [{"account_id": a, "created_at": iso(created[a])} for a in accounts]
    con = build_store(tmp_path, requests, payments, accounts=rows)
    s = DetectSettings(clique_max_degree=1000, min_edge_weight=1e-9)
    run_projection(con, s)
    got = {
        (a, b): w
        for a, b, w in con.execute("""SELECT x.account_id, y.account_id, e.weight FROM edges e
            JOIN acct x ON x.aid = e.src JOIN acct y ON y.aid = e.dst""").fetchall()
    }
    # the bipartite account-entity graph: requests and payments as given, co-activity
    # entities as the stage found them (tests/test_coactivity.py checks those)
    g = nx.Graph()
    spans: dict[tuple[str, tuple[str, str]], list[datetime]] = {}
    uses = [(r["account_id"], "ip", r["ip"], r["ts"]) for r in requests]
    uses += [(r["account_id"], "device", r["device_fp"], r["ts"]) for r in requests]
    uses += [(r["account_id"], "prefix", "198.51.100.0/24", r["ts"]) for r in requests]
    uses += [(p["account_id"], "card", p["instrument_fp"], iso(T0)) for p in payments]
    for a, etype, key, ts in uses:
        g.add_edge(a, (etype, key))
        spans.setdefault((a, (etype, key)), []).append(datetime.fromisoformat(ts))
    for a, etype, key, first, last in con.execute("""SELECT x.account_id, v.etype, v.ekey,
            v.first_ts, v.last_ts FROM events v JOIN acct x USING (aid)
            WHERE v.etype IN ('cosession', 'coactive', 'signup')""").fetchall():
        g.add_edge(a, (etype, key))
        spans[(a, (etype, key))] = [first, last]
    assert {n[0] for n in g if isinstance(n, tuple)} == {"ip", "device", "prefix", "card", "signup"}
    want = _oracle_weights(g, spans, s)
    assert got.keys() == want.keys()
    for pair, w in want.items():
        assert got[pair] == pytest.approx(w, abs=1e-6), pair


IDENTITY = {"card", "device", "api_key", "identifier"}
SCHEDULES = {"cosession", "coactive"}
CIRCUMSTANCE = {"ip": "address", "prefix": "address", "template": "content", "signup": "signup"}


def _oracle_weights(g: nx.Graph, spans: dict, s: DetectSettings) -> dict[tuple[str, str], float]:
    """Each shared entity adds type_weight * kind_weight / ln(1 + degree) to each pair
    of its accounts, times distant_factor when their use is more than cotemporal_days
    apart. A pair with no bond (an identity weighing at least bond_min_weight) or
    schedule pair and one kind of circumstance only (say addresses
    alone; entities under corroborate_min_weight not counted) has that evidence at
    uncorroborated_factor."""
    parts: dict[tuple[str, str], list[tuple[str, float]]] = {}
    near = timedelta(days=s.cotemporal_days)
    for node in [n for n in g if isinstance(n, tuple)]:
        members = sorted(g[node])
        if len(members) < 2:
            continue
        kind_w = s.ip_kind_weights["unknown"] if node[0] in ("ip", "prefix") else 1.0
        w = s.type_weights[node[0]] * kind_w / math.log(1 + len(members))
        for a, b in itertools.combinations(members, 2):
            sa, sb = spans[(a, node)], spans[(b, node)]
            close = min(sa) <= max(sb) + near and min(sb) <= max(sa) + near
            bond = node[0] in SCHEDULES or (node[0] in IDENTITY and w >= s.bond_min_weight)
            kind = CIRCUMSTANCE.get(node[0]) if w >= s.corroborate_min_weight else None
            parts.setdefault((a, b), []).append(
                (node[0], w * (1.0 if close else s.distant_factor), bond, kind)
            )
    want, cases = {}, set()
    for pair, items in parts.items():
        bonded = any(bond for _, _, bond, _ in items)
        kinds = {kind for _, _, _, kind in items if kind}
        alone = not bonded and len(kinds) < 2
        cases.add((alone, len(kinds), bonded))
        factor = s.uncorroborated_factor if alone else 1.0
        want[pair] = sum(w * (factor if t in CIRCUMSTANCE else 1.0) for t, w, _, _ in items)
    # every case occurs: addresses alone; addresses and a sign-up burst; with an identity
    assert {(True, 1, False), (False, 2, False), (False, 1, True)} <= cases
    return want


def test_hubs_link_only_time_neighbours(tmp_path):
    requests = [
        {
            "account_id": f"a{i:03d}",
            "ts": iso(T0 + timedelta(hours=i)),
            "ip": f"203.0.113.{i % 250 + 1}",
            "device_fp": "popular-default",
        }
        for i in range(60)
    ]
    con = build_store(tmp_path, requests)
    run_projection(
        con, DetectSettings(clique_max_degree=10, hub_neighbours=3, min_edge_weight=1e-9)
    )
    pairs = con.execute(
        "SELECT src, dst FROM pair_evidence JOIN entity_weight USING (eid) WHERE etype = 'device'"
    ).fetchall()
    assert len(pairs) == 3 * 60 - (1 + 2 + 3)  # each account links its next 3 by first use
    degree = pd.Series([a for p in pairs for a in p]).value_counts()
    assert degree.max() <= 6
    far = con.execute("""SELECT count(*) FROM pair_evidence p JOIN acct x ON x.aid = p.src
        JOIN acct y ON y.aid = p.dst JOIN entity_weight w USING (eid) WHERE w.etype = 'device'
        AND abs(CAST(substr(x.account_id, 2) AS INT) - CAST(substr(y.account_id, 2) AS INT)) > 3""")
    assert far.fetchone()[0] == 0


def test_ip_kind_is_the_most_specific_intel_network(tmp_path):
    requests = [
        {"account_id": "a", "ts": iso(T0), "ip": "81.2.3.4"},
        {"account_id": "b", "ts": iso(T0), "ip": "81.2.9.9"},
        {"account_id": "c", "ts": iso(T0), "ip": "2001:db8:5::1"},
        {"account_id": "d", "ts": iso(T0), "ip": "192.0.2.1"},
    ]
    intel = [
        {"cidr": "81.2.0.0/16", "kind": "residential"},
        {"cidr": "81.2.3.4", "kind": "proxy"},
        {"cidr": "81.2.9.0/24", "kind": "hosting"},
        {"cidr": "2001:db8::/32", "kind": "mobile"},
    ]
    con = build_store(tmp_path, requests, intel=intel)
    kinds = dict(con.execute("SELECT ekey, kind FROM entity_kind").fetchall())
    assert kinds["81.2.3.4"] == "proxy"
    assert kinds["81.2.9.9"] == "hosting"
    assert kinds["81.2.3.0/24"] == "residential"  # the /32 does not cover the whole /24
    assert kinds["81.2.9.0/24"] == "hosting"
    assert kinds["2001:db8:5::1"] == "mobile"
    assert kinds["192.0.2.1"] == "unknown"


def test_templates_need_a_shared_skeleton_with_varying_slots(tmp_path):
    skeleton = "Imagine you produced a correct answer to this problem. Explain step by step:"
    requests = [
        {
            "account_id": f"t{i}",
            "ts": iso(T0),
            "ip": "198.51.100.1",
            "prompt_text": f"{skeleton} what is {i} plus {i * 7} apples",
        }
        for i in range(5)
    ]
    requests += [
        {
            "account_id": f"q{i}",
            "ts": iso(T0),
            "ip": "198.51.100.2",
            "prompt_text": "What is a good recipe for a quick weeknight pasta dinner?",
        }
        for i in range(5)
    ]
    con = build_store(tmp_path, requests)
    templates = con.execute("SELECT skeleton, accounts FROM templates").fetchall()
    assert len(templates) == 1
    assert templates[0][0].startswith("imagine you produced a correct answer")
    assert templates[0][1] == 5
    used = con.execute("SELECT count(DISTINCT aid) FROM events WHERE etype = 'template'").fetchone()
    assert used[0] == 5


def test_limit_memory_caps_duckdb():
    import duckdb

    from linkage.ingest.store import limit_memory

    con = duckdb.connect()
    limit_memory(con, 1.5)
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "").upper() in {"1.5GB", "1.3GIB", "1.4GIB"}
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is False


def test_a_store_from_an_older_ingest_is_refused_with_advice(tmp_path):
    con = build_store(tmp_path, [{"account_id": "a", "ts": iso(T0), "ip": "192.0.2.1"}])
    con.close()
    con = open_store(tmp_path / "out" / STORE_FILE, read_only=False)
    con.execute("UPDATE ingest_meta SET store_version = 1")
    with pytest.raises(LinkageError, match="run ingest again"):
        build_events(Workspace(con))


def test_pair_generation_does_not_depend_on_the_chunk_size(monkeypatch):
    from linkage.graph import project

    rng = np.random.default_rng(9)
    degrees = rng.integers(2, 30, size=40)
    eid = np.repeat(np.arange(len(degrees), dtype=np.int32), degrees)
    n = len(eid)
    first = np.sort(rng.integers(0, 10**12, size=n))
    ev = {
        "aid": rng.permutation(n).astype(np.int32),
        "eid": eid,
        "f": first,
        "l": first + rng.integers(0, 10**11, size=n),
        "w": rng.random(n),
        "tcode": rng.integers(0, 5, size=n).astype(np.int8),
        "strong": rng.random(n) < 0.3,
        "rare": rng.random(n) < 0.5,
    }
    s = DetectSettings(clique_max_degree=12, hub_neighbours=3)
    whole = project.pair_evidence(ev, s).to_pandas()
    monkeypatch.setattr(project, "PAIR_CHUNK", 7)
    chunked = project.pair_evidence(ev, s).to_pandas()
    key = ["src", "dst", "eid"]
    assert len(whole) == len(chunked) > 0
    pd.testing.assert_frame_equal(
        whole.sort_values(key).reset_index(drop=True),
        chunked.sort_values(key).reset_index(drop=True),
    )
    small = degrees[degrees <= 12]
    hubs = degrees[degrees > 12]
    assert len(whole) == (small * (small - 1) // 2).sum() + sum((hubs - o).sum() for o in (1, 2, 3))


def test_a_settings_file_from_before_a_type_existed_weighs_it_by_default():
    from linkage.graph.project import _type_weight

    old = DetectSettings(type_weights={"ip": 1.5, "identifier": 2.0})
    assert _type_weight(old, "ip") == 1.5
    assert _type_weight(old, "rhythm") == DetectSettings().type_weights["rhythm"]
    assert _type_weight(old, "something_new") == 2.0


def test_corroboration_in_sql_matches_the_rule_row_by_row():
    """``Corroboration`` (the SQL that :func:`corroborate` returns) scales exactly the
    circumstantial rows of pairs with no bond (a ``strong`` row), no verified schedule
    and fewer than two kinds of circumstance among their ``rare`` rows, and an edge
    weight equals the fixed-point sum of those scaled rows."""
    from collections import Counter

    import duckdb

    from linkage.graph.project import (
        BOND_TYPES,
        CIRCUMSTANCE_KINDS,
        SCHEDULE_TYPES,
        corroborate,
    )

    types = ["bin", "card", "coactive", "cosession", "device", "ip", "prefix", "signup"]
    types += ["template"]
    rng = np.random.default_rng(11)
    per_pair = rng.integers(1, 5, size=1200)
    pair = np.repeat(np.arange(len(per_pair)), per_pair)
    # mostly addresses, so that every case is common
    p = np.array([1, 1, 0.5, 0.5, 1, 8, 4, 1.5, 1.5], float)
    tcode = rng.choice(len(types), size=len(pair), p=p / p.sum()).astype(np.int8)
    bond_type = np.isin(np.array(types)[tcode], sorted(BOND_TYPES))
    rows = pd.DataFrame(
        {
            "src": (pair // 40).astype(np.int32),
            "dst": (pair // 40 + 1 + pair % 40).astype(np.int32),
            "eid": np.arange(len(pair), dtype=np.int32),
            "w": rng.random(len(pair)) * 3,
            "tcode": tcode,
            "strong": bond_type & (rng.random(len(pair)) < 0.5),
            "rare": rng.random(len(pair)) < 0.7,
        }
    )
    factor = 0.3
    want, cases = np.ones(len(rows)), Counter()
    for _, g in rows.groupby(["src", "dst"]):
        t = [types[c] for c in g.tcode]
        circumstance = {CIRCUMSTANCE_KINDS[x] for x in t if x in CIRCUMSTANCE_KINDS}
        kinds = {
            CIRCUMSTANCE_KINDS[x]
            for x, rare in zip(t, g.rare, strict=True)
            if x in CIRCUMSTANCE_KINDS and rare
        }
        bond = bool(g.strong.any())
        schedule = any(x in SCHEDULE_TYPES for x in t)
        alone = not bond and not schedule and len(kinds) < 2
        if not circumstance:
            pass
        elif bond:
            cases["bond"] += 1
        elif schedule:
            cases["schedule"] += 1
        elif any(x in BOND_TYPES for x in t):
            cases["an identity too weak to bond"] += 1
        elif len(kinds) >= 2:
            cases["two kinds"] += 1
        elif len(circumstance) >= 2:
            cases["two kinds, one of them not rare"] += 1
        else:
            cases["one kind"] += 1
        if alone:
            want[g.index] = [factor if x in CIRCUMSTANCE_KINDS else 1.0 for x in t]
    want = rows.w.to_numpy() * want
    assert min(cases.values()) >= 10 and len(cases) == 6, cases

    con = duckdb.connect()
    con.register("pe", rows)
    rule = corroborate(types, factor)
    got = con.execute(rule.rows("SELECT * FROM pe") + " ORDER BY eid").df()
    assert (got.eid.to_numpy() == rows.eid.to_numpy()).all()
    assert (got.w.to_numpy() == want).all()  # bit for bit: the same multiplication
    assert (got.strong.to_numpy() == rows.strong.to_numpy()).all()
    con.register("scaled", rows.assign(w=want))
    by_rows = con.execute(
        """SELECT src, dst, (sum(round(w * 1e9)::BIGINT) / 1e9)::DOUBLE AS weight
           FROM scaled GROUP BY ALL ORDER BY ALL"""
    ).df()
    by_rule = con.execute(
        f"SELECT src, dst, {rule.weight()} AS weight FROM pe GROUP BY ALL ORDER BY ALL"
    ).df()
    pd.testing.assert_frame_equal(by_rule, by_rows, check_exact=True)
    unscaled = con.execute(corroborate(types, 1.0).rows("SELECT * FROM pe") + " ORDER BY eid")
    assert (unscaled.df().w.to_numpy() == rows.w.to_numpy()).all()
