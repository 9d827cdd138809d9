"""Every route, every auth case and bad parameters, through TestClient on a real result."""

from __future__ import annotations

import io
import json

import networkx as nx
import pandas as pd
import pytest

from linkage.export import BANLIST_COLUMNS, write_banlist


def routes(ids) -> list[str]:
    """One URL per data route (all need a key)."""
    return [
        "/campaigns",
        f"/campaigns/{ids['campaign']}",
        f"/campaigns/{ids['campaign']}/subgraph?max_nodes=40",
        f"/campaigns/{ids['campaign']}/subgraph?max_nodes=40&format=graphml",
        f"/accounts/{ids['account']}",
        f"/accounts/{ids['account']}/neighborhood?hops=2&max_nodes=50",
        f"/entities/ip/{ids['ip']}",
        f"/entities/prefix/{ids['prefix']}",
        "/banlist",
        f"/campaigns/{ids['campaign']}/banlist",
        f"/campaigns/{ids['campaign']}/stix",
    ]


ADMIN_ONLY = ("/banlist", "/stix")


def test_health_needs_no_key(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["campaigns"] >= 1


def test_page_and_vendored_cytoscape_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/static/cytoscape.min.js">' in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/static/cytoscape.min.js")
    assert js.status_code == 200 and "Cytoscape Consortium" in js.text[:400]
    assert client.get("/static/app.js").status_code == 200


def test_openapi_documents_every_route_and_the_key(client, inv_headers):
    spec = client.get("/openapi.json", headers=inv_headers).json()
    assert set(spec["paths"]) == {
        "/health",
        "/campaigns",
        "/campaigns/{campaign_id}",
        "/campaigns/{campaign_id}/subgraph",
        "/campaigns/{campaign_id}/banlist",
        "/campaigns/{campaign_id}/stix",
        "/accounts/{account_id}",
        "/accounts/{account_id}/neighborhood",
        "/entities/{entity_type}/{value}",
        "/banlist",
        "/score",
        "/me",
        "/decisions",
    }
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


def test_campaign_list_filters_sorts_and_pages(client, inv_headers):
    everything = client.get("/campaigns?limit=200", headers=inv_headers).json()
    assert everything["count"] == len(everything["data"]) >= 2
    scores = [c["score"] for c in everything["data"]]
    assert scores == sorted(scores, reverse=True)
    by_size = client.get("/campaigns?sort=size&limit=200", headers=inv_headers).json()["data"]
    assert [c["size"] for c in by_size] == sorted(c["size"] for c in by_size)
    big = max(scores)
    top = client.get(f"/campaigns?min_score={big}", headers=inv_headers).json()
    assert top["count"] == sum(s >= big for s in scores)
    page = client.get("/campaigns?limit=1&offset=1", headers=inv_headers).json()
    assert page["data"] == everything["data"][1:2] and page["count"] == everything["count"]


def test_campaign_detail(client, inv_headers, ids):
    c = client.get(f"/campaigns/{ids['campaign']}", headers=inv_headers).json()
    assert c["campaign_id"] == ids["campaign"] and c["reasons"]
    assert c["timeline"] and all(d["requests"] > 0 for d in c["timeline"])
    assert "ip" in c["indicators"] and c["indicators"]["ip"][0]["rank"] == 1


def test_subgraph_json_graphml_and_gexf_agree(client, inv_headers, ids):
    url = f"/campaigns/{ids['campaign']}/subgraph?max_nodes=60&max_edges=80"
    g = client.get(url, headers=inv_headers).json()
    assert len(g["nodes"]) <= 60 and g["truncated"] and g["sampling"]
    assert sum(e["type"] == "LINKED" for e in g["edges"]) <= 80
    node_ids = {n["id"] for n in g["nodes"]}
    assert all(e["source"] in node_ids and e["target"] in node_ids for e in g["edges"])
    linked = next(e for e in g["edges"] if e["type"] == "LINKED")
    assert linked["properties"]["evidence"] and linked["properties"]["signals"]
    for fmt, read in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        r = client.get(f"{url}&format={fmt}", headers=inv_headers)
        assert r.status_code == 200 and fmt in r.headers["content-type"]
        back = read(io.BytesIO(r.content))
        assert back.number_of_nodes() == len(g["nodes"])
        assert back.number_of_edges() == len(g["edges"])


def test_account_shows_why_linked(client, inv_headers, ids):
    a = client.get(f"/accounts/{ids['account']}", headers=inv_headers).json()
    assert a["account"]["account_id"] == ids["account"]
    assert a["campaign"]["campaign_id"] == ids["campaign"]
    assert a["links"] and a["links_total"] >= len(a["links"])
    assert all(link["evidence"] for link in a["links"])
    assert a["entities"] and a["entities_total"] >= len(a["entities"])


@pytest.mark.parametrize("hops", [1, 2])
def test_neighborhood_is_bounded(client, inv_headers, ids, hops):
    url = f"/accounts/{ids['account']}/neighborhood?hops={hops}&max_nodes=12&max_edges=30"
    g = client.get(url, headers=inv_headers).json()
    assert g["nodes"][0]["key"] == ids["account"] and len(g["nodes"]) <= 12
    assert len(g["edges"]) <= 30
    assert {n["properties"]["hop"] for n in g["nodes"]} <= set(range(hops + 1))
    assert g["params"]["hops"] == hops


def test_entities_including_a_prefix_with_a_slash(client, inv_headers, ids):
    e = client.get(f"/entities/ip/{ids['ip']}?limit=1", headers=inv_headers).json()
    assert e["entity"]["entity"] == ids["ip"] and len(e["data"]) == 1 and e["count"] >= 2
    p = client.get(f"/entities/prefix/{ids['prefix']}", headers=inv_headers).json()
    assert "/" in ids["prefix"] and p["entity"]["label"] == "IPPrefix"
    assert p["count"] >= e["count"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_banlist_streams_the_export_rows(client, admin_headers, result_dir, tmp_path, fmt):
    r = client.get(f"/banlist?format={fmt}", headers=admin_headers)
    assert r.status_code == 200
    path = tmp_path / f"ban.{fmt}"
    n = write_banlist(result_dir, path)
    assert r.text == path.read_text()
    if fmt == "csv":
        assert len(pd.read_csv(io.StringIO(r.text))) == n > 0
        assert r.text.splitlines()[0] == ",".join(BANLIST_COLUMNS)
    else:
        rows = [json.loads(line) for line in r.text.splitlines()]
        assert all(tuple(row) == BANLIST_COLUMNS for row in rows)
        assert {row["status"] for row in rows} == {"active", "banned"}
        assert all((row["banned_at"] is None) == (row["status"] == "active") for row in rows)


# -- auth ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["none", "empty", "garbage", "longer", "shorter"])
def test_missing_or_unknown_key_is_401_on_every_data_route(
    client, ids, inv_headers, admin_headers, kind
):
    key = {
        "none": None,
        "empty": "",
        "garbage": "not-a-key",
        "longer": inv_headers["X-API-Key"] + "x",
        "shorter": admin_headers["X-API-Key"][:-1],
    }[kind]
    headers = {} if key is None else {"X-API-Key": key}
    for url in routes(ids):
        r = client.get(url, headers=headers)
        assert r.status_code == 401, url
        assert "API key" in r.json()["detail"]


def test_roles(client, ids, inv_headers, admin_headers):
    for url in routes(ids):
        admin = client.get(url, headers=admin_headers)
        assert admin.status_code == 200, url
        investigator = client.get(url, headers=inv_headers)
        if url.endswith(ADMIN_ONLY):
            assert investigator.status_code == 403
            assert "admin role" in investigator.json()["detail"]
        else:
            assert investigator.status_code == 200, url


# -- bad parameters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/accounts/" + "a" * 129, 422, "at most 128 characters"),
        ("/accounts/" + "a" * 129 + "/neighborhood", 422, "at most 128 characters"),
        ("/campaigns/" + "c" * 65, 422, "at most 64 characters"),
        ("/campaigns/cmp%20x;drop", 422, "pattern"),
        ("/accounts/{account}/neighborhood?hops=3", 422, "less than or equal to 2"),
        ("/accounts/{account}/neighborhood?hops=0", 422, "greater than or equal to 1"),
        ("/accounts/{account}/neighborhood?hops=two", 422, "valid integer"),
        ("/accounts/{account}/neighborhood?max_nodes=1001", 422, "max_nodes must be at most"),
        ("/campaigns/{campaign}/subgraph?max_nodes=6000", 422, "less than or equal to 5000"),
        ("/campaigns/{campaign}/subgraph?max_edges=20000", 422, "max_edges must be at most"),
        ("/campaigns/{campaign}/subgraph?format=xml", 422, "graphml"),
        ("/campaigns?limit=201", 422, "limit must be at most 200"),
        ("/campaigns?limit=100000", 422, "less than or equal to 1000"),
        ("/campaigns?limit=0", 422, "greater than or equal to 1"),
        ("/campaigns?offset=-1", 422, "greater than or equal to 0"),
        ("/campaigns?min_score=2", 422, "less than or equal to 1"),
        ("/campaigns?sort=name", 422, "score"),
        ("/entities/phone/12345", 422, "'ip'"),
        ("/entities/ip/" + "1" * 257, 422, "at most 256 characters"),
        ("/entities/ip/{ip}?limit=5000", 422, "less than or equal to 1000"),
        ("/campaigns/cmp_000000000000", 404, "cmp_000000000000"),
        ("/campaigns/cmp_000000000000/subgraph", 404, "not in this result"),
        ("/accounts/acct_nobody", 404, "acct_nobody"),
        ("/accounts/acct_nobody/neighborhood?hops=2", 404, "acct_nobody"),
        ("/entities/ip/203.0.113.254", 404, "203.0.113.254"),
        ("/banlist?format=xlsx", 422, "csv"),
        ("/campaigns/cmp_000000000000/banlist", 404, "not in this result"),
        ("/campaigns/cmp_000000000000/stix", 404, "not in this result"),
        ("/campaigns/{campaign}/stix?tlp=purple", 422, "amber"),
    ],
)
def test_bad_parameters_get_clear_errors(client, admin_headers, ids, url, status, says):
    r = client.get(url.format(**ids), headers=admin_headers)
    assert r.status_code == status, r.text
    assert says in r.text
