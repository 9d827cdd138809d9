"""Cypher statements built from the graph schema: constraints and batched MERGE.

Labels, relationship types and property names come from ``schema/graph_schema.json``
only, are checked to be plain identifiers and are back-quoted; every value travels as
a parameter (``$rows``). Portable Cypher: no APOC, no GDS.
"""

from __future__ import annotations

import re

from linkage.errors import LinkageError
from linkage.schema import GraphSchema

__all__ = [
    "constraint_statements",
    "ident",
    "merge_nodes_statement",
    "merge_relationships_statement",
]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def ident(name: str) -> str:
    """``name`` back-quoted for Cypher, after checking it is a plain identifier.

    >>> ident("Account")
    '`Account`'
    """
    if not _IDENT.fullmatch(name):
        raise LinkageError(f"graph schema name {name!r} is not a plain identifier")
    return f"`{name}`"


def constraint_statements(schema: GraphSchema) -> list[str]:
    """One uniqueness constraint per node label, on its key.

    >>> from linkage.schema import load_schema
    >>> print(constraint_statements(load_schema())[0].replace(" FOR", "\\n FOR"))
    CREATE CONSTRAINT `linkage_Account_key` IF NOT EXISTS
     FOR (n:`Account`) REQUIRE n.`account_id` IS UNIQUE
    """
    return [
        f"CREATE CONSTRAINT {ident(f'linkage_{label}_key')} IF NOT EXISTS "
        f"FOR (n:{ident(label)}) REQUIRE n.{ident(node.key)} IS UNIQUE"
        for label, node in schema.nodes.items()
    ]


def merge_nodes_statement(label: str, key: str) -> str:
    """MERGE a batch ``$rows`` of ``{k: key value, p: properties}`` as ``label`` nodes.

    >>> merge_nodes_statement("IP", "address")
    'UNWIND $rows AS r MERGE (n:`IP` {`address`: r.k}) SET n += r.p'
    """
    return f"UNWIND $rows AS r MERGE (n:{ident(label)} {{{ident(key)}: r.k}}) SET n += r.p"


def merge_relationships_statement(
    rel_type: str, source: str, source_key: str, target: str, target_key: str
) -> str:
    """MERGE a batch ``$rows`` of ``{s: source key, e: target key, p: properties}``."""
    return (
        f"UNWIND $rows AS r "
        f"MATCH (a:{ident(source)} {{{ident(source_key)}: r.s}}) "
        f"MATCH (b:{ident(target)} {{{ident(target_key)}: r.e}}) "
        f"MERGE (a)-[x:{ident(rel_type)}]->(b) SET x += r.p"
    )
