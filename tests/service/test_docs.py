"""The README documents every route and every setting of the service."""

from __future__ import annotations

import re
from pathlib import Path

from api import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_route_is_documented(client, inv_headers):
    documented = {
        re.sub(r"\{[^}]*\}", "{}", p) for p in re.findall(r"`(?:GET )?(/[^`?\s]*)", README)
    }
    for path in client.get("/openapi.json", headers=inv_headers).json()["paths"]:
        assert re.sub(r"\{[^}]*\}", "{}", path) in documented, path


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"LINKAGE_{name.upper()}" in README, name
