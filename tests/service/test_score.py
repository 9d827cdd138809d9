"""``POST /score``: one account scored against the result's campaigns, with the library's
keys and rule; who may call it; bounded, validated bodies."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest
from fastapi.testclient import TestClient

from api import create_app

from .conftest import body


def test_score_matches_the_cli_row(client, scorer_headers, sample):
    data, member, outsider = sample
    for expected in (member, outsider):
        r = client.post("/score", json=body(data, expected.account_id), headers=scorer_headers)
        assert r.status_code == 200, r.text
        got = r.json()
        assert list(got) == ["account_id", "campaign_id", "score", "flagged", "reasons"]
        assert got["account_id"] == expected.account_id
        assert got["campaign_id"] == (
            expected.campaign_id if isinstance(expected.campaign_id, str) else None
        )
        assert got["score"] == pytest.approx(expected.score)
        assert got["flagged"] == expected.flagged and got["reasons"] == list(expected.reasons)
    assert r.headers["cache-control"] == "no-store"


def test_concurrent_requests_get_their_own_rows(client, scorer_headers, sample):
    """Requests in flight together each get their own account's row, a bad body its own
    422."""
    data, member, outsider = sample
    payloads = [body(data, member.account_id), body(data, outsider.account_id)] * 4
    broken = body(data, outsider.account_id, max_requests=5)
    broken["created_at"] = "never"
    payloads.append(broken)
    with ThreadPoolExecutor(len(payloads)) as pool:
        got = list(
            pool.map(lambda p: client.post("/score", json=p, headers=scorer_headers), payloads)
        )
    for payload, r in zip(payloads[:-1], got[:-1], strict=True):
        assert r.status_code == 200 and r.json()["account_id"] == payload["account_id"]
    assert got[0].json()["campaign_id"] == member.campaign_id
    assert got[1].json()["campaign_id"] is None
    assert got[-1].status_code == 422 and "created_at" in got[-1].json()["detail"]


def test_every_role_may_score_and_a_scorer_nothing_else(
    client, scorer_headers, inv_headers, admin_headers, sample, ids
):
    data, member, _ = sample
    payload = body(data, member.account_id)
    for headers in (scorer_headers, inv_headers, admin_headers):
        assert client.post("/score", json=payload, headers=headers).status_code == 200
    assert client.post("/score", json=payload).status_code == 401
    assert client.post("/score", json=payload, headers={"X-API-Key": "x" * 32}).status_code == 401
    assert client.get("/health").status_code == 200
    for url in (
        "/campaigns",
        f"/campaigns/{ids['campaign']}",
        f"/campaigns/{ids['campaign']}/subgraph",
        f"/accounts/{ids['account']}",
        f"/accounts/{ids['account']}/neighborhood",
        f"/entities/ip/{ids['ip']}",
        "/banlist",
        "/openapi.json",
    ):
        r = client.get(url, headers=scorer_headers)
        assert r.status_code == 403 and "scorer" in r.json()["detail"], url


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("created_at"), "body.created_at"),
        (lambda b: b["requests"].append({"ts": "2026-01-01T00:00:00Z", "ip": 7}), "ip"),
        (lambda b: b.update(account_id=""), "body.account_id"),
        (lambda b: b.update(country="X" * 100), "body.country"),
        (lambda b: b.update(nickname="x"), "body.nickname"),
        (lambda b: b.update(requests=[{"ts": "t", "ip": "10.0.0.1"}] * 501), "body.requests"),
        (lambda b: b["requests"].append({"ts": "yesterday", "ip": "10.0.0.1"}), "timestamp: ts"),
        (lambda b: b["requests"].append({"ts": "2026-01-01T00:00:00Z", "ip": "1.2.3"}), "ip"),
        (lambda b: b.update(created_at="not a time"), "timestamp: created_at"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(client, scorer_headers, sample, change, field):
    data, member, _ = sample
    payload = body(data, member.account_id, max_requests=5)
    change(payload)
    r = client.post("/score", json=payload, headers=scorer_headers)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_card_numbers_are_refused_and_never_echoed(client, scorer_headers, sample):
    data, member, _ = sample
    payload = body(data, member.account_id, max_requests=5)
    payload["payments"] = [{"ts": "2026-01-01T00:00:00Z", "instrument_fp": "4111111111111111"}]
    r = client.post("/score", json=payload, headers=scorer_headers)
    assert r.status_code == 422 and "raw card number in instrument_fp" in r.json()["detail"]
    assert "4111" not in r.text


def test_oversized_bodies_are_refused(client, scorer_headers, settings):
    big = b'{"account_id": "' + b"a" * settings.max_body_bytes + b'"}'
    headers = {**scorer_headers, "content-type": "application/json"}
    r = client.post("/score", content=big, headers=headers)
    assert r.status_code == 413 and "cap" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams
        yield b'{"account_id": "'
        for _ in range(settings.max_body_bytes // 4096 + 1):
            yield b"a" * 4096
        yield b'"}'

    r = client.post("/score", content=chunks(), headers=headers)
    assert r.status_code == 413


def test_a_result_without_the_index_serves_all_but_score(
    result_dir, tmp_path, settings, inv_headers
):
    old = tmp_path / "old"
    shutil.copytree(result_dir, old)
    con = duckdb.connect(str(old / "linkage.duckdb"))
    con.execute("DROP TABLE campaign_index")
    con.close()
    app = create_app(settings.model_copy(update={"result_dir": old}))
    with TestClient(app) as c:
        assert c.get("/campaigns", headers=inv_headers).status_code == 200
        r = c.post("/score", json={"account_id": "a", "created_at": "x"}, headers=inv_headers)
        assert r.status_code == 503 and "campaign_index" in r.json()["detail"]


def test_a_long_prompt_is_scored_not_refused(client, scorer_headers, sample):
    """Prompts carry pasted code and documents: one of 20,000 characters is still a prompt
    (the body cap bounds the request as a whole)."""
    data, member, _ = sample
    sent = body(data, member.account_id)
    sent["requests"][0]["prompt_text"] = "def f(x):\n    return x\n" * 870
    r = client.post("/score", json=sent, headers=scorer_headers)
    assert r.status_code == 200, r.text
    assert r.json()["campaign_id"] == member.campaign_id
