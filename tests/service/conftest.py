"""Fixtures for the service: an app over the session's detection result, with a key of
each role."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api import Settings, create_app

INVESTIGATOR_KEY = "inv-" + "k" * 28
ADMIN_KEY = "adm-" + "z" * 28
SCORER_KEY = "sco-" + "q" * 28
KEYS_ENV = f"ivy:investigator:{INVESTIGATOR_KEY},root:admin:{ADMIN_KEY},signup:scorer:{SCORER_KEY}"


@pytest.fixture(scope="session")
def result_dir(detected) -> Path:
    return detected[0] / "result"


@pytest.fixture(scope="session")
def settings(result_dir) -> Settings:
    return Settings(result_dir=result_dir, api_keys=SecretStr(KEYS_ENV))


@pytest.fixture(scope="session")
def app(settings):
    return create_app(settings)


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def inv_headers() -> dict[str, str]:
    return {"X-API-Key": INVESTIGATOR_KEY}


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    return {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="session")
def scorer_headers() -> dict[str, str]:
    return {"X-API-Key": SCORER_KEY}


@pytest.fixture(scope="session")
def ids(client, inv_headers):
    """Real ids from the result: a campaign, a flagged account, a shared IP and prefix."""
    camps = client.get("/campaigns", headers=inv_headers).json()["data"]
    campaign = camps[0]["campaign_id"]
    graph = client.get(f"/campaigns/{campaign}/subgraph", headers=inv_headers).json()
    account = next(n["key"] for n in graph["nodes"] if n["label"] == "Account")
    ip = next(n["key"] for n in graph["nodes"] if n["label"] == "IP")
    prefix = client.get(f"/entities/ip/{ip}", headers=inv_headers).json()["entity"]["parent"]
    return {"campaign": campaign, "account": account, "ip": ip, "prefix": prefix["entity"]}
