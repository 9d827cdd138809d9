"""GraphML / GEXF files for Gephi and other graph tools, via networkx.

With a campaign: the investigation layer's campaign subgraph
(:meth:`linkage.investigate.Investigation.subgraph`). Without: the whole result's
property graph, streamed from the store tables (:class:`ResultGraph`). Either way
the records go through :func:`linkage.investigate.graph_bytes`, so node ids
(``account:<id>``, ``<entity_type>:<value>``, ``campaign:<id>``), the ``label``
attribute (the node type), edge ``type`` and ``LINKED`` evidence are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkage.export.atomic import atomic_path
from linkage.export.property_graph import NodeSet, RelationshipSet, ResultGraph
from linkage.investigate import (
    MAX_EDGES_LIMIT,
    MAX_NODES_LIMIT,
    Subgraph,
    graph_bytes,
    open_result,
)
from linkage.investigate.graph import graph_format
from linkage.progress import ProgressFn
from linkage.schema import ENTITY_LABELS

__all__ = ["GraphExport", "result_subgraph", "write_graph_file"]

_ID_PREFIX = {
    "Account": "account",
    "Campaign": "campaign",
    **{label: etype for etype, label in ENTITY_LABELS.items()},
}


@dataclass(frozen=True)
class GraphExport:
    """What ``write_graph_file`` wrote."""

    path: Path
    nodes: int
    edges: int
    truncated: bool
    sampling: str | None


def write_graph_file(
    result_dir: str | Path,
    path: str | Path,
    *,
    campaign: str | None = None,
    max_nodes: int = MAX_NODES_LIMIT,
    max_edges: int = MAX_EDGES_LIMIT,
    progress: ProgressFn | None = None,
) -> GraphExport:
    """Write the result (or one campaign, capped at ``max_nodes`` / ``max_edges``) as
    ``.graphml`` or ``.gexf`` (from the extension), atomically."""
    path = Path(path)
    fmt = graph_format(path)
    if campaign is not None:
        with open_result(result_dir) as inv:
            sub = inv.subgraph(campaign, max_nodes=max_nodes, max_edges=max_edges)
    else:
        sub = result_subgraph(result_dir, progress=progress)
    data = graph_bytes(sub, fmt)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return GraphExport(path, len(sub.nodes), len(sub.edges), sub.truncated, sub.sampling)


def result_subgraph(result_dir: str | Path, progress: ProgressFn | None = None) -> Subgraph:
    """The whole result as one :class:`Subgraph`, read set by set from the store."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    with ResultGraph(result_dir) as graph:
        parts: list[NodeSet | RelationshipSet] = [*graph.nodes, *graph.relationships]
        for i, part in enumerate(parts, 1):
            if isinstance(part, NodeSet):
                prefix = _ID_PREFIX.get(part.label, part.label.lower())
                for batch in graph.records(part):
                    nodes.extend(
                        {
                            "id": f"{prefix}:{r[part.key]}",
                            "label": part.label,
                            "key": r[part.key],
                            "properties": r,
                        }
                        for r in batch
                    )
            else:
                src = _ID_PREFIX.get(part.source, part.source.lower())
                dst = _ID_PREFIX.get(part.target, part.target.lower())
                for batch in graph.records(part):
                    edges.extend(
                        {
                            "source": f"{src}:{r.pop('start')}",
                            "target": f"{dst}:{r.pop('end')}",
                            "type": part.type,
                            "properties": r,
                        }
                        for r in batch
                    )
            if progress:
                progress("graph", i, len(parts))
    return Subgraph(
        kind="result",
        center=str(Path(result_dir)),
        nodes=nodes,
        edges=edges,
        total_nodes=len(nodes),
        total_edges=len(edges),
        max_nodes=len(nodes),
        max_edges=len(edges),
        truncated=False,
    )
