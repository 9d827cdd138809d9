"""``/decisions``: investigators confirm, dismiss or watch campaigns and accounts; ``/me``:
who the key is and whether it may decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from api.deps import (
    DeciderDep,
    InvestigationDep,
    PrincipalDep,
    ReviewDep,
    SettingsDep,
    check_page,
    errors,
)
from api.models import json_response
from api.review import DecisionIn, DecisionPublic, DecisionsPublic, MePublic
from linkage.investigate import MAX_PAGE
from linkage.result import ResultDir
from linkage.review import decide

__all__ = ["router"]

router = APIRouter(tags=["decisions"])


@router.get("/me", response_model=MePublic, summary="Who this key is", responses=errors(401, 403))
async def me(principal: PrincipalDep) -> Response:
    """The key's name and role, and whether it may record decisions (the page shows the
    decide buttons only then)."""
    return json_response(
        MePublic(name=principal.name, role=principal.role, can_decide=principal.can_decide)
    )


@router.post(
    "/decisions",
    response_model=DecisionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record a decision",
    responses=errors(400, 401, 403, 404, 413, 422, 503),
)
async def record_decision(
    body: DecisionIn, principal: DeciderDep, review: ReviewDep, inv: InvestigationDep
) -> Response:
    """Confirm, dismiss or watch a campaign, or confirm or dismiss an account, of the
    served result, with a note. Appended to the state directory's log under the key's
    name; the next `linkage detect --previous ... --state` applies it. Roles `reviewer`
    and `admin`."""
    if review.log is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="this server keeps no decisions: start it with LINKAGE_STATE_DIR set",
        )
    decision = decide(
        review.log,
        ResultDir(inv.result_dir),
        body.target,
        body.id,
        body.action,
        by=principal.name,
        note=body.note,
    )
    return json_response(
        DecisionPublic(**decision.to_dict(), decided_id=decision.id, status="pending"),
        status_code=status.HTTP_201_CREATED,
    )


@router.get(
    "/decisions",
    response_model=DecisionsPublic,
    summary="Decisions recorded",
    responses=errors(401, 403, 422),
)
async def list_decisions(
    review: ReviewDep,
    settings: SettingsDep,
    _: PrincipalDep,
    target: Annotated[
        str | None, Query(pattern="^(campaign|account)$", description="Only this kind.")
    ] = None,
    id: Annotated[
        str | None, Query(min_length=1, max_length=256, description="Only this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The decision log, newest first, optionally for one target: every decision, with
    who made it and when (earlier ones included: the log is append-only)."""
    check_page(limit, settings.max_page)
    every = list(reversed(review.log.read())) if review.log is not None else []
    chosen = [
        d for d in every if (target is None or d.target == target) and (id is None or d.id == id)
    ]
    page = chosen[offset : offset + limit]
    return json_response(
        DecisionsPublic(
            data=[DecisionPublic(**d.to_dict(), decided_id=d.id) for d in page],
            count=len(chosen),
        )
    )
