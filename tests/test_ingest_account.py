"""One account's records validated in plain Python (``linkage.ingest.account``, the
service's ``POST /score``): whatever it accepts, it keeps exactly as
``validate_records`` keeps it; what it declines, ``validate_records`` decides, so every
error is ingest's own."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage import ContractError
from linkage.ingest.account import normalize_account
from linkage.ingest.records import validate_account, validate_records
from linkage.simulate import simulate

TABLES = ("accounts", "requests", "payments", "identifiers")


def full(tables: dict) -> dict | ContractError:
    """What ingest's own path keeps (rows), or its error."""
    try:
        valid = validate_records(tables)
    except ContractError as exc:
        return exc
    return {name: valid[name].to_pylist() for name in TABLES}


def same(a: object, b: object) -> bool:
    """Equal rows, NaN equal to NaN."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def check(tables: dict) -> dict | None:
    """The plain path agrees with ingest's (or declines); returns what it kept."""
    lean = normalize_account(copy.deepcopy(tables))
    if lean is not None:
        expected = full(tables)
        assert not isinstance(expected, ContractError), f"accepted what ingest refuses: {expected}"
        assert same(lean, expected)
    return lean


@pytest.fixture(scope="module")
def accounts(tmp_path_factory) -> list[dict]:
    """The records of 40 simulated accounts as the service gets them (timestamps as
    ISO text, at most 60 requests each)."""
    root = tmp_path_factory.mktemp("one") / "data"
    simulate(root, seed=3, scenario="default", accounts=300)
    frames = {name: pd.read_parquet(root / f"{name}.parquet") for name in TABLES}
    for df in frames.values():
        for c in df.columns:
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    grouped = {n: dict(tuple(df.groupby("account_id"))) for n, df in frames.items()}
    out = []
    for aid in frames["accounts"].account_id.iloc[::7][:40]:
        records = {}
        for name in TABLES:
            df = grouped[name].get(aid, frames[name].iloc[:0]).astype(object)
            records[name] = df.where(df.notna(), None).to_dict(orient="records")[:60]
        out.append(records)
    return out


def test_simulated_accounts_are_kept_as_ingest_keeps_them(accounts):
    for records in accounts:
        assert check(records) is not None
        assert same(validate_account(records), full(records))


BASE = {
    "accounts": [{"account_id": "a1", "created_at": "2026-01-01T00:00:00Z"}],
    "requests": [
        {"account_id": "a1", "ts": "2026-01-01T00:00:01Z", "ip": "10.0.0.1", "prompt_text": "hi"}
    ],
    "payments": [{"account_id": "a1", "ts": "2026-01-01T00:00:02Z", "instrument_fp": "fp1"}],
    "identifiers": [{"account_id": "a1", "kind": "phone", "value": "+15550100"}],
}


def variant(table: str, column: str, value: object) -> dict:
    tables = copy.deepcopy(BASE)
    tables[table][0][column] = value
    return tables


ACCEPTED = [
    ("accounts", "account_id", "  a1\t"),
    ("accounts", "email_domain", " Bob@Mail.EXAMPLE.com "),
    ("accounts", "email_domain", "   "),
    ("accounts", "status", " BANNED "),
    ("accounts", "status", ""),
    ("accounts", "country", " de "),
    ("accounts", "created_at", "2026-01-01 10:00:00"),
    ("accounts", "created_at", "2026-01-01T10:00:00.123456789+00:00"),
    ("accounts", "banned_at", "2026-02-03T04:05:06.5Z"),
    ("requests", "ip", "2001:DB8::1"),
    ("requests", "ip", "::ffff:1.2.3.4"),
    ("requests", "ip", " 8.8.8.8\n"),
    ("requests", "prompt_text", "pay with 4111 1111 1111 1111 please"),
    ("requests", "prompt_text", "  Überprüfe 4111111111111111 ✓ "),
    ("requests", "prompt_text", ""),
    ("requests", "user_agent", "  curl  "),
    ("requests", "device_fp", " \x1cdev\x0b "),
    ("requests", "input_tokens", 12),
    ("payments", "amount_usd", 3),
    ("payments", "amount_usd", float("nan")),
    ("payments", "bin", "411111"),
    ("identifiers", "value", "1234567890123"),
    ("identifiers", "kind", " EMAIL "),
]


@pytest.mark.parametrize(("table", "column", "value"), ACCEPTED)
def test_common_values_take_the_plain_path(table, column, value):
    assert check(variant(table, column, value)) is not None


REFUSED = [
    ("accounts", "created_at", "yesterday", "accounts[0]: unparseable timestamp: created_at"),
    ("accounts", "created_at", None, "accounts[0]: missing value: created_at"),
    ("accounts", "status", "gone", "accounts[0]: invalid value: status"),
    ("requests", "ip", "1.2.3", "requests[0]: unparseable ip address"),
    ("requests", "ts", "2026-02-30T00:00:00Z", "requests[0]: unparseable timestamp: ts"),
    ("requests", "input_tokens", -1, "requests[0]: invalid value: input_tokens"),
    ("requests", "account_id", "a2", "requests[0]: unknown account: a2"),
    ("payments", "instrument_fp", "4111111111111111", "raw card number in instrument_fp"),
    ("payments", "amount_usd", float("inf"), "payments[0]: unparseable number: amount_usd"),
    ("identifiers", "value", " ", "identifiers[0]: missing value: value"),
]


@pytest.mark.parametrize(("table", "column", "value", "error"), REFUSED)
def test_bad_values_get_ingests_own_error(table, column, value, error):
    tables = variant(table, column, value)
    assert normalize_account(tables) is None
    with pytest.raises(ContractError) as caught:
        validate_account(tables)
    assert error in str(caught.value)
    assert str(caught.value) == str(full(tables))


def test_one_account_and_known_tables_only():
    two = copy.deepcopy(BASE)
    two["accounts"].append({"account_id": "a2", "created_at": "2026-01-01T00:00:00Z"})
    with pytest.raises(ContractError, match="exactly one account"):
        validate_account(two)
    with pytest.raises(ContractError, match="unknown tables"):
        validate_account({**BASE, "ip_intel": [{"cidr": "10.0.0.0/8", "kind": "hosting"}]})


TEXT = st.text(
    alphabet=st.sampled_from(
        [*"aZ09.:@-T ", "\t", "\n", "\x0b", "\x1c", "\xa0", "\u2003", "\u0130", "ß", "٣", "\ud800"]
    ),
    max_size=24,
)
FIELDS = [
    ("accounts", "account_id"),
    ("accounts", "created_at"),
    ("accounts", "email_domain"),
    ("accounts", "country"),
    ("accounts", "status"),
    ("requests", "ts"),
    ("requests", "ip"),
    ("requests", "device_fp"),
    ("requests", "prompt_text"),
    ("payments", "instrument_fp"),
    ("payments", "bin"),
    ("identifiers", "kind"),
    ("identifiers", "value"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=st.one_of(st.none(), TEXT))
def test_any_text_is_kept_as_ingest_keeps_it_or_left_to_ingest(field, value):
    check(variant(*field, value))
