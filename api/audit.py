"""The audit log: one JSON object per line and per HTTP request, forge-proof.

Every request is logged, with or without a key, whatever its status: the time, the
process, who (the key's name, never the key), method, route template, path, query
(percent-decoded), status and milliseconds. Each line is ``json.dumps`` with
``ensure_ascii``, so CR, LF, NUL, right-to-left overrides and any other control or
non-ASCII character arrive escaped (``\\n``, ``\\u0000``, ``\\u202e``) and a request
can never start a line of its own. Values that look like card numbers are masked with
ingest's own function (:func:`linkage.ingest.cards.redact_cards`, ``************1111``)
before they are written.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from linkage.ingest.cards import redact_cards

__all__ = ["AUDIT_FIELDS", "AuditMiddleware", "audit_line"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUDIT_FIELDS = ("ts", "pid", "who", "method", "route", "path", "query", "status", "ms")
"""The keys of every audit line, in order."""

_MAX_TEXT = 2048


def _safe(value: str) -> str:
    """``value`` with card numbers masked, cut to a bounded length."""
    masked, _ = redact_cards(value[:_MAX_TEXT])
    return masked


def audit_line(record: dict[str, Any]) -> str:
    """One audit line: ``record`` with every string masked, as ASCII-only JSON.

    >>> audit_line({"path": "/entities/card/4111111111111111\\n", "status": 404})
    '{"path": "/entities/card/************1111\\\\n", "status": 404}'
    """
    return json.dumps(
        {k: _safe(v) if isinstance(v, str) else v for k, v in record.items()},
        ensure_ascii=True,
        separators=(", ", ": "),
    )


def _query(scope: Scope) -> str:
    """The query string, percent-decoded (so an encoded card number is masked too)."""
    raw = scope.get("query_string", b"")
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    return unquote_plus(text, errors="replace")


class AuditMiddleware:
    """One :func:`audit_line` per HTTP request on ``logger``, at INFO."""

    def __init__(self, app: ASGIApp, logger: logging.Logger) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            principal = scope.get("state", {}).get("principal")
            record = {
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "pid": os.getpid(),
                "who": principal.name if principal else None,
                "method": str(scope.get("method", "")),
                "route": getattr(scope.get("route"), "path", None),
                "path": str(scope.get("path", "")),
                "query": _query(scope),
                "status": status,
                "ms": round((time.perf_counter() - began) * 1000, 1),
            }
            self.logger.info("%s", audit_line(record))
