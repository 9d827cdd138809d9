"""``/banlist``: the enforcement export, streamed (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.deps import AdminDep, BanlistFormat, InvestigationDep, errors
from linkage.export import banlist_lines

__all__ = ["router"]

router = APIRouter(prefix="/banlist", tags=["banlist"])

_CSV = BanlistFormat("csv")
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@router.get(
    "",
    summary="Ban list export (admin)",
    response_class=StreamingResponse,
    responses={
        **errors(401, 403, 422),
        200: {"content": {m: {"schema": {"type": "string"}} for m in MEDIA.values()}},
    },
)
def get_banlist(
    inv: InvestigationDep,
    _: AdminDep,
    format: Annotated[BanlistFormat, Query(description="csv or jsonl.")] = _CSV,
) -> StreamingResponse:
    """One row per flagged account, strongest campaigns first: the same rows and bytes
    as `linkage export banlist`. Needs the admin role."""
    fmt = format.value
    return StreamingResponse(
        banlist_lines(inv.banlist(), fmt),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="banlist.{fmt}"'},
    )
