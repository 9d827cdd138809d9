"""``/``: the investigator web page (static HTML and JS; the data comes from the API)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

__all__ = ["STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    """The page; it asks for the API key once and keeps it in sessionStorage."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")
