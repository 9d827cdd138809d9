"""Unit tests of ingest's column normalisation, card-number handling and store DDL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from linkage.errors import LinkageError
from linkage.ingest import open_store
from linkage.ingest.cards import (
    card_value_mask,
    is_card_number,
    luhn_ok,
    mask_digits,
    redact_cards,
    redact_cards_array,
)
from linkage.ingest.normalize import (
    IpNormalizer,
    normalize_domain,
    parse_cidrs,
    parse_embeddings,
    parse_floats,
    parse_integers,
    parse_timestamps,
    upper_code,
)
from linkage.ingest.store import STORE_TABLES, create_store, ddl

UTC = dt.UTC


# --- IP addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ip", "version", "prefix"),
    [
        ("203.0.113.9", "203.0.113.9", 4, "203.0.113.0/24"),
        ("  198.51.100.255 ", "198.51.100.255", 4, "198.51.100.0/24"),
        ("0.0.0.0", "0.0.0.0", 4, "0.0.0.0/24"),
        ("::ffff:192.0.2.1", "192.0.2.1", 4, "192.0.2.0/24"),
        ("::FFFF:c000:0201", "192.0.2.1", 4, "192.0.2.0/24"),
        ("2001:DB8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::1", 6, "2001:db8:1::/48"),
        ("2001:db8:abcd:ffff::", "2001:db8:abcd:ffff::", 6, "2001:db8:abcd::/48"),
        ("::1", "::1", 6, "::/48"),
    ],
)
def test_ip_normalisation(raw: str, ip: str, version: int, prefix: str) -> None:
    norm = IpNormalizer()
    out_ip, out_version, out_prefix, bad = norm(pa.array([raw.strip()]))
    assert out_ip.to_pylist() == [ip]
    assert out_version.to_pylist() == [version]
    assert out_prefix.to_pylist() == [prefix]
    assert not bad.any()


@pytest.mark.parametrize("raw", ["256.1.1.1", "01.2.3.4", "1.2.3", "host.example", "2001:db8::g"])
def test_unparseable_ip_is_flagged(raw: str) -> None:
    ip, version, _prefix, bad = IpNormalizer()(pa.array([raw, None]))
    assert bad.tolist() == [True, False]
    assert ip.to_pylist() == [None, None]
    assert version.to_pylist() == [None, None]


def test_ip_cache_is_reused_across_batches() -> None:
    norm = IpNormalizer()
    norm(pa.array(["2001:db8::1", "2001:db8::1", "10.0.0.1"]))
    assert list(norm._cache) == ["2001:db8::1"]  # dotted quads never reach Python
    ip, *_ = norm(pa.array(["2001:db8::1", "x"]))
    assert ip.to_pylist() == ["2001:db8::1", None]
    assert set(norm._cache) == {"2001:db8::1", "x"}


def test_cidr_normalisation() -> None:
    cols, bad = parse_cidrs(
        pa.array(["203.0.113.7/24", "198.51.100.1", "2001:DB8::/32", "::ffff:192.0.2.0/120", "x"])
    )
    assert cols["cidr"].to_pylist() == [
        "203.0.113.0/24",
        "198.51.100.1/32",
        "2001:db8::/32",
        "192.0.2.0/24",
        None,
    ]
    assert cols["network"].to_pylist()[:4] == [
        "203.0.113.0",
        "198.51.100.1",
        "2001:db8::",
        "192.0.2.0",
    ]
    assert cols["prefix_len"].to_pylist()[:4] == [24, 32, 32, 24]
    assert cols["ip_version"].to_pylist()[:4] == [4, 4, 6, 4]
    assert bad.tolist() == [False, False, False, False, True]


# --- timestamps ----------------------------------------------------------------------------


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-22T08:15:00Z", _utc(2026, 4, 22, 8, 15)),
        ("2026-04-22T10:15:00+02:00", _utc(2026, 4, 22, 8, 15)),
        ("2026-04-22T03:15:00-05:00", _utc(2026, 4, 22, 8, 15)),
        ("2026-04-22T08:15:00.123456Z", _utc(2026, 4, 22, 8, 15, 0, 123456)),
        ("2026-04-22T08:15:00.5+00:00", _utc(2026, 4, 22, 8, 15, 0, 500000)),
        ("2026-04-22T08:15:00.123456789Z", _utc(2026, 4, 22, 8, 15, 0, 123456)),
        ("2026-04-22 08:15:00", _utc(2026, 4, 22, 8, 15)),  # naive: taken as UTC
        ("2026-04-22T08:15:00", _utc(2026, 4, 22, 8, 15)),
        ("2026-04-22", _utc(2026, 4, 22)),
        (" 2026-04-22T08:15:00Z ", _utc(2026, 4, 22, 8, 15)),
    ],
)
def test_timestamp_strings(text: str, expected: dt.datetime) -> None:
    out, bad = parse_timestamps(pa.array([text]))
    assert out.type == pa.timestamp("us", tz="UTC")
    assert out.to_pylist() == [expected]
    assert not bad.any()


def test_unparseable_and_blank_timestamps() -> None:
    out, bad = parse_timestamps(pa.array(["yesterday", "2026-13-01T00:00:00Z", "", None, "  "]))
    assert out.to_pylist() == [None] * 5
    assert bad.tolist() == [True, True, False, False, False]


def test_timestamp_batch_with_mixed_offsets_and_precisions() -> None:
    out, bad = parse_timestamps(
        pa.array(["2026-04-22T08:15:00Z", "2026-04-22T10:15:00.25+02:00", "2026-04-22 08:15:00"])
    )
    assert out.to_pylist() == [
        _utc(2026, 4, 22, 8, 15),
        _utc(2026, 4, 22, 8, 15, 0, 250000),
        _utc(2026, 4, 22, 8, 15),
    ]
    assert not bad.any()


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([np.datetime64("2026-04-22T08:15:00.123456789", "ns")], pa.timestamp("ns")),
        pa.array([_utc(2026, 4, 22, 8, 15, 0, 123456)], pa.timestamp("us", tz="UTC")),
        pa.array([dt.datetime(2026, 4, 22, 10, 15, 0, 123456)], pa.timestamp("us")).cast(
            pa.timestamp("us")
        ),
    ],
)
def test_typed_timestamps(arr: pa.Array) -> None:
    out, bad = parse_timestamps(arr)
    value = out.to_pylist()[0]
    assert value.tzinfo is not None
    assert not bad.any()
    assert value.microsecond == 123456


def test_typed_timestamps_convert_zones_and_take_naive_as_utc() -> None:
    aware = pa.array([_utc(2026, 4, 22, 8, 15)], pa.timestamp("ms", tz="Europe/Paris"))
    naive = pa.array([dt.datetime(2026, 4, 22, 8, 15)], pa.timestamp("s"))
    day = pa.array([dt.date(2026, 4, 22)], pa.date32())
    assert parse_timestamps(aware)[0].to_pylist() == [_utc(2026, 4, 22, 8, 15)]
    assert parse_timestamps(naive)[0].to_pylist() == [_utc(2026, 4, 22, 8, 15)]
    assert parse_timestamps(day)[0].to_pylist() == [_utc(2026, 4, 22)]


# --- other columns -------------------------------------------------------------------------


def test_email_domain_never_keeps_the_local_part() -> None:
    out = normalize_domain(
        pa.array([" Alice@Example.COM ", "a@b@Mail.Example.org", "EXAMPLE.net", "", None])
    )
    assert out.to_pylist() == ["example.com", "mail.example.org", "example.net", None, None]


def test_country_codes_are_upper_case() -> None:
    assert upper_code(pa.array([" us", "De", "", None])).to_pylist() == ["US", "DE", None, None]


def test_integers_from_text_and_types() -> None:
    out, bad = parse_integers(pa.array(["12", " +7 ", "-3", "40.0", "4.5", "1e3", "x", "", None]))
    assert out.to_pylist() == [12, 7, -3, 40, None, None, None, None, None]
    assert bad.tolist() == [False, False, False, False, True, True, True, False, False]
    typed, bad = parse_integers(pa.array([1.0, 2.5, float("nan"), None]))
    assert typed.to_pylist() == [1, None, None, None]
    assert bad.tolist() == [False, True, False, False]
    assert parse_integers(pa.array([5, None], pa.int32()))[0].to_pylist() == [5, None]


def test_floats_from_text_and_types() -> None:
    out, bad = parse_floats(pa.array(["12.5", "-.5", "1e3", "1e999", "abc", "", None]))
    assert out.to_pylist() == [12.5, -0.5, 1000.0, None, None, None, None]
    assert bad.tolist() == [False, False, False, True, True, False, False]
    typed, bad = parse_floats(pa.array([1.5, float("nan"), float("inf")]))
    assert typed.to_pylist() == [1.5, None, None]
    assert bad.tolist() == [False, False, True]


def test_embeddings_from_text() -> None:
    out, lengths, invalid, fixed = parse_embeddings(
        pa.array(["[0.5, -1, 2e-1]", "0.5 1.5", "[]", "[1, x]", "[1, nan]", None])
    )
    assert out.type == pa.list_(pa.float32())
    assert out.to_pylist()[:2] == [pytest.approx([0.5, -1.0, 0.2]), [0.5, 1.5]]
    assert out.to_pylist()[2:] == [None, None, None, None]
    assert lengths.tolist()[:2] == [3, 2]
    assert invalid.tolist() == [False, False, True, True, True, False]
    assert fixed is None


def test_embeddings_from_lists() -> None:
    arr = pa.array([[1.0, 2.0], None, [1.0, None], [1e40]], pa.list_(pa.float64()))
    out, lengths, invalid, _ = parse_embeddings(arr)
    assert lengths.tolist() == [2, 0, 2, 1]
    assert out.to_pylist() == [[1.0, 2.0], None, None, None]
    assert invalid.tolist() == [False, False, True, True]
    fixed = pa.array([[1, 2, 3], None], pa.list_(pa.float32(), 3))
    out, _lengths, invalid, size = parse_embeddings(fixed)
    assert size == 3
    assert out.to_pylist() == [[1.0, 2.0, 3.0], None]
    sliced = parse_embeddings(arr.slice(1, 3))[0]
    assert sliced.to_pylist() == [None, None, None]


# --- card numbers --------------------------------------------------------------------------


def test_luhn_and_masking() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")
    assert mask_digits("4111111111111111") == "************1111"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        (" 378282246310005 ", True),
        ("4111111111111112", False),  # fails Luhn
        ("411111", False),  # a BIN, too short
        ("41111111111111111111", False),  # 20 digits
        ("4111  1111 1111 1111", False),  # double space: not one number
        ("fp_4111111111111111", False),  # not a card number as a whole
    ],
)
def test_is_card_number(value: str, expected: bool) -> None:
    assert is_card_number(value) is expected
    assert card_value_mask(pa.array([value, None])).tolist() == [expected, False]


def test_redact_cards_in_text() -> None:
    text, n = redact_cards("pay with 4111 1111 1111 1111 or 5555-5555-5555-4444, call 555 0100")
    assert text == "pay with ************1111 or ************4444, call 555 0100"
    assert n == 2
    assert redact_cards("order 4111111111111112 is fine") == ("order 4111111111111112 is fine", 0)
    # a card number run together with more digits is still masked
    text, n = redact_cards("4111111111111111 7")
    assert "4111111111111111" not in text and n == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 555 0100 or 4111 1111 1111 1111 now", "call 555 0100 or ************1111 now"),
        ("ids 4111111111111111-4111111111111111", "ids ************1111-************1111"),
        ("x5555555555554444y", "x************4444y"),
        ("41111111111111117", "41111111111111117"),  # 17 digits failing Luhn: not a card
        ("12345678901234567890123", "12345678901234567890123"),  # too long to be a card
        ("2026-04-22 08:15", "2026-04-22 08:15"),
    ],
)
def test_redact_cards_digit_groups(text: str, expected: str) -> None:
    assert redact_cards(text)[0] == expected


def test_redact_cards_array() -> None:
    arr = pa.array(["no card", None, "card 4111111111111111.", "id 12345678901234"])
    out, changed = redact_cards_array(arr)
    assert out.to_pylist() == ["no card", None, "card ************1111.", "id 12345678901234"]
    assert changed.tolist() == [False, False, True, False]


# --- store ---------------------------------------------------------------------------------


def test_store_ddl_and_open(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert ddl("requests").startswith("CREATE TABLE requests (")
    assert "prompt_embedding FLOAT[]" in ddl("requests")
    path = tmp_path / "linkage.duckdb"
    create_store(path).close()
    with pytest.raises(LinkageError, match="already exists"):
        create_store(path)
    con = open_store(tmp_path)
    assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
    tables = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == set(STORE_TABLES)
    con.close()
    with pytest.raises(LinkageError, match="run ingest"):
        open_store(tmp_path / "nowhere")
