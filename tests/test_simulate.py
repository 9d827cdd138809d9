"""The simulator: determinism, contract shape, and the presence of every trap."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from linkage.contract import INPUT_TABLES
from linkage.errors import ScenarioError
from linkage.simulate import SCENARIOS, Scenario, load_scenario, simulate
from linkage.simulate.prompts import EXTRACTION_TEMPLATES

TABLES = ("accounts", "requests", "payments", "ip_intel", "identifiers", "labels")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    result = simulate(out, seed=3, scenario="default")
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{out}/{t}.parquet')")
    con.execute(
        "CREATE VIEW r AS SELECT r.*, l.campaign_id "
        "FROM requests r JOIN labels l USING (account_id)"
    )
    return result, con


def q(con, sql):
    return con.execute(sql).fetchall()


def test_writes_every_contract_table_with_contract_columns(sim):
    result, _ = sim
    for t in TABLES:
        cols = pq.read_schema(result.out_dir / f"{t}.parquet").names
        assert set(INPUT_TABLES[t].required_columns) <= set(cols), t
        extra = {"population", "group_id"} if t == "labels" else set()  # ground truth only
        assert set(cols) - extra <= set(INPUT_TABLES[t].column_names), t
    meta = json.loads((result.out_dir / "simulation.json").read_text())
    assert meta["seed"] == 3
    assert meta["rows"]["accounts"] == 3000


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = simulate(tmp_path / "a", accounts=600, seed=11)
    b = simulate(tmp_path / "b", accounts=600, seed=11)
    c = simulate(tmp_path / "c", accounts=600, seed=12)
    for t in TABLES:
        ta = pq.read_table(a.out_dir / f"{t}.parquet")
        assert ta.equals(pq.read_table(b.out_dir / f"{t}.parquet")), t
    assert not pq.read_table(a.out_dir / "requests.parquet").equals(
        pq.read_table(c.out_dir / "requests.parquet")
    )


def test_account_ids_unique_and_every_request_known(sim):
    _, con = sim
    assert q(con, "SELECT count(*) = count(DISTINCT account_id) FROM accounts") == [(True,)]
    unknown = (
        "SELECT count(*) FROM requests WHERE account_id NOT IN (SELECT account_id FROM accounts)"
    )
    assert q(con, unknown) == [(0,)]
    assert q(con, "SELECT count(*) FROM labels") == [(3000,)]


def test_requests_fall_inside_each_accounts_life(sim):
    _, con = sim
    bad = q(
        con,
        """
        SELECT count(*) FROM requests r JOIN accounts a USING (account_id)
        WHERE r.ts < a.created_at OR (a.banned_at IS NOT NULL AND r.ts > a.banned_at)
    """,
    )
    assert bad == [(0,)]


def test_trap_carrier_nat_shared_by_hundreds_of_legitimate_accounts(sim):
    _, con = sim
    (n,) = q(
        con,
        """
        SELECT max(n) FROM (SELECT ip, count(DISTINCT account_id) n FROM r
                            WHERE campaign_id IS NULL GROUP BY ip)
    """,
    )[0]
    assert n >= 100
    kinds = {k for (k,) in q(con, "SELECT DISTINCT kind FROM ip_intel")}
    assert {"mobile", "education", "vpn", "hosting", "residential", "proxy"} <= kinds


def test_trap_company_card_and_egress_shared_by_a_legitimate_team(sim):
    _, con = sim
    rows = q(
        con,
        """
        SELECT p.instrument_fp, count(DISTINCT p.account_id) n, count(DISTINCT a.email_domain) d
        FROM payments p JOIN accounts a USING (account_id) JOIN labels l USING (account_id)
        WHERE l.campaign_id IS NULL GROUP BY 1 HAVING n >= 5
    """,
    )
    assert rows, "no legitimate card shared by a team"
    assert any(d == 1 for _, _, d in rows)  # a company card: one company domain


def test_trap_families_share_a_card(sim):
    _, con = sim
    (n,) = q(
        con,
        """
        SELECT count(*) FROM (SELECT instrument_fp FROM payments JOIN labels USING (account_id)
        WHERE campaign_id IS NULL GROUP BY 1 HAVING count(DISTINCT account_id) BETWEEN 2 AND 5)
    """,
    )[0]
    assert n >= 5


def test_trap_popular_device_fingerprint_shared_by_strangers(sim):
    _, con = sim
    (n,) = q(
        con,
        """
        SELECT max(n) FROM (SELECT device_fp, count(DISTINCT account_id) n FROM r
                            WHERE campaign_id IS NULL GROUP BY 1)
    """,
    )[0]
    assert n >= 20


def test_trap_proxy_exits_are_real_users_home_addresses(sim):
    _, con = sim
    (n,) = q(
        con,
        """
        SELECT count(*) FROM (
            SELECT ip FROM r GROUP BY ip
            HAVING count(DISTINCT account_id) FILTER (WHERE campaign_id IS NULL) > 0
               AND count(DISTINCT account_id) FILTER (WHERE campaign_id = 'hydra-coding') > 0)
    """,
    )[0]
    assert n >= 10


def test_trap_churn_banned_accounts_replaced_on_same_infrastructure(sim):
    _, con = sim
    (n,) = q(
        con,
        """
        WITH c AS (SELECT a.*, l.campaign_id FROM accounts a JOIN labels l USING (account_id)
                   WHERE l.campaign_id = 'hydra-coding'),
             cards AS (SELECT DISTINCT account_id, instrument_fp FROM payments)
        SELECT count(*) FROM c old JOIN cards co ON co.account_id = old.account_id
        JOIN cards cn ON cn.instrument_fp = co.instrument_fp AND cn.account_id <> old.account_id
        JOIN c new ON new.account_id = cn.account_id
        WHERE old.status = 'banned' AND new.created_at > old.banned_at
    """,
    )[0]
    assert n >= 1
    (banned,) = q(
        con,
        """SELECT count(*) FROM accounts JOIN labels USING (account_id)
                          WHERE campaign_id IS NOT NULL AND status = 'banned'""",
    )[0]
    assert banned >= 10


def test_surgical_campaign_shares_no_card_and_no_device(sim):
    _, con = sim
    shared = q(
        con,
        """
        SELECT count(*) FROM (SELECT instrument_fp FROM payments JOIN labels USING (account_id)
        WHERE campaign_id = 'surgical-agentic' GROUP BY 1 HAVING count(DISTINCT account_id) > 1)
    """,
    )
    assert shared == [(0,)]
    shared_dev = q(
        con,
        """
        SELECT count(*) FROM (SELECT device_fp FROM r GROUP BY 1
        HAVING count(DISTINCT account_id) FILTER (WHERE campaign_id = 'surgical-agentic') > 1)
    """,
    )
    assert shared_dev == [(0,)]
    (size, reqs) = q(
        con,
        """SELECT count(DISTINCT account_id), count(*) FROM r
                             WHERE campaign_id = 'surgical-agentic'""",
    )[0]
    assert size >= 12 and reqs / size < 150  # low volume


def test_campaign_prompts_mix_extraction_templates_with_camouflage(sim):
    _, con = sim
    texts = [
        t
        for (t,) in q(
            con,
            """SELECT prompt_text FROM r WHERE campaign_id = 'hydra-coding'
                                      AND prompt_text IS NOT NULL""",
        )
    ]
    assert len(texts) > 50
    skeletons = [t[2].split("{x}")[0] for t in EXTRACTION_TEMPLATES]
    templated = sum(any(t.startswith(s) for s in skeletons) for t in texts)
    share = 1 - templated / len(texts)
    assert 0.15 < share < 0.45  # default camouflage 0.3
    legit = q(con, "SELECT count(*), count(prompt_text) FROM r WHERE campaign_id IS NULL")[0]
    assert 0.03 < legit[1] / legit[0] < 0.07  # prompt text on a ~5% sample


def test_campaigns_are_busier_than_legitimate_users(sim):
    _, con = sim
    med = dict(
        q(
            con,
            """SELECT campaign_id IS NULL, median(n) FROM (
        SELECT account_id, campaign_id, count(*) n FROM r GROUP BY ALL) GROUP BY 1""",
        )
    )
    assert med[False] > 10 * med[True]


def test_automated_campaign_runs_around_the_clock_and_people_have_a_rhythm(sim):
    _, con = sim

    def peak_to_trough(where: str) -> float:
        counts = [
            n for (_, n) in q(con, f"SELECT hour(ts) h, count(*) FROM r WHERE {where} GROUP BY 1")
        ]
        return max(counts) / min(counts)

    assert peak_to_trough("campaign_id = 'hydra-coding'") < 1.6  # 24/7 automation
    assert (
        peak_to_trough(
            "account_id IN (SELECT account_id FROM accounts WHERE email_domain LIKE 'company%')"
        )
        > 2.5
    )  # office hours


def test_hard_scenario_is_harder(tmp_path):
    d, h = SCENARIOS["default"], SCENARIOS["hard"]
    for cd, ch in zip(d.campaigns, h.campaigns, strict=False):
        assert ch.camouflage >= cd.camouflage
        assert ch.proxy_overlap >= cd.proxy_overlap
    assert h.company_frac > d.company_frac and h.legit_virtual_card_frac > 0
    assert len(h.campaigns) > len(d.campaigns) and h.eval_team_frac > d.eval_team_frac == 0
    res = simulate(tmp_path, accounts=1500, seed=1, scenario="hard")
    assert res.rows["accounts"] == 1500


def test_embeddings_optional_with_fixed_dimension(tmp_path):
    sc = Scenario.from_dict(
        {**SCENARIOS["default"].to_dict(), "embedding_dim": 16, "accounts": 400}
    )
    simulate(tmp_path, seed=2, scenario=sc)
    df = pd.read_parquet(tmp_path / "requests.parquet", columns=["prompt_text", "prompt_embedding"])
    has_text = df.prompt_text.notna()
    assert (df.prompt_embedding.notna() == has_text).all()
    assert {len(v) for v in df.prompt_embedding[has_text]} == {16}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_formats_hold_the_same_rows(tmp_path, fmt):
    simulate(tmp_path / "p", accounts=300, seed=5)
    simulate(tmp_path / "t", accounts=300, seed=5, fmt=fmt)
    want = pd.read_parquet(tmp_path / "p" / "accounts.parquet")
    if fmt == "csv":
        got = pd.read_csv(tmp_path / "t" / "accounts.csv", keep_default_na=False, na_values=[""])
    else:
        got = pd.read_json(tmp_path / "t" / "accounts.jsonl", lines=True, dtype=False)
    assert list(got.account_id) == list(want.account_id)
    assert (pd.to_datetime(got.created_at, utc=True) == want.created_at).all()
    assert got.created_at.iloc[0].endswith("Z")


def test_scenario_round_trips_through_json(tmp_path):
    path = tmp_path / "s.json"
    SCENARIOS["hard"].save(path)
    assert load_scenario(path) == SCENARIOS["hard"]


def test_bad_scenarios_are_clear_errors(tmp_path):
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        load_scenario("nope")
    with pytest.raises(ScenarioError, match="unknown scenario settings"):
        Scenario.from_dict({"accounts": 500, "colour": "red"})
    with pytest.raises(ScenarioError, match="accounts must be >= 100"):
        simulate(tmp_path, accounts=10)
