"""``/decisions`` and ``/me``: who may decide, bodies refused naming the field, the log
written under the key's name, and the decision shown on the campaign and account."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api import Settings, create_app
from linkage.review import DecisionLog

from .conftest import ADMIN_KEY, INVESTIGATOR_KEY, KEYS_ENV, SCORER_KEY, body

REVIEWER_KEY = "rev-" + "r" * 28
KEYS = f"{KEYS_ENV},rita:reviewer:{REVIEWER_KEY}"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def deciding(result_dir: Path, state: Path):
    app = create_app(Settings(result_dir=result_dir, api_keys=SecretStr(KEYS), state_dir=state))
    with TestClient(app) as c:
        yield c


def _as(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_me_says_who_may_decide(deciding: TestClient):
    assert deciding.get("/me", headers=_as(REVIEWER_KEY)).json() == {
        "name": "rita",
        "role": "reviewer",
        "can_decide": True,
    }
    assert deciding.get("/me", headers=_as(INVESTIGATOR_KEY)).json()["can_decide"] is False
    assert deciding.get("/me", headers=_as(SCORER_KEY)).status_code == 403
    assert deciding.get("/me").status_code == 401


def test_a_reviewer_decides_and_the_campaign_shows_it(deciding: TestClient, ids, state: Path):
    cid = ids["campaign"]
    body = {"target": "campaign", "id": cid, "action": "dismiss", "note": "Acme <eval> team"}
    got = deciding.post("/decisions", json=body, headers=_as(REVIEWER_KEY))
    assert got.status_code == 201, got.text
    decision = got.json()
    assert decision["by"] == "rita" and decision["status"] == "pending"
    assert decision["evidence"]  # the campaign's contributions when decided
    [logged] = DecisionLog(state).read()
    assert (logged.id, logged.action, logged.by, logged.note) == (
        cid,
        "dismiss",
        "rita",
        "Acme <eval> team",
    )
    shown = deciding.get(f"/campaigns/{cid}", headers=_as(INVESTIGATOR_KEY)).json()["decision"]
    assert shown["action"] == "dismiss" and shown["status"] == "pending"
    # an admin decides too; the newest is in force, the list keeps both, newest first
    deciding.post("/decisions", json={**body, "action": "watch"}, headers=_as(ADMIN_KEY))
    listed = deciding.get(
        "/decisions", params={"target": "campaign", "id": cid}, headers=_as(INVESTIGATOR_KEY)
    ).json()
    assert listed["count"] == 2 and [d["action"] for d in listed["data"]] == ["watch", "dismiss"]
    shown = deciding.get(f"/campaigns/{cid}", headers=_as(INVESTIGATOR_KEY)).json()["decision"]
    assert shown["action"] == "watch" and shown["by"] == "root"


def test_an_account_decision_shows_on_the_account(deciding: TestClient, ids):
    body = {"target": "account", "id": ids["account"], "action": "confirm"}
    assert deciding.post("/decisions", json=body, headers=_as(ADMIN_KEY)).status_code == 201
    account = deciding.get(f"/accounts/{ids['account']}", headers=_as(INVESTIGATOR_KEY)).json()
    assert account["decision"]["action"] == "confirm"


@pytest.mark.parametrize(
    ("key", "status"), [(INVESTIGATOR_KEY, 403), (SCORER_KEY, 403), ("x" * 32, 401)]
)
def test_only_reviewers_and_admins_decide(deciding: TestClient, ids, state, key, status):
    body = {"target": "campaign", "id": ids["campaign"], "action": "confirm"}
    assert deciding.post("/decisions", json=body, headers=_as(key)).status_code == status
    assert DecisionLog(state).read() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": "person", "id": "x", "action": "confirm"}, "target"),
        ({"target": "campaign", "id": "", "action": "confirm"}, "id"),
        ({"target": "campaign", "id": "cmp\u202e", "action": "confirm"}, "id"),
        ({"target": "campaign", "id": "x", "action": "ban"}, "action"),
        ({"target": "campaign", "id": "x", "action": "confirm", "note": "n" * 2001}, "note"),
        ({"target": "campaign", "id": "x", "action": "confirm", "by": "mallory"}, "by"),
        ({"target": "account", "id": "x", "action": "watch"}, "action"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(deciding: TestClient, state, body, field):
    got = deciding.post("/decisions", json=body, headers=_as(REVIEWER_KEY))
    assert got.status_code == 422 and field in got.json()["detail"], got.text
    assert DecisionLog(state).read() == []


def test_an_id_not_in_the_result_is_404(deciding: TestClient, state):
    for target in ("campaign", "account"):
        body = {"target": target, "id": "nope", "action": "confirm"}
        got = deciding.post("/decisions", json=body, headers=_as(REVIEWER_KEY))
        assert got.status_code == 404 and str(state) not in got.text
    assert DecisionLog(state).read() == []


def test_a_server_without_a_state_directory_keeps_no_decisions(client: TestClient, ids):
    body = {"target": "campaign", "id": ids["campaign"], "action": "confirm"}
    assert client.post("/decisions", json=body, headers=_as(ADMIN_KEY)).status_code == 503
    got = client.get("/decisions", headers=_as(INVESTIGATOR_KEY)).json()
    assert got == {"data": [], "count": 0}


def test_score_applies_a_decision_as_soon_as_it_is_recorded(deciding: TestClient, sample):
    data, member, _ = sample
    account = body(data, member.account_id)
    before = deciding.post("/score", json=account, headers=_as(SCORER_KEY)).json()
    assert before["flagged"] and before["campaign_id"] == member.campaign_id
    decided = {"target": "campaign", "id": member.campaign_id, "action": "dismiss", "note": "ok"}
    assert deciding.post("/decisions", json=decided, headers=_as(REVIEWER_KEY)).status_code == 201
    after = deciding.post("/score", json=account, headers=_as(SCORER_KEY)).json()
    assert not after["flagged"] and after["score"] == before["score"]
    assert after["reasons"][0].startswith("dismissed by rita on ")
    assert after["reasons"][1:] == before["reasons"]
