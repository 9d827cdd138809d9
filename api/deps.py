"""Dependencies as ``Annotated`` aliases (the investigation, the settings and who calls)
and the checks routers share: path parameters, enums and caps derived from the core's
limits (:mod:`linkage.investigate.limits`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, Security, status
from fastapi.security import APIKeyHeader

from api.config import Settings
from api.models import ErrorPublic
from api.review import Review
from api.security import KeyStore, Principal
from linkage import Scorer
from linkage.export import BANLIST_TEXT_FORMATS
from linkage.export.stix import TLP_LEVELS
from linkage.investigate import CAMPAIGN_SORT_KEYS, ENTITY_TYPES, GRAPH_FORMATS, Investigation

__all__ = [
    "API_KEY_HEADER",
    "CAMPAIGN_ID",
    "AccountId",
    "AdminDep",
    "BanlistFormat",
    "CampaignId",
    "CampaignSort",
    "DeciderDep",
    "EntityType",
    "GraphFormat",
    "InvestigationDep",
    "PrincipalDep",
    "ReviewDep",
    "ScorerDep",
    "ScorerKeyDep",
    "SettingsDep",
    "TlpLevel",
    "check_graph",
    "check_page",
    "errors",
    "get_investigation",
    "get_review",
    "get_scorer",
    "get_settings",
    "reject_unknown_query",
    "require_admin",
    "require_decider",
    "require_key",
    "require_reader",
]

API_KEY_HEADER = "X-API-Key"

_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Your API key. Roles: `investigator` (read and score), `reviewer` (read, "
    "score and decide), `admin` (read, score, decide and export), `scorer` (`/score` only).",
)


async def get_investigation(request: Request) -> Investigation:
    """The open result (one per app, shared by all requests)."""
    inv: Investigation = request.app.state.investigation
    return inv


async def get_scorer(request: Request) -> Scorer:
    """The result's campaign index in memory (one per app, shared by all requests); 503
    when the result has none (written before the index)."""
    scorer: Scorer | str = request.app.state.scorer
    if isinstance(scorer, str):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=scorer)
    return scorer


async def get_review(request: Request) -> Review:
    """The decision log and what the served result applied (one per app)."""
    review: Review = request.app.state.review
    return review


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def require_key(
    request: Request, key: Annotated[str | None, Security(_api_key)]
) -> Principal:
    """The caller of a valid key; 401 without one. Records the key's name (never the
    key) for the audit log."""
    keys: KeyStore = request.app.state.keys
    principal = keys.authenticate(key)
    if principal is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=f"missing or unknown API key: send a valid key in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )
    request.state.principal = principal
    return principal


async def require_reader(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    """A caller that may read the result (``investigator``, ``reviewer`` or ``admin``);
    403 for a ``scorer`` key."""
    return _allowed(principal.is_reader, principal, "the investigator, reviewer or admin role")


async def require_decider(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    """A caller that may record decisions (``reviewer`` or ``admin``); 403 otherwise."""
    return _allowed(principal.can_decide, principal, "the reviewer or admin role")


async def require_admin(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    """A caller with the ``admin`` role; 403 for any other role."""
    return _allowed(principal.is_admin, principal, "the admin role")


def _allowed(ok: bool, principal: Principal, needs: str) -> Principal:
    """``principal``, or 403 saying which roles the route needs and which the key has."""
    if not ok:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"this route needs {needs}; key {principal.name!r} has {principal.role!r}",
        )
    return principal


_ERRORS = {
    400: "The body could not be read as JSON.",
    401: "Missing or unknown API key (header `X-API-Key`).",
    403: "The key's role may not use this route (`/banlist` and a campaign's `/banlist` and "
    "`/stix` need `admin`; `POST /decisions` `reviewer` or `admin`; every route but "
    "`/health` and `/score` needs `investigator`, `reviewer` or `admin`).",
    404: "No such campaign, account or entity in this result.",
    413: "The request body is over this server's cap (`LINKAGE_MAX_BODY_BYTES`).",
    422: "A parameter is malformed or above this server's cap; `detail` names it.",
    503: "Not available on this server: no campaign index in the result (`/score`: run "
    "`linkage detect` again), or no state directory (`POST /decisions`: set "
    "`LINKAGE_STATE_DIR`).",
}


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route (or dependency) and its dependencies take."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query(request: Request) -> None:
    """422 for a query parameter the route does not take (a typo is never ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted({k for k in request.query_params if k not in known})
    if unknown:
        names = ", ".join(repr(k[:64]) for k in unknown[:5])
        takes = ", ".join(sorted(known)) or "none"
        raise HTTPException(
            422, detail=f"unknown query parameter {names}; this route takes: {takes}"
        )


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses; every error body is
    :class:`~api.models.ErrorPublic` (``{"detail": "..."}``)."""
    return {code: {"model": ErrorPublic, "description": _ERRORS[code]} for code in codes}


InvestigationDep = Annotated[Investigation, Depends(get_investigation)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(require_reader)]
ScorerKeyDep = Annotated[Principal, Depends(require_key)]
"""Any valid key: ``/score`` is open to every role."""
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
AdminDep = Annotated[Principal, Depends(require_admin)]
DeciderDep = Annotated[Principal, Depends(require_decider)]
ReviewDep = Annotated[Review, Depends(get_review)]


CAMPAIGN_ID = Path(
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9_.:-]+$",
    description="A campaign id (`cmp_...`).",
)
CampaignId = Annotated[str, CAMPAIGN_ID]
AccountId = Annotated[
    str, Path(min_length=1, max_length=128, description="An account id as in the input data.")
]

EntityType = StrEnum("EntityType", {t: t for t in ENTITY_TYPES})  # type: ignore[misc]
"""The entity types of the result store (``linkage.investigate.ENTITY_TYPES``)."""
CampaignSort = StrEnum("CampaignSort", {k: k for k in CAMPAIGN_SORT_KEYS})  # type: ignore[misc]
"""Campaign sort keys (``linkage.investigate.CAMPAIGN_SORT_KEYS``)."""
GraphFormat = StrEnum("GraphFormat", {f: f for f in ("json", *GRAPH_FORMATS)})  # type: ignore[misc]
"""A subgraph as JSON or a graph file (``linkage.investigate.GRAPH_FORMATS``)."""
BanlistFormat = StrEnum("BanlistFormat", {f: f for f in BANLIST_TEXT_FORMATS})  # type: ignore[misc]
"""Streamed ban list formats (``linkage.export.BANLIST_TEXT_FORMATS``)."""
TlpLevel = StrEnum("TlpLevel", {t: t for t in TLP_LEVELS})  # type: ignore[misc]
"""TLP 2.0 levels of a STIX export (``linkage.export.stix.TLP_LEVELS``)."""


def check_page(limit: int, cap: int) -> None:
    """422 when ``limit`` is above this server's page cap."""
    if limit > cap:
        raise HTTPException(422, detail=f"limit must be at most {cap} (this server's page cap)")


def check_graph(max_nodes: int, max_edges: int, settings: Settings) -> None:
    """422 when a graph request asks for more than this server's caps."""
    if max_nodes > settings.max_graph_nodes:
        raise HTTPException(
            422, detail=f"max_nodes must be at most {settings.max_graph_nodes} on this server"
        )
    if max_edges > settings.max_graph_edges:
        raise HTTPException(
            422, detail=f"max_edges must be at most {settings.max_graph_edges} on this server"
        )
