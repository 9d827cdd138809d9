"""``/campaigns/{id}/banlist`` and ``/campaigns/{id}/stix``: one campaign's exports
(admin only, as the whole ban list is). Its GraphML / GEXF is
``/campaigns/{id}/subgraph?format=...``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from api.deps import AdminDep, BanlistFormat, CampaignId, InvestigationDep, TlpLevel, errors
from linkage.export import banlist_lines
from linkage.export.stix import stix_bundle, stix_text

__all__ = ["router"]

router = APIRouter(prefix="/campaigns", tags=["export"])

_CSV = BanlistFormat("csv")
_AMBER = TlpLevel("amber")
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
STIX_MEDIA = "application/stix+json;version=2.1"


@router.get(
    "/{campaign_id}/banlist",
    summary="One campaign's ban list (admin)",
    response_class=StreamingResponse,
    responses={
        **errors(401, 403, 404, 422),
        200: {"content": {m: {"schema": {"type": "string"}} for m in MEDIA.values()}},
    },
)
def get_campaign_banlist(
    inv: InvestigationDep,
    _: AdminDep,
    campaign_id: CampaignId,
    format: Annotated[BanlistFormat, Query(description="csv or jsonl.")] = _CSV,
) -> StreamingResponse:
    """The campaign's flagged members: the rows of `/banlist` for this campaign, in the
    same format. Needs the admin role."""
    fmt = format.value
    return StreamingResponse(
        banlist_lines(inv.banlist(campaign_id), fmt),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="banlist-{campaign_id}.{fmt}"'},
    )


@router.get(
    "/{campaign_id}/stix",
    summary="One campaign as a STIX 2.1 bundle (admin)",
    responses={
        **errors(401, 403, 404, 422),
        200: {"content": {STIX_MEDIA: {"schema": {"type": "object"}}}},
    },
)
def get_campaign_stix(
    inv: InvestigationDep,
    _: AdminDep,
    campaign_id: CampaignId,
    tlp: Annotated[TlpLevel, Query(description="TLP 2.0 marking of every object.")] = _AMBER,
) -> Response:
    """The bundle `linkage export stix --campaign ID` writes (TLP `tlp`, amber by
    default): the campaign, its shared IPs, prefixes, devices and payment-instrument
    fingerprints as indicators, its prompt templates as a note. Needs the admin role."""
    inv.campaign(campaign_id, indicators_per_type=1)  # 404 before building anything
    bundle = stix_bundle(inv.result_dir, campaign=campaign_id, tlp=tlp.value)
    return Response(
        content=stix_text(bundle),
        media_type=STIX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}.stix.json"'},
    )
