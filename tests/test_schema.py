"""The graph schema file: shipped, loadable, consistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkage.errors import LinkageError
from linkage.schema import GraphSchema, load_schema

ROOT = Path(__file__).resolve().parents[1]


def test_package_ships_the_schema_file():
    shipped = json.loads((ROOT / "schema" / "graph_schema.json").read_text())
    schema = load_schema()
    assert schema == GraphSchema.from_dict(shipped)
    assert schema.version == shipped["version"]


def test_every_entity_the_issue_names_is_a_node_with_a_key():
    nodes = load_schema().nodes
    for label in (
        "Account",
        "IP",
        "IPPrefix",
        "Device",
        "PaymentInstrument",
        "BIN",
        "EmailDomain",
        "Identifier",
        "PromptCluster",
        "PromptTemplate",
        "Campaign",
    ):
        assert nodes[label].key in nodes[label].properties


def test_account_relationships_carry_counts_and_first_last_seen():
    rels = load_schema().relationships
    for name in ("USED_IP", "USED_DEVICE", "PAID_WITH", "SENT_PROMPT_IN", "USED_TEMPLATE"):
        assert rels[name].source == "Account"
        assert {"count", "first_seen", "last_seen"} <= set(rels[name].properties)
    assert rels["LINKED"].source == rels["LINKED"].target == "Account"


def test_schema_mistakes_are_named():
    good = json.loads((ROOT / "schema" / "graph_schema.json").read_text())
    bad = json.loads(json.dumps(good))
    bad["relationships"]["USED_IP"]["to"] = "Nowhere"
    with pytest.raises(LinkageError, match="USED_IP refers to unknown node 'Nowhere'"):
        GraphSchema.from_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["nodes"]["IP"]["key"] = "ip"
    with pytest.raises(LinkageError, match="node IP key 'ip'"):
        GraphSchema.from_dict(bad)
    bad = json.loads(json.dumps(good))
    bad["nodes"]["IP"]["properties"]["address"] = "text"
    with pytest.raises(LinkageError, match="unknown type"):
        GraphSchema.from_dict(bad)
