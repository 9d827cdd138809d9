"""``/health``: liveness, no key needed."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import InvestigationDep
from api.models import Health
from linkage._version import __version__

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness")
async def health(inv: InvestigationDep) -> Health:
    """The service is up and its result is readable."""
    return Health(status="ok", campaigns=inv.campaign_count(), version=__version__)
