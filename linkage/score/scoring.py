"""Campaign scores with reasons, and account scores.

Structure and co-activity decide who is linked; behaviour decides whether a
linked group is a campaign. A campaign's score is a logistic function of
weighted features in four roles:

- ``abuse``: what distillation campaigns do and customers rarely do
  (extraction prompts, ban churn, accounts that start at once, card pools);
- ``intensity``: how hard and how coordinated the group runs (templates,
  volume, round-the-clock automation, synchrony, requests per active hour,
  long sessions, metronomic gaps, proxy infrastructure). Busy
  customers run like that too, so these count only as far as abuse is shown:
  times ``min(1, abuse / ABUSE_FULL)``;
- ``customer``: what makes a group look like a customer (a shared
  organisation, corporate networks). Structure is cheap to fake, so it counts
  only as far as abuse is not shown: times ``1 - min(1, abuse / ABUSE_FULL)``;
- ``trust``: accounts established long before they act here, counted always.

Each feature's contribution to the logit is kept (``contrib_*``, after the
gating), and the largest become human-readable reasons, strongest first.

An account's score is its campaign's score times how firmly the account is
tied into the campaign (:func:`score_accounts`), so an innocent user whose home
address was borrowed by a proxy network does not inherit the campaign's score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BIAS", "FEATURES", "Feature", "contributions", "score_accounts", "score_campaigns"]


@dataclass(frozen=True)
class Feature:
    """A scoring feature: its weight and how to say it."""

    name: str
    weight: float
    value: Callable[[pd.DataFrame], pd.Series]
    reason: Callable[[pd.Series], str]
    role: str = "abuse"
    """``abuse``, ``intensity``, ``customer`` or ``trust`` (see the module docstring)."""


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


FEATURES: tuple[Feature, ...] = (
    Feature(
        "elicitation",
        4.0,
        lambda f: f.elicit_share,
        lambda r: (
            f"{_pct(r.elicit_share)} of sampled prompts ask for reasoning traces, "
            "tool-call plans or laundered answers"
        ),
    ),
    Feature(
        "templates",
        2.0,
        lambda f: f.template_share,
        lambda r: f"{_pct(r.template_share)} of sampled prompts follow shared templates",
        role="intensity",
    ),
    Feature(
        "volume",
        1.5,
        lambda f: f.volume_ratio.clip(-1, 3),
        lambda r: f"median account sends {10**r.volume_ratio:.0f}x the platform's median requests",
        role="intensity",
    ),
    Feature(
        "automation",
        2.0,
        lambda f: f.automated_share.fillna(0),
        lambda r: f"{_pct(r.automated_share)} of busy accounts run around the clock",
        role="intensity",
    ),
    Feature(
        "synchrony",
        1.5,
        lambda f: ((f.top_quarter - 0.25) / 0.75).clip(0, 1),
        lambda r: (
            f"{_pct(r.top_quarter)} of requests fall in the busiest quarter of its "
            "active hours (synchronised sessions)"
        ),
        role="intensity",
    ),
    Feature(
        "pace",
        1.0,
        lambda f: (f.pace_ratio / 2).clip(0, 1),
        lambda r: (
            f"the median account sends {2**r.pace_ratio:.1f}x the platform's typical "
            "requests per active hour"
        ),
        role="intensity",
    ),
    Feature(
        "long_sessions",
        1.0,
        lambda f: (f.session_ratio / 5).clip(0, 1),
        lambda r: (
            f"the median account's sessions last {2**r.session_ratio:.0f}x the platform's "
            "typical session"
        ),
        role="intensity",
    ),
    Feature(
        "regularity",
        1.5,
        lambda f: f.regular_share,
        lambda r: f"{_pct(r.regular_share)} of busy accounts send at metronomic intervals",
        role="intensity",
    ),
    Feature(
        "churn",
        3.0,
        lambda f: np.maximum(f.banned_share, f.replacement_share),
        lambda r: (
            f"{_pct(r.banned_share)} of accounts already banned, "
            f"{_pct(r.replacement_share)} created within 2 days of a ban"
        ),
    ),
    Feature(
        "fresh",
        1.5,
        lambda f: f.fresh_share,
        lambda r: f"{_pct(r.fresh_share)} of accounts start sending within 2 days of sign-up",
    ),
    Feature(
        "card_pool",
        2.0,
        lambda f: f.top3_bin_share * f.bin_exclusivity * (f.n_cards.clip(0, 5) - 1).clip(0) / 4,
        lambda r: (
            f"{int(r.n_cards)} cards, {_pct(r.top3_bin_share)} from 3 BINs that few "
            "other accounts use"
        ),
    ),
    Feature(
        "infrastructure",
        1.5,
        lambda f: f.infra_share,
        lambda r: f"{_pct(r.infra_share)} of requests from hosting, VPN, proxy or Tor addresses",
        role="intensity",
    ),
    Feature(
        "long_outputs",
        2.5,
        lambda f: (f.output_ratio / 2).clip(0, 1),
        lambda r: f"responses average {2**r.output_ratio:.1f}x the platform's typical length",
    ),
    Feature(
        "tenure",
        -3.0,
        lambda f: f.tenure_share,
        lambda r: (
            f"accounts were established long before acting here (tenure {_pct(r.tenure_share)}: "
            "a month is 0%, a year or more 100%)"
        ),
        role="trust",
    ),
    Feature(
        "billing_history",
        -2.5,
        lambda f: (f.billing_days / 365).clip(0, 1),
        lambda r: f"the typical member's card has paid for {r.billing_days:.0f} days",
        role="trust",
    ),
    Feature(
        "organisation",
        -4.0,
        lambda f: f.org_share,
        lambda r: f"{_pct(r.org_share)} of accounts belong to a shared organisation",
        role="customer",
    ),
    Feature(
        "corporate",
        -3.0,
        lambda f: f.corporate_share,
        lambda r: f"{_pct(r.corporate_share)} of requests from corporate networks",
        role="customer",
    ),
)
BIAS = -5.0
ABUSE_FULL = 5.0
"""Abuse contributions summing to this let intensity count in full and customer
structure not at all."""
MIN_REASON_CONTRIBUTION = 0.3


def score_campaigns(features: pd.DataFrame) -> pd.DataFrame:
    """Add ``score``, ``logit``, per-feature ``contrib_*`` columns, ``contributions`` (them
    as a map per row) and ``reasons`` (rendered from it) to community features."""
    out = features.copy()
    raw = {f.name: f.weight * f.value(out).astype(float).fillna(0).to_numpy() for f in FEATURES}
    abuse = sum((raw[f.name] for f in FEATURES if f.role == "abuse"), np.zeros(len(out)))
    shown = np.clip(abuse / ABUSE_FULL, 0, 1)
    gate = {"abuse": 1.0, "trust": 1.0, "intensity": shown, "customer": 1.0 - shown}
    logit = np.full(len(out), BIAS)
    for feat in FEATURES:
        contrib = raw[feat.name] * gate[feat.role]
        out[f"contrib_{feat.name}"] = contrib
        logit = logit + contrib
    # rounded: feature sums are floating point, added in parallel in any order
    out["score"] = np.round(1.0 / (1.0 + np.exp(-logit)), 9)
    out["logit"] = logit
    out["contributions"] = contributions(out)
    out["reasons"] = [
        _reasons(row, c) for (_, row), c in zip(out.iterrows(), out.contributions, strict=True)
    ]
    return out


def contributions(scored: pd.DataFrame) -> list[dict[str, float]]:
    """Per row of :func:`score_campaigns`, ``{feature name: signed contribution to the
    logit}`` in :data:`FEATURES` order; ``BIAS`` plus their sum is the logit."""
    names = [f.name for f in FEATURES]
    values = scored[[f"contrib_{n}" for n in names]].to_numpy(np.float64)
    return [dict(zip(names, map(float, row), strict=True)) for row in values]


def _reasons(row: pd.Series, contrib: dict[str, float]) -> list[str]:
    """The features whose contribution pushes the way their weight does by at least
    ``MIN_REASON_CONTRIBUTION``, said, largest contribution first."""
    ranked = sorted(FEATURES, key=lambda f: -abs(contrib[f.name]))
    reasons = [
        f.reason(row)
        for f in ranked
        if contrib[f.name] * np.sign(f.weight) >= MIN_REASON_CONTRIBUTION
    ]
    return reasons or ["linked by shared infrastructure; no campaign behaviour stands out"]


def score_accounts(
    membership: np.ndarray,
    campaign_score: np.ndarray,
    inside_weight: np.ndarray,
    inside_evidence: np.ndarray,
    full_attachment: float,
) -> np.ndarray:
    """Account score: campaign score x attachment to the campaign, in [0, 1].

    ``inside_weight[i]`` is account ``i``'s summed edge weight to members of its
    own community; ``inside_evidence[i]`` its evidence inside the community with
    each shared entity counted once. Attachment is the larger of
    ``inside_weight`` over a quarter of the community's median (tied like a
    typical member) and ``inside_evidence`` over ``full_attachment`` (tied by
    enough distinct evidence, however dense the core: a replacement account
    with a handful of requests on a banned account's card, device and proxies),
    capped at 1. One template shared with a few members is one piece of
    evidence, not one per member. Accounts in no community score 0.
    """
    score = np.zeros(len(membership))
    inside = membership >= 0
    if not inside.any():
        return score
    comm = membership[inside]
    w = inside_weight[inside]
    medians = pd.Series(w).groupby(comm).median()
    relative = w / np.maximum(medians.reindex(comm).to_numpy() * 0.25, 1e-9)
    absolute = inside_evidence[inside] / max(full_attachment, 1e-9)
    attachment = np.clip(np.maximum(relative, absolute), 0, 1)
    score[inside] = campaign_score[comm] * attachment
    return np.round(score, 9)
