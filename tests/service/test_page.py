"""The page knows every entity type of the service and colours every node label."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from linkage.investigate import ENTITY_TYPES
from linkage.schema import ENTITY_LABELS

APP_JS = Path(__file__).resolve().parents[2] / "api" / "static" / "app.js"


def _const(name: str) -> str:
    m = re.search(rf"const {name} = (\[.*?\]|\{{.*?\}});", APP_JS.read_text(), re.S)
    assert m, name
    return m.group(1)


def test_the_page_searches_every_entity_type_and_colours_every_label():
    assert sorted(json.loads(_const("ENTITY_TYPES"))) == sorted(ENTITY_TYPES)
    colours = set(re.findall(r"(\w+): \"#[0-9a-f]{6}\"", _const("COLORS")))
    assert set(ENTITY_LABELS.values()) | {"Account"} <= colours


def test_the_service_returns_text_and_contributions(client, inv_headers, ids, result_dir):
    from linkage.score.scoring import FEATURES

    camp = client.get(f"/campaigns/{ids['campaign']}", headers=inv_headers).json()
    assert list(camp["contributions"]) == [f.name for f in FEATURES]
    assert camp["lineage"] == "new" and camp["previous_campaign_ids"] == []
    listed = client.get("/campaigns", headers=inv_headers).json()["data"]
    assert all(c["lineage"] == "new" for c in listed)
    evidence = pd.read_parquet(result_dir / "evidence.parquet")
    row = evidence[evidence.entity_type.isin(["cosession", "coactive", "signup"])].iloc[0]
    a = client.get(f"/accounts/{row.src}?max_links=1000", headers=inv_headers).json()
    link = next(x for x in a["links"] if x["account_id"] == row.dst)
    item = next(e for e in link["evidence"] if e["entity"] == row.entity)
    assert item["text"] != row.entity and (
        " alike (Jaccard" in item["text"] or "sign-up" in item["text"]
    )
    ent = client.get(f"/entities/{row.entity_type}/{row.entity}", headers=inv_headers).json()
    assert ent["entity"]["text"] == item["text"]
    assert all("text" in e for e in a["entities"])


def test_the_page_scripts_never_parse_data_as_markup():
    """Values reach the DOM as text: no HTML sinks and no inline code in our scripts."""
    static = APP_JS.parent
    for name in ("app.js", "charts.js"):
        code = (static / name).read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in code, (name, sink)
        assert "new Function" not in code and "javascript:" not in code, name
    html = (static / "index.html").read_text()
    assert "<script>" not in html and " style=" not in html and " on" + "click=" not in html
    assert re.findall(r'<script src="([^"]+)"', html) == [
        "/static/cytoscape.min.js",
        "/static/charts.js",
        "/static/app.js",
    ]
