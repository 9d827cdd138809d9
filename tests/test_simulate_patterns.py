"""Adversary patterns and legitimate look-alikes of the simulator (``hard``, ``adversarial``):
each is present, labelled, and has the property it claims."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from linkage.errors import ScenarioError
from linkage.simulate import SCENARIOS, CampaignSpec, Scenario, load_scenario, simulate
from linkage.simulate.accounts import POPULATIONS

TABLES = ("accounts", "requests", "payments", "ip_intel", "identifiers", "labels")
LOOKALIKES = ("eval_team", "class", "hackathon", "saas", "framework", "ci_bot")
CAMPAIGN_POPULATIONS = ("hydra", "surgical", "behaviour_only", "front_company", "regrowth")


@pytest.fixture(scope="module")
def adv(tmp_path_factory):
    out = tmp_path_factory.mktemp("adv")
    result = simulate(out, accounts=3000, seed=1, scenario="adversarial")
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{out}/{t}.parquet')")
    con.execute("CREATE VIEW r AS SELECT * FROM requests JOIN labels USING (account_id)")
    con.execute("CREATE VIEW a AS SELECT * FROM accounts JOIN labels USING (account_id)")
    return result, con


def q(con, sql):
    return con.execute(sql).fetchall()


def shared(con, column: str, table: str, population: str) -> int:
    """Values of ``column`` used by more than one account of ``population``."""
    return q(
        con,
        f"""SELECT count(*) FROM (SELECT {column} FROM {table} JOIN labels USING (account_id)
            WHERE population = '{population}' GROUP BY 1
            HAVING count(DISTINCT account_id) > 1)""",
    )[0][0]


@pytest.mark.parametrize("name", ["hard", "adversarial"])
def test_scenarios_round_trip_through_json(tmp_path, name):
    path = tmp_path / "s.json"
    SCENARIOS[name].save(path)
    assert load_scenario(path) == SCENARIOS[name]
    assert Scenario.from_dict(json.loads(path.read_text())).campaigns[0].regrowth_requests == (
        5,
        30,
    )


def test_bad_campaign_knobs_are_clear_errors():
    base = {"name": "x", "accounts_frac": 0.01, "min_accounts": 5, "requests_per_account": 10}
    with pytest.raises(ScenarioError, match="unknown kind"):
        CampaignSpec(**base, kind="botnet")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="behaviour_only needs proxy_share=1"):
        CampaignSpec(**base, kind="behaviour_only")
    with pytest.raises(ScenarioError, match="mass_ban_at"):
        CampaignSpec(**base, mass_ban_at=1.5)
    with pytest.raises(ScenarioError, match="corporate_share"):
        CampaignSpec(**base, proxy_share=0.3, corporate_share=0.3)


def test_adversarial_is_deterministic(tmp_path):
    a = simulate(tmp_path / "a", accounts=1500, seed=4, scenario="adversarial")
    b = simulate(tmp_path / "b", accounts=1500, seed=4, scenario="adversarial")
    for t in TABLES:
        assert pq.read_table(a.out_dir / f"{t}.parquet").equals(
            pq.read_table(b.out_dir / f"{t}.parquet")
        ), t
    ja, jb = (json.loads((r.out_dir / "simulation.json").read_text()) for r in (a, b))
    ja.pop("seconds"), jb.pop("seconds")
    assert ja == jb


def test_every_population_present_and_labelled(adv):
    result, con = adv
    present = dict(q(con, "SELECT population, count(*) FROM labels GROUP BY 1"))
    assert set(present) <= set(POPULATIONS)
    for pop in (*LOOKALIKES, *CAMPAIGN_POPULATIONS, "individual", "company", "proxied_home"):
        assert present.get(pop, 0) > 0, pop
    # campaign accounts are labelled with their campaign; look-alikes are legitimate
    bad = q(
        con,
        f"""SELECT count(*) FROM labels WHERE
            (population IN {CAMPAIGN_POPULATIONS}
             AND (campaign_id IS NULL OR group_id <> campaign_id))
            OR (population NOT IN {CAMPAIGN_POPULATIONS} AND campaign_id IS NOT NULL)""",
    )
    assert bad == [(0,)]
    assert q(
        con,
        "SELECT count(*) FROM labels WHERE population IN ('eval_team', 'class', "
        "'hackathon', 'saas') AND group_id IS NULL",
    ) == [(0,)]
    meta = json.loads((result.out_dir / "simulation.json").read_text())
    assert meta["populations"]["eval_team"]["accounts"] == present["eval_team"]
    kinds = {c["campaign_id"]: c.get("kind") for c in meta["campaigns"]}
    assert kinds["swarm-behaviour"] == "behaviour_only"
    assert sum(c.get("regrowth", 0) for c in meta["campaigns"]) == present["regrowth"]


def test_behaviour_only_swarm_shares_no_infrastructure(adv):
    _, con = adv
    for column, table in (
        ("instrument_fp", "payments"),
        ("device_fp", "requests"),
        ("ip", "requests"),
        ("value", "identifiers"),
    ):
        assert shared(con, column, table, "behaviour_only") == 0, column
    # ... but they sign up in bursts and share extraction templates
    (n, bursts) = q(
        con,
        """SELECT count(*), count(DISTINCT date_trunc('day', created_at))
           FROM a WHERE population = 'behaviour_only'""",
    )[0]
    assert bursts <= 4 < n


def test_regrowth_accounts_are_new_few_requests_on_banned_infrastructure(adv):
    _, con = adv
    rows = q(
        con,
        """
        WITH g AS (SELECT account_id, campaign_id, created_at FROM a WHERE population = 'regrowth'),
             banned AS (SELECT account_id, campaign_id, banned_at FROM a
                        WHERE campaign_id IS NOT NULL AND status = 'banned'),
             card AS (SELECT DISTINCT account_id, instrument_fp FROM payments),
             dev AS (SELECT DISTINCT account_id, device_fp FROM requests)
        SELECT g.account_id,
               (SELECT count(*) FROM requests r WHERE r.account_id = g.account_id) n_req,
               g.created_at > (SELECT max(banned_at) FROM banned b
                               WHERE b.campaign_id = g.campaign_id) after_ban,
               EXISTS (SELECT 1 FROM card c JOIN card cb USING (instrument_fp)
                       JOIN banned b ON b.account_id = cb.account_id
                       WHERE c.account_id = g.account_id AND b.campaign_id = g.campaign_id) on_card,
               EXISTS (SELECT 1 FROM dev d JOIN dev db USING (device_fp)
                       JOIN banned b ON b.account_id = db.account_id
                       WHERE d.account_id = g.account_id AND b.campaign_id = g.campaign_id) on_dev
        FROM g""",
    )
    assert len(rows) >= 10
    for _, n_req, after_ban, on_card, on_dev in rows:
        assert 5 <= n_req <= 30
        assert after_ban and on_card and on_dev
    # their exits are the campaign's proxy exits that banned accounts used
    (share,) = q(
        con,
        """SELECT avg((ip IN (SELECT ip FROM r WHERE status_banned))::int) FROM (
             SELECT r.ip FROM r WHERE population = 'regrowth')""".replace(
            "status_banned",
            "account_id IN (SELECT account_id FROM a WHERE status = 'banned' "
            "AND campaign_id IS NOT NULL)",
        ),
    )[0]
    assert share > 0.5


def test_eval_teams_are_structurally_customers(adv):
    _, con = adv
    (n, with_org, banned, young) = q(
        con,
        """SELECT count(*),
                  count(*) FILTER (WHERE account_id IN
                      (SELECT account_id FROM identifiers WHERE kind = 'org_id')),
                  count(*) FILTER (WHERE status = 'banned'),
                  count(*) FILTER (WHERE created_at > TIMESTAMPTZ '2026-09-01' - INTERVAL 100 DAY)
           FROM a WHERE population = 'eval_team'""",
    )[0]
    assert n >= 8 and with_org == n and banned == 0 and young == 0
    per_team = q(
        con,
        """SELECT group_id, count(DISTINCT instrument_fp), count(*) / count(DISTINCT account_id)
           FROM payments JOIN labels USING (account_id) WHERE population = 'eval_team'
           GROUP BY 1""",
    )
    assert all(cards == 1 and charges >= 5 for _, cards, charges in per_team)  # weekly
    # corporate egress and cloud hosts shared by the team; around the clock
    (corp_hosting,) = q(
        con,
        """SELECT count(DISTINCT ip) FROM r WHERE population = 'eval_team' AND ip IN (
             SELECT ip FROM r WHERE population = 'eval_team' GROUP BY ip
             HAVING count(DISTINCT account_id) >= 5)""",
    )[0]
    assert corp_hosting >= 2
    hours = q(con, "SELECT count(DISTINCT hour(ts)) FROM r WHERE population = 'eval_team'")
    assert hours == [(24,)]


def test_front_company_looks_like_a_customer(adv):
    _, con = adv
    (n, domains, banned) = q(
        con,
        """SELECT count(*), count(DISTINCT email_domain), count(*) FILTER (WHERE status = 'banned')
           FROM a WHERE population = 'front_company'""",
    )[0]
    assert n >= 20 and domains == 1 and banned == 0
    cards = q(
        con,
        """SELECT count(DISTINCT instrument_fp) FROM payments JOIN labels USING (account_id)
           WHERE population = 'front_company'""",
    )
    orgs = q(
        con,
        """SELECT count(DISTINCT value) FROM identifiers JOIN labels USING (account_id)
           WHERE population = 'front_company' AND kind = 'org_id'""",
    )
    assert cards == [(1,)] and orgs == [(1,)]


def test_operators_behind_one_proxy_provider_share_only_exits(adv):
    _, con = adv
    (ips,) = q(
        con,
        """SELECT count(*) FROM (SELECT ip FROM r GROUP BY ip HAVING
             count(*) FILTER (WHERE campaign_id = 'hydra-reasoning') > 0 AND
             count(*) FILTER (WHERE campaign_id = 'hydra-rewrite') > 0)""",
    )[0]
    assert ips >= 10
    (cards,) = q(
        con,
        """SELECT count(*) FROM (SELECT instrument_fp FROM payments JOIN labels USING (account_id)
           GROUP BY 1 HAVING count(DISTINCT campaign_id) > 1)""",
    )[0]
    assert cards == 0


def test_classes_and_cohorts_sign_up_in_bursts_and_share_a_venue(adv):
    _, con = adv
    for pop in ("class", "hackathon"):
        rows = q(
            con,
            f"""SELECT group_id, count(*), max(k) FROM (
                  SELECT group_id, count(*) OVER (PARTITION BY group_id,
                         date_trunc('hour', created_at)) k FROM a WHERE population = '{pop}')
                GROUP BY 1""",
        )
        assert rows and all(k >= n // 4 for _, n, k in rows), pop
        venue = q(
            con,
            f"""SELECT min(top) FROM (SELECT group_id, max(n) top FROM (
                  SELECT group_id, ip, count(DISTINCT account_id) n FROM r
                  WHERE population = '{pop}' GROUP BY 1, 2) GROUP BY 1)""",
        )[0][0]
        assert venue >= 10, pop
    promo = q(
        con,
        """SELECT count(DISTINCT value), count(DISTINCT account_id) FROM identifiers
           JOIN labels USING (account_id) WHERE population = 'hackathon'
           AND kind = 'referral_code'""",
    )[0]
    assert promo[0] == len(
        q(con, "SELECT DISTINCT group_id FROM labels WHERE population = 'hackathon'")
    )


def test_saas_framework_and_ci_share_templates_agents_and_clouds(adv):
    _, con = adv
    ua = q(
        con,
        """SELECT population, count(DISTINCT user_agent) FROM r
           WHERE population IN ('saas', 'framework') GROUP BY 1""",
    )
    assert all(n <= 4 for _, n in ua)
    (top_of_hour,) = q(
        con, "SELECT avg((minute(ts) IN (0, 1, 2))::int) FROM r WHERE population = 'ci_bot'"
    )[0]
    assert top_of_hour > 0.5
    assert shared(con, "ip", "requests", "ci_bot") >= 5
    (templated,) = q(
        con,
        """SELECT count(DISTINCT account_id) FROM r WHERE population = 'saas'
           AND prompt_text LIKE 'System: You are %'""",
    )[0]
    assert templated >= 10


def test_proxied_homes_are_campaign_exits(adv):
    _, con = adv
    (n, borrowed) = q(
        con,
        """SELECT count(DISTINCT account_id), count(DISTINCT account_id) FILTER (WHERE ip IN (
             SELECT ip FROM r WHERE campaign_id IS NOT NULL)) FROM r
           WHERE population = 'proxied_home'""",
    )[0]
    assert n > 0 and borrowed >= 0.5 * n


@pytest.mark.parametrize("name", ["hard", "adversarial"])
def test_every_campaign_present_at_small_sizes(tmp_path, name):
    res = simulate(tmp_path, accounts=2000, seed=0, scenario=name)
    got = {c["campaign_id"]: c["accounts"] for c in res.campaigns if c["campaign_id"]}
    assert set(got) == {c.name for c in SCENARIOS[name].campaigns}
    assert all(v >= 12 for v in got.values())


def test_every_scenario_knob_is_in_the_readme():
    from dataclasses import fields
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("### `simulate`") : readme.index("### `ingest`")]
    missing = [
        f.name for c in (Scenario, CampaignSpec) for f in fields(c) if f"`{f.name}`" not in section
    ]
    assert not missing, f"document these simulate knobs in the README: {missing}"
