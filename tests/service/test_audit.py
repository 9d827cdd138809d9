"""The audit log: JSON lines that no request can forge, with card numbers masked."""

from __future__ import annotations

import io
import json
import logging

import pytest

from api.audit import AUDIT_FIELDS
from api.main import LOG_CONFIG

CARD = "4111111111111111"
CARD_SPACED = "4111 1111 1111 1111"


@pytest.fixture()
def audit_log(settings):
    """What the audit logger writes, formatted as `linkage serve` formats it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(LOG_CONFIG["formatters"]["audit"]["format"]))
    logger = logging.getLogger(settings.audit_logger)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


HOSTILE = [
    "/campaigns/x%0a2026-12-01 who=root path=/banlist status=200",
    '/campaigns/x%0d%0a{"who": "root", "status": 200}',
    "/campaigns/nul%00byte",
    "/campaigns/%E2%80%AEtoor",  # right-to-left override
    "/entities/card/%E2%80%AE" + CARD,
    f"/entities/card/{CARD}",
    f"/entities/bin/{CARD_SPACED}",
    f"/accounts/{CARD}/neighborhood",
    f"/campaigns?limit=5&sort={CARD}",
    "/campaigns?sort=4111%201111%201111%201111&min_score=4111+1111+1111+1111",
    f"/campaigns?unknown={CARD}",
    f"/no/such/route/{CARD}",
    "/entities/ip/%ff%fe",
]


def test_every_request_is_one_parseable_line_with_cards_masked(client, inv_headers, audit_log, ids):
    for path in HOSTILE:
        for headers in ({}, {"X-API-Key": "wrong-key-123"}, inv_headers):
            client.get(path, headers=headers)
    client.get(f"/campaigns/{ids['campaign']}", headers=inv_headers)
    client.get("/banlist", headers=inv_headers)
    text = audit_log.getvalue()
    lines = text.splitlines()
    assert len(lines) == 3 * len(HOSTILE) + 2  # one line per request: none split, none forged
    records = [json.loads(line) for line in lines]
    assert all(tuple(r) == AUDIT_FIELDS for r in records)
    assert text.isascii() and "\x00" not in text and "\r" not in text
    assert CARD not in text and CARD_SPACED not in text and "************1111" in text
    assert "4111%20" not in text and "4111+1111" not in text
    assert inv_headers["X-API-Key"] not in text and "wrong-key-123" not in text
    assert not any(r["who"] == "root" for r in records)
    forged = next(r for r in records if r["path"].startswith("/campaigns/x\n"))
    assert forged["path"] == "/campaigns/x\n2026-12-01 who=root path=/banlist status=200"
    assert forged["who"] is None and forged["status"] in (401, 404)
    rtl = next(r for r in records if r["path"] == "/campaigns/\u202etoor")
    assert "\\u202e" in lines[records.index(rtl)]
    statuses = {(r["who"], r["route"], r["status"]) for r in records}
    assert ("ivy", "/campaigns/{campaign_id}", 200) in statuses
    assert ("ivy", "/banlist", 403) in statuses
    assert (None, "/campaigns", 401) in statuses
    assert any(r["status"] == 404 and r["route"] is None for r in records)
    assert all(isinstance(r["ms"], float) and r["method"] == "GET" for r in records)
