"""``/accounts``: one account with why it is linked, and its neighbourhood."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import (
    AccountId,
    InvestigationDep,
    PrincipalDep,
    ReviewDep,
    SettingsDep,
    check_graph,
    errors,
)
from api.models import AccountDetail, SubgraphPublic, json_response
from linkage.investigate import MAX_EDGES_LIMIT, MAX_EVIDENCE, MAX_HOPS, MAX_NODES_LIMIT, MAX_PAGE

__all__ = ["router"]

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get(
    "/{account_id}",
    response_model=AccountDetail,
    summary="One account",
    responses=errors(401, 403, 404, 422),
)
async def get_account(
    inv: InvestigationDep,
    review: ReviewDep,
    _: PrincipalDep,
    account_id: AccountId,
    max_links: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Linked accounts shown.")] = 50,
    max_entities: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Entities shown.")] = 50,
) -> Response:
    """Campaign, score, reasons, the accounts it is linked to with the evidence behind
    each link ("why linked"), the entities it used, and the investigators' decision."""
    detail = inv.account(account_id, max_links=max_links, max_entities=max_entities)
    detail["decision"] = review.of("account", account_id)
    return json_response(AccountDetail.model_validate(detail))


@router.get(
    "/{account_id}/neighborhood",
    response_model=SubgraphPublic,
    summary="An account's ego graph",
    responses=errors(401, 403, 404, 422),
)
async def get_neighborhood(
    inv: InvestigationDep,
    settings: SettingsDep,
    _: PrincipalDep,
    account_id: AccountId,
    hops: Annotated[int, Query(ge=1, le=MAX_HOPS, description="1 or 2.")] = 1,
    max_nodes: Annotated[int, Query(ge=1, le=MAX_NODES_LIMIT, description="Node cap.")] = 200,
    max_edges: Annotated[
        int, Query(ge=1, le=MAX_EDGES_LIMIT, description="LINKED edge cap.")
    ] = 1000,
    evidence_per_edge: Annotated[
        int, Query(ge=1, le=MAX_EVIDENCE, description="Strongest shared entities per LINKED edge.")
    ] = 1,
) -> Response:
    """The accounts within `hops` LINKED edges, bounded by `max_nodes` (nearest and
    most strongly linked first) and `max_edges` (heaviest first)."""
    check_graph(max_nodes, max_edges, settings)
    g = inv.neighbourhood(
        account_id,
        hops=hops,
        max_nodes=max_nodes,
        max_edges=max_edges,
        evidence_per_edge=evidence_per_edge,
    )
    return json_response(SubgraphPublic.model_validate(g.to_dict()))
