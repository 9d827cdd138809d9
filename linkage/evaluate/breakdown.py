"""Honest detection figures beside the headline ones: how well the true campaigns
are separated, each campaign's recall and purity, and false positives per
legitimate population.

All take per-account arrays of the same length: ``truth`` (true campaign id,
``None`` for a legitimate account), ``flagged`` (bool) and ``group`` (the
detected campaign of each account; only read where ``flagged``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from linkage.evaluate.metrics import adjusted_rand_index

__all__ = ["campaign_ari", "campaign_breakdown", "flagged_per_population"]

UNLABELLED_POPULATION = "(unlabelled)"
"""Population of a legitimate account whose label row gives none."""


def _campaign_rows(truth: np.ndarray) -> np.ndarray:
    return np.array([t is not None and not pd.isna(t) for t in truth], dtype=bool)


def campaign_ari(truth: np.ndarray, flagged: np.ndarray, group: np.ndarray) -> float | None:
    """Adjusted Rand index over the true campaign accounts only.

    True labels are the campaigns; the predicted label of a flagged account is
    its detected campaign, and every unflagged campaign account is a cluster of
    its own (missing accounts are never "correctly grouped" together). Legitimate
    accounts are left out, so they cannot inflate the figure. ``None`` when the
    labels hold no campaign account.

    >>> t = np.array(["a", "a", "b", "b", None], dtype=object)
    >>> campaign_ari(t, np.array([1, 1, 1, 1, 1], bool), np.array(["x", "x", "x", "x", "y"]))
    0.0
    """
    rows = _campaign_rows(truth)
    if not rows.any():
        return None
    t = np.asarray(truth, dtype=object)[rows].astype(str)
    detected = zip(
        np.asarray(group)[rows].tolist(), np.asarray(flagged, bool)[rows].tolist(), strict=True
    )
    pred = np.array(
        [f"detected:{g}" if f else f"missed:{i}" for i, (g, f) in enumerate(detected)], dtype=str
    )
    return float(adjusted_rand_index(t, pred))


def campaign_breakdown(
    truth: np.ndarray, flagged: np.ndarray, group: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Per true campaign ``C``: its size, recall, and the detected campaign that best
    matches it, with that match's purity.

    - ``recall``: the share of ``C``'s accounts that are flagged;
    - ``detected_as``: the detected campaign ``D`` holding most of ``C``'s flagged
      accounts (ties: the smallest id); ``None`` when none is flagged;
    - ``pieces``: how many detected campaigns ``C``'s flagged accounts fall in;
    - ``captured``: the share of ``C``'s accounts that are flagged in ``D``;
    - ``purity``: of the flagged accounts in ``D``, the share that belong to ``C``
      (1.0: ``D`` is ``C`` and nothing else; 0.5: half of ``D`` is other
      campaigns or legitimate accounts); ``None`` when none is flagged.
    """
    truth = np.asarray(truth, dtype=object)
    flagged = np.asarray(flagged, bool)
    group = np.asarray(group).astype(str)
    rows = _campaign_rows(truth)
    detected_sizes = pd.Series(group[flagged]).value_counts()
    out: dict[str, dict[str, Any]] = {}
    for name in sorted({str(t) for t in truth[rows]}):
        mine = rows & (truth.astype(str) == name)
        hits = pd.Series(group[mine & flagged]).value_counts()
        entry: dict[str, Any] = {
            "accounts": int(mine.sum()),
            "recall": float(flagged[mine].mean()),
            "detected_as": None,
            "pieces": len(hits),
            "captured": 0.0,
            "purity": None,
        }
        if len(hits):
            best = min(hits.index[hits == hits.max()])
            entry["detected_as"] = str(best)
            entry["captured"] = float(hits[best] / mine.sum())
            entry["purity"] = float(hits[best] / detected_sizes[best])
        out[name] = entry
    return out


def flagged_per_population(
    truth: np.ndarray, flagged: np.ndarray, population: np.ndarray
) -> dict[str, dict[str, int]]:
    """False positives by legitimate population: per population (the labels'
    optional ``population`` column; legitimate accounts without one count as
    ``(unlabelled)``), its legitimate accounts and how many of them are flagged."""
    legit = ~_campaign_rows(np.asarray(truth, dtype=object))
    pops = np.array(
        [UNLABELLED_POPULATION if p is None or pd.isna(p) else str(p) for p in population],
        dtype=object,
    )
    flagged = np.asarray(flagged, bool)
    out: dict[str, dict[str, int]] = {}
    for name in sorted(set(pops[legit].tolist())):
        mine = legit & (pops == name)
        out[name] = {"accounts": int(mine.sum()), "flagged": int((flagged & mine).sum())}
    return out
