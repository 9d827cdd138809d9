"""Connected components on any backend: iterative min-label propagation in SQL.

GraphFrames' JVM side is not on PyPI (docs/SPARK.md), so components are found with
the SQL both engines run. Every node starts labelled by itself; a label points to a
smaller node of the same component. Each round, a node and the node its label points
to (its root) are offered the labels of the node's neighbours and keep the smallest
(hooking whole trees, as Shiloach and Vishkin do, not one node per round), then every
node takes its label's label (pointer jumping). Rounds stop when no label changes; a
component's label is then its smallest node. Plain min-label propagation took 93
rounds on a 300-node path; this takes a handful.
"""

from __future__ import annotations

from dataclasses import dataclass

from linkage.backend.base import Backend
from linkage.errors import LinkageError

__all__ = ["Components", "connected_components"]


@dataclass(frozen=True)
class Components:
    """The table ``table(node, component)`` and how it was found."""

    table: str
    rounds: int
    """Propagation rounds run, the last one changing nothing."""


def connected_components(
    backend: Backend,
    edges: str,
    out: str,
    *,
    nodes: str | None = None,
    max_rounds: int = 100,
) -> Components:
    """Label every node of the undirected graph ``edges(src, dst)`` (integer ids) with its
    component's smallest node, as the table ``out(node, component)``.

    ``nodes(node)`` adds nodes without edges (each its own component). The working
    tables ``{out}_edges``, ``{out}_a`` and ``{out}_b`` are left on the backend.
    """
    both, tables = f"{out}_edges", (f"{out}_a", f"{out}_b")
    backend.create_table(
        both,
        f"""SELECT src, dst FROM {edges} WHERE src <> dst
            UNION ALL SELECT dst AS src, src AS dst FROM {edges} WHERE src <> dst""",
    )
    extra = f" UNION SELECT node FROM {nodes}" if nodes else ""
    backend.create_table(
        tables[0],
        f"""SELECT node, node AS comp FROM (
                SELECT src AS node FROM {edges} UNION SELECT dst AS node FROM {edges}{extra})""",
    )
    for rounds in range(1, max_rounds + 1):
        old, new = tables[(rounds - 1) % 2], tables[rounds % 2]
        backend.create_table(new, _round_sql(old, both))
        changed = backend.fetch(
            f"""SELECT count(*) AS n FROM {new} n JOIN {old} o ON n.node = o.node
                WHERE n.comp <> o.comp"""
        )
        if changed.column(0)[0].as_py() == 0:
            backend.create_table(out, f"SELECT node, comp AS component FROM {new}")
            return Components(out, rounds)
    raise LinkageError(
        f"connected components did not settle in {max_rounds} rounds: raise max_rounds"
    )


def _round_sql(labels: str, edges: str) -> str:
    """One round (Shiloach-Vishkin style): every node, and the root its label points to,
    is offered its neighbours' labels and keeps the smallest; then every node jumps to
    its label's label."""
    return f"""
        WITH offered AS (
            SELECT node, comp FROM {labels}
            UNION ALL
            SELECT e.dst AS node, l.comp FROM {edges} e JOIN {labels} l ON e.src = l.node
            UNION ALL
            SELECT r.comp AS node, l.comp FROM {edges} e
            JOIN {labels} l ON e.src = l.node JOIN {labels} r ON e.dst = r.node
            WHERE l.comp < r.comp),
        least_offered AS (SELECT node, min(comp) AS comp FROM offered GROUP BY node)
        SELECT m.node, least(m.comp, p.comp) AS comp
        FROM least_offered m JOIN least_offered p ON m.comp = p.node"""
