"""End-to-end tests of ``linkage.ingest.ingest`` on small data written in every format."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage.contract import INPUT_TABLES
from linkage.errors import ContractError
from linkage.ingest import IngestSummary, ingest, open_store
from linkage.ingest import readers as readers_mod
from linkage.ingest.store import STORE_TABLES

FORMATS = ("parquet", "csv", "jsonl")
PAN = "4111111111111111"
PAN_FORMS = (PAN, "4111 1111 1111 1111", "4111-1111-1111-1111")
EMB = "prompt_embedding"

# --- writing fixtures ----------------------------------------------------------------------


def _text(value: Any) -> str:
    """A value as CSV text: ISO 8601 with Z for UTC datetimes, JSON for lists."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def _json_default(value: Any) -> str:
    return _text(value)


def write_table(
    data_dir: Path,
    table: str,
    rows: list[dict[str, Any]],
    fmt: str,
    schema: pa.Schema | None = None,
) -> Path:
    """Write ``rows`` (dicts over the contract columns) as ``table.fmt``.

    Parquet columns are strings (embeddings ``list<double>``) unless ``schema`` is given.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else INPUT_TABLES[table].column_names
    path = data_dir / f"{table}.{fmt}"
    if fmt == "parquet":
        if schema is None:
            schema = pa.schema(
                [(c, pa.list_(pa.float64()) if c == EMB else pa.string()) for c in columns]
            )
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    elif fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows([[_text(r.get(c)) for c in columns] for r in rows])
    else:
        with open(path, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, default=_json_default) + "\n")
    return path


def _rows(columns: str, *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    names = columns.split()
    return [dict(zip(names, v, strict=True)) for v in values]


# --- the main fixture: every quarantine reason ---------------------------------------------

ACCOUNTS = _rows(
    "account_id created_at email_domain country status banned_at",
    ("a1", "2026-04-22T08:15:00Z", "Alice@Example.COM", "us", None, None),
    ("a2", "2026-04-22T10:15:00+02:00", "example.org", "de", "BANNED", "2026-04-23T00:00:00Z"),
    ("a1", "2026-04-22T09:00:00Z", "x.com", "us", "active", None),
    ("a3", "yesterday", "x.com", "fr", None, None),
    ("a4", "2026-04-22T08:15:00Z", "x.com", "fr", "frozen", None),
    ("   ", "2026-04-22T08:15:00Z", "x.com", "fr", None, None),
    ("a5", None, "x.com", "fr", None, None),
    ("a6", "2026-04-22 08:15:00", None, None, "active", None),
    ("a7", "2026-04-22T08:15:00Z", "x.com", "fr", "banned", "soon"),
)
ACCOUNT_REASONS = [
    (3, "duplicate account_id (first at row 1)"),
    (4, "unparseable timestamp: created_at"),
    (5, "invalid value: status"),
    (6, "missing value: account_id"),
    (7, "missing value: created_at"),
    (9, "unparseable timestamp: banned_at"),
]

_REQ = "account_id ts ip device_fp api_key_id user_agent prompt_text prompt_embedding "
_REQ += "input_tokens output_tokens"
REQUESTS = _rows(
    _REQ,
    (
        "a1",
        "2026-04-22T08:15:00Z",
        "203.0.113.9",
        "d1",
        "k1",
        "curl/8",
        None,
        [0.5, 1.0, -2.0],
        "10",
        "20",
    ),
    (
        "a2",
        "2026-04-22T08:16:00Z",
        "::ffff:10.0.0.1",
        "d1",
        "k2",
        None,
        "pay 4111 1111 1111 1111 ok",
        None,
        None,
        None,
    ),
    (
        "a1",
        "2026-04-22T08:17:00Z",
        "2001:DB8:1:2::1",
        None,
        None,
        None,
        None,
        [1.0, 2.0],
        None,
        None,
    ),
    ("ghost", "2026-04-22T08:18:00Z", "203.0.113.9", None, None, None, None, None, None, None),
    ("a1", "2026-04-22T08:19:00Z", "300.1.1.1", None, None, None, None, None, None, None),
    ("a1", "", "203.0.113.9", None, None, None, None, None, None, None),
    ("a1", "2026-04-22T08:21:00Z", "203.0.113.9", None, None, None, None, None, "many", None),
    ("a1", "2026-13-45T00:00:00Z", "203.0.113.9", None, None, None, None, None, None, None),
    ("a6", "2026-04-22T08:23:00Z", None, None, None, None, None, None, None, None),
    ("a1", "2026-04-22T08:24:00Z", "203.0.113.9", None, None, None, None, None, "-5", None),
    ("a1", "2026-04-22T08:25:00Z", "203.0.113.9", None, None, None, None, [], None, None),
    ("a3", "2026-04-22T08:26:00Z", "203.0.113.9", None, None, None, None, None, None, None),
    (
        "a2",
        "2026-04-22T08:27:00+01:00",
        "2001:db8:1:ffff::7",
        "d2",
        None,
        "ua",
        "hi",
        [0.0, 0.25, 3.0],
        "5",
        "0",
    ),
)
REQUEST_REASONS = [
    (3, "wrong embedding dimension: got 2, expected 3"),
    (4, "unknown account: ghost"),
    (5, "unparseable ip address"),
    (6, "missing value: ts"),
    (7, "unparseable integer: input_tokens"),
    (8, "unparseable timestamp: ts"),
    (9, "missing value: ip"),
    (10, "invalid value: input_tokens"),
    (11, "invalid value: prompt_embedding"),
    (12, "unknown account: a3"),
]

PAYMENTS = _rows(
    "account_id ts instrument_fp bin card_country amount_usd",
    ("a1", "2026-04-22T08:15:00Z", "fp_abc", "411111", "us", "12.5"),
    ("a1", "2026-04-22T08:15:00Z", PAN, "411111", "us", "1"),
    ("a2", "2026-04-22T08:15:00Z", "fp_x", "4111-1111-1111-1111", "us", "1"),
    ("a2", "2026-04-22T08:15:00Z", "fp_y", None, None, "lots"),
    ("a1", "2026-04-22T08:15:00Z", None, None, None, None),
    ("nobody", "2026-04-22T08:15:00Z", "fp_z", None, None, None),
)
PAYMENT_REASONS = [
    (2, "raw card number in instrument_fp"),
    (3, "raw card number in bin"),
    (4, "unparseable number: amount_usd"),
    (5, "missing value: instrument_fp"),
    (6, "unknown account: nobody"),
]

IP_INTEL = _rows(
    "cidr kind asn org country",
    ("203.0.113.0/24", "Hosting", "64500", "Example Hosting", "nl"),
    ("198.51.100.7", "vpn", None, None, None),
    ("2001:db8::/32", "tor", None, None, None),
    ("not-a-network", "vpn", None, None, None),
    ("10.0.0.0/8", "spaceship", None, None, None),
    ("10.1.0.0/16", None, None, None, None),
    ("::ffff:192.0.2.0/120", "proxy", None, None, None),
    ("10.2.0.0/16", "vpn", "AS123", None, None),
)
IP_INTEL_REASONS = [
    (4, "unparseable cidr"),
    (5, "invalid value: kind"),
    (6, "missing value: kind"),
    (8, "unparseable integer: asn"),
]

IDENTIFIERS = _rows(
    "account_id kind value ts",
    ("a1", "Phone_Hash", "ph_1", "2026-04-22T08:15:00Z"),
    ("a2", "referral_code", "4111 1111 1111 1111", None),
    ("ghost", "referral_code", "r1", None),
    ("a1", None, "v", None),
    ("a2", "org_id", "  ", None),
)
IDENTIFIER_REASONS = [
    (2, "raw card number in value"),
    (3, "unknown account: ghost"),
    (4, "missing value: kind"),
    (5, "missing value: value"),
]

TABLES = {
    "accounts": (ACCOUNTS, ACCOUNT_REASONS),
    "requests": (REQUESTS, REQUEST_REASONS),
    "payments": (PAYMENTS, PAYMENT_REASONS),
    "ip_intel": (IP_INTEL, IP_INTEL_REASONS),
    "identifiers": (IDENTIFIERS, IDENTIFIER_REASONS),
}


def write_all(data_dir: Path, fmt: str) -> Path:
    for table, (rows, _) in TABLES.items():
        write_table(data_dir, table, rows, fmt)
    return data_dir


def store_tables(out_dir: Path) -> dict[str, pa.Table]:
    con = open_store(out_dir)
    try:
        return {t: con.sql(f"SELECT * FROM {t}").to_arrow_table() for t in STORE_TABLES}
    finally:
        con.close()


def quarantine(out_dir: Path, table: str, *, drop_file: bool = True) -> list[dict[str, Any]]:
    path = out_dir / "quarantine" / f"{table}.jsonl"
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if drop_file:
        for e in entries:
            e.pop("file")
    return entries


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, IngestSummary]]:
    """The main fixture ingested from each format (module-scoped: ingest runs once each)."""
    out = {}
    for fmt in FORMATS:
        base = tmp_path_factory.mktemp(fmt)
        summary = ingest(write_all(base / "data", fmt), base / "out")
        out[fmt] = (base / "out", summary)
    return out


# --- quarantine reasons --------------------------------------------------------------------


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_quarantine_reason(ingested, fmt: str, table: str) -> None:  # type: ignore[no-untyped-def]
    out_dir, summary = ingested[fmt]
    rows, expected = TABLES[table]
    got = [(e["row"], e["reason"]) for e in quarantine(out_dir, table)]
    assert got == expected
    entries = quarantine(out_dir, table, drop_file=False)
    assert {e["file"] for e in entries} == {f"{table}.{fmt}"}
    assert {e["table"] for e in entries} == {table}
    for e in entries:
        assert set(e["record"]) == set(INPUT_TABLES[table].column_names)
        assert all(v is None or isinstance(v, str) for v in e["record"].values())
    t = summary.tables[table]
    assert (t.rows_read, t.rows_quarantined, t.rows_kept) == (
        len(rows),
        len(expected),
        len(rows) - len(expected),
    )


def test_quarantine_record_is_the_row_as_read(ingested) -> None:  # type: ignore[no-untyped-def]
    out_dir, _ = ingested["csv"]
    first = quarantine(out_dir, "requests")[0]
    assert first["record"] == {
        "account_id": "a1",
        "ts": "2026-04-22T08:17:00Z",
        "ip": "2001:DB8:1:2::1",
        "device_fp": None,
        "api_key_id": None,
        "user_agent": None,
        "prompt_text": None,
        "prompt_embedding": "[1.0, 2.0]",
        "input_tokens": None,
        "output_tokens": None,
    }
    blank = quarantine(out_dir, "accounts")[3]
    assert blank["record"]["account_id"] == "   "  # as read, not trimmed


def test_store_contents_are_normalised(ingested) -> None:  # type: ignore[no-untyped-def]
    out_dir, summary = ingested["parquet"]
    con = open_store(out_dir)
    accounts = con.execute("SELECT * FROM accounts ORDER BY account_id").fetchall()
    utc = dt.UTC
    assert accounts == [
        ("a1", dt.datetime(2026, 4, 22, 8, 15, tzinfo=utc), "example.com", "US", "active", None),
        (
            "a2",
            dt.datetime(2026, 4, 22, 8, 15, tzinfo=utc),
            "example.org",
            "DE",
            "banned",
            dt.datetime(2026, 4, 23, tzinfo=utc),
        ),
        ("a6", dt.datetime(2026, 4, 22, 8, 15, tzinfo=utc), None, None, "active", None),
    ]
    requests = con.execute(
        "SELECT account_id, ip, ip_version, ip_prefix, prompt_text, prompt_embedding, input_tokens"
        " FROM requests"
    ).fetchall()
    assert requests == [
        ("a1", "203.0.113.9", 4, "203.0.113.0/24", None, [0.5, 1.0, -2.0], 10),
        ("a2", "10.0.0.1", 4, "10.0.0.0/24", "pay ************1111 ok", None, None),
        ("a2", "2001:db8:1:ffff::7", 6, "2001:db8:1::/48", "hi", [0.0, 0.25, 3.0], 5),
    ]
    ts = con.execute("SELECT ts FROM requests ORDER BY ts DESC LIMIT 1").fetchall()
    assert ts == [(dt.datetime(2026, 4, 22, 8, 16, tzinfo=utc),)]
    ip_intel = con.execute("SELECT cidr, network, prefix_len, ip_version, kind, asn FROM ip_intel")
    assert ip_intel.fetchall() == [
        ("203.0.113.0/24", "203.0.113.0", 24, 4, "hosting", 64500),
        ("198.51.100.7/32", "198.51.100.7", 32, 4, "vpn", None),
        ("2001:db8::/32", "2001:db8::", 32, 6, "tor", None),
        ("192.0.2.0/24", "192.0.2.0", 24, 4, "proxy", None),
    ]
    assert con.execute("SELECT kind, value FROM identifiers").fetchall() == [("phone_hash", "ph_1")]
    assert con.execute("SELECT * FROM payments").fetchall() == [
        ("a1", dt.datetime(2026, 4, 22, 8, 15, tzinfo=utc), "fp_abc", "411111", "US", 12.5)
    ]
    meta = con.execute("SELECT store_version, contract_version, embedding_dim FROM ingest_meta")
    assert meta.fetchall() == [(2, "1", 3)]
    # requests.aid is the account's position among the kept account ids, sorted
    kept = [
        r[0] for r in con.execute("SELECT account_id FROM accounts ORDER BY account_id").fetchall()
    ]
    pairs = con.execute("SELECT DISTINCT account_id, aid FROM requests").fetchall()
    assert pairs and all(kept[aid] == account for account, aid in pairs)
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'requests'"
        ).fetchall()
    )
    assert types["ts"] == "TIMESTAMP WITH TIME ZONE"
    assert types["prompt_embedding"] == "FLOAT[]"
    assert types["ip_version"] == "TINYINT"
    con.close()
    assert summary.embedding_dim == 3
    assert summary.tables["requests"].cards_redacted == 1


# --- format equivalence --------------------------------------------------------------------


def test_formats_give_identical_store_and_quarantine(ingested) -> None:  # type: ignore[no-untyped-def]
    base = store_tables(ingested["parquet"][0])
    for fmt in ("csv", "jsonl"):
        other = store_tables(ingested[fmt][0])
        for table in STORE_TABLES:
            assert other[table].equals(base[table]), (fmt, table)
        for table in TABLES:
            assert quarantine(ingested[fmt][0], table) == quarantine(ingested["parquet"][0], table)
        a = ingested[fmt][1].to_dict()
        b = ingested["parquet"][1].to_dict()
        for t in a["tables"].values():
            t.pop("file"), t.pop("format")
        for t in b["tables"].values():
            t.pop("file"), t.pop("format")
        a.pop("store"), b.pop("store")
        assert a == b


def _typed_requests() -> tuple[list[dict[str, Any]], pa.Schema]:
    utc = dt.UTC
    rows = [
        {
            "account_id": "a1",
            "ts": dt.datetime(2026, 4, 22, 8, 15, 0, 250000, tzinfo=utc),
            "ip": "203.0.113.9",
            "prompt_embedding": [0.5, 1.5],
            "input_tokens": 10,
            "output_tokens": None,
        },
        {
            "account_id": "ghost",
            "ts": dt.datetime(2026, 4, 22, 9, 0, tzinfo=utc),
            "ip": "2001:db8::1",
            "prompt_embedding": [1.0, 2.0],
            "input_tokens": 7,
            "output_tokens": 3,
        },
        {
            "account_id": "a2",
            "ts": dt.datetime(2026, 4, 22, 9, 30, tzinfo=utc),
            "ip": "::ffff:10.1.2.3",
            "prompt_embedding": [1.0, 2.0, 3.0],
            "input_tokens": 1,
            "output_tokens": 2,
        },
        {
            "account_id": "a2",
            "ts": dt.datetime(2026, 4, 22, 9, 45, tzinfo=utc),
            "ip": "10.1.2.3",
            "prompt_embedding": None,
            "input_tokens": 4000000000,
            "output_tokens": 0,
        },
    ]
    schema = pa.schema(
        [
            ("account_id", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("ip", pa.string()),
            ("prompt_embedding", pa.list_(pa.float64())),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
        ]
    )
    return rows, schema


def test_typed_parquet_numeric_json_and_csv_text_are_equivalent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fallback(*args: Any) -> None:
        raise AssertionError("numeric JSON should be read by pyarrow, not line by line")

    monkeypatch.setattr(readers_mod.JsonlReader, "_slow", no_fallback)
    rows, schema = _typed_requests()
    results = {}
    for fmt in FORMATS:
        data = tmp_path / fmt
        write_table(data, "accounts", ACCOUNTS[:2], fmt)
        write_table(data, "requests", rows, fmt, schema=schema if fmt == "parquet" else None)
        ingest(data, tmp_path / f"out-{fmt}")
        results[fmt] = (
            store_tables(tmp_path / f"out-{fmt}"),
            quarantine(tmp_path / f"out-{fmt}", "requests"),
        )
    assert [(e["row"], e["reason"]) for e in results["parquet"][1]] == [
        (2, "unknown account: ghost"),
        (3, "wrong embedding dimension: got 3, expected 2"),
    ]
    assert results["parquet"][1][0]["record"]["ts"] == "2026-04-22T09:00:00Z"
    assert results["parquet"][1][0]["record"]["input_tokens"] == "7"
    for fmt in ("csv", "jsonl"):
        for table in STORE_TABLES:
            assert results[fmt][0][table].equals(results["parquet"][0][table]), (fmt, table)
        assert results[fmt][1] == results["parquet"][1]
    kept = results["parquet"][0]["requests"].to_pylist()
    assert [r["input_tokens"] for r in kept] == [10, 4000000000]


def test_parquet_timestamp_types_are_converted_to_utc(tmp_path: Path) -> None:
    data = tmp_path / "data"
    accounts = pa.table(
        {
            "account_id": ["n", "p", "d"],
            "created_at": pa.array(
                [dt.datetime(2026, 4, 22, 8, 15, 0, 123456)] * 3, pa.timestamp("ns")
            ),
            "banned_at": pa.array(
                [dt.datetime(2026, 4, 22, 10, 15, tzinfo=dt.UTC)] * 3,
                pa.timestamp("ms", tz="Europe/Paris"),
            ),
        }
    )
    data.mkdir()
    pq.write_table(accounts, data / "accounts.parquet")
    write_table(data, "requests", REQUESTS[:1], "csv")
    ingest(data, tmp_path / "out")
    con = open_store(tmp_path / "out")
    got = con.execute("SELECT DISTINCT created_at, banned_at FROM accounts").fetchall()
    con.close()
    assert got == [
        (
            dt.datetime(2026, 4, 22, 8, 15, 0, 123456, tzinfo=dt.UTC),
            dt.datetime(2026, 4, 22, 10, 15, tzinfo=dt.UTC),
        )
    ]


def test_fixed_size_list_sets_the_embedding_dimension(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_table(data, "accounts", ACCOUNTS[:1], "csv")
    table = pa.table(
        {
            "account_id": ["a1", "a1"],
            "ts": ["2026-04-22T08:15:00Z"] * 2,
            "ip": ["10.0.0.1"] * 2,
            EMB: pa.array([None, None], pa.list_(pa.float32(), 4)),
        }
    )
    pq.write_table(table, data / "requests.parquet")
    summary = ingest(data, tmp_path / "out")
    assert summary.embedding_dim == 4
    con = open_store(tmp_path / "out")
    assert con.execute("SELECT embedding_dim FROM ingest_meta").fetchall() == [(4,)]
    con.close()


# --- batches -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_small_batches_give_the_same_result(
    ingested, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(readers_mod, "_MIN_BLOCK", 64)  # many CSV/JSONL blocks, not just batches
    calls: list[tuple[str, int, int]] = []
    summary = ingest(
        write_all(tmp_path / "data", fmt),
        tmp_path / "out",
        batch_rows=3,
        progress=lambda t, d, n: calls.append((t, d, n)),
    )
    base_dir, base_summary = ingested[fmt]
    small, base = store_tables(tmp_path / "out"), store_tables(base_dir)
    for table in STORE_TABLES:
        assert small[table].equals(base[table]), table
    for table in TABLES:
        assert quarantine(tmp_path / "out", table) == quarantine(base_dir, table)
    assert summary.to_dict()["tables"] == base_summary.to_dict()["tables"]
    requests = [c for c in calls if c[0] == "requests"]
    assert len(requests) >= 5  # 13 rows in batches of 3
    assert [d for _, d, _ in requests] == sorted(d for _, d, _ in requests)
    assert requests[-1][1] == requests[-1][2]


def test_csv_row_numbers_with_multiline_values_and_malformed_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers_mod, "_MIN_BLOCK", 64)
    data = tmp_path / "data"
    write_table(data, "accounts", ACCOUNTS[:2], "csv")
    lines = ["account_id,ts,ip,prompt_text"]
    expected_bad = []
    for i in range(1, 41):
        if i % 7 == 0:
            lines.append(f"a1,2026-04-22T08:15:00Z,10.0.0.{i}")  # too few fields
            expected_bad.append((i, "malformed CSV line"))
        elif i % 11 == 0:
            lines.append(f"a1,2026-04-22T08:15:00Z,10.0.0.{i},x,extra")  # too many
            expected_bad.append((i, "malformed CSV line"))
        elif i % 5 == 0:
            lines.append(f'a1,2026-04-22T08:15:00Z,10.0.0.{i},"line one\nline two, {i}"')
        elif i % 13 == 0:
            lines.append(f"ghost,2026-04-22T08:15:00Z,10.0.0.{i},p{i}")
            expected_bad.append((i, "unknown account: ghost"))
        else:
            lines.append(f"a1,2026-04-22T08:15:00Z,10.0.0.{i},p{i}")
        if i == 20:
            lines.append("")  # a blank line is not a row
    (data / "requests.csv").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    summary = ingest(data, tmp_path / "out", batch_rows=4)
    got = [(e["row"], e["reason"]) for e in quarantine(tmp_path / "out", "requests")]
    assert got == sorted(expected_bad)
    assert quarantine(tmp_path / "out", "requests")[0]["record"] == {
        "_line": "a1,2026-04-22T08:15:00Z,10.0.0.7"
    }
    con = open_store(tmp_path / "out")
    kept = con.execute("SELECT ip, prompt_text FROM requests").fetchall()
    con.close()
    expected_kept = [i for i in range(1, 41) if i % 7 and i % 11 and i % 13]
    assert [ip for ip, _ in kept] == [f"10.0.0.{i}" for i in expected_kept]
    assert ("10.0.0.5", "line one\nline two, 5") in kept
    assert summary.tables["requests"].rows_read == 40


def test_jsonl_malformed_lines_and_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers_mod, "_MIN_BLOCK", 64)
    data = tmp_path / "data"
    write_table(data, "accounts", ACCOUNTS[:2], "jsonl")
    good = {"account_id": "a1", "ts": "2026-04-22T08:15:00Z", "ip": "10.0.0.1", "input_tokens": 5}
    lines = []
    expected_bad = []
    for i in range(1, 31):
        if i == 4:
            lines.append("not json at all")
            expected_bad.append((i, "malformed JSON line"))
        elif i == 9:
            lines.append("null")
            expected_bad.append((i, "malformed JSON line"))
        elif i == 15:
            lines.append("[1, 2]")
            expected_bad.append((i, "malformed JSON line"))
        elif i == 21:
            lines.append(json.dumps({**good, "prompt_embedding": "0.1,0.2"}))
            expected_bad.append((i, "invalid value: prompt_embedding"))
        elif i == 25:
            lines.append(json.dumps({**good, "input_tokens": "7"}))  # text, not a number
        else:
            lines.append(json.dumps({**good, "ip": f"10.0.0.{i}", "extra": [1, {"x": None}]}))
        if i in (10, 11):
            lines.append("   ")
    (data / "requests.jsonl").write_text("\n".join(lines), encoding="utf-8")  # no final newline
    summary = ingest(data, tmp_path / "out", batch_rows=2)
    assert [
        (e["row"], e["reason"]) for e in quarantine(tmp_path / "out", "requests")
    ] == expected_bad
    assert quarantine(tmp_path / "out", "requests")[0]["record"] == {"_line": "not json at all"}
    assert summary.tables["requests"].rows_read == 30
    assert summary.tables["requests"].rows_kept == 26
    con = open_store(tmp_path / "out")
    assert con.execute("SELECT sum(input_tokens) FROM requests").fetchall() == [(25 * 5 + 7,)]
    con.close()


# --- contract errors -----------------------------------------------------------------------


def test_missing_required_table_names_the_expected_files(tmp_path: Path) -> None:
    write_table(tmp_path / "data", "accounts", ACCOUNTS, "csv")
    with pytest.raises(ContractError) as err:
        ingest(tmp_path / "data", tmp_path / "out")
    for name in ("requests.parquet", "requests.csv", "requests.jsonl"):
        assert name in str(err.value)
    assert not (tmp_path / "out" / "linkage.duckdb").exists()


def test_table_given_twice_names_both_files(tmp_path: Path) -> None:
    data = write_all(tmp_path / "data", "csv")
    write_table(data, "requests", REQUESTS, "jsonl")
    with pytest.raises(ContractError, match=r"requests\.csv, requests\.jsonl"):
        ingest(data, tmp_path / "out")


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_required_column_names_file_and_column(tmp_path: Path, fmt: str) -> None:
    data = write_all(tmp_path / "data", "csv")
    (data / "payments.csv").unlink()
    rows = [{k: v for k, v in r.items() if k != "instrument_fp"} for r in PAYMENTS]
    write_table(data, "payments", rows, fmt)
    with pytest.raises(ContractError) as err:
        ingest(data, tmp_path / "out")
    assert f"payments.{fmt}" in str(err.value)
    assert "'instrument_fp'" in str(err.value)
    assert not (tmp_path / "out" / "linkage.duckdb").exists()


def test_parquet_column_of_the_wrong_type_is_a_contract_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_table(data, "accounts", ACCOUNTS, "csv")
    data.mkdir(exist_ok=True)
    table = pa.table({"account_id": ["a1"], "ts": pa.array([1], pa.int64()), "ip": ["10.0.0.1"]})
    pq.write_table(table, data / "requests.parquet")
    with pytest.raises(ContractError, match=r"requests\.parquet: column 'ts' has type int64"):
        ingest(data, tmp_path / "out")


def test_unreadable_csv_is_a_contract_error_without_card_numbers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_table(data, "accounts", ACCOUNTS[:1], "csv")
    body = f"account_id,ts,ip\na1,2026-04-22,10.0.0.1\na1,\xff{PAN},10.0.0.1\n"
    (data / "requests.csv").write_bytes(body.encode("latin-1"))
    with pytest.raises(ContractError, match=r"requests\.csv: cannot read") as err:
        ingest(data, tmp_path / "out")
    assert PAN not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not (tmp_path / "out" / "linkage.duckdb").exists()
    assert not (tmp_path / "out" / ".ingest-tmp").exists()


def test_extra_columns_optional_tables_and_labels_are_ignored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_table(data, "accounts", [{**r, "shoe_size": "42"} for r in ACCOUNTS[:2]], "csv")
    write_table(data, "requests", [{**r, "colour": "red"} for r in REQUESTS[:2]], "jsonl")
    (data / "labels.csv").write_text('this is not even csv,,,\n"', encoding="utf-8")
    (data / "labels.jsonl").write_text("{}\n", encoding="utf-8")  # two label files: not our problem
    summary = ingest(data, tmp_path / "out")
    assert summary.tables["requests"].rows_kept == 2
    assert summary.tables["payments"].file is None
    assert "labels" not in summary.tables
    tables = store_tables(tmp_path / "out")
    assert tables["payments"].num_rows == 0
    assert tables["identifiers"].num_rows == 0
    assert "shoe_size" not in tables["accounts"].column_names
    assert "labels" not in tables
    assert sorted(p.name for p in (tmp_path / "out" / "quarantine").iterdir()) == [
        "accounts.jsonl",
        "requests.jsonl",
    ]


# --- card numbers never leave in clear -----------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_raw_card_numbers_never_written(ingested, fmt: str, caplog) -> None:  # type: ignore[no-untyped-def]
    out_dir, summary = ingested[fmt]
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    assert any(p.name == "linkage.duckdb" for p in files)
    for path in files:
        content = path.read_bytes()
        for form in PAN_FORMS:
            assert form.encode() not in content, (path, form)
    assert PAN not in json.dumps(summary.to_dict())
    con = open_store(out_dir)
    for table, columns in STORE_TABLES.items():
        for c in columns:
            if c.sql == "VARCHAR":
                pattern = "'4111.?1111.?1111.?1111'"
                sql = f"SELECT count(*) FROM {table} WHERE regexp_matches({c.name}, {pattern})"
                hits = con.execute(sql).fetchall()
                assert hits == [(0,)], (table, c.name)
    con.close()
    masked = [e["record"] for e in quarantine(out_dir, "payments")]
    assert masked[0]["instrument_fp"] == "************1111"
    assert masked[1]["bin"] == "************1111"
    assert quarantine(out_dir, "identifiers")[0]["record"]["value"] == "************1111"


def test_card_numbers_are_masked_in_every_quarantined_value_and_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    write_table(data, "accounts", ACCOUNTS[:1], "csv")
    rows = _rows(
        "account_id ts ip prompt_text",
        (PAN, "2026-04-22T08:15:00Z", "10.0.0.1", f"card {PAN}"),  # unknown account
        ("a1", "2026-04-22T08:15:00Z", "bad ip", f"card {PAN_FORMS[1]}"),
    )
    write_table(data, "requests", rows, "csv")
    with open(data / "requests.csv", "a", encoding="utf-8") as fh:
        fh.write(f"a1,{PAN},x\n")  # malformed line holding a card number
    with caplog.at_level(logging.DEBUG):
        ingest(data, tmp_path / "out")
    entries = quarantine(tmp_path / "out", "requests")
    assert [e["reason"] for e in entries] == [
        "unknown account: ************1111",
        "unparseable ip address",
        "malformed CSV line",
    ]
    assert entries[0]["record"]["prompt_text"] == "card ************1111"
    assert entries[2]["record"] == {"_line": "a1,************1111,x"}
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            for form in PAN_FORMS:
                assert form.encode() not in path.read_bytes(), path
    assert all(form not in caplog.text for form in PAN_FORMS)


# --- summary and reruns --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_summary_counts_add_up(ingested, fmt: str) -> None:  # type: ignore[no-untyped-def]
    out_dir, summary = ingested[fmt]
    on_disk = json.loads((out_dir / "ingest_summary.json").read_text())
    assert on_disk == summary.to_dict()
    con = open_store(out_dir)
    for table, t in summary.tables.items():
        assert t.rows_read == t.rows_kept + t.rows_quarantined
        assert sum(t.reasons.values()) == t.rows_quarantined
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(t.rows_kept,)]
        assert len(quarantine(out_dir, table)) == t.rows_quarantined
    con.close()
    assert summary.tables["requests"].reasons["unknown account"] == 2
    assert summary.tables["accounts"].reasons["duplicate account_id"] == 1


def test_rerun_replaces_previous_output(tmp_path: Path) -> None:
    data = write_all(tmp_path / "data", "csv")
    ingest(data, tmp_path / "out")
    (data / "payments.csv").unlink()
    summary = ingest(data, tmp_path / "out")
    assert summary.tables["payments"].rows_read == 0
    assert store_tables(tmp_path / "out")["payments"].num_rows == 0
    assert not (tmp_path / "out" / "quarantine" / "payments.jsonl").exists()
    assert not (tmp_path / "out" / ".ingest-tmp").exists()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="does not exist"):
        ingest(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(ValueError, match="batch_rows"):
        ingest(tmp_path, tmp_path / "out", batch_rows=0)
