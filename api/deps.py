"""Dependencies as ``Annotated`` aliases: the investigation, the settings and who calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from api.config import Settings
from api.security import KeyStore, Principal
from linkage.investigate import Investigation

__all__ = [
    "API_KEY_HEADER",
    "AdminDep",
    "InvestigationDep",
    "PrincipalDep",
    "SettingsDep",
    "get_investigation",
    "get_settings",
    "require_admin",
    "require_key",
]

API_KEY_HEADER = "X-API-Key"

_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Your API key. Roles: `investigator` (read) and `admin` (read and export).",
)


async def get_investigation(request: Request) -> Investigation:
    """The open result (one per app, shared by all requests)."""
    inv: Investigation = request.app.state.investigation
    return inv


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


async def require_admin(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    """A caller with the ``admin`` role; 403 for any other role."""
    if not principal.is_admin:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=(
                f"this route needs the admin role; key {principal.name!r} has {principal.role!r}"
            ),
        )
    return principal


InvestigationDep = Annotated[Investigation, Depends(get_investigation)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(require_key)]
AdminDep = Annotated[Principal, Depends(require_admin)]
