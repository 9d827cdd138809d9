"""Campaign and account scoring with reasons, on the account graph of :mod:`linkage.graph`."""

from linkage.score.features import account_features, community_features
from linkage.score.newcomers import SCORE_COLUMNS, CampaignIndex, Scorer, ScoreRun, score_new
from linkage.score.scoring import FEATURES, score_accounts, score_campaigns
from linkage.score.stage import Scores, score_communities

__all__ = [
    "FEATURES",
    "SCORE_COLUMNS",
    "CampaignIndex",
    "ScoreRun",
    "Scorer",
    "Scores",
    "account_features",
    "community_features",
    "score_accounts",
    "score_campaigns",
    "score_communities",
    "score_new",
]
