"""Fixtures for the service: an app over the session's detection result, with a key of
each role."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api import Settings, create_app
from api.scoring import MAX_REQUESTS
from linkage import score_new

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


def body(data, account_id: str, max_requests: int = MAX_REQUESTS) -> dict:
    """The ``POST /score`` body of an account of the data directory ``data``."""

    def rows(name: str, columns: list[str]) -> list[dict]:
        df = pd.read_parquet(data / f"{name}.parquet")
        df = df[df.account_id == account_id][[c for c in columns if c in df]]
        for c in df.columns:
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        df = df.astype(object)
        return df.where(df.notna(), None).to_dict(orient="records")

    account = rows("accounts", ["created_at", "email_domain", "country", "status", "banned_at"])
    requests = ["ts", "ip", "device_fp", "api_key_id", "user_agent", "prompt_text"]
    return {
        "account_id": account_id,
        **account[0],
        "requests": rows("requests", [*requests, "input_tokens", "output_tokens"])[:max_requests],
        "payments": rows("payments", ["ts", "instrument_fp", "bin", "card_country", "amount_usd"]),
        "identifiers": rows("identifiers", ["kind", "value", "ts"]),
    }


@pytest.fixture(scope="module")
def sample(detected):
    """A flagged campaign member with few requests, and an account in no campaign, of the
    session's data, with their rows as ``linkage score --all`` scores them."""
    root, _ = detected
    counts = pd.read_parquet(root / "data" / "requests.parquet").account_id.value_counts()
    rows = score_new(root / "result", root / "data", all_accounts=True).rows
    rows["requests"] = rows.account_id.map(counts).fillna(0)
    light = rows[rows.requests <= MAX_REQUESTS]
    member = light[light.flagged].iloc[0]
    outsider = light[light.campaign_id.isna()].iloc[0]
    return root / "data", member, outsider
