"""Scoring new accounts against a result's campaigns (``linkage score``): on a world cut
in time, the accounts created after the cut are scored against the campaigns detected
before it; the index detect leaves; the CLI's formats and errors; one rule for files and
records."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from account_records import TABLES, account_records
from typer.testing import CliRunner

from linkage import LinkageError, score_new
from linkage.cli import app
from linkage.detect import detect
from linkage.ingest import open_store
from linkage.ingest.account import normalize_account
from linkage.result import INDEX_TYPES, IncompleteResultError
from linkage.score import SCORE_COLUMNS, Scorer
from linkage.settings import DetectSettings
from linkage.simulate import simulate
from linkage.simulate.cut import cut_until, day_start, new_since

runner = CliRunner()
CUT_DAY = 41


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A hard world of 3,000 accounts detected on its first 41 days (``r41``), and the
    accounts created since (``new``, their rows only)."""
    root = tmp_path_factory.mktemp("score")
    simulate(root / "data", seed=0, scenario="hard", accounts=3000)
    cut = day_start(root / "data", CUT_DAY)
    cut_until(root / "data", root / "data41", cut)
    new_since(root / "data", root / "new", cut)
    detect(root / "data41", root / "r41")
    return root


def true_campaigns(root) -> pd.Series:
    """Each detected campaign's true campaign: the label most of its members carry."""
    labels = pd.read_parquet(root / "data" / "labels.parquet")
    members = pd.read_parquet(root / "r41" / "accounts.parquet").dropna(subset=["campaign_id"])
    both = members.merge(labels, on="account_id", suffixes=("", "_true"))
    return both.groupby("campaign_id").campaign_id_true.agg(
        lambda s: s.mode().iloc[0] if s.notna().any() else None
    )


def test_new_campaign_accounts_join_their_campaign_and_new_customers_do_not(world):
    run = score_new(world / "r41", world / "new")
    assert run.skipped_known == 0 and len(run.rows) == run.accounts > 0
    assert list(run.rows.columns) == list(SCORE_COLUMNS)
    labels = pd.read_parquet(world / "data" / "labels.parquet")
    rows = run.rows.merge(labels, on="account_id", suffixes=("", "_true"))
    rows["found"] = rows.campaign_id.map(true_campaigns(world))
    fraud = rows[rows.campaign_id_true.notna()]
    legit = rows[rows.campaign_id_true.isna()]
    assert len(fraud) >= 5 and len(legit) >= 20
    assert (fraud.found == fraud.campaign_id_true).mean() >= 0.8
    assert fraud.flagged.mean() >= 0.8
    assert legit.flagged.sum() <= max(1, 0.01 * len(legit))
    assert rows.score.between(0, 1).all()
    assert (rows.flagged <= rows.campaign_id.notna()).all()
    tied = rows[rows.campaign_id.notna()].iloc[0]
    assert tied.reasons[0].startswith("shares ") and tied.campaign_id in tied.reasons[0]
    alone = rows[rows.campaign_id.isna()]
    assert (alone.score == 0).all() and alone.reasons.map(len).eq(1).all()


def test_known_accounts_are_skipped_unless_all(world):
    known = pd.read_parquet(world / "r41" / "accounts.parquet")
    run = score_new(world / "r41", world / "data")
    assert run.skipped_known == len(known) and run.accounts == len(known) + len(run.rows)
    assert not set(run.rows.account_id) & set(known.account_id)
    everyone = score_new(world / "r41", world / "data", all_accounts=True)
    assert len(everyone.rows) == run.accounts and everyone.skipped_known == 0
    # the result's flagged accounts sit on their own campaign's infrastructure
    flagged = known[known.flagged].set_index("account_id").campaign_id
    again = everyone.rows.set_index("account_id").campaign_id.reindex(flagged.index)
    assert (again == flagged).mean() >= 0.9


def test_the_index_holds_only_what_the_rule_can_use(detected):
    root, _ = detected
    s = DetectSettings.load(root / "result" / "settings.json")
    con = open_store(root / "result")
    try:
        index = con.execute("SELECT * FROM campaign_index").df()
        entities = con.execute("SELECT count(*) FROM graph_entities").fetchone()
    finally:
        con.close()
    campaigns = pd.read_parquet(root / "result" / "campaigns.parquet")
    assert len(index) and entities and len(index) < entities[0]
    assert set(index.campaign_id) <= set(campaigns.campaign_id)
    assert set(index.entity_type) <= set(INDEX_TYPES)
    assert (index.members * 2 >= index.accounts).all()
    assert (index.accounts <= s.hub_max_degree).all() and (index.members >= 1).all()
    assert (index.weight >= s.min_entity_weight).all()
    assert not index.duplicated(["campaign_id", "entity_type", "entity"]).any()


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_cli_writes_each_format(world, tmp_path, ext):
    out = tmp_path / f"scores.{ext}"
    r = runner.invoke(app, ["score", str(world / "r41"), str(world / "new"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "accounts scored" in r.output and "flagged" in r.output
    if ext == "csv":
        got = pd.read_csv(out)
        reasons = got.reasons.str.split("; ")
    elif ext == "jsonl":
        got = pd.read_json(out, lines=True)
        reasons = got.reasons
    else:
        got = pd.read_parquet(out)
        reasons = got.reasons.map(list)
    assert list(got.columns) == list(SCORE_COLUMNS)
    expected = score_new(world / "r41", world / "new").rows
    assert got.account_id.tolist() == expected.account_id.tolist()
    assert got.flagged.astype(bool).tolist() == expected.flagged.tolist()
    assert got.campaign_id.where(got.campaign_id.notna(), None).tolist() == (
        expected.campaign_id.tolist()
    )
    assert [list(r) for r in reasons] == [list(r) for r in expected.reasons]


def test_cli_all_and_errors(world, tmp_path):
    r = runner.invoke(
        app, ["score", str(world / "r41"), str(world / "new"), "-o", str(tmp_path / "x.txt")]
    )
    assert r.exit_code == 2 and "format must be one of" in r.output
    r = runner.invoke(
        app,
        ["score", str(world / "r41"), str(world / "data41"), "-o", str(tmp_path / "a.csv")],
    )
    assert r.exit_code == 0 and "skipped" in r.output
    assert pd.read_csv(tmp_path / "a.csv").empty
    r = runner.invoke(
        app,
        ["score", str(world / "r41"), str(world / "new"), "-o", str(tmp_path / "b.csv"), "--all"],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["score", str(tmp_path), str(world / "new"), "-o", str(tmp_path / "c.csv")]
    )
    assert r.exit_code == 2 and "COMPLETE is missing" in r.output


def test_bad_rows_are_quarantined_and_reported_and_bad_tables_refused(world, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(world / "new", data)
    requests = pd.read_parquet(data / "requests.parquet")
    requests.loc[requests.index[:3], "ip"] = "999.1.2.3"
    requests.to_parquet(data / "requests.parquet", index=False)
    run = score_new(world / "r41", data)
    assert any(
        "3 rows of requests quarantined" in w and "unparseable ip" in w for w in run.warnings
    )
    (data / "accounts.parquet").unlink()
    with pytest.raises(LinkageError, match="accounts"):
        score_new(world / "r41", data)
    with pytest.raises(IncompleteResultError):
        score_new(tmp_path, world / "new")


def test_one_account_scores_as_the_cli_scores_it(world):
    """The service's path (one account's records, validated and keyed in plain Python)
    and the CLI's (a data directory, ingested and keyed in SQL) apply one rule: the same
    row, reasons included, for every new account."""
    by_file = score_new(world / "r41", world / "new").rows.set_index("account_id")
    records = account_records(world / "new", accounts=by_file.index)
    assert by_file.campaign_id.notna().sum() >= 5
    scorer = Scorer.open(world / "r41")
    try:
        plain = sum(normalize_account(r) is not None for r in records.values())
        assert plain >= 0.95 * len(records)  # the plain path, not ingest's, for nearly all
        for account, tables in records.items():
            row = scorer.score_account(tables)
            expected = by_file.loc[account]
            assert row.account_id == account
            assert row.campaign_id == (
                expected.campaign_id if isinstance(expected.campaign_id, str) else None
            )
            assert row.score == expected.score and row.flagged == expected.flagged
            assert row.reasons == list(expected.reasons)
        tables = records[by_file.index[0]]
        tables["requests"][0]["ip"] = "not an address"
        with pytest.raises(LinkageError, match=r"requests\[0\]: unparseable ip address"):
            scorer.score_account(tables)
    finally:
        scorer.close()


def test_records_score_as_files_do(world):
    """Several accounts' records held in memory (``Scorer.score_records``, validated as
    ingest validates and keyed in SQL) get the rows the CLI writes."""
    by_file = score_new(world / "r41", world / "new").rows
    accounts = by_file.account_id.tolist()[:20]
    records = account_records(world / "new", accounts=accounts)
    tables = {name: [r for a in accounts for r in records[a][name]] for name in TABLES}
    scorer = Scorer.open(world / "r41")
    try:
        rows = scorer.score_records(tables)
    finally:
        scorer.close()
    expected = by_file[by_file.account_id.isin(accounts)].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected)
