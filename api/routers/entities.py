"""``/entities/{type}/{value}``: every account that used an IP, card, device, ..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import EntityType, InvestigationDep, PrincipalDep, SettingsDep, check_page, errors
from api.models import EntityDetail, json_response
from linkage.investigate import MAX_OFFSET, MAX_PAGE

__all__ = ["router"]

router = APIRouter(prefix="/entities", tags=["entities"])


@router.get(
    "/{entity_type}/{value:path}",
    response_model=EntityDetail,
    summary="One entity",
    responses=errors(401, 403, 404, 422),
)
async def get_entity(
    inv: InvestigationDep,
    settings: SettingsDep,
    _: PrincipalDep,
    entity_type: Annotated[EntityType, Path(description="The kind of entity.")],
    value: Annotated[
        str,
        Path(
            min_length=1,
            max_length=256,
            description="Address, prefix (`a.b.c.0/24`), fingerprint, BIN, domain, ...",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The entity and every account that used it, most uses first, with counts and
    first / last use."""
    check_page(limit, settings.max_page)
    e = inv.entity(str(entity_type.value), value, limit=limit, offset=offset)
    return json_response(
        EntityDetail.model_validate(
            {"entity": e["entity"], "data": e["accounts"], "count": e["accounts_total"]}
        )
    )
