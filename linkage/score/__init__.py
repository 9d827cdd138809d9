"""Campaign and account scoring with reasons."""

from linkage.score.features import account_features, community_features
from linkage.score.scoring import FEATURES, score_accounts, score_campaigns

__all__ = [
    "FEATURES",
    "account_features",
    "community_features",
    "score_accounts",
    "score_campaigns",
]
