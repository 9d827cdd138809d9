"""One campaign's exports through the service: its ban list rows and its STIX bundle are
the whole exports' rows and bytes for that campaign (admin only)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
import stix2

from linkage.export import read_banlist, write_banlist
from linkage.export.stix import write_stix


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_campaigns_banlist_is_its_rows_of_the_banlist(
    client, admin_headers, ids, result_dir, tmp_path, fmt
):
    cid = ids["campaign"]
    r = client.get(f"/campaigns/{cid}/banlist?format={fmt}", headers=admin_headers)
    assert r.status_code == 200
    assert f"banlist-{cid}.{fmt}" in r.headers["content-disposition"]
    path = tmp_path / f"ban.{fmt}"
    write_banlist(result_dir, path)
    everything = read_banlist(path)
    want = everything[everything.campaign_id == cid].reset_index(drop=True)
    mine = tmp_path / f"mine.{fmt}"
    mine.write_text(r.text)
    got = read_banlist(mine)
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got, want)
    if fmt == "csv":
        assert r.text.splitlines()[0] == path.read_text().splitlines()[0]
        assert len(pd.read_csv(io.StringIO(r.text))) == len(want)


def test_a_campaigns_stix_bundle_is_the_cli_export(
    client, admin_headers, ids, result_dir, tmp_path
):
    cid = ids["campaign"]
    r = client.get(f"/campaigns/{cid}/stix?tlp=green", headers=admin_headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/stix+json")
    path = tmp_path / "bundle.json"
    write_stix(result_dir, path, campaign=cid, tlp="green")
    assert r.text == path.read_text()
    bundle = stix2.parse(json.loads(r.text), allow_custom=False)
    campaigns = [o for o in bundle.objects if o.type == "campaign"]
    assert [c.name for c in campaigns] == [f"linkage campaign {cid}"]
    assert any(o.type == "indicator" for o in bundle.objects)


def test_exports_need_the_admin_role(client, inv_headers, ids):
    for url in (f"/campaigns/{ids['campaign']}/banlist", f"/campaigns/{ids['campaign']}/stix"):
        r = client.get(url, headers=inv_headers)
        assert r.status_code == 403 and "admin role" in r.json()["detail"]
