"""The page knows every entity type of the service and colours every node label."""

from __future__ import annotations

import json
import re
from pathlib import Path

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
