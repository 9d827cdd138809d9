"""``/campaigns``: the list, one campaign, and its property graph."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import (
    CampaignId,
    CampaignSort,
    GraphFormat,
    InvestigationDep,
    PrincipalDep,
    ReviewDep,
    SettingsDep,
    check_graph,
    check_page,
    errors,
)
from api.models import CampaignDetail, CampaignsPublic, SubgraphPublic, json_response
from linkage.investigate import (
    MAX_EDGES_LIMIT,
    MAX_EVIDENCE,
    MAX_MIN_SIZE,
    MAX_NODES_LIMIT,
    MAX_OFFSET,
    MAX_PAGE,
    MIN_SUBGRAPH_NODES,
    graph_bytes,
)

__all__ = ["router"]

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

_BY_SCORE = CampaignSort("-score")
_JSON = GraphFormat("json")
GRAPH_MEDIA = {"graphml": "application/graphml+xml", "gexf": "application/gexf+xml"}


@router.get(
    "", response_model=CampaignsPublic, summary="List campaigns", responses=errors(401, 403, 422)
)
async def list_campaigns(
    inv: InvestigationDep,
    settings: SettingsDep,
    _: PrincipalDep,
    min_score: Annotated[float, Query(ge=0, le=1, description="Lowest campaign score.")] = 0.0,
    min_size: Annotated[
        int, Query(ge=0, le=MAX_MIN_SIZE, description="Fewest member accounts.")
    ] = 0,
    sort: Annotated[
        CampaignSort, Query(description="Sort key; `-` prefix for descending.")
    ] = _BY_SCORE,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """Reported campaigns, filtered by score and size, sorted and paged."""
    check_page(limit, settings.max_page)
    rows, count = inv.campaigns(
        min_score=min_score, min_size=min_size, sort=sort.value, limit=limit, offset=offset
    )
    return json_response(CampaignsPublic.model_validate({"data": rows, "count": count}))


@router.get(
    "/{campaign_id}",
    response_model=CampaignDetail,
    summary="One campaign",
    responses=errors(401, 403, 404, 422),
)
async def get_campaign(
    inv: InvestigationDep, review: ReviewDep, _: PrincipalDep, campaign_id: CampaignId
) -> Response:
    """Reasons, requests per day, the top shared indicators per entity type, and the
    investigators' decision on it."""
    detail = inv.campaign(campaign_id)
    detail["decision"] = review.of("campaign", campaign_id)
    return json_response(CampaignDetail.model_validate(detail))


@router.get(
    "/{campaign_id}/subgraph",
    response_model=SubgraphPublic,
    summary="A campaign's property graph",
    responses={
        **errors(401, 403, 404, 422),
        200: {
            "content": {m: {"schema": {"type": "string"}} for m in GRAPH_MEDIA.values()},
            "description": "JSON nodes and edges, or GraphML / GEXF with `format`.",
        },
    },
)
async def get_subgraph(
    inv: InvestigationDep,
    settings: SettingsDep,
    _: PrincipalDep,
    campaign_id: CampaignId,
    max_nodes: Annotated[
        int, Query(ge=MIN_SUBGRAPH_NODES, le=MAX_NODES_LIMIT, description="Node cap.")
    ] = 300,
    max_edges: Annotated[
        int, Query(ge=1, le=MAX_EDGES_LIMIT, description="LINKED edge cap.")
    ] = 3000,
    evidence_per_edge: Annotated[
        int, Query(ge=1, le=MAX_EVIDENCE, description="Strongest shared entities per LINKED edge.")
    ] = 3,
    format: Annotated[GraphFormat, Query(description="json, graphml or gexf.")] = _JSON,
) -> Response:
    """Member accounts, the entities binding them and the LINKED evidence edges; over
    the caps a deterministic sample, stated in `truncated` and `sampling`."""
    check_graph(max_nodes, max_edges, settings)
    g = inv.subgraph(
        campaign_id, max_nodes=max_nodes, max_edges=max_edges, evidence_per_edge=evidence_per_edge
    )
    fmt = format.value
    if fmt != "json":
        return Response(
            content=graph_bytes(g, fmt),
            media_type=GRAPH_MEDIA[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{campaign_id}.{fmt}"',
                "X-Truncated": str(g.truncated).lower(),
            },
        )
    return json_response(SubgraphPublic.model_validate(g.to_dict()))
