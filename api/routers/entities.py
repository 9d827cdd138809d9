"""``/entities/{type}/{value}``: every account that used an IP, card, device, ..."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import InvestigationDep, PrincipalDep, SettingsDep
from api.models import EntityDetail, json_response
from api.routers.campaigns import _check_page
from linkage.investigate import ENTITY_TYPES

__all__ = ["EntityType", "router"]

router = APIRouter(prefix="/entities", tags=["entities"])

EntityType = StrEnum("EntityType", {t: t for t in ENTITY_TYPES})  # type: ignore[misc]
"""The entity types of the result store (``linkage.investigate.ENTITY_TYPES``)."""


@router.get("/{entity_type}/{value:path}", response_model=EntityDetail, summary="One entity")
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
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> Response:
    """The entity and every account that used it, most uses first, with counts and
    first / last use."""
    _check_page(limit, settings.max_page)
    e = inv.entity(str(entity_type.value), value, limit=limit, offset=offset)
    return json_response(
        EntityDetail.model_validate(
            {"entity": e["entity"], "data": e["accounts"], "count": e["accounts_total"]}
        )
    )
