"""The OpenAPI schema this server enforces: one shape for errors, its own caps as limits.

Routes declare their parameter bounds from the core's limits
(:mod:`linkage.investigate.limits`); a server may cap lower with its settings
(``LINKAGE_MAX_PAGE``, ``LINKAGE_MAX_GRAPH_NODES``, ``LINKAGE_MAX_GRAPH_EDGES``), and
:func:`server_openapi` writes those caps into the schema as the ``maximum`` of
``limit``, ``max_nodes`` and ``max_edges``: the same numbers
:func:`api.deps.check_page` and :func:`api.deps.check_graph` enforce. Request
validation errors are rendered as ``{"detail": "..."}`` like every other error
(:func:`validation_detail`), the body the schema documents.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi

from api.config import Settings

__all__ = ["server_caps", "server_openapi", "validation_detail"]


def server_caps(settings: Settings) -> dict[str, int]:
    """Query parameter -> the largest value this server accepts."""
    return {
        "limit": settings.max_page,
        "max_nodes": settings.max_graph_nodes,
        "max_edges": settings.max_graph_edges,
    }


def server_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The app's OpenAPI schema with this server's caps (built once, then cached)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    caps = server_caps(settings)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for param in operation.get("parameters", []):
                cap = caps.get(param["name"]) if param.get("in") == "query" else None
                body = param.get("schema", {})
                if cap is not None and "maximum" in body:
                    body["maximum"] = min(body["maximum"], cap)
    app.openapi_schema = schema
    return schema


def validation_detail(exc: RequestValidationError) -> str:
    """A request validation error as one line naming each parameter
    (``query.limit: Input should be less than or equal to 1000``), never echoing input."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
