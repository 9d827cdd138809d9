"""STIX 2.1 bundles: parse back with the stix2 library, counts, determinism, privacy."""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd
import pytest
import stix2
from typer.testing import CliRunner

from linkage.cli import app
from linkage.errors import LinkageError
from linkage.export.stix import TLP_LEVELS, _pattern, write_stix
from linkage.ingest.cards import redact_cards

runner = CliRunner()
INDICATOR_TYPES = ("ip", "prefix", "device", "card")


def _store(result_dir, sql):
    con = duckdb.connect(str(result_dir / "linkage.duckdb"), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _by_type(bundle):
    out: dict[str, list] = {}
    for obj in bundle.objects:
        out.setdefault(obj.type, []).append(obj)
    return out


@pytest.fixture(scope="module")
def bundle_file(result_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("stix") / "bundle.json"
    write_stix(result_dir, path, tlp="green")
    return path


def test_bundle_parses_back_strictly_with_expected_objects(result_dir, bundle_file):
    bundle = stix2.parse(bundle_file.read_text(), allow_custom=False)
    objs = _by_type(bundle)
    campaigns = pd.read_parquet(result_dir / "campaigns.parquet")
    indicators = _store(
        result_dir,
        "SELECT * FROM campaign_indicators WHERE entity_type IN ('ip','prefix','device','card')",
    )
    templates = _store(result_dir, "SELECT * FROM campaign_indicators WHERE entity_type='template'")
    assert len(objs["campaign"]) == len(campaigns) >= 2
    assert len(objs["indicator"]) == len(indicators) > 0
    assert len(objs["note"]) == templates.campaign_id.nunique()
    assert len(objs["identity"]) == 1 and len(objs["marking-definition"]) == 1
    assert "user-account" not in objs
    camp_ids = {c.id for c in objs["campaign"]}
    rels = objs["relationship"]
    assert len(rels) == len(indicators)
    assert {r.relationship_type for r in rels} == {"indicates"}
    assert {r.source_ref for r in rels} == {i.id for i in objs["indicator"]}
    assert {r.target_ref for r in rels} <= camp_ids
    # each campaign's indicators are exactly its rows in campaign_indicators
    name_to_cid = {c.id: c.name.removeprefix("linkage campaign ") for c in objs["campaign"]}
    got = pd.Series([name_to_cid[r.target_ref] for r in rels]).value_counts().sort_index()
    want = indicators.campaign_id.value_counts().sort_index()
    assert got.to_dict() == want.to_dict()
    # campaign fields come from campaigns.parquet
    first = campaigns.sort_values("campaign_id").iloc[0]
    camp = next(c for c in objs["campaign"] if c.name.endswith(first.campaign_id))
    assert camp.confidence == round(first.score * 100)
    assert first.reasons[0] in camp.description
    # STIX timestamps here have millisecond precision (stix._ts truncates)
    assert camp.first_seen == first.first_seen.floor("ms").to_pydatetime()


def test_patterns_marking_and_producer(bundle_file):
    bundle = stix2.parse(bundle_file.read_text(), allow_custom=False)
    objs = _by_type(bundle)
    identity = objs["identity"][0]
    green = TLP_LEVELS["green"]
    assert objs["marking-definition"][0].id == green
    for obj in bundle.objects:
        if obj.type != "marking-definition":
            assert obj.object_marking_refs == [green], obj.id
        if obj.type in ("campaign", "indicator", "relationship", "note"):
            assert obj.created_by_ref == identity.id
    kinds = {re.match(r"\[([a-z0-9-]+):", i.pattern).group(1) for i in objs["indicator"]}
    assert kinds <= {"ipv4-addr", "ipv6-addr", "x-linkage-device", "x-linkage-payment-instrument"}
    assert {"ipv4-addr", "x-linkage-device"} <= kinds
    assert any("/24'" in i.pattern for i in objs["indicator"])
    assert all(1 <= i.confidence <= 100 for i in objs["indicator"])


def test_same_input_same_bytes(result_dir, bundle_file, tmp_path):
    again = tmp_path / "again.json"
    write_stix(result_dir, again, tlp="green")
    assert again.read_bytes() == bundle_file.read_bytes()
    red = tmp_path / "red.json"
    write_stix(result_dir, red, tlp="red")
    a, b = json.loads(bundle_file.read_text()), json.loads(red.read_text())
    assert [o["id"] for o in a["objects"][1:]] == [o["id"] for o in b["objects"][1:]]
    assert b["objects"][0]["name"] == "TLP:RED"


def test_no_account_ids_and_no_card_data_by_default(result_dir, bundle_file):
    text = bundle_file.read_text()
    accounts = _store(result_dir, "SELECT account_id FROM graph_accounts").account_id
    assert not [a for a in accounts if a in text]
    bins = _store(result_dir, "SELECT entity FROM graph_entities WHERE entity_type = 'bin'").entity
    assert len(bins) > 0 and not [b for b in bins if f"'{b}'" in text or f'"{b}"' in text]
    # no card number anywhere (redact_cards finds Luhn-valid 13-19 digit runs, also with
    # dashes, so the STIX ids, which are UUIDs, are taken out first)
    no_ids = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "", text)
    assert redact_cards(no_ids) == (no_ids, 0)


def test_include_accounts_adds_flagged_members_only(result_dir, tmp_path):
    path = tmp_path / "b.json"
    done = write_stix(result_dir, path, include_accounts=True)
    objs = _by_type(stix2.parse(path.read_text(), allow_custom=False))
    flagged = _store(result_dir, "SELECT account_id FROM graph_accounts WHERE flagged")
    assert done.accounts == len(objs["user-account"]) == len(flagged) > 0
    assert {u.user_id for u in objs["user-account"]} == set(flagged.account_id)
    related = [r for r in objs["relationship"] if r.relationship_type == "related-to"]
    assert {r.source_ref for r in related} == {u.id for u in objs["user-account"]}


def test_campaign_and_min_score_filters(result_dir, tmp_path):
    campaigns = pd.read_parquet(result_dir / "campaigns.parquet")
    one = campaigns.campaign_id.iloc[-1]
    r = runner.invoke(
        app,
        ["export", "stix", str(result_dir), "-o", str(tmp_path / "one.json"), "--campaign", one],
    )
    assert r.exit_code == 0, r.output
    objs = _by_type(stix2.parse((tmp_path / "one.json").read_text(), allow_custom=False))
    assert [c.name for c in objs["campaign"]] == [f"linkage campaign {one}"]
    for threshold in sorted(set(campaigns.score)):
        done = write_stix(result_dir, tmp_path / "top.json", min_score=threshold)
        assert done.campaigns == int((campaigns.score >= threshold).sum()) >= 1
    if campaigns.score.max() < 1.0:
        done = write_stix(result_dir, tmp_path / "none.json", min_score=1.0)
        assert (done.campaigns, done.indicators, done.objects) == (0, 0, 2)


def test_bad_arguments_are_clear(result_dir, tmp_path):
    with pytest.raises(LinkageError, match="no campaign 'cmp_nope'"):
        write_stix(result_dir, tmp_path / "x.json", campaign="cmp_nope")
    with pytest.raises(LinkageError, match="--tlp must be one of"):
        write_stix(result_dir, tmp_path / "x.json", tlp="white")
    with pytest.raises(LinkageError, match="--min-score"):
        write_stix(result_dir, tmp_path / "x.json", min_score=3)
    r = runner.invoke(app, ["export", "stix", str(tmp_path), "-o", str(tmp_path / "x.json")])
    assert r.exit_code == 2 and "not a result directory" in " ".join(r.output.split())
    assert not (tmp_path / "x.json").exists()


def test_patterns_quote_and_pick_the_address_family():
    assert _pattern("prefix", "2001:db8:1::/48") == "[ipv6-addr:value = '2001:db8:1::/48']"
    assert _pattern("ip", "203.0.113.7") == "[ipv4-addr:value = '203.0.113.7']"
    assert _pattern("device", "it's") == "[x-linkage-device:fingerprint = 'it\\'s']"
    ind = stix2.Indicator(pattern=_pattern("card", "a\\b'c"), pattern_type="stix")
    assert ind.pattern.startswith("[x-linkage-payment-instrument:fingerprint")


def test_infrastructure_legitimate_accounts_used_is_never_malicious(result_dir, bundle_file):
    bundle = stix2.parse(bundle_file.read_text(), allow_custom=False)
    used = _store(
        result_dir,
        """SELECT e.entity_type, e.entity, e.last_seen,
                  count(*) FILTER (WHERE NOT coalesce(a.flagged, false)) AS unflagged
           FROM graph_entities e JOIN graph_links l USING (eid) JOIN graph_accounts a USING (aid)
           WHERE e.entity_type IN ('ip', 'prefix', 'device', 'card')
           GROUP BY ALL""",
    )
    by_pattern = {_pattern(r.entity_type, r.entity): r for r in used.itertuples()}
    campaigns = {c.id: c.confidence for c in _by_type(bundle)["campaign"]}
    indicates = {r.source_ref: r.target_ref for r in _by_type(bundle)["relationship"]}
    seen = {"shared": 0, "exclusive": 0}
    for ind in _by_type(bundle)["indicator"]:
        row = by_pattern[ind.pattern]
        if row.unflagged:
            seen["shared"] += 1
            assert ind.indicator_types == ["anomalous-activity"], ind.name
            assert ind.confidence <= campaigns[indicates[ind.id]] / 2 + 1, ind.name
        else:
            seen["exclusive"] += 1
        expected = (pd.Timestamp(row.last_seen) + pd.Timedelta(days=30)).floor("ms")
        assert pd.Timestamp(str(ind.valid_until)) == expected, ind.name
    assert seen["shared"] and seen["exclusive"], seen


def test_valid_until_is_an_option(result_dir, bundle_file, tmp_path):
    path = tmp_path / "b.json"
    r = runner.invoke(
        app, ["export", "stix", str(result_dir), "-o", str(path), "--valid-days", "7"]
    )
    assert r.exit_code == 0, r.output
    week = {i.id: i.valid_until for i in _by_type(stix2.parse(path.read_text()))["indicator"]}
    month = {
        i.id: i.valid_until for i in _by_type(stix2.parse(bundle_file.read_text()))["indicator"]
    }
    assert week.keys() == month.keys()
    assert all(month[k] - week[k] == pd.Timedelta(days=23) for k in week)
    with pytest.raises(LinkageError, match="valid-days"):
        write_stix(result_dir, tmp_path / "c.json", valid_days=0)
