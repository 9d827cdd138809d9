"""The body of ``POST /score``: one account's sign-up record and its first rows, with
every list and string bounded, and the row of ``linkage score`` it gets back."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_IDENTIFIERS",
    "MAX_PAYMENTS",
    "MAX_PROMPT_CHARS",
    "MAX_REQUESTS",
    "ScoreAccount",
    "ScoreIdentifier",
    "ScorePayment",
    "ScorePublic",
    "ScoreRequest",
]

MAX_REQUESTS = 500
MAX_PAYMENTS = 50
MAX_IDENTIFIERS = 50
MAX_PROMPT_CHARS = 32_768
"""A prompt may be long (pasted code, documents); the body cap bounds the whole request."""

Timestamp = Annotated[
    str, Field(min_length=1, max_length=40, description="ISO 8601 UTC, `2026-04-22T08:15:00Z`.")
]
Text = Annotated[str, Field(max_length=256)]
Code = Annotated[str, Field(max_length=16)]
Count = Annotated[int, Field(ge=0, le=10**9)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=MAX_PROMPT_CHARS)


class ScoreRequest(_Strict):
    """One API exchange (contract `requests`, without `account_id`)."""

    ts: Timestamp
    ip: Annotated[str, Field(min_length=1, max_length=64, description="IPv4 or IPv6 address.")]
    device_fp: Text | None = None
    api_key_id: Text | None = None
    user_agent: Annotated[str, Field(max_length=512)] | None = None
    prompt_text: Annotated[str, Field(max_length=MAX_PROMPT_CHARS)] | None = None
    input_tokens: Count | None = None
    output_tokens: Count | None = None


class ScorePayment(_Strict):
    """A charge or an attached instrument (contract `payments`, without `account_id`).
    Never a card number: one is refused, as ingest refuses it."""

    ts: Timestamp
    instrument_fp: Annotated[str, Field(min_length=1, max_length=256)]
    bin: Code | None = None
    card_country: Code | None = None
    amount_usd: Annotated[float, Field(allow_inf_nan=False)] | None = None


class ScoreIdentifier(_Strict):
    """Another identifier (contract `identifiers`, without `account_id`)."""

    kind: Annotated[str, Field(min_length=1, max_length=64)]
    value: Annotated[str, Field(min_length=1, max_length=256)]
    ts: Timestamp | None = None


class ScoreAccount(_Strict):
    """One account to score: its sign-up record (contract `accounts`) and, optionally,
    its first requests, payments and identifiers."""

    account_id: Annotated[str, Field(min_length=1, max_length=128)]
    created_at: Timestamp
    email_domain: Annotated[str, Field(max_length=253)] | None = None
    country: Code | None = None
    status: Code | None = None
    banned_at: Timestamp | None = None
    requests: list[ScoreRequest] = Field(default_factory=list, max_length=MAX_REQUESTS)
    payments: list[ScorePayment] = Field(default_factory=list, max_length=MAX_PAYMENTS)
    identifiers: list[ScoreIdentifier] = Field(default_factory=list, max_length=MAX_IDENTIFIERS)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The contract tables of this account (``{table: rows}``)."""
        account = self.model_dump(exclude={"requests", "payments", "identifiers"})
        own = {"account_id": self.account_id}
        return {
            "accounts": [account],
            "requests": [{**own, **r.model_dump()} for r in self.requests],
            "payments": [{**own, **p.model_dump()} for p in self.payments],
            "identifiers": [{**own, **i.model_dump()} for i in self.identifiers],
        }


class ScorePublic(BaseModel):
    """A row of `linkage score`."""

    account_id: str
    campaign_id: str | None = Field(description="The known campaign it is tied to; null: none.")
    score: float = Field(description="Campaign score x attachment, in [0, 1].")
    flagged: bool = Field(description="At the result's flag threshold.")
    reasons: list[str] = Field(description="What it shares with the campaign, strongest first.")
