"""``/campaigns``: the list, one campaign, and its property graph."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response

from api.deps import InvestigationDep, PrincipalDep, SettingsDep
from api.models import CampaignDetail, CampaignsPublic, SubgraphPublic, json_response
from linkage.investigate import graph_bytes

__all__ = ["CAMPAIGN_ID", "router"]

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

CAMPAIGN_ID = Path(
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9_.:-]+$",
    description="A campaign id (`cmp_...`).",
)
CampaignId = Annotated[str, CAMPAIGN_ID]
Sort = Literal[
    "score", "-score", "size", "-size", "requests", "-requests",
    "first_seen", "-first_seen", "last_seen", "-last_seen",
]  # fmt: skip

GRAPH_MEDIA = {"graphml": "application/graphml+xml", "gexf": "application/gexf+xml"}


@router.get("", response_model=CampaignsPublic, summary="List campaigns")
async def list_campaigns(
    inv: InvestigationDep,
    settings: SettingsDep,
    _: PrincipalDep,
    min_score: Annotated[float, Query(ge=0, le=1, description="Lowest campaign score.")] = 0.0,
    min_size: Annotated[int, Query(ge=0, le=10**9, description="Fewest member accounts.")] = 0,
    sort: Annotated[Sort, Query(description="Sort key; `-` prefix for descending.")] = "-score",
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> Response:
    """Reported campaigns, filtered by score and size, sorted and paged."""
    _check_page(limit, settings.max_page)
    rows, count = inv.campaigns(
        min_score=min_score, min_size=min_size, sort=sort, limit=limit, offset=offset
    )
    return json_response(CampaignsPublic.model_validate({"data": rows, "count": count}))


@router.get("/{campaign_id}", response_model=CampaignDetail, summary="One campaign")
async def get_campaign(inv: InvestigationDep, _: PrincipalDep, campaign_id: CampaignId) -> Response:
    """Reasons, requests per day, and the top shared indicators per entity type."""
    return json_response(CampaignDetail.model_validate(inv.campaign(campaign_id)))


@router.get(
    "/{campaign_id}/subgraph",
    response_model=SubgraphPublic,
    summary="A campaign's property graph",
    responses={
        200: {
            "content": {m: {"schema": {"type": "string"}} for m in GRAPH_MEDIA.values()},
            "description": "JSON nodes and edges, or GraphML / GEXF with `format`.",
        }
    },
)
async def get_subgraph(
    inv: InvestigationDep,
    settings: SettingsDep,
    _: PrincipalDep,
    campaign_id: CampaignId,
    max_nodes: Annotated[int, Query(ge=2, le=5000, description="Node cap.")] = 300,
    max_edges: Annotated[int, Query(ge=1, le=50000, description="LINKED edge cap.")] = 3000,
    evidence_per_edge: Annotated[
        int, Query(ge=1, le=8, description="Strongest shared entities per LINKED edge.")
    ] = 3,
    format: Annotated[
        Literal["json", "graphml", "gexf"], Query(description="json, graphml or gexf.")
    ] = "json",
) -> Response:
    """Member accounts, the entities binding them and the LINKED evidence edges; over
    the caps a deterministic sample, stated in `truncated` and `sampling`."""
    _check_graph(max_nodes, max_edges, settings.max_graph_nodes, settings.max_graph_edges)
    g = inv.subgraph(
        campaign_id, max_nodes=max_nodes, max_edges=max_edges, evidence_per_edge=evidence_per_edge
    )
    if format != "json":
        return Response(
            content=graph_bytes(g, format),
            media_type=GRAPH_MEDIA[format],
            headers={
                "Content-Disposition": f'attachment; filename="{campaign_id}.{format}"',
                "X-Truncated": str(g.truncated).lower(),
            },
        )
    return json_response(SubgraphPublic.model_validate(g.to_dict()))


def _check_page(limit: int, cap: int) -> None:
    if limit > cap:
        raise HTTPException(422, detail=f"limit must be at most {cap} (this server's page cap)")


def _check_graph(max_nodes: int, max_edges: int, node_cap: int, edge_cap: int) -> None:
    if max_nodes > node_cap:
        raise HTTPException(422, detail=f"max_nodes must be at most {node_cap} on this server")
    if max_edges > edge_cap:
        raise HTTPException(422, detail=f"max_edges must be at most {edge_cap} on this server")
