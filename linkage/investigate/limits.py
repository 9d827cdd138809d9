"""What a query accepts: the caps, page sizes, sort keys and entity types.

The single source for the investigation queries and the service (``api/``), which
derives its parameter bounds and enums from these.
"""

from __future__ import annotations

from linkage.errors import LinkageError
from linkage.result import INDICATORS_PER_TYPE, MAX_EVIDENCE_PER_EDGE
from linkage.schema import ENTITY_LABELS

__all__ = [
    "CAMPAIGN_SORTS",
    "CAMPAIGN_SORT_KEYS",
    "ENTITY_TYPES",
    "MAX_EDGES_LIMIT",
    "MAX_EVIDENCE",
    "MAX_HOPS",
    "MAX_INDICATORS",
    "MAX_MIN_SIZE",
    "MAX_NODES_LIMIT",
    "MAX_OFFSET",
    "MAX_PAGE",
    "MAX_THREADS",
    "MIN_SUBGRAPH_NODES",
    "check_range",
]

ENTITY_TYPES: tuple[str, ...] = tuple(ENTITY_LABELS)
"""Entity types a look-up accepts (``graph_entities.entity_type``)."""

CAMPAIGN_SORTS: dict[str, str] = {
    "score": "score",
    "size": "size",
    "requests": "request_count",
    "first_seen": "first_seen",
    "last_seen": "last_seen",
}
"""``sort`` keys of the campaign list -> column; prefix ``-`` for descending."""

CAMPAIGN_SORT_KEYS: tuple[str, ...] = tuple(
    f"{sign}{key}" for key in CAMPAIGN_SORTS for sign in ("", "-")
)
"""Every accepted ``sort`` value (each key, ascending and ``-`` descending)."""

MAX_NODES_LIMIT = 5000
"""Largest node cap any graph query accepts."""

MIN_SUBGRAPH_NODES = 2
"""Smallest node cap of a campaign subgraph (two members)."""

MAX_EDGES_LIMIT = 50000
"""Largest edge cap any graph query accepts."""

MAX_PAGE = 1000
"""Largest page (``limit``, linked accounts, entities) a list query accepts."""

MAX_OFFSET = 10**6
"""Largest ``offset`` a list query accepts."""

MAX_MIN_SIZE = 10**9
"""Largest ``min_size`` filter of the campaign list."""

MAX_HOPS = 2
"""Deepest neighbourhood."""

MAX_EVIDENCE = MAX_EVIDENCE_PER_EDGE
"""Evidence entities stored (and so returnable) per edge."""

MAX_INDICATORS = INDICATORS_PER_TYPE
"""Indicators stored (and so returnable) per campaign and entity type."""

MAX_THREADS = 256
"""Most DuckDB threads an investigation may use."""


def check_range(name: str, value: int, low: int, high: int) -> int:
    """``value`` when it is an integer in ``[low, high]``; else :class:`LinkageError`
    naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LinkageError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise LinkageError(f"{name} must be between {low} and {high}, got {value}")
    return value
