"""Push a result's property graph to a Neo4j-compatible server over Bolt.

Constraints first (``CREATE CONSTRAINT ... IF NOT EXISTS``), then every node set and
relationship set as batched ``UNWIND $rows AS r MERGE ...``: pushing the same result
twice creates nothing new. Null properties are left out of the batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from linkage.errors import LinkageError
from linkage.export.neo4j.cypher import (
    constraint_statements,
    merge_nodes_statement,
    merge_relationships_statement,
)
from linkage.export.property_graph import ResultGraph
from linkage.progress import ProgressFn

__all__ = ["BOLT_SCHEMES", "PushSummary", "push_result"]

BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


@dataclass
class PushSummary:
    """What a push sent: rows per label and per relationship type, and the time taken."""

    uri: str
    database: str | None
    constraints: int = 0
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "database": self.database,
            "constraints": self.constraints,
            "nodes": self.nodes,
            "relationships": self.relationships,
            "seconds": round(self.seconds, 3),
        }


def push_result(
    result_dir: str | Path,
    uri: str,
    user: str,
    password: str,
    *,
    database: str | None = None,
    batch_size: int = 2000,
    progress: ProgressFn | None = None,
) -> PushSummary:
    """Push the whole result (``docs/RESULT_STORE.md``) to the server at ``uri``.
    Raise :class:`LinkageError` when the server cannot be reached or refuses the login
    (the message never contains the password)."""
    if uri.split("://", 1)[0] not in BOLT_SCHEMES:
        raise LinkageError(
            f"--uri {uri!r} is not a Bolt URI: it must start with one of "
            f"{', '.join(s + '://' for s in BOLT_SCHEMES)}"
        )
    if batch_size < 1:
        raise LinkageError(f"--batch-size must be at least 1, not {batch_size}")
    start = time.perf_counter()
    summary = PushSummary(uri, database)
    with ResultGraph(result_dir) as graph:
        summary.missing = graph.missing
        try:
            driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
        except (ValueError, neo4j_errors.ConfigurationError) as exc:
            raise LinkageError(f"--uri {uri!r} is not a Bolt URI: {exc}") from exc
        try:
            driver.verify_connectivity()
            with driver.session(database=database) as session:
                _push(session, graph, summary, batch_size, progress)
        except neo4j_errors.AuthError as exc:
            raise LinkageError(
                f"{uri}: login refused for user {user!r}; check the password "
                "(NEO4J_PASSWORD or the prompt)"
            ) from exc
        except (neo4j_errors.ServiceUnavailable, OSError) as exc:
            raise LinkageError(f"{uri}: cannot reach the Bolt server ({exc})") from exc
        except neo4j_errors.Neo4jError as exc:
            raise LinkageError(f"{uri}: the server refused a statement: {exc.message}") from exc
        finally:
            driver.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _push(
    session: neo4j.Session,
    graph: ResultGraph,
    summary: PushSummary,
    batch_size: int,
    progress: ProgressFn | None,
) -> None:
    """Constraints, then every node set, then every relationship set, batch by batch."""
    for stmt in constraint_statements(graph.schema):
        session.run(stmt).consume()  # type: ignore[arg-type]
        summary.constraints += 1
    total = sum(graph.count(n) for n in graph.nodes)
    done = 0
    for n in graph.nodes:
        stmt = merge_nodes_statement(n.label, n.key)
        sent = 0
        for batch in graph.records(n, batch_size):
            rows = [{"k": r[n.key], "p": _props(r, ())} for r in batch]
            _write(session, stmt, rows)
            sent += len(rows)
            done += len(rows)
            if progress:
                progress("nodes", done, total)
        summary.nodes[n.label] = sent
    if progress:
        progress("nodes", done, total)
    _push_relationships(session, graph, summary, batch_size, progress)


def _push_relationships(
    session: neo4j.Session,
    graph: ResultGraph,
    summary: PushSummary,
    batch_size: int,
    progress: ProgressFn | None,
) -> None:
    keys = {n.label: n.key for n in graph.nodes}
    total = sum(graph.count(r) for r in graph.relationships)
    done = 0
    for r in graph.relationships:
        stmt = merge_relationships_statement(
            r.type, r.source, keys[r.source], r.target, keys[r.target]
        )
        sent = 0
        for batch in graph.records(r, batch_size):
            rows = [
                {"s": x["start"], "e": x["end"], "p": _props(x, ("start", "end"))} for x in batch
            ]
            _write(session, stmt, rows)
            sent += len(rows)
            done += len(rows)
            if progress:
                progress("relationships", done, total)
        summary.relationships[r.type] = sent
    if progress:
        progress("relationships", done, total)


def _props(row: dict[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None and k not in skip}


def _write(session: neo4j.Session, stmt: str, rows: list[dict[str, Any]]) -> None:
    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(stmt, rows=rows).consume()  # type: ignore[arg-type]

    session.execute_write(work)
