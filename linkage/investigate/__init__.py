"""Investigate a detection result: read-only queries for the API, exports and notebooks.

``open_result(RESULT_DIR)`` gives an :class:`Investigation` over the tables
``linkage detect`` leaves in ``RESULT_DIR/linkage.duckdb`` (``docs/RESULT_STORE.md``):
campaigns with their timeline and shared indicators, a campaign's property graph,
an account with the evidence for each of its links ("why linked"), an account's
neighbourhood, every account behind an entity, and the ban list rows. Every entity
record carries ``text``, its key as an investigator reads it (:class:`EntityText`). Graph results
are :class:`Subgraph` records labelled per ``schema/graph_schema.json``;
:func:`to_networkx` and :func:`write_graph` turn them into networkx, GraphML or GEXF.
What each query accepts (caps, page sizes, sort keys, entity types) is in
:mod:`linkage.investigate.limits`. This package reads; it never imports ``export``.
"""

from linkage.investigate.banlist import BANLIST_COLUMNS, banlist_rows
from linkage.investigate.context import NotFoundError
from linkage.investigate.describe import EntityText
from linkage.investigate.graph import (
    GRAPH_FORMATS,
    Subgraph,
    graph_bytes,
    graph_format,
    to_networkx,
    write_graph,
)
from linkage.investigate.limits import (
    CAMPAIGN_SORT_KEYS,
    CAMPAIGN_SORTS,
    ENTITY_TYPES,
    MAX_EDGES_LIMIT,
    MAX_EVIDENCE,
    MAX_HOPS,
    MAX_MIN_SIZE,
    MAX_NODES_LIMIT,
    MAX_OFFSET,
    MAX_PAGE,
    MIN_SUBGRAPH_NODES,
)
from linkage.investigate.result import Investigation, open_result

__all__ = [
    "BANLIST_COLUMNS",
    "CAMPAIGN_SORTS",
    "CAMPAIGN_SORT_KEYS",
    "ENTITY_TYPES",
    "GRAPH_FORMATS",
    "MAX_EDGES_LIMIT",
    "MAX_EVIDENCE",
    "MAX_HOPS",
    "MAX_MIN_SIZE",
    "MAX_NODES_LIMIT",
    "MAX_OFFSET",
    "MAX_PAGE",
    "MIN_SUBGRAPH_NODES",
    "EntityText",
    "Investigation",
    "NotFoundError",
    "Subgraph",
    "banlist_rows",
    "graph_bytes",
    "graph_format",
    "open_result",
    "to_networkx",
    "write_graph",
]
