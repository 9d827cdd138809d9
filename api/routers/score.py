"""``/score``: one new account scored against the result's campaigns."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ScorerDep, ScorerKeyDep, errors
from api.models import json_response
from api.scoring import ScoreAccount, ScorePublic

__all__ = ["router"]

router = APIRouter(tags=["score"])


@router.post(
    "/score",
    response_model=ScorePublic,
    summary="Score a new account",
    responses=errors(400, 401, 413, 422, 503),
)
async def score_account(scorer: ScorerDep, _: ScorerKeyDep, body: ScoreAccount) -> Response:
    """The campaign a new account is tied to by the cards, devices, keys, identifiers and
    addresses it shares with the campaign's members, its score, flag and reasons: the
    rule and keys of `linkage score`, without detecting again. Roles `scorer`,
    `investigator` and `admin`."""
    # a fraction of a millisecond in plain Python (Scorer.score_account): on the event
    # loop, as a hop to a worker thread would cost more than the work
    row = scorer.score_account(body.tables())
    return json_response(ScorePublic(**row._asdict()))
