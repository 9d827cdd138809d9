"""Response models, layered Base / Public / ListPublic(data, count).

Timestamps are ISO-8601 UTC text (``2026-10-01T00:53:22.655769Z``), days ``YYYY-MM-DD``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field

from api.review import DecisionPublic

__all__ = [
    "AccountDetail",
    "AccountEntity",
    "AccountPublic",
    "CampaignBase",
    "CampaignDetail",
    "CampaignPublic",
    "CampaignRef",
    "CampaignsPublic",
    "DayActivity",
    "EntityAccount",
    "EntityDetail",
    "EntityPublic",
    "ErrorPublic",
    "Evidence",
    "GraphEdge",
    "GraphNode",
    "Health",
    "Indicator",
    "Link",
    "SubgraphPublic",
    "json_response",
]


class CampaignBase(BaseModel):
    campaign_id: str
    size: int = Field(description="Member accounts.")
    score: float = Field(description="Campaign score in [0, 1].")
    reasons: list[str] = Field(description="Why it scored so, strongest first.")
    first_seen: str | None
    last_seen: str | None
    request_count: int
    contributions: dict[str, float] = Field(
        description="Each scoring feature's signed contribution to the campaign's logit; "
        "`reasons` are rendered from the largest."
    )
    lineage: str = Field(
        description="`new`, `continued`, `merged` or `split` relative to the previous run."
    )
    previous_campaign_ids: list[str] = Field(
        description="The previous run's campaigns this one continues; empty when `new`."
    )


class CampaignPublic(CampaignBase):
    pass


class CampaignsPublic(BaseModel):
    data: list[CampaignPublic]
    count: int = Field(description="Campaigns matching the filters (all pages).")


class DayActivity(BaseModel):
    day: str
    requests: int
    accounts: int = Field(description="Distinct active member accounts that day.")


class Indicator(BaseModel):
    entity_type: str
    entity: str
    label: str = Field(description="Node label in the graph schema.")
    text: str = Field(
        description=(
            "The entity as an investigator reads it, e.g. `active hours alike (Jaccard 0.42)`."
        )
    )
    members: int = Field(description="Campaign members that used it.")
    member_share: float
    outside_accounts: int = Field(description="Accounts outside the campaign that used it.")
    uses: int
    rank: int


class CampaignDetail(CampaignBase):
    flagged: int = Field(description="Members flagged for banning.")
    timeline: list[DayActivity]
    baseline: list[DayActivity] = Field(
        description="The whole platform's requests and active accounts per day (every "
        "account), to compare the timeline with."
    )
    indicators: dict[str, list[Indicator]] = Field(
        description="Per entity type, the infrastructure shared by the most members."
    )
    decision: DecisionPublic | None = Field(
        default=None, description="Investigators' decision on it, if any (`/decisions`)."
    )


class GraphNode(BaseModel):
    id: str = Field(description="`account:<id>` or `<entity_type>:<value>`.")
    label: str = Field(description="Node label of schema/graph_schema.json.")
    key: str
    properties: dict[str, Any]


class GraphEdge(BaseModel):
    source: str
    target: str
    type: str = Field(description="Relationship type of schema/graph_schema.json.")
    properties: dict[str, Any]


class SubgraphPublic(BaseModel):
    kind: str = Field(description="`campaign` or `neighbourhood`.")
    center: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    total_nodes: int = Field(description="Nodes before the node cap.")
    total_edges: int = Field(description="Edges before the LINKED edge cap.")
    max_nodes: int
    max_edges: int
    truncated: bool
    sampling: str | None = Field(description="How the shown part was chosen, when capped.")
    params: dict[str, Any]


class AccountPublic(BaseModel):
    account_id: str
    created_at: str | None
    email_domain: str | None
    country: str | None
    status: str | None
    banned_at: str | None
    request_count: int
    first_seen: str | None
    last_seen: str | None
    campaign_id: str | None
    score: float | None
    flagged: bool | None


class CampaignRef(BaseModel):
    campaign_id: str
    score: float
    size: int
    reasons: list[str]


class Evidence(BaseModel):
    entity_type: str
    entity: str
    label: str
    text: str = Field(
        description=(
            "The entity as an investigator reads it, e.g. `active hours alike (Jaccard 0.42)`."
        )
    )
    weight: float = Field(description="Its contribution to the link.")
    accounts: int = Field(description="Accounts that used it.")
    kind: str | None


class Link(BaseModel):
    account_id: str
    campaign_id: str | None
    score: float | None
    flagged: bool | None
    weight: float
    n_entities: int
    signals: list[str]
    evidence: list[Evidence] = Field(description="Why linked: the strongest shared entities.")


class AccountEntity(BaseModel):
    entity_type: str
    entity: str
    label: str
    text: str = Field(
        description=(
            "The entity as an investigator reads it, e.g. `active hours alike (Jaccard 0.42)`."
        )
    )
    accounts: int
    weight: float | None
    kind: str | None
    uses: int
    first_seen: str | None
    last_seen: str | None


class AccountDetail(BaseModel):
    account: AccountPublic
    campaign: CampaignRef | None
    links: list[Link]
    links_total: int
    entities: list[AccountEntity]
    entities_total: int
    decision: DecisionPublic | None = Field(
        default=None, description="Investigators' decision on the account, if any."
    )


class EntityRef(BaseModel):
    entity_type: str
    entity: str


class EntityPublic(BaseModel):
    entity_type: str
    entity: str
    label: str
    text: str = Field(
        description=(
            "The entity as an investigator reads it, e.g. `active hours alike (Jaccard 0.42)`."
        )
    )
    accounts: int
    uses: int
    first_seen: str | None
    last_seen: str | None
    weight: float | None
    kind: str | None
    parent: EntityRef | None


class EntityAccount(BaseModel):
    account_id: str
    campaign_id: str | None
    score: float | None
    flagged: bool | None
    status: str | None
    uses: int
    first_seen: str | None
    last_seen: str | None


class EntityDetail(BaseModel):
    entity: EntityPublic
    data: list[EntityAccount]
    count: int = Field(description="Accounts that used it (all pages).")


class ErrorPublic(BaseModel):
    """Every error response (401, 403, 404, 422): what went wrong, naming the parameter."""

    detail: str = Field(description="What went wrong and what to do about it.")


class Health(BaseModel):
    status: str
    campaigns: int
    version: str


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` as a JSON response, serialised once by pydantic.

    Routes keep ``response_model`` for the OpenAPI schema; returning the bytes
    skips FastAPI's second validation and its pure-Python JSON encoding, which
    cost more than the look-up itself on large graphs.
    """
    return Response(
        content=model.model_dump_json(), media_type="application/json", status_code=status_code
    )
