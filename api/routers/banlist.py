"""``/banlist``: the enforcement export, streamed (admin only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.deps import AdminDep, InvestigationDep

__all__ = ["router"]

router = APIRouter(prefix="/banlist", tags=["banlist"])

MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@router.get(
    "",
    summary="Ban list export (admin)",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {"schema": {"type": "string"}} for m in MEDIA.values()}}},
)
def get_banlist(
    inv: InvestigationDep,
    _: AdminDep,
    format: Annotated[Literal["csv", "jsonl"], Query(description="csv or jsonl.")] = "csv",
) -> StreamingResponse:
    """One row per flagged account, strongest campaigns first: the same rows as
    `linkage export banlist`. Needs the admin role."""
    return StreamingResponse(
        inv.banlist_lines(format),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="banlist.{format}"'},
    )
