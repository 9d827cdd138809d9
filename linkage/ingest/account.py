"""One account's records validated in plain Python: the common case of the service's
``POST /score``, in tens of microseconds instead of the milliseconds Arrow and pandas
cost per call on a handful of rows.

:func:`normalize_account` returns what :func:`~linkage.ingest.records.validate_records`
returns for the same records, as rows, or ``None`` for anything it does not handle
exactly as ingest does: any bad value (ingest's own error message is then made by
``validate_records``), a non-ASCII value where ingest's Unicode case mapping or
trimming decides, a timestamp other than ``YYYY-MM-DD[T ]HH:MM:SS[.f][Z|+00:00]``
(years 1700-2200), an unknown table or column, a value of an unexpected Python type.
Declining is always safe; accepting commits it to ingest's result, which
``tests/test_ingest_account.py`` checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from linkage.contract import STATUSES
from linkage.ingest.cards import is_card_number, redact_cards
from linkage.ingest.normalize import IPV4_RE, IpNormalizer

__all__ = ["Rows", "normalize_account"]

Rows = dict[str, list[dict[str, Any]]]
"""``{table: rows}``: contract columns in, store columns out."""

_TABLES = ("accounts", "requests", "payments", "identifiers")
_COLUMNS = {
    "accounts": {"account_id", "created_at", "email_domain", "country", "status", "banned_at"},
    "requests": {
        "account_id",
        "ts",
        "ip",
        "device_fp",
        "api_key_id",
        "user_agent",
        "prompt_text",
        "prompt_embedding",
        "input_tokens",
        "output_tokens",
    },
    "payments": {"account_id", "ts", "instrument_fp", "bin", "card_country", "amount_usd"},
    "identifiers": {"account_id", "kind", "value", "ts"},
}
_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
"""The ASCII characters Arrow's ``utf8_trim_whitespace`` trims."""
_TS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00)?"
)
_V4 = re.compile(IPV4_RE, re.ASCII)
_CARD_VALUE = re.compile(r"[\t\n\f\r ]*[0-9](?:[ -]?[0-9]){12,18}[\t\n\f\r ]*")
"""``cards._VALUE_RE2`` in Python's syntax (RE2's ``\\s`` and ``\\d`` are ASCII)."""
_CARD_INSIDE = re.compile(r"[0-9](?:[ -]?[0-9]){12}")
"""``cards._CONTAINS_RE2`` in Python's syntax."""
_DOMAIN_USER = re.compile(r"^.*@")
_INT64 = 2**63


class _Decline(Exception):
    """Not handled here: ``validate_records`` decides."""


def normalize_account(tables: Rows) -> Rows | None:
    """The rows :func:`~linkage.ingest.records.validate_records` keeps for the records of
    one account (``{table: rows}`` of ``accounts``, ``requests``, ``payments``,
    ``identifiers``; store columns, timestamps as UTC datetimes), or ``None`` where it
    declines (see the module)."""
    try:
        return _normalize(tables)
    except _Decline:
        return None


def _normalize(tables: Rows) -> Rows:
    if set(tables) - set(_TABLES) or len(tables.get("accounts") or []) != 1:
        raise _Decline
    for name in _TABLES:
        for row in tables.get(name) or []:
            if not isinstance(row, dict) or set(row) - _COLUMNS[name]:
                raise _Decline
    account = _account(tables["accounts"][0])
    aid = account["account_id"]
    out: Rows = {"accounts": [account]}
    for name, normalize in _ROWS.items():
        out[name] = [normalize(row) for row in tables.get(name) or []]
        if any(r["account_id"] != aid for r in out[name]):
            raise _Decline  # unknown accounts: ingest names them
    return out


def _account(row: dict[str, Any]) -> dict[str, Any]:
    status = _code(row.get("status"), str.lower) or "active"
    if status not in STATUSES:
        raise _Decline
    return {
        "account_id": _required(row.get("account_id")),
        "created_at": _timestamp(row.get("created_at"), required=True),
        "email_domain": _domain(row.get("email_domain")),
        "country": _code(row.get("country"), str.upper),
        "status": status,
        "banned_at": _timestamp(row.get("banned_at")),
    }


def _request(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("prompt_embedding") is not None:
        raise _Decline
    ip, version, prefix = _ip(_required(row.get("ip")))
    prompt = _text(row.get("prompt_text"), trim=False)
    if prompt is not None and _CARD_INSIDE.search(prompt):
        prompt, _ = redact_cards(prompt)
    return {
        "account_id": _required(row.get("account_id")),
        "aid": 0,
        "ts": _timestamp(row.get("ts"), required=True),
        "ip": ip,
        "ip_version": version,
        "ip_prefix": prefix,
        "device_fp": _text(row.get("device_fp")),
        "api_key_id": _text(row.get("api_key_id")),
        "user_agent": _text(row.get("user_agent"), trim=False),
        "prompt_text": prompt,
        "prompt_embedding": None,
        "input_tokens": _count(row.get("input_tokens")),
        "output_tokens": _count(row.get("output_tokens")),
    }


def _payment(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": _required(row.get("account_id")),
        "ts": _timestamp(row.get("ts"), required=True),
        "instrument_fp": _no_card(_required(row.get("instrument_fp"))),
        "bin": _no_card(_text(row.get("bin"))),
        "card_country": _code(row.get("card_country"), str.upper),
        "amount_usd": _amount(row.get("amount_usd")),
    }


def _identifier(row: dict[str, Any]) -> dict[str, Any]:
    kind = _code(row.get("kind"), str.lower)
    if kind is None:
        raise _Decline
    return {
        "account_id": _required(row.get("account_id")),
        "kind": kind,
        "value": _no_card(_required(row.get("value"))),
        "ts": _timestamp(row.get("ts")),
    }


_ROWS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "requests": _request,
    "payments": _payment,
    "identifiers": _identifier,
}


def _text(value: object, *, trim: bool = True) -> str | None:
    """``clean_strings``: trimmed (if ``trim``), blank as ``None``."""
    if value is None:
        return None
    if type(value) is not str:
        raise _Decline
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate: Arrow refuses it
            raise _Decline from None
    if trim:
        value = value.strip(_WHITESPACE)
        if value and not (value[0].isascii() and value[-1].isascii()):
            raise _Decline  # Unicode whitespace at an end: Arrow's to trim
    return value or None


def _required(value: object) -> str:
    text = _text(value)
    if text is None:
        raise _Decline
    return text


def _code(value: object, case: Callable[[str], str]) -> str | None:
    """``lower_code`` / ``upper_code`` of ASCII text."""
    text = _text(value)
    if text is None:
        return None
    if not text.isascii():
        raise _Decline
    return case(text)


def _domain(value: object) -> str | None:
    """``normalize_domain`` of ASCII text."""
    text = _code(value, str.lower)
    return None if text is None else _text(_DOMAIN_USER.sub("", text))


def _no_card(value: str | None) -> str | None:
    if value is not None and _CARD_VALUE.fullmatch(value) and is_card_number(value):
        raise _Decline
    return value


def _ip(text: str) -> tuple[str, int, str]:
    if _V4.fullmatch(text):
        return text, 4, text.rsplit(".", 1)[0] + ".0/24"
    parsed = IpNormalizer.parse_one(text)
    if parsed is None:
        raise _Decline
    return parsed


def _timestamp(value: object, *, required: bool = False) -> datetime | None:
    text = _text(value)
    if text is None:
        if required:
            raise _Decline
        return None
    if _TS.fullmatch(text) is None or not 1700 <= int(text[:4]) <= 2200:  # pandas' range
        raise _Decline
    try:
        parsed = datetime.fromisoformat(text)  # digits past microseconds are dropped: floor
    except ValueError:  # no such day or time
        raise _Decline from None
    return parsed.replace(tzinfo=UTC)


def _count(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value < _INT64:
        raise _Decline
    return value


def _amount(value: object) -> float | None:
    if value is None:
        return None
    if type(value) is int and -_INT64 <= value < _INT64:
        return float(value)
    if type(value) is not float or math.isinf(value):
        raise _Decline
    return None if math.isnan(value) else value
