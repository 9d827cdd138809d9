"""End-to-end detection on simulated data: contract outputs, invariants, quality,
determinism, the ban list and the evaluation against baselines."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from linkage.detect import detect
from linkage.errors import LinkageError
from linkage.evaluate import evaluate
from linkage.export import BANLIST_COLUMNS, banlist, write_banlist
from linkage.schema import ENTITY_LABELS
from linkage.settings import DetectSettings


@pytest.fixture(scope="module")
def run(detected):
    return detected


def test_outputs_follow_the_contract(run):
    root, _ = run
    accounts = pq.read_table(root / "result" / "accounts.parquet")
    assert accounts.column_names == ["account_id", "campaign_id", "score", "flagged"]
    assert accounts.num_rows == 3000
    df = accounts.to_pandas()
    assert df.account_id.is_unique
    assert df.score.between(0, 1).all()
    campaigns = pd.read_parquet(root / "result" / "campaigns.parquet")
    assert list(campaigns.columns) == [
        "campaign_id",
        "size",
        "score",
        "reasons",
        "first_seen",
        "last_seen",
        "request_count",
        "contributions",
        "lineage",
        "previous_campaign_ids",
    ]
    assert (campaigns.reasons.map(len) > 0).all()
    assert campaigns.score.is_monotonic_decreasing
    assert str(campaigns.first_seen.dtype) == "datetime64[us, UTC]"
    settings = DetectSettings.load(root / "result" / "settings.json")
    assert settings == DetectSettings()
    summary = json.loads((root / "result" / "detect_summary.json").read_text())
    stages = [s["stage"] for s in summary["stages"]]
    assert stages[0] == "ingest" and "leiden" in stages


def test_every_account_in_one_campaign_or_none(run):
    root, _ = run
    df = pd.read_parquet(root / "result" / "accounts.parquet")
    campaigns = pd.read_parquet(root / "result" / "campaigns.parquet").set_index("campaign_id")
    members = df.dropna(subset=["campaign_id"]).groupby("campaign_id").size()
    assert members.sort_index().equals(campaigns["size"].sort_index().astype("int64"))
    assert not df[df.flagged].campaign_id.isna().any()


def test_every_edge_has_its_evidence(run):
    root, result = run
    edges = pd.read_parquet(root / "result" / "edges.parquet")
    evidence = pd.read_parquet(root / "result" / "evidence.parquet")
    assert len(edges) == result.edges > 0
    per_edge = evidence.groupby(["src", "dst"]).agg(n=("weight", "size"), w=("weight", "sum"))
    joined = edges.set_index(["src", "dst"]).join(per_edge, how="left")
    assert joined.n.notna().all()
    complete = joined[joined.n_entities <= 8]
    assert (complete.w - complete.weight).abs().max() < 1e-6
    assert set(evidence.entity_type) <= set(ENTITY_LABELS)


def test_detection_quality_on_the_default_scenario(run):
    root, _ = run
    report = evaluate(root / "result", root / "data" / "labels.parquet")
    engine = report["engine"]
    assert engine["precision"] >= 0.99
    assert engine["recall"] >= 0.95
    assert engine["ari"] >= 0.9
    assert engine["recall_per_campaign"]["surgical-agentic"] >= 0.9
    for name, baseline in report["baselines"].items():
        assert baseline["f1"] < engine["f1"] - 0.2, name


def test_no_company_team_or_campus_flagged(run):
    root, _ = run
    df = pd.read_parquet(root / "result" / "accounts.parquet").merge(
        pd.read_parquet(root / "data" / "accounts.parquet"), on="account_id"
    )
    teams = df[df.email_domain.str.match(r"company\d+\.io|univ\d+\.edu")]
    assert len(teams) > 100
    assert not teams.flagged.any()


def test_same_input_and_seed_same_results(run, tmp_path):
    root, _ = run
    detect(root / "data", tmp_path)
    for name in ("accounts.parquet", "campaigns.parquet", "edges.parquet", "evidence.parquet"):
        assert pq.read_table(tmp_path / name).equals(pq.read_table(root / "result" / name)), name


def test_banlist_in_three_formats(run, tmp_path):
    root, result = run
    rows = banlist(root / "result")
    assert len(rows) == result.flagged
    assert tuple(rows.columns) == BANLIST_COLUMNS
    for ext in ("csv", "jsonl", "parquet"):
        assert write_banlist(root / "result", tmp_path / f"ban.{ext}") == len(rows)
    csv = pd.read_csv(tmp_path / "ban.csv")
    assert list(csv.account_id) == list(rows.account_id)
    assert csv.reasons[0] == "; ".join(rows.reasons[0])
    lines = (tmp_path / "ban.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["reasons"] == list(rows.reasons[0])
    assert list(pd.read_parquet(tmp_path / "ban.parquet").account_id) == list(rows.account_id)
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(LinkageError, match="format must be one of"):
        write_banlist(root / "result", tmp_path / "ban.xlsx")
    with pytest.raises(LinkageError, match="not a result directory"):
        banlist(tmp_path)


def _input_accounts(data_dir):
    """The simulated input's accounts table, whatever format it was written in."""
    (path,) = data_dir.glob("accounts.*")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, parse_dates=["banned_at"])
    return pd.read_json(path, lines=True)


def test_banlist_status_is_the_input_status(run, tmp_path):
    root, _ = run
    rows = banlist(root / "result").set_index("account_id")
    accounts = _input_accounts(root / "data").set_index("account_id").loc[rows.index]
    assert set(rows.status) == {"active", "banned"}
    assert (rows.status == accounts.status.fillna("active")).all()
    banned = rows[rows.status == "banned"]
    want = pd.to_datetime(accounts.banned_at[banned.index], utc=True)
    assert (banned.banned_at == want).all() and banned.banned_at.notna().all()
    assert rows.banned_at[rows.status == "active"].isna().all()
    account, when = banned.index[0], banned.banned_at.iloc[0]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for ext in ("csv", "jsonl", "parquet"):
        write_banlist(root / "result", tmp_path / f"ban.{ext}")
    csv = pd.read_csv(tmp_path / "ban.csv", dtype=str).set_index("account_id")
    assert tuple(csv.columns[-2:]) == ("status", "banned_at")
    assert (csv.loc[account, "status"], csv.loc[account, "banned_at"]) == ("banned", stamp)
    assert csv.banned_at[csv.status == "active"].isna().all()
    jsonl = [json.loads(line) for line in (tmp_path / "ban.jsonl").read_text().splitlines()]
    by_id = {r["account_id"]: r for r in jsonl}
    assert (by_id[account]["status"], by_id[account]["banned_at"]) == ("banned", stamp)
    assert all(r["banned_at"] is None for r in jsonl if r["status"] == "active")
    parquet = pd.read_parquet(tmp_path / "ban.parquet").set_index("account_id")
    assert parquet.loc[account, "banned_at"] == when
    assert (parquet.status == rows.status).all()


def test_settings_round_trip_and_reject_unknown_keys(tmp_path):
    s = DetectSettings(resolution=0.02, seed=3)
    s.save(tmp_path / "s.json")
    assert DetectSettings.load(tmp_path / "s.json") == s
    (tmp_path / "bad.json").write_text('{"resolutoin": 0.1}')
    with pytest.raises(LinkageError, match="unknown detection settings"):
        DetectSettings.load(tmp_path / "bad.json")
    # a result saved by an earlier version, with a setting that no longer exists, opens
    (tmp_path / "old.json").write_text('{"attach_weight": 1.0, "resolution": 0.02}')
    assert DetectSettings.load(tmp_path / "old.json") == DetectSettings(resolution=0.02)


def test_a_legitimate_company_team_is_linked_but_not_flagged(tmp_path):
    """Shared egress IP, company card, organisation id, coding prompts through an
    internal template, office hours: linked as a group, scored low, not banned."""
    rng = __import__("numpy").random.default_rng(8)
    data = tmp_path / "data"
    data.mkdir()
    team = [f"dev{i:02d}" for i in range(12)]
    others = [f"user{i:03d}" for i in range(60)]
    start = pd.Timestamp("2026-09-01", tz="UTC")
    accounts = [
        {"account_id": a, "created_at": "2025-03-01T00:00:00Z", "email_domain": "acme.io"}
        for a in team
    ]
    accounts += [
        {"account_id": a, "created_at": "2025-06-01T00:00:00Z", "email_domain": "gmail.com"}
        for a in others
    ]
    requests = []
    for i, a in enumerate(team):
        for _ in range(60):
            ts = start + pd.Timedelta(
                days=int(rng.integers(0, 40)),
                hours=int(rng.integers(9, 18)),
                minutes=int(rng.integers(0, 60)),
            )
            prompt = (
                f"Review this code for bugs, style problems and missing tests:\n"
                f"def f{rng.integers(0, 10**6)}(x): return x * {rng.integers(0, 100)}"
                if rng.random() < 0.3
                else None
            )
            requests.append(
                {
                    "account_id": a,
                    "ts": ts.isoformat(),
                    "ip": "198.51.100.10",
                    "device_fp": f"laptop-{i}",
                    "prompt_text": prompt,
                }
            )
    for i, a in enumerate(others):
        for _ in range(int(rng.integers(3, 20))):
            ts = start + pd.Timedelta(hours=float(rng.uniform(0, 40 * 24)))
            requests.append(
                {
                    "account_id": a,
                    "ts": ts.isoformat(),
                    "ip": f"203.0.{i // 200}.{i % 200 + 1}",
                    "device_fp": f"phone-{i}",
                }
            )
    payments = [
        {
            "account_id": a,
            "ts": "2025-03-01T00:00:00Z",
            "instrument_fp": "pm_acme_corporate",
            "bin": "445566",
        }
        for a in team
    ]
    identifiers = [{"account_id": a, "kind": "org_id", "value": "org_acme"} for a in team]
    intel = [{"cidr": "198.51.100.0/28", "kind": "corporate", "org": "Acme Inc"}]
    for name, rows in (
        ("accounts", accounts),
        ("requests", requests),
        ("payments", payments),
        ("identifiers", identifiers),
        ("ip_intel", intel),
    ):
        pd.DataFrame(rows).to_json(data / f"{name}.jsonl", orient="records", lines=True)
    detect(data, tmp_path / "result")
    edges = pd.read_parquet(tmp_path / "result" / "edges.parquet")
    inside = edges[edges.src.isin(team) & edges.dst.isin(team)]
    assert len(inside) == len(team) * (len(team) - 1) // 2  # the team is tightly linked
    result = pd.read_parquet(tmp_path / "result" / "accounts.parquet")
    assert not result.flagged.any()
    assert result[result.account_id.isin(team)].score.max() < 0.1


def test_nothing_linked_gives_empty_results_not_errors(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.csv").write_text(
        "account_id,created_at\na,2026-09-01T00:00:00Z\nb,2026-09-01T00:00:00Z\n"
    )
    (data / "requests.csv").write_text(
        "account_id,ts,ip\na,2026-09-02T00:00:00Z,198.51.100.1\nb,2026-09-02T00:00:00Z,198.51.101.1\n"
    )
    result = detect(data, tmp_path / "result")
    assert (result.campaigns, result.flagged, result.edges) == (0, 0, 0)
    accounts = pd.read_parquet(tmp_path / "result" / "accounts.parquet")
    assert list(accounts.account_id) == ["a", "b"] and accounts.campaign_id.isna().all()
    assert write_banlist(tmp_path / "result", tmp_path / "ban.csv") == 0
    assert pd.read_csv(tmp_path / "ban.csv").columns.tolist() == list(BANLIST_COLUMNS)
