"""Security headers, the docs behind a key, Swagger UI from the package (no CDN)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.headers import DATA_CSP, PAGE_CSP
from api.routers.page import STATIC_DIR


def _common(r) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    ["/campaigns", "/banlist", "/openapi.json", "/entities/ip/1.2.3.4", "/nope", "/health"],
)
def test_data_responses_are_not_sniffed_framed_or_cached(client, admin_headers, path):
    for headers in (admin_headers, {}):
        r = client.get(path, headers=headers)
        _common(r)
        assert r.headers["content-security-policy"] == DATA_CSP
        assert r.headers["cache-control"] == "no-store"


def test_the_pages_have_a_csp_without_inline_script(client):
    for path in ("/", "/docs"):
        r = client.get(path)
        _common(r)
        assert r.headers["content-security-policy"] == PAGE_CSP
        assert "unsafe-inline" not in PAGE_CSP and "script-src 'self'" in PAGE_CSP
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
        assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
        assert re.search(r"<[^>]*\son[a-z]+\s*=", r.text, re.I) is None  # no inline handler
        assert "http://" not in r.text and "https://" not in r.text  # no CDN
    for page in STATIC_DIR.glob("*.html"):
        assert re.search(r"<script[^>]*>\s*[^<\s]", page.read_text()) is None, page
    asset = client.get("/static/app.js")
    _common(asset)
    assert "no-store" not in asset.headers.get("cache-control", "")


def test_swagger_ui_comes_from_the_package(client):
    page = client.get("/docs").text
    for src in re.findall(r'(?:src|href)="([^"]+)"', page):
        r = client.get(src)
        assert r.status_code == 200 and len(r.content) > 500, src


def test_the_schema_needs_a_key_and_docs_can_be_switched_off(client, inv_headers, settings):
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/openapi.json", headers=inv_headers).json()["openapi"].startswith("3.")
    assert client.get("/redoc").status_code == 404
    off = create_app(settings.model_copy(update={"docs": False}))
    with TestClient(off) as c:
        for path in ("/docs", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
            assert c.get(path, headers=inv_headers).status_code == 404, path
