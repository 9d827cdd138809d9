"""Co-activity entity keys as an investigator reads them: the text, the parsed
properties of the property graph, and what the investigation queries return."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from linkage.graph.coactivity import signup_events
from linkage.investigate import EntityText, open_result
from linkage.investigate.describe import entity_property_sql, pair_jaccard, signup_window
from linkage.settings import DetectSettings

T0 = datetime(2026, 4, 22, 8, 5, tzinfo=UTC)


def test_pattern_and_signup_keys_read_as_text():
    text = EntityText(signup_window_minutes=30)
    assert text("cosession", "j0.42|17|305") == "session starts alike (Jaccard 0.42)"
    assert text("coactive", "j1.00|3|4") == "active hours alike (Jaccard 1.00)"
    # window 123 of 30 minutes starts 123 * 1800 s after the epoch; grid b half a window earlier
    assert text("signup", "a123|US|gmail.com") == (
        "sign-up burst 1970-01-03 13:30-14:00 UTC, US, gmail.com"
    )
    assert text("signup", "b123|?|?") == (
        "sign-up burst 1970-01-03 13:15-13:45 UTC, no country, no email domain"
    )
    assert text("signup", "a47|*") == "sign-up burst 1970-01-01 23:30-1970-01-02 00:00 UTC, " + (
        "any country and domain"
    )
    assert text("ip", "203.0.113.9") == "203.0.113.9"
    assert text("signup", "not a key") == "not a key"
    assert pair_jaccard("b07:3f") is None and pair_jaccard("j0.5|1") is None
    assert text("coactive", "b07:3f") == "b07:3f"


def _accounts() -> pd.DataFrame:
    """Six US/gmail sign-ups within ten minutes, five of any profile within ten more,
    and a steady trickle over two weeks around them."""
    rows = [(T0 + timedelta(minutes=2 * i), "US", "gmail.com") for i in range(6)]
    rows += [(T0 + timedelta(minutes=12 + 2 * i), "DE", f"d{i}.example") for i in range(5)]
    rows += [
        (T0 + timedelta(hours=7 * i - 1000), ["US", "FR", None][i % 3], "mail.example")
        for i in range(300)
    ]
    created, country, domain = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "aid": np.arange(len(rows), dtype=np.int32),
            "created_at": pd.to_datetime(list(created), utc=True),
            "country": list(country),
            "email_domain": list(domain),
        }
    )


def test_signup_keys_parse_back_to_their_members_windows():
    s = DetectSettings()
    accounts = _accounts().set_index("aid")
    events = signup_events(accounts.reset_index(), s)
    assert len(events) > 0 and events.ekey.str.endswith("|*").any()
    for key, members in events.groupby("ekey").aid:
        w = signup_window(key, s.signup_window_minutes)
        assert w is not None and w.end - w.start == timedelta(minutes=s.signup_window_minutes)
        rows = accounts.loc[members.to_numpy()]
        assert ((rows.created_at >= w.start) & (rows.created_at < w.end)).all(), key
        if w.any:
            assert key.endswith("|*")
        else:
            assert set(rows.country.fillna("?")) == {w.country or "?"}
            assert set(rows.email_domain.fillna("?")) == {w.email_domain or "?"}


def test_the_property_graph_sql_parses_keys_as_python_does():
    keys = ["a123|US|gmail.com", "b123|?|mail.example", "a47|*", "b9|DE|"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("k", pd.DataFrame({"entity": keys}))
    props = entity_property_sql("SignupBurst", "entity", 30)
    got = con.execute(
        f"SELECT {', '.join(f'{sql} AS {name}' for name, sql in props.items())} FROM k"
    ).fetchall()
    for key, (start, minutes, country, domain) in zip(keys, got, strict=True):
        w = signup_window(key, 30)
        assert w is not None
        assert (start, minutes, country, domain) == (w.start, 30.0, w.country, w.email_domain)
    jac = entity_property_sql("SessionPattern", "'j0.42|17|305'", 30)["jaccard"]
    assert con.execute(f"SELECT {jac}").fetchone() == (0.42,)
    assert entity_property_sql("IP", "entity", 30) == {}


COACTIVITY = ("cosession", "coactive", "signup")


def test_investigation_shows_coactivity_evidence_as_text(detected):
    root, _ = detected
    evidence = pd.read_parquet(root / "result" / "evidence.parquet")
    found = evidence[evidence.entity_type.isin(COACTIVITY)]
    assert len(found), "the default scenario links accounts by co-activity"
    with open_result(root / "result") as inv:
        for etype, rows in found.groupby("entity_type"):
            row = rows.iloc[0]
            links = inv.account(str(row.src), max_links=1000)["links"]
            link = next(x for x in links if x["account_id"] == row.dst)
            item = next(e for e in link["evidence"] if e["entity"] == row.entity)
            assert item["text"] != row.entity
            assert re.fullmatch(
                r"(session starts|active hours) alike \(Jaccard \d\.\d\d\)|sign-up burst .+",
                item["text"],
            )
            ent = inv.entity(str(etype), str(row.entity))["entity"]
            assert ent["text"] == item["text"]


@pytest.mark.parametrize("etype", ["ip", "device"])
def test_other_entities_read_as_their_key(detected, etype):
    root, _ = detected
    evidence = pd.read_parquet(root / "result" / "evidence.parquet")
    row = evidence[evidence.entity_type == etype].iloc[0]
    with open_result(root / "result") as inv:
        assert inv.entity(etype, str(row.entity))["entity"]["text"] == row.entity
