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
    ("GET", "/health"),
    ("GET", "/campaigns"),
    ("GET", "/campaigns/{campaign_id}"),
    ("GET", "/campaigns/{campaign_id}/subgraph"),
    ("GET", "/campaigns/{campaign_id}/banlist"),
    ("GET", "/campaigns/{campaign_id}/stix"),
    ("GET", "/accounts/{account_id}"),
    ("GET", "/accounts/{account_id}/neighborhood"),
    ("GET", "/entities/{entity_type}/{value}"),
    ("GET", "/banlist"),
    ("POST", "/score"),
    ("GET", "/me"),
    ("GET", "/decisions"),
    ("POST", "/decisions"),
]
DOMAIN_CHECKED = {("POST", "/score"), ("POST", "/decisions")}
"""Operations whose input is checked beyond what JSON Schema says (an address that
parses, a timestamp, no card number: ingest's validation; an id the result holds), so
schema-valid data may get a 422 or 404 naming the field; every other check holds."""
WITH_BODY = {("POST", "/score"), ("POST", "/decisions")}


@pytest.fixture(scope="module")
def api_schema(settings, admin_headers, tmp_path_factory):
    """An app of its own (keeping decisions in a state directory of its own):
    schemathesis starts and stops its lifespan."""
    state = tmp_path_factory.mktemp("fuzz-state")
    app = create_app(settings.model_copy(update={"state_dir": state}))
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=admin_headers)


def test_the_fuzzed_operations_are_all_of_them(api_schema):
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


NO_PARAMETERS = {"/health", "/me"}
"""Operations with no parameter or body: there is no invalid request to make."""
FUZZED = [
    (method, path, mode)
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (path in NO_PARAMETERS and mode is GenerationMode.NEGATIVE)
]


@pytest.mark.parametrize(("method", "path", "mode"), FUZZED)
def test_every_response_conforms_to_the_schema(api_schema, admin_headers, method, path, mode):
    operation = api_schema[path][method]
    checks = [
        c
        for c in ALL_CHECKS
        if (method, path) not in DOMAIN_CHECKED or c.__name__ != "positive_data_acceptance"
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
            refused = (401, 404, 422, 400) if (method, path) in WITH_BODY else (401, 404, 422)
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
        for method in item:
            op = (method.upper(), path)
            documented = set(item[method]["responses"])
            if path == "/health":
                continue
            # a scorer key may call /score alone: every other route may refuse it
            assert "401" in documented and ("403" in documented) == (path != "/score")
            assert ("422" in documented) == (path != "/me"), op
            looked_up = "{" in path or op == ("POST", "/decisions")
            assert ("404" in documented) == looked_up, op
            assert ("413" in documented) == ("400" in documented) == (op in WITH_BODY), op
            assert ("503" in documented) == (op in WITH_BODY), op
            for code in documented - {"200", "201"}:
                ref = item[method]["responses"][code]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/ErrorPublic"}, (op, code)
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
