"""``/docs`` and ``/openapi.json``: the API schema behind a key, Swagger UI from the package.

``/openapi.json`` needs a key like every data route. ``/docs`` is a static shell (no
data, no inline script): Swagger UI's files come from the ``swagger-ui-bundle``
package (``/docs/assets/``, no CDN) and ``/static/docs.js`` fetches the schema with
the key the page keeps in this tab (it asks for one when there is none). The setting
``LINKAGE_DOCS=false`` removes both routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import PrincipalDep

__all__ = ["DOCS_HTML", "router"]

router = APIRouter(include_in_schema=False)

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>linkage investigator API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@router.get("/openapi.json")
async def openapi(request: Request, _: PrincipalDep) -> JSONResponse:
    """The OpenAPI schema (needs a key)."""
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/docs")
async def docs() -> HTMLResponse:
    """Swagger UI, served from the package; it fetches the schema with your key."""
    return HTMLResponse(DOCS_HTML)
