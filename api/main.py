"""The FastAPI app: routers, error handlers, the audit log and the static page."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api.audit import AuditMiddleware
from api.config import Settings
from api.deps import reject_unknown_query
from api.headers import SecurityHeadersMiddleware
from api.limits import BodyLimitMiddleware
from api.openapi import server_openapi, validation_detail
from api.review import Review
from api.routers import (
    accounts,
    banlist,
    campaigns,
    decisions,
    docs,
    entities,
    exports,
    health,
    page,
    score,
)
from api.security import KeyStore
from linkage import (
    Investigation,
    LinkageError,
    NotFoundError,
    Scorer,
    __version__,
    open_result,
)
from linkage.result import ResultDir
from linkage.review import DecisionLog

__all__ = ["LOG_CONFIG", "AuditMiddleware", "app_from_env", "create_app"]

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(process)d %(name)s %(message)s"},
        "audit": {"format": "%(message)s"},  # JSON lines: see api.audit
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        "audit": {"class": "logging.StreamHandler", "formatter": "audit"},
    },
    "loggers": {
        "linkage.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
    },
}
"""Logging for `linkage serve` (every worker): the audit log and uvicorn's own lines."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service over ``settings.result_dir``; settings default to the environment.

    Opens the result read-only and loads the keys now, so a bad directory or key
    configuration fails at start with a clear :class:`LinkageError`.
    """
    settings = settings or Settings()  # type: ignore[call-arg]
    keys = KeyStore.load(
        settings.api_keys_file,
        settings.api_keys.get_secret_value() if settings.api_keys else None,
    )
    inv = open_result(settings.result_dir, threads=settings.duckdb_threads)
    scorer = _open_scorer(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current: Investigation = app.state.investigation
        if current.closed:  # started again after a shutdown
            current = open_result(settings.result_dir, threads=settings.duckdb_threads)
            app.state.investigation = current
            app.state.scorer = _open_scorer(settings)
        current.warm()
        # what was loaded lives as long as the app: frozen, no full collection walks it
        # again (one took 0.13 s, a pause every request in flight waited out, at 100k)
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            current.close()
            if isinstance(app.state.scorer, Scorer):
                app.state.scorer.close()

    app = FastAPI(
        title="linkage investigator API",
        version=__version__,
        description=(
            "Campaigns, accounts, shared infrastructure and the evidence linking them, "
            "from one `linkage detect` result, and new accounts scored against its campaigns "
            "(`POST /score`). Every route but `/health` needs an API key in the `X-API-Key` "
            "header; `/banlist` needs the admin role, `POST /decisions` the reviewer or "
            "admin role; a `scorer` key may call only `/score`."
        ),
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
        docs_url=None,  # api.routers.docs: behind a key, Swagger UI from the package
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.investigation = inv
    app.state.scorer = scorer
    app.state.review = Review.open(settings.state_dir, ResultDir(inv.result_dir).read_decisions())
    for module in (
        health,
        campaigns,
        exports,
        accounts,
        entities,
        banlist,
        score,
        decisions,
        page,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    if settings.docs:
        from swagger_ui_bundle import swagger_ui_path

        app.include_router(docs.router)
        app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    app.openapi = lambda: server_openapi(app, settings)  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": validation_detail(exc)})

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(LinkageError)
    async def bad_request(_: Request, exc: LinkageError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AuditMiddleware, logger=logging.getLogger(settings.audit_logger))
    return app


def _open_scorer(settings: Settings) -> Scorer | str:
    """The result's scorer, or why there is none (a result written before the campaign
    index): the other routes serve it all the same."""
    try:
        log = DecisionLog(settings.state_dir) if settings.state_dir is not None else None
        return Scorer.open(settings.result_dir, log)
    except LinkageError as exc:
        return str(exc)


def app_from_env() -> FastAPI:
    """The app from ``LINKAGE_*`` environment settings (uvicorn's factory for workers)."""
    return create_app(Settings())  # type: ignore[call-arg]
