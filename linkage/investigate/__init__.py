"""Investigate a detection result: read-only queries for the API, exports and notebooks.

``open_result(RESULT_DIR)`` gives an :class:`Investigation` over the tables
``linkage detect`` leaves in ``RESULT_DIR/linkage.duckdb`` (``docs/RESULT_STORE.md``):
campaigns with their timeline and shared indicators, a campaign's property graph,
an account with the evidence for each of its links ("why linked"), an account's
neighbourhood, every account behind an entity, and the ban list. Graph results are
:class:`Subgraph` records labelled per ``schema/graph_schema.json``;
:func:`to_networkx` and :func:`write_graph` turn them into networkx, GraphML or GEXF.
"""

from linkage.investigate.banlist_text import BANLIST_TEXT_FORMATS, banlist_lines
from linkage.investigate.graph import (
    GRAPH_FORMATS,
    Subgraph,
    graph_bytes,
    to_networkx,
    write_graph,
)
from linkage.investigate.result import (
    CAMPAIGN_SORTS,
    ENTITY_TYPES,
    MAX_EDGES_LIMIT,
    MAX_NODES_LIMIT,
    MAX_PAGE,
    Investigation,
    NotFoundError,
    open_result,
)

__all__ = [
    "BANLIST_TEXT_FORMATS",
    "CAMPAIGN_SORTS",
    "ENTITY_TYPES",
    "GRAPH_FORMATS",
    "MAX_EDGES_LIMIT",
    "MAX_NODES_LIMIT",
    "MAX_PAGE",
    "Investigation",
    "NotFoundError",
    "Subgraph",
    "banlist_lines",
    "graph_bytes",
    "open_result",
    "to_networkx",
    "write_graph",
]
