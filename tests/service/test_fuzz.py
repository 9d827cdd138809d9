"""Property-based fuzzing of the OpenAPI schema (schemathesis) with all its checks:
no 5xx, and every response (status, content type, headers, body) is the one the
schema documents; data outside the schema is rejected, data inside it accepted.

Each operation's strategy comes from schemathesis and runs under hypothesis here
(schemathesis' lazy pytest fixture loader does not work with pytest 9).
"""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.generation import GenerationMode

from api import create_app

ALL_CHECKS = schemathesis.checks.CHECKS.get_all()

OPERATIONS = [
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
]
METHOD = {"/score": "POST"}
"""Every operation is a GET but these."""
DOMAIN_CHECKED = {"/score"}
"""Operations whose input is checked beyond what JSON Schema says (an address that
parses, a timestamp, no card number: ingest's validation), so schema-valid data may
get a 422 naming the field; every other check holds."""


@pytest.fixture(scope="module")
def api_schema(settings, admin_headers):
    """An app of its own: schemathesis starts and stops its lifespan."""
    return schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(settings), headers=admin_headers
    )


def test_the_fuzzed_operations_are_all_of_them(api_schema):
    found = {op.ok().path for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path", OPERATIONS)
def test_every_response_conforms_to_the_schema(api_schema, admin_headers, path, mode):
    if path == "/health" and mode is GenerationMode.NEGATIVE:
        pytest.skip("/health takes no parameters: there is no invalid request to make")
    operation = api_schema[path][METHOD.get(path, "GET")]
    checks = [
        c
        for c in ALL_CHECKS
        if path not in DOMAIN_CHECKED or c.__name__ != "positive_data_acceptance"
    ]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
        derandomize=True,
    )
    def run(case: schemathesis.Case) -> None:
        keyed = case.call_and_validate(headers=admin_headers, checks=checks)
        assert keyed.status_code < 500, (case.path_parameters, case.query, keyed.text[:300])
        seen.append(keyed.status_code)
        if path != "/health":
            anonymous = case.call(headers={"X-API-Key": "fuzz-no-such-key"})
            # 401, or refused before any route is chosen, or a body that is not JSON
            # (FastAPI reads it before the key): no data either way
            refused = (401, 404, 422, 400) if path in METHOD else (401, 404, 422)
            assert anonymous.status_code in refused, anonymous.status_code
            if anonymous.status_code == 404:
                assert anonymous.json() == {"detail": "Not Found"}, anonymous.text

    run()
    assert seen


def test_the_schema_states_this_servers_caps_and_error_bodies(
    client, inv_headers, admin_headers, settings
):
    spec = client.get("/openapi.json", headers=inv_headers).json()
    params = {
        (path, p["name"]): p["schema"]
        for path, item in spec["paths"].items()
        for p in item.get("get", {}).get("parameters", [])
    }
    assert params["/campaigns", "limit"]["maximum"] == settings.max_page == 200
    assert params["/entities/{entity_type}/{value}", "limit"]["maximum"] == settings.max_page
    for path in ("/campaigns/{campaign_id}/subgraph", "/accounts/{account_id}/neighborhood"):
        assert params[path, "max_nodes"]["maximum"] == settings.max_graph_nodes == 1000
        assert params[path, "max_edges"]["maximum"] == settings.max_graph_edges
    for path, item in spec["paths"].items():
        method = METHOD.get(path, "GET").lower()
        documented = set(item[method]["responses"])
        if path == "/health":
            continue
        # a scorer key may call /score alone: every other route may refuse it
        assert {"401", "422"} <= documented and ("403" in documented) == (path != "/score")
        assert ("404" in documented) == ("{" in path), path
        assert ("413" in documented) == ("400" in documented) == (path == "/score"), path
        assert ("503" in documented) == (path == "/score"), path
        for code in documented - {"200"}:
            ref = item[method]["responses"][code]["content"]["application/json"]["schema"]
            assert ref == {"$ref": "#/components/schemas/ErrorPublic"}, (path, code)
    for url, headers, status in [
        ("/campaigns?limit=500", inv_headers, 422),
        ("/campaigns?limit=x", inv_headers, 422),
        ("/campaigns?nope=1", inv_headers, 422),
        ("/campaigns", {}, 401),
        ("/campaigns/cmp_000000000000", inv_headers, 404),
        ("/banlist", inv_headers, 403),
    ]:
        r = client.get(url, headers=headers)
        assert r.status_code == status and list(r.json()) == ["detail"], url
        assert isinstance(r.json()["detail"], str) and r.json()["detail"], url
    assert client.get("/banlist", headers=admin_headers).status_code == 200
