"""The property-graph schema (``schema/graph_schema.json``), loaded and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from linkage.errors import LinkageError

__all__ = [
    "ENTITY_LABELS",
    "ENTITY_PARENTS",
    "ENTITY_RELATIONSHIPS",
    "PROPERTY_TYPES",
    "GraphSchema",
    "NodeType",
    "RelationshipType",
    "load_schema",
]

PROPERTY_TYPES = frozenset({"string", "integer", "float", "boolean", "datetime", "list<string>"})

ENTITY_LABELS: dict[str, str] = {
    "ip": "IP",
    "prefix": "IPPrefix",
    "device": "Device",
    "api_key": "ApiKey",
    "card": "PaymentInstrument",
    "bin": "BIN",
    "email_domain": "EmailDomain",
    "identifier": "Identifier",
    "template": "PromptTemplate",
    "prompt_cluster": "PromptCluster",
    "rhythm": "ActivityRhythm",
    "cosession": "SessionPattern",
    "coactive": "ActiveHoursPattern",
    "signup": "SignupBurst",
}
"""Node label of each ``entity_type`` in the result store (``docs/RESULT_STORE.md``)."""

ENTITY_RELATIONSHIPS: dict[str, str] = {
    "ip": "USED_IP",
    "device": "USED_DEVICE",
    "api_key": "USED_API_KEY",
    "card": "PAID_WITH",
    "email_domain": "SIGNED_UP_WITH",
    "identifier": "HAS_IDENTIFIER",
    "template": "USED_TEMPLATE",
    "prompt_cluster": "SENT_PROMPT_IN",
    "rhythm": "HAS_RHYTHM",
    "cosession": "HAS_SESSION_PATTERN",
    "coactive": "HAS_ACTIVE_HOURS_PATTERN",
    "signup": "SIGNED_UP_IN",
}
"""Relationship from ``Account`` to an entity of each ``entity_type``.

``prefix`` and ``bin`` have none: in the property graph accounts reach them
through their IPs and instruments (see :data:`ENTITY_PARENTS`), although the
store's ``graph_links`` lists them too, for look-ups.
"""

ENTITY_PARENTS: dict[str, tuple[str, str]] = {
    "ip": ("prefix", "IN_PREFIX"),
    "card": ("bin", "HAS_BIN"),
}
"""``entity_type -> (parent type, relationship)``: ``graph_entities.parent_eid``."""


@dataclass(frozen=True)
class NodeType:
    """A node label, its key property and typed properties."""

    label: str
    key: str
    description: str
    properties: dict[str, str]


@dataclass(frozen=True)
class RelationshipType:
    """A relationship type between two node labels, with typed properties."""

    type: str
    source: str
    target: str
    description: str
    properties: dict[str, str]


@dataclass(frozen=True)
class GraphSchema:
    """All node and relationship types of the linkage graph."""

    version: int
    nodes: dict[str, NodeType]
    relationships: dict[str, RelationshipType]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphSchema:
        """Build and validate a schema; raise :class:`LinkageError` naming what is wrong."""
        try:
            nodes = {
                label: NodeType(
                    label, spec["key"], spec.get("description", ""), dict(spec["properties"])
                )
                for label, spec in data["nodes"].items()
            }
            rels = {
                name: RelationshipType(
                    name,
                    spec["from"],
                    spec["to"],
                    spec.get("description", ""),
                    dict(spec["properties"]),
                )
                for name, spec in data["relationships"].items()
            }
            version = int(data["version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise LinkageError(f"graph schema: missing or malformed field {exc}") from exc
        for n in nodes.values():
            if n.key not in n.properties:
                raise LinkageError(
                    f"graph schema: node {n.label} key {n.key!r} is not one of its properties"
                )
        for r in rels.values():
            for end in (r.source, r.target):
                if end not in nodes:
                    raise LinkageError(
                        f"graph schema: relationship {r.type} refers to unknown node {end!r}"
                    )
        for owner, props in [(n.label, n.properties) for n in nodes.values()] + [
            (r.type, r.properties) for r in rels.values()
        ]:
            bad = {k: v for k, v in props.items() if v not in PROPERTY_TYPES}
            if bad:
                raise LinkageError(f"graph schema: {owner} has properties of unknown type {bad}")
        return cls(version, nodes, rels)


@cache
def load_schema() -> GraphSchema:
    """The graph schema shipped with the package."""
    text = (resources.files("linkage") / "data" / "graph_schema.json").read_text(encoding="utf-8")
    return GraphSchema.from_dict(json.loads(text))
