"""Security headers on every response: no sniffing, no framing, a CSP, no caching of data.

* ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
  ``Referrer-Policy: no-referrer`` everywhere;
* ``Content-Security-Policy``: for the pages (``/``, ``/docs``) scripts, styles and
  images from this origin only (no inline script, no CDN), ``connect-src 'self'``;
  for everything else ``default-src 'none'``; ``frame-ancestors 'none'`` always;
* ``Cache-Control: no-store`` on everything but the static assets (API data, the ban
  list, the schema and the pages themselves).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ASSET_PREFIXES", "DATA_CSP", "PAGES", "PAGE_CSP", "SecurityHeadersMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""The CSP of the HTML pages: everything from this origin, nothing inline."""

DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
"""The CSP of every other response (JSON, files, errors)."""

PAGES = ("/", "/docs")
ASSET_PREFIXES = ("/static/", "/docs/assets/")
"""Static files: cacheable (they hold no data)."""

_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _headers(path: str) -> list[tuple[bytes, bytes]]:
    csp = PAGE_CSP if path in PAGES else DATA_CSP
    out = [*_COMMON, (b"content-security-policy", csp.encode())]
    if not path.startswith(ASSET_PREFIXES):
        out.append((b"cache-control", b"no-store"))
    return out


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (replacing any of the same name)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers(str(scope.get("path", "")))
        names = {name for name, _ in extra}

        async def send_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, send_headers)
