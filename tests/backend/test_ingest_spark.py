"""Ingest on Spark (``linkage.ingest.spark``) against the DuckDB ingest: the same kept
rows, quarantine lines and summary for the same Parquet data directory, and the same
errors for what the DuckDB ingest refuses."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from linkage import simulate
from linkage.backend import SparkBackend
from linkage.errors import ContractError
from linkage.ingest import IngestSummary, ingest
from linkage.ingest import spark as ingest_spark
from linkage.ingest.spark import ingest_on, load_store
from linkage.ingest.store import STORE_TABLES
from linkage.result import PARQUET_STORE_DIR
from tests.test_ingest import (
    ACCOUNTS,
    PAN,
    TABLES,
    quarantine,
    store_tables,
    write_all,
    write_table,
)

EMB = "prompt_embedding"
INGESTED = ("accounts", "requests", "payments", "ip_intel", "identifiers")


def _insert(table: pa.Table, rows: list[tuple[int, dict[str, Any]]]) -> pa.Table:
    """``table`` with each ``(at, row)`` inserted before its original row ``at``."""
    parts, last = [], 0
    for at, row in sorted(rows, key=lambda r: r[0]):
        parts += [table.slice(last, at - last), pa.Table.from_pylist([row], schema=table.schema)]
        last = at
    return pa.concat_tables([*parts, table.slice(last)])


def _bad_data(root: Path) -> Path:
    """A simulated data directory (200 accounts) as Parquet with bad rows of every kind
    the cross-row checks and the per-row checks find, in several column types
    (nanosecond and non-UTC timestamps, dictionary, large strings, text numbers) and
    small row groups (Spark reads the requests in several parts)."""
    simulate(root / "sim", accounts=200, seed=11, scenario="default")
    data = root / "data"
    data.mkdir()
    utc = dt.UTC
    t0 = dt.datetime(2026, 9, 2, 8, 0, tzinfo=utc)

    acc = pq.read_table(root / "sim" / "accounts.parquet")
    first = acc.column("account_id")[0].as_py()
    acc = acc.set_column(
        acc.schema.get_field_index("banned_at"),
        pa.field("banned_at", pa.timestamp("ms", tz="Europe/Paris")),
        acc.column("banned_at").cast(pa.timestamp("ms", tz="Europe/Paris")),
    )
    acc = acc.set_column(
        acc.schema.get_field_index("created_at"),
        "created_at",
        acc.column("created_at").cast(pa.timestamp("ns", tz="UTC")),
    )
    new = {"created_at": t0, "status": "active"}
    acc = _insert(
        acc,
        [
            (0, {**new, "account_id": "Zoë"}),  # sorted ids: non-ASCII, case
            (5, {**new, "account_id": "alpha"}),
            (6, {**new, "account_id": " Alpha "}),  # kept as "Alpha"
            (10, {**new, "account_id": first}),  # duplicate of row 2
            (20, {"account_id": "late", "created_at": None}),  # missing value: created_at
            (30, {**new, "account_id": "late"}),  # the first kept "late"
            (40, {**new, "account_id": "late "}),  # duplicate (first at row of the one above)
            (50, {**new, "account_id": "   "}),  # missing value: account_id
            (60, {**new, "account_id": "frozen", "status": "frozen", "banned_at": t0}),
            (len(acc), {**new, "account_id": "ßeta", "email_domain": "Bob@Example.ORG"}),
        ],
    )
    status = acc.column("status").combine_chunks().dictionary_encode()
    acc = acc.set_column(acc.schema.get_field_index("status"), "status", status)
    pq.write_table(acc, data / "accounts.parquet")

    req = pq.read_table(root / "sim" / "requests.parquet")
    n = req.num_rows
    emb = [None] * n
    emb[3] = [1.0, float("nan")]  # invalid before the first usable one: no dimension yet
    emb[4] = []
    emb[n // 2] = [0.5, 1.0, -2.0, 0.25]  # the first usable embedding: dimension 4
    for i in range(n // 2 + 1, n, 97):
        emb[i] = [0.1, 0.2, 0.3, 0.4] if i % 2 else [0.1, 0.2, 0.3]  # some of the wrong one
    req = req.append_column(EMB, pa.array(emb, pa.list_(pa.float64())))
    req = req.set_column(
        req.schema.get_field_index("ts"), "ts", req.column("ts").cast(pa.timestamp("ns", "UTC"))
    )
    ok = {"account_id": first, "ts": t0, "ip": "203.0.113.9"}
    req = _insert(
        req,
        [
            (0, {**ok, "account_id": "ghost"}),  # unknown account
            (1, {**ok, "account_id": "frozen"}),  # an account that was quarantined
            (2, {**ok, "ip": "300.1.1.1"}),
            (n // 3, {**ok, "ts": None}),
            (n // 3, {**ok, "ip": None}),
            (n // 3 + 1, {**ok, "input_tokens": -5}),
            (n // 3 + 2, {**ok, "prompt_text": f"pay with {PAN} now"}),  # kept, masked
            (n // 3 + 3, {**ok, "prompt_text": f"card {PAN}", "account_id": "ghost2"}),
            (n - 1, {**ok, EMB: [1.0, 2.0], "input_tokens": -1}),  # the dimension comes first
            (n - 1, {**ok, "account_id": " Alpha", "ip": "::ffff:10.0.0.1"}),
            (n, {**ok, "account_id": "ßeta", "ip": "2001:DB8::1"}),
        ],
    )
    pq.write_table(req, data / "requests.parquet", row_group_size=3000)

    pay = pq.read_table(root / "sim" / "payments.parquet")
    amount = pc.cast(pay.column("amount_usd"), pa.string())
    pay = pay.set_column(pay.schema.get_field_index("amount_usd"), "amount_usd", amount)
    row = {"account_id": first, "ts": t0, "instrument_fp": "fp_1", "amount_usd": "9.5"}
    pay = _insert(
        pay,
        [
            (3, {**row, "instrument_fp": PAN}),
            (7, {**row, "bin": "4111-1111-1111-1111"}),
            (9, {**row, "amount_usd": "lots"}),
            (11, {**row, "instrument_fp": None}),
            (13, {**row, "account_id": "nobody"}),
        ],
    )
    pq.write_table(pay, data / "payments.parquet")

    ids = pq.read_table(root / "sim" / "identifiers.parquet")
    row = {"account_id": first, "kind": "referral_code", "value": "r1", "ts": t0}
    ids = _insert(
        ids,
        [
            (2, {**row, "value": "4111 1111 1111 1111"}),
            (4, {**row, "account_id": "ghost"}),
            (6, {**row, "kind": None}),
            (len(ids), {**row, "account_id": "late", "kind": "Phone_Hash"}),
        ],
    )
    pq.write_table(ids, data / "identifiers.parquet")

    intel = pq.read_table(root / "sim" / "ip_intel.parquet")
    row = {"cidr": "10.0.0.0/8", "kind": "vpn"}
    intel = _insert(
        intel, [(1, {**row, "cidr": "not-a-network"}), (5, {**row, "kind": "spaceship"})]
    )
    pq.write_table(intel, data / "ip_intel.parquet")
    return data


@pytest.fixture
def small_parts(spark: SparkBackend) -> Iterator[None]:
    """Spark reads a file in parts of 256 KiB (the requests in several parts)."""
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.spark.conf.get(key)
    spark.spark.conf.set(key, str(256 << 10))
    yield
    spark.spark.conf.set(key, before)


def _same_summary(a: IngestSummary, b: IngestSummary) -> None:
    x, y = a.to_dict(), b.to_dict()
    x.pop("store"), y.pop("store")
    assert x == y


def _same_quarantine(a: Path, b: Path) -> None:
    for table in INGESTED:
        path = Path("quarantine") / f"{table}.jsonl"
        assert (b / path).read_text(encoding="utf-8") == (a / path).read_text(encoding="utf-8")


def test_spark_ingest_is_the_duckdb_ingest(tmp_path, spark, small_parts):
    data = _bad_data(tmp_path)
    parts = spark.spark.read.schema("ip string").parquet(str(data / "requests.parquet"))
    assert parts.rdd.getNumPartitions() > 2  # (its nanosecond `ts` Spark reads as bigint only)
    duck = ingest(data, tmp_path / "duck")
    got = ingest_on(spark, data.as_uri(), tmp_path / "spark", duckdb=True)

    _same_summary(duck, got)
    _same_quarantine(tmp_path / "duck", tmp_path / "spark")
    expected, loaded = store_tables(tmp_path / "duck"), store_tables(tmp_path / "spark")
    for table in STORE_TABLES:
        assert loaded[table].equals(expected[table]), table

    # the data did hold what the test is about
    reasons = {t: s.reasons for t, s in got.tables.items()}
    assert reasons["accounts"] == {
        "duplicate account_id": 2,
        "invalid value: status": 1,
        "missing value: account_id": 1,
        "missing value: created_at": 1,
    }
    assert set(reasons["requests"]) >= {
        "unknown account",
        "unparseable ip address",
        "missing value: ts",
        "missing value: ip",
        "invalid value: input_tokens",
        "invalid value: prompt_embedding",
        "wrong embedding dimension",
    }
    assert got.embedding_dim == 4 and got.tables["requests"].cards_redacted >= 1
    lines = quarantine(tmp_path / "spark", "accounts")
    late = [e for e in lines if e["reason"].startswith("duplicate account_id (first at row")]
    assert len(late) == 2 and any(e["record"]["account_id"] == "late " for e in late)
    assert any(e["record"]["banned_at"] == "2026-09-02T10:00:00+02:00" for e in lines)

    # the Parquet store: rows in file order, timestamps as UTC microseconds (not INT96),
    # registered on the backend under the store's table names
    parts = sorted((tmp_path / "spark" / PARQUET_STORE_DIR / "requests.parquet").glob("*.parquet"))
    assert len(parts) > 1 and pq.read_schema(parts[0]).field("ts").type == pa.timestamp("us", "UTC")
    aid = spark.fetch("SELECT account_id, aid FROM requests WHERE account_id = 'ßeta'")
    ids = sorted(expected["accounts"].column("account_id").to_pylist())
    assert set(aid.column("aid").to_pylist()) == {ids.index("ßeta")}
    assert spark.count("requests") == expected["requests"].num_rows


def test_every_quarantine_reason_as_the_duckdb_ingest(tmp_path, spark, monkeypatch):
    """The ingest tests' own fixture (every reason, every column text), the data
    directory as a plain path and the Parquet store as a URL, loaded into DuckDB
    afterwards through Hadoop's file system as if it were on an object store."""
    data = write_all(tmp_path / "data", "parquet")
    duck = ingest(data, tmp_path / "duck")
    out = tmp_path / "spark"
    out.mkdir()
    (out / "linkage.duckdb").write_bytes(b"an older ingest's store")
    store = (tmp_path / "parquet").as_uri()
    got = ingest_on(spark, str(data), out, store=store)
    assert not (out / "linkage.duckdb").exists()  # not this data's
    monkeypatch.setattr(ingest_spark, "_is_local", lambda url: False)
    load_store(store, out, spark)

    _same_summary(duck, got)
    _same_quarantine(tmp_path / "duck", out)
    expected, loaded = store_tables(tmp_path / "duck"), store_tables(out)
    for table in STORE_TABLES:
        assert loaded[table].equals(expected[table]), table
    assert json.loads((out / "ingest_summary.json").read_text())["store"] == store
    assert not (out / ".ingest-tmp").exists() and not (out / PARQUET_STORE_DIR).exists()


def test_fixed_size_list_sets_the_embedding_dimension(tmp_path, spark):
    data = tmp_path / "data"
    write_table(data, "accounts", ACCOUNTS[:1], "parquet")
    table = pa.table(
        {
            "account_id": ["a1", "a1"],
            "ts": ["2026-04-22T08:15:00Z"] * 2,
            "ip": ["10.0.0.1"] * 2,
            EMB: pa.array([None, None], pa.list_(pa.float32(), 4)),
        }
    )
    pq.write_table(table, data / "requests.parquet")
    assert ingest_on(spark, str(data), tmp_path / "out").embedding_dim == 4
    assert ingest(data, tmp_path / "duck").embedding_dim == 4


def _refused(data: Path, out: Path, spark: SparkBackend) -> tuple[str, str]:
    with pytest.raises(ContractError) as duck:
        ingest(data, out / "duck")
    with pytest.raises(ContractError) as on_spark:
        ingest_on(spark, str(data), out / "spark")
    assert not (out / "spark" / "quarantine").exists()
    return str(duck.value), str(on_spark.value)


def _without(table: str, column: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != column} for r in TABLES[table][0]]


@pytest.mark.parametrize(
    "case",
    ["no requests", "twice", "missing column", "wrong type", "not parquet", "no directory"],
)
def test_what_duckdb_refuses_spark_refuses_the_same(tmp_path, spark, case):
    data = write_all(tmp_path / "data", "parquet")
    if case == "no requests":
        (data / "requests.parquet").unlink()
    elif case == "twice":
        write_table(data, "payments", TABLES["payments"][0], "csv")
    elif case == "missing column":
        write_table(data, "payments", _without("payments", "instrument_fp"), "parquet")
    elif case == "wrong type":
        bad = pa.table({"account_id": ["a1"], "ts": pa.array([1], pa.int64()), "ip": ["10.0.0.1"]})
        pq.write_table(bad, data / "requests.parquet")
    elif case == "not parquet":
        (data / "accounts.parquet").write_bytes(b"not parquet at all")
    else:
        data = tmp_path / "nowhere"
    duck, on_spark = _refused(data, tmp_path / "out", spark)
    assert on_spark == duck


def test_csv_and_jsonl_are_refused_naming_the_file(tmp_path, spark):
    data = write_all(tmp_path / "data", "parquet")
    (data / "identifiers.parquet").unlink()
    write_table(data, "identifiers", TABLES["identifiers"][0], "jsonl")
    with pytest.raises(ContractError, match=r"identifiers\.jsonl: ingest on Spark reads Parquet"):
        ingest_on(spark, str(data), tmp_path / "out")
