"""Property-graph records of an investigation, and their networkx / GraphML / GEXF forms.

A :class:`Subgraph` is plain data: nodes and edges as JSON-ready dicts labelled
with the node labels and relationship types of ``schema/graph_schema.json``, plus
how it was capped. The API returns it as JSON, the exports and notebooks turn it
into networkx with :func:`to_networkx` and write it with :func:`write_graph`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import networkx as nx

from linkage.errors import LinkageError

__all__ = [
    "GRAPH_FORMATS",
    "Subgraph",
    "graph_bytes",
    "graph_format",
    "to_networkx",
    "write_graph",
]

GRAPH_FORMATS = ("graphml", "gexf")


@dataclass(frozen=True)
class Subgraph:
    """Nodes and edges of a bounded piece of the investigation graph.

    ``nodes``: ``{"id", "label", "key", "properties"}``; ``id`` is
    ``"account:<account_id>"`` or ``"<entity_type>:<value>"``, ``label`` a node
    label of the schema (``Account``, ``IP``, ``PaymentInstrument``, ...).
    ``edges``: ``{"source", "target", "type", "properties"}``; ``type`` is a
    relationship type of the schema (``USED_IP``, ``LINKED``, ...); a ``LINKED``
    edge carries ``weight``, ``signals``, ``n_entities`` and ``evidence`` (the
    shared entities behind it, strongest first).
    ``total_nodes`` / ``total_edges`` count what there was before the caps;
    ``truncated`` says whether anything was left out and ``sampling`` how the
    kept part was chosen (deterministic: the same call gives the same graph).
    """

    kind: str
    center: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    total_nodes: int
    total_edges: int
    max_nodes: int
    max_edges: int
    truncated: bool
    sampling: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything as one JSON-ready dict (datetimes stay datetimes)."""
        return {
            "kind": self.kind,
            "center": self.center,
            "nodes": self.nodes,
            "edges": self.edges,
            "total_nodes": self.total_nodes,
            "total_edges": self.total_edges,
            "max_nodes": self.max_nodes,
            "max_edges": self.max_edges,
            "truncated": self.truncated,
            "sampling": self.sampling,
            "params": self.params,
        }


def _flat(value: Any) -> Any:
    """A property value GraphML and GEXF can hold: str, int, float or bool."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return ";".join(value)
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, dict):
        return json.dumps(value, default=str, sort_keys=True)
    return value


def to_networkx(subgraph: Subgraph) -> nx.MultiDiGraph:
    """The subgraph as a networkx ``MultiDiGraph`` (an account can both use an
    entity and, say, be ``LINKED`` to another account).

    Node attributes: ``label``, ``key`` and the properties; edge attributes:
    ``type`` and the properties, keyed by ``type``. Lists become ``;``-joined
    strings and ``evidence`` a JSON string, datetimes ISO text, ``None`` values are
    dropped: the graph writes to GraphML and GEXF as is. Graph attributes carry
    the caps and sampling.
    """
    g = nx.MultiDiGraph(
        kind=subgraph.kind,
        center=subgraph.center,
        total_nodes=subgraph.total_nodes,
        total_edges=subgraph.total_edges,
        truncated=subgraph.truncated,
        sampling=subgraph.sampling or "",
    )
    for n in subgraph.nodes:
        attrs = {k: _flat(v) for k, v in n["properties"].items() if v is not None}
        # a property named like a reserved attribute (an Identifier's ``key``, a
        # PromptCluster's ``label``) is kept as ``<name>_property`` when it differs
        for name in ("label", "key"):
            if name in attrs:
                value = attrs.pop(name)
                if value != n[name]:
                    attrs[f"{name}_property"] = value
        g.add_node(n["id"], label=n["label"], key=n["key"], **attrs)
    for e in subgraph.edges:
        attrs = {k: _flat(v) for k, v in e["properties"].items() if v is not None}
        g.add_edge(e["source"], e["target"], key=e["type"], type=e["type"], **attrs)
    return g


def _with_edge_ids(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """``g`` with every edge keyed by a unique id (``e0``, ``e1``, ...): the files'
    edge ids. Keyed by relationship type, most edges would share an id, and Gephi
    keeps only the first edge of each id."""
    out = nx.MultiDiGraph(**g.graph)
    out.add_nodes_from(g.nodes(data=True))
    for i, (u, v, data) in enumerate(g.edges(data=True)):
        out.add_edge(u, v, key=f"e{i}", **data)
    return out


def graph_bytes(subgraph: Subgraph, fmt: str = "graphml") -> bytes:
    """The subgraph serialised as GraphML or GEXF (UTF-8 XML), every edge with its own
    id. In GEXF the edge attribute ``type`` (the relationship type) is named
    ``relationship``."""
    g = _with_edge_ids(to_networkx(subgraph))
    buf = io.BytesIO()
    if fmt == "graphml":
        nx.write_graphml(g, buf, encoding="utf-8")
    elif fmt == "gexf":
        # GEXF reserves an edge's ``type`` for directed/undirected/mutual: the
        # relationship type goes in ``relationship`` there
        for _, _, key, data in g.edges(keys=True, data=True):
            data["relationship"] = data.pop("type")
            data["id"] = key  # GEXF takes the id from the attribute
        nx.write_gexf(g, buf, encoding="utf-8")
    else:
        raise LinkageError(f"graph format {fmt!r} is not one of {', '.join(GRAPH_FORMATS)}")
    return buf.getvalue()


def graph_format(path: Path) -> str:
    """``graphml`` or ``gexf`` from the file extension; anything else is a
    :class:`LinkageError` naming the file."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in GRAPH_FORMATS:
        raise LinkageError(
            f"{path}: graph file extension must be one of "
            f"{', '.join('.' + f for f in GRAPH_FORMATS)}"
        )
    return fmt


def write_graph(subgraph: Subgraph, path: str | Path) -> Path:
    """Write the subgraph to ``path``; the format follows the extension
    (``.graphml`` or ``.gexf``)."""
    path = Path(path)
    data = graph_bytes(subgraph, graph_format(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
