"""Investigators' decisions: the append-only log, the rule that carries them along
lineage and changes flags (on small hand-made campaigns), then whole runs on a simulated
world cut in time: dismissed on day 43's run, still unflagged on day 44's; confirmed on
day 43's, its regrowth flagged on day 44's."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from linkage.cli import app
from linkage.detect import detect
from linkage.errors import LinkageError, NotFoundError
from linkage.export import export_banlist
from linkage.export.stix import stix_bundle
from linkage.result import ResultDir
from linkage.review import (
    Decision,
    DecisionLog,
    apply_flags,
    campaign_decisions,
    carried_conflicts,
    carried_decisions,
    decide,
    in_force,
)
from linkage.settings import DetectSettings
from linkage.simulate import simulate
from linkage.simulate.cut import cut_until, day_start, new_since

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


# -- the log ---------------------------------------------------------------------------


def test_the_log_keeps_every_decision_and_the_latest_is_in_force(tmp_path: Path):
    log = DecisionLog(tmp_path / "state")
    assert log.read() == [] and log.current() == {}
    log.record("campaign", "cmp_a", "watch", by="alice", note="odd hours", at=T0)
    log.record("campaign", "cmp_a", "dismiss", by="bob", note="Acme", at=T0 + timedelta(hours=1))
    log.record("account", "acct 1", "confirm", by="carol", evidence={"x": 1}, at=T0)
    every = log.read()
    assert [(d.id, d.action) for d in every] == [
        ("cmp_a", "watch"),
        ("cmp_a", "dismiss"),
        ("acct 1", "confirm"),
    ]
    assert every[1].at == "2026-11-30T10:00:00.000000Z"
    current = log.current()
    assert current[("campaign", "cmp_a")].by == "bob"
    assert current[("account", "acct 1")].evidence == {"x": 1.0}
    # one JSON object a line, appended
    lines = log.path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["note"] == "odd hours"


@pytest.mark.parametrize(
    ("target", "id", "action", "note", "field"),
    [
        ("person", "x", "confirm", "", "target"),
        ("account", "x", "watch", "", "action on a account"),
        ("campaign", "", "confirm", "", "id"),
        ("campaign", "a\nb", "confirm", "", "id"),
        ("campaign", "x", "confirm", "n" * 2001, "note"),
    ],
)
def test_a_decision_that_cannot_be_recorded_is_refused_naming_the_field(
    tmp_path: Path, target: str, id: str, action: str, note: str, field: str
):
    log = DecisionLog(tmp_path)
    with pytest.raises(LinkageError, match=field):
        log.record(target, id, action, by="alice", note=note)
    assert log.read() == []


def test_a_corrupt_log_is_not_acted_on(tmp_path: Path):
    log = DecisionLog(tmp_path)
    log.record("campaign", "cmp_a", "confirm", by="alice")
    with log.path.open("a") as f:
        f.write("{not json\n")
    with pytest.raises(LinkageError, match=r"decisions\.jsonl:2"):
        log.read()


def test_concurrent_writers_lose_nothing(tmp_path: Path):
    log = DecisionLog(tmp_path)

    def write(who: int) -> None:
        for i in range(25):
            log.record("account", f"a{who}-{i}", "dismiss", by=f"w{who}", note="x" * 500)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({d.id for d in log.read()}) == 100


# -- the rule --------------------------------------------------------------------------


def _d(id: str, action: str, at: int = 0, **evidence: float) -> Decision:
    when = (T0 + timedelta(minutes=at)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return Decision("campaign", id, action, "", "alice", when, dict(evidence))


def _campaigns(*rows: tuple[str, list[str], dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["campaign_id", "previous_campaign_ids", "contributions"])


def _reach(campaigns: pd.DataFrame, *decisions: Decision) -> dict[str, tuple[str, str]]:
    got = campaign_decisions(campaigns, in_force(decisions, {}), ["elicitation", "churn"], 1.0)
    return {c: (a.decision.action, a.status) for c, a in got.items()}


def test_decisions_follow_lineage_continued_split_and_agreeing_merges():
    campaigns = _campaigns(
        ("cmp_a", ["cmp_a"], {}),  # continued
        ("cmp_new", ["cmp_b"], {}),  # the part of a split that got a new id
        ("cmp_c", ["cmp_c", "cmp_d"], {}),  # merged, both dismissed
        ("cmp_e", [], {}),  # new, undecided
    )
    got = _reach(
        campaigns,
        _d("cmp_a", "confirm"),
        _d("cmp_b", "watch"),
        _d("cmp_c", "dismiss"),
        _d("cmp_d", "dismiss", at=5),
    )
    assert got == {
        "cmp_a": ("confirm", "applied"),
        "cmp_new": ("watch", "applied"),
        "cmp_c": ("dismiss", "applied"),
    }


def test_a_merge_of_differing_or_unreviewed_campaigns_carries_no_decision():
    campaigns = _campaigns(
        ("cmp_a", ["cmp_a", "cmp_b"], {}),  # confirmed + dismissed
        ("cmp_c", ["cmp_c", "cmp_x"], {}),  # dismissed + never reviewed
    )
    got = campaign_decisions(
        campaigns,
        in_force([_d("cmp_a", "confirm"), _d("cmp_b", "dismiss"), _d("cmp_c", "dismiss")], {}),
        ["elicitation"],
        1.0,
    )
    assert {c: a.status for c, a in got.items()} == {"cmp_a": "conflict", "cmp_c": "conflict"}
    assert "cmp_x (not reviewed)" in got["cmp_c"].reason
    assert got["cmp_a"].effective is None


def test_a_conflict_holds_on_later_runs_until_someone_decides_again():
    # day 2: cmp_a (dismissed) merged with cmp_x (never reviewed) kept the id cmp_a
    day2 = campaign_decisions(
        _campaigns(("cmp_a", ["cmp_a", "cmp_x"], {})),
        in_force([_d("cmp_a", "dismiss", at=0)], {}),
        ["elicitation"],
        1.0,
    )
    assert day2["cmp_a"].status == "conflict"
    rows = pd.DataFrame([day2["cmp_a"].row()]).assign(evidence=[{}])
    conflicts = carried_conflicts(rows)
    # day 3: it continues alone; the old dismissal in the log must not reach it
    day3 = _campaigns(("cmp_a", ["cmp_a"], {}))
    got = campaign_decisions(
        day3,
        in_force([_d("cmp_a", "dismiss", at=0)], carried_decisions(rows)),
        ["elicitation"],
        1.0,
        conflicts=conflicts,
    )
    assert got["cmp_a"].status == "conflict" and "review again" in got["cmp_a"].reason
    # a new decision on it settles it
    got = campaign_decisions(
        day3,
        in_force([_d("cmp_a", "dismiss", at=0), _d("cmp_a", "confirm", at=60)], {}),
        ["elicitation"],
        1.0,
        conflicts=conflicts,
    )
    assert (got["cmp_a"].decision.action, got["cmp_a"].status) == ("confirm", "applied")


def test_a_dismissal_reopens_when_the_evidence_of_abuse_grows():
    dismissed = _d("cmp_a", "dismiss", elicitation=0.4, churn=0.0, volume=2.0)
    same = _campaigns(("cmp_a", ["cmp_a"], {"elicitation": 0.9, "churn": 0.0, "volume": 3.0}))
    assert _reach(same, dismissed) == {"cmp_a": ("dismiss", "applied")}
    grown = _campaigns(("cmp_a", ["cmp_a"], {"elicitation": 1.2, "churn": 0.6}))
    got = campaign_decisions(
        grown,
        in_force([dismissed], {}),
        ["elicitation", "churn"],
        1.0,
        {"cmp_a": {"elicitation": "40% of prompts ask for traces", "churn": "10% banned"}},
    )["cmp_a"]
    assert got.status == "reopened" and got.effective is None
    assert got.reason.endswith("grew: 40% of prompts ask for traces; 10% banned")


def test_the_newest_of_the_log_and_a_carried_decision_is_in_force():
    carried = {"cmp_now": _d("cmp_then", "dismiss", at=0)}
    assert in_force([], carried)["cmp_now"].id == "cmp_then"
    assert in_force([_d("cmp_now", "confirm", at=10)], carried)["cmp_now"].action == "confirm"
    assert in_force([_d("cmp_now", "confirm", at=-10)], carried)["cmp_now"].action == "dismiss"
    rows = pd.DataFrame(
        [
            ("campaign", "cmp_now", "dismiss", "applied", "cmp_then", "al", T0.isoformat(), "", ""),
            ("campaign", "cmp_c", "dismiss", "conflict", "cmp_c", "al", T0.isoformat(), "", ""),
        ],
        columns=["target", "id", "action", "status", "decided_id", "by", "at", "note", "reason"],
    ).assign(evidence=[{"churn": 0.5}, {}])
    got = carried_decisions(rows)
    assert list(got) == ["cmp_now"] and got["cmp_now"].evidence == {"churn": 0.5}


def test_flags_after_decisions():
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "b1", "b2", "c1", "z1", "z2"],
            "campaign_id": ["A", "A", "A", "B", "B", "C", None, None],
            "score": [0.9, 0.3, 0.05, 0.8, 0.7, 0.9, 0.0, 0.0],
            "flagged": [True, False, False, True, True, True, False, False],
        }
    )
    campaigns = campaign_decisions(
        _campaigns(("A", ["A"], {}), ("B", ["B"], {}), ("C", ["C"], {})),
        in_force([_d("A", "confirm"), _d("B", "dismiss"), _d("C", "watch")], {}),
        ["elicitation"],
        1.0,
    )
    mine = {
        "b2": Decision("account", "b2", "confirm", "", "al", "t"),
        "c1": Decision("account", "c1", "dismiss", "", "al", "t"),
        "z1": Decision("account", "z1", "confirm", "", "al", "t"),
    }
    flagged = apply_flags(
        accounts.account_id.to_numpy(dtype=object),
        accounts.campaign_id.to_numpy(dtype=object),
        accounts.score.to_numpy(),
        accounts.flagged.to_numpy(),
        {"A": 0.5, "B": 0.9, "C": 0.9},
        campaigns,
        mine,
        0.5,
    )
    # A confirmed: tied members (0.3/0.5) flagged, the loosely tied one (0.05/0.5) not;
    # B dismissed but b2 confirmed; C watched, c1 dismissed; z1 confirmed outside any campaign
    assert dict(zip(accounts.account_id, flagged, strict=True)) == {
        "a1": True,
        "a2": True,
        "a3": False,
        "b1": False,
        "b2": True,
        "c1": False,
        "z1": True,
        "z2": False,
    }


# -- whole runs ------------------------------------------------------------------------


LOW = DetectSettings(report_threshold=0.0002, flag_threshold=0.0001)
"""Thresholds low enough to flag an evaluation team (campaign score ~5e-4)."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hard world (3,000 accounts, seed 0) in ``world``, and what the platform knew
    before days 43 and 44 in ``day43``, ``day44``. hydra-coding creates 3 accounts on
    day 43."""
    root = tmp_path_factory.mktemp("review")
    simulate(root / "world", seed=0, scenario="hard", accounts=3000)
    for day in (43, 44):
        cut_until(root / "world", root / f"day{day}", day_start(root / "world", day))
    return root


def _members(result: Path, campaign_id: str) -> pd.DataFrame:
    acc = ResultDir(result).read_accounts()
    return acc[acc.campaign_id == campaign_id]


def _campaign_of(result: Path, world: Path, label: str, column: str) -> str:
    acc = (
        ResultDir(result)
        .read_accounts()
        .merge(pd.read_parquet(world / "labels.parquet"), on="account_id", suffixes=("", "_true"))
    )
    picked = acc[acc[column].fillna("").str.startswith(label) & acc.campaign_id.notna()]
    return str(picked.campaign_id.mode().iloc[0])


def _index(result: Path, campaign_id: str) -> pd.DataFrame:
    con = ResultDir(result).connect()
    try:
        return con.execute(
            "SELECT entity_type, entity FROM campaign_index WHERE campaign_id = ?", [campaign_id]
        ).df()
    finally:
        con.close()


def _weights(result: Path, entities: pd.DataFrame) -> pd.Series:
    con = ResultDir(result).connect()
    try:
        got = con.execute("SELECT entity_type, entity, weight FROM graph_entities").df()
    finally:
        con.close()
    return entities.merge(got, how="left").set_index(["entity_type", "entity"]).weight


def test_a_dismissed_team_stays_unflagged_on_the_next_days_run(world: Path, tmp_path: Path):
    r43, r44, state = tmp_path / "r43", tmp_path / "r44", tmp_path / "state"
    detect(world / "day43", r43, LOW)
    team = _campaign_of(r43, world / "world", "eval-", "group_id")
    assert _members(r43, team).flagged.all()  # what the investigator sees on day 43
    said = CliRunner().invoke(
        app,
        ["decide", str(r43), "campaign", team, "dismiss", "--state", str(state), "--by", "alice",
         "--note", "Acme's evaluation team, under contract"],
    )  # fmt: skip
    assert said.exit_code == 0, said.output
    with pytest.raises(NotFoundError, match="no campaign"):
        decide(DecisionLog(state), ResultDir(r43), "campaign", "cmp_nope", "confirm", by="bob")

    detect(world / "day44", r44, LOW, previous=r43, decisions=DecisionLog(state))
    # the team goes on under its id, unflagged, saying why
    members = _members(r44, team)
    assert len(members) >= 0.9 * len(_members(r43, team)) and not members.flagged.any()
    reasons = ResultDir(r44).read_campaigns().set_index("campaign_id").reasons[team]
    assert reasons[0].startswith("dismissed by alice on ")
    assert "Acme's evaluation team" in reasons[0]
    applied = ResultDir(r44).read_decisions().set_index("id")
    assert applied.loc[team, ["action", "status"]].tolist() == ["dismiss", "applied"]
    # its infrastructure weighs a quarter of what it weighs to the engine alone
    engine = tmp_path / "engine"
    detect(world / "day44", engine, LOW, previous=r43)
    team_infra = _index(r43, team)
    assert len(team_infra) > 0
    ratio = _weights(r44, team_infra) / _weights(engine, team_infra)
    assert ratio.dropna().between(0.25 - 1e-12, 0.25 + 1e-12).all() and ratio.notna().any()
    # peer labs get neither the dismissed team nor any decision's note
    shared = stix_bundle(r44).serialize()
    assert team not in shared and "Acme" not in shared
    with pytest.raises(LinkageError, match="dismissed by an investigator"):
        stix_bundle(r44, campaign=team)
    # the diff says the team's removals come from the dismissal, and they do not trip
    # the mass-removal guard
    export_banlist(r43, tmp_path / "ban43.csv")
    done = export_banlist(r44, tmp_path / "ban44.csv", since=tmp_path / "ban43.csv")
    diff = pd.read_csv(done.diff_path, keep_default_na=False)
    removed = diff[diff.previous_campaign_id == team]
    assert len(removed) == len(_members(r43, team))
    assert set(removed.change) == {"removed"} and set(removed.decision) == {"dismissed"}
    guard = json.loads(done.manifest_path.read_text())["removal_guard"]
    assert guard["removed_by_dismissal"] == len(removed)

    # the day after, with no decision in the log: carried by the previous result
    r45 = tmp_path / "r45"
    detect(world / "world", r45, LOW, previous=r44, decisions=DecisionLog(tmp_path / "empty"))
    assert not _members(r45, team).flagged.any()
    # without any decision the engine flags the team as before
    fresh = tmp_path / "fresh"
    detect(world / "world", fresh, LOW)
    assert _members(fresh, team).flagged.all()


def test_a_confirmed_campaigns_regrowth_is_flagged_on_the_next_days_run(
    world: Path, tmp_path: Path
):
    r43, state = tmp_path / "r43", tmp_path / "state"
    detect(world / "day43", r43)
    swarm = _campaign_of(r43, world / "world", "hydra-coding", "campaign_id_true")
    decide(DecisionLog(state), ResultDir(r43), "campaign", swarm, "confirm", by="bob")
    known = ResultDir(r43).read_accounts().account_id

    engine, reviewed = tmp_path / "engine", tmp_path / "reviewed"
    detect(world / "day44", engine, previous=r43)
    detect(world / "day44", reviewed, previous=r43, decisions=DecisionLog(state))
    before = _members(engine, swarm)
    after = _members(reviewed, swarm)
    new = after[~after.account_id.isin(known)]
    assert len(new) == 3 and new.flagged.all()  # the day's regrowth, few requests each
    assert not before[~before.account_id.isin(known)].flagged.all()  # not by the engine alone
    assert after.flagged.sum() >= before.flagged.sum()
    reasons = ResultDir(reviewed).read_campaigns().set_index("campaign_id").reasons[swarm]
    assert reasons[0].startswith("confirmed by bob on ")


def test_linkage_score_applies_decisions_made_since_the_run(world: Path, tmp_path: Path):
    r43, state = tmp_path / "r43", tmp_path / "state"
    detect(world / "day43", r43)
    new_since(world / "world", tmp_path / "new", day_start(world / "world", 43))
    swarm = _campaign_of(r43, world / "world", "hydra-coding", "campaign_id_true")

    def scored(*extra: str) -> pd.DataFrame:
        out = tmp_path / f"scores{len(list(tmp_path.glob('scores*')))}.jsonl"
        said = CliRunner().invoke(
            app, ["score", str(r43), str(tmp_path / "new"), "-o", str(out), *extra]
        )
        assert said.exit_code == 0, said.output
        rows = pd.read_json(out, lines=True)
        return rows[rows.campaign_id == swarm].set_index("account_id")

    engine = scored()
    assert len(engine) == 3 and engine.flagged.all()  # the regrowth, tied by the index
    decide(DecisionLog(state), ResultDir(r43), "campaign", swarm, "confirm", by="bob")
    confirmed = scored("--state", str(state))
    assert confirmed.flagged.all() and (confirmed.score == engine.score).all()
    assert all(r[0].startswith("confirmed by bob on ") for r in confirmed.reasons)
    decide(DecisionLog(state), ResultDir(r43), "campaign", swarm, "dismiss", by="al", note="x")
    dismissed = scored("--state", str(state))
    assert not dismissed.flagged.any()
    assert all(
        re.fullmatch(r'dismissed by al on \d{4}-\d\d-\d\d: "x"', r[0]) for r in dismissed.reasons
    )
