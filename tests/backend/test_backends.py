"""The backend interface: the events stage through DuckDB and Spark gives the pipeline's
own ``events``; translated SQL means the same on both engines."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from linkage.backend import BACKENDS, Backend, DuckDBBackend, SparkBackend, get_backend, translate
from linkage.errors import LinkageError
from linkage.graph.events import build_events
from linkage.graph.workspace import Workspace
from linkage.ingest.store import STORE_TABLES


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order, timestamps as UTC microseconds, numbers as float."""
    df = df.copy()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.DatetimeTZDtype):
            df[c] = df[c].dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[us]").astype("int64")
        elif pd.api.types.is_numeric_dtype(df[c]) or df[c].map(type).eq(Decimal).any():
            df[c] = df[c].astype("float64")
        else:
            df[c] = df[c].astype(object)
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _events_on(backend: Backend, parquet: Path) -> pd.DataFrame:
    for t in STORE_TABLES:
        backend.read_parquet(t, [str(parquet / f"{t}.parquet")])
    events = build_events(Workspace.on(backend))
    assert events.accounts == 600
    return _canonical(backend.fetch_pandas("SELECT * FROM events"))


@pytest.fixture(scope="module")
def pipeline_events(store_parquet: tuple[Path, Path]) -> pd.DataFrame:
    with Workspace.open(store_parquet[0], read_only=True) as ws:
        build_events(ws)
        return _canonical(ws.execute("SELECT * FROM events").df())


def test_events_on_duckdb_backend_are_the_pipelines(store_parquet, pipeline_events):
    with get_backend("duckdb") as backend:
        got = _events_on(backend, store_parquet[1])
    assert len(got) > 1000 and set(got["etype"]) >= {"ip", "device", "card", "rhythm"}
    pd.testing.assert_frame_equal(got, pipeline_events)


def test_events_on_spark_are_the_pipelines(spark, store_parquet, pipeline_events):
    pd.testing.assert_frame_equal(_events_on(spark, store_parquet[1]), pipeline_events)


QUERIES = [
    "SELECT list_position(['a', 'b', 'c'], 'b') AS p",
    "SELECT list_has_any(['a', 'b'], ['b', 'z']) AS x, list_has_any(['a'], ['z']) AS y",
    "SELECT epoch_us(TIMESTAMPTZ '2026-09-02 03:36:11.109858+00') AS us",
    "SELECT printf('h%06x', bit_or(1::BIGINT << h)) AS m FROM (VALUES (0), (5), (23)) v(h)",
    "SELECT round(2.5), round(-2.5), 7 // 2 AS q, (2::BIGINT << 40) >> 39 AS s",
    "SELECT list_filter(['a', 'b', 'c'], lambda x: x <> 'b') AS l",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_translated_sql_means_the_same_on_spark(spark, sql):
    with DuckDBBackend() as duck:
        expected = duck.fetch(sql).to_pylist()
    got = spark.fetch(sql).to_pylist()
    assert [list(r.values()) for r in got] == [list(r.values()) for r in expected]


def test_created_tables_replace_and_views_follow_their_source(spark):
    for backend in (DuckDBBackend(), spark):
        backend.register_arrow("base", pa.table({"x": [1, 2, 3]}))
        backend.create_table("doubled", "SELECT x * 2 AS y FROM base")
        backend.create_table("doubled", "SELECT x * 3 AS y FROM base")
        backend.create_table("big", "SELECT y FROM doubled WHERE y > 3", view=True)
        assert backend.fetch("SELECT sum(y) AS s FROM big").column(0).to_pylist() == [15]
        assert backend.count("doubled") == 3


def test_translate_keeps_duckdb_and_fixes_what_sqlglot_passes_through():
    sql = "SELECT epoch_us(ts), list_has_any(a, b) FROM t"
    assert translate(sql, "duckdb") is sql
    assert translate(sql, "spark") == "SELECT UNIX_MICROS(ts), ARRAYS_OVERLAP(a, b) FROM t"


def test_unknown_backend_names_the_known_ones():
    with pytest.raises(LinkageError, match="choose one of duckdb, spark"):
        get_backend("flink")
    assert set(BACKENDS) == {"duckdb", "spark"}


def test_spark_without_pyspark_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what an environment without it does
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(LinkageError, match=r"pip install 'linkage\[spark\]'"):
        SparkBackend()


def _rank_in_key(rows: pa.Table) -> pa.Table:
    """Each row's rank within its key by value: depends on the key's rows only."""
    df = rows.to_pandas().sort_values(["k", "v"])
    df["rank"] = df.groupby("k").cumcount()
    return pa.Table.from_pandas(df[["k", "v", "rank"]], preserve_index=False)


def test_map_by_sees_whole_keys_on_both_engines(spark):
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers lack tests/
    x = pa.array(range(500), pa.int64())
    rows = pa.table(
        {
            "k": pc.remainder(x, 7),
            "v": pc.remainder(pc.multiply(x, 7919), 1000),
        }
    )
    sql = "SELECT k, v FROM kv"
    schema = pa.schema([("k", pa.int64()), ("v", pa.int64()), ("rank", pa.int64())])
    got = []
    for backend in (DuckDBBackend(), spark):
        backend.register_arrow("kv", rows)
        backend.map_by("ranked", sql, ["k"], _rank_in_key, schema)
        got.append(backend.fetch_pandas("SELECT * FROM ranked ORDER BY k, v"))
    assert len(got[0]) == 500 and got[0]["rank"].max() == 500 // 7
    pd.testing.assert_frame_equal(got[0], got[1])


def test_map_by_shuffles_by_the_key_even_when_the_plan_claims_it(spark):
    """A join on the key leaves rows the planner calls partitioned by it; adaptive
    execution can then read them map-side (what split accounts at 30k). ``by_key``
    still shuffles them itself."""
    x = pa.array(range(2_000), pa.int64())
    spark.register_arrow("kv_join", pa.table({"k": pc.remainder(x, 13), "v": x}))
    conf = spark.spark.conf
    before = conf.get("spark.sql.autoBroadcastJoinThreshold")
    conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")  # a sort-merge join on k
    try:
        joined = spark.spark.sql(
            "SELECT k, v FROM kv_join JOIN (SELECT DISTINCT k FROM kv_join) USING (k)"
        )
        plan = spark.by_key(joined, ["k"], ["v"])._jdf.queryExecution().executedPlan().toString()
        parts = int(conf.get("spark.sql.shuffle.partitions"))  # the join's own partitioning
        naive = joined.repartition(parts, "k")._jdf.queryExecution().executedPlan().toString()
    finally:
        conf.set("spark.sql.autoBroadcastJoinThreshold", before)
    assert "REPARTITION_BY_NUM" not in naive  # what the planner does to a repartition by k
    assert "REPARTITION_BY_NUM" in plan and "xxhash64(k" in plan
