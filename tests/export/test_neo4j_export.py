"""neo4j-admin import files: headers, every relationship endpoint exists, extras."""

from __future__ import annotations

import csv
import re

import pytest
from typer.testing import CliRunner

from linkage.cli import app
from linkage.export.neo4j.assets import COLOURS, QUERIES
from linkage.export.neo4j.bulk import NEO4J_TYPES
from linkage.export.property_graph import ResultGraph
from linkage.schema import load_schema

runner = CliRunner()


@pytest.fixture(scope="module")
def bulk_dir(result_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("neo4j-bulk")
    r = runner.invoke(app, ["neo4j", "export", str(result_dir), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


def _read(path):
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_node_files_follow_the_header_conventions(bulk_dir, result_dir):
    schema = load_schema()
    with ResultGraph(result_dir) as g:
        want = {n.label: g.count(n) for n in g.nodes}
    for label, node in schema.nodes.items():
        header, rows = _read(bulk_dir / "nodes" / f"{label}.csv")
        assert header[0] == f"{node.key}:ID({label})"
        assert header[-1] == ":LABEL"
        for h in header[1:-1]:
            name, typ = h.split(":")
            assert typ == NEO4J_TYPES[node.properties[name]], h
        assert len(rows) == want[label]
        assert all(r[-1] == label for r in rows)
        keys = [r[0] for r in rows]
        assert len(set(keys)) == len(keys), f"duplicate {label} ids"
    header, rows = _read(bulk_dir / "nodes" / "Account.csv")
    assert "score:double" in header and "created_at:datetime" in header
    col = header.index("created_at:datetime")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r[col]) for r in rows)
    assert {r[header.index("flagged:boolean")] for r in rows} == {"true", "false"}


def test_every_relationship_endpoint_exists(bulk_dir, result_dir):
    schema = load_schema()
    ids = {
        label: {r[0] for r in _read(bulk_dir / "nodes" / f"{label}.csv")[1]}
        for label in schema.nodes
    }
    with ResultGraph(result_dir) as g:
        want = {r.type: g.count(r) for r in g.relationships}
    seen = 0
    for rel_type, n in want.items():
        rel = schema.relationships[rel_type]
        header, rows = _read(bulk_dir / "relationships" / f"{rel_type}.csv")
        assert header[:2] == [f":START_ID({rel.source})", f":END_ID({rel.target})"]
        assert header[-1] == ":TYPE"
        assert len(rows) == n
        for r in rows:
            assert r[0] in ids[rel.source] and r[1] in ids[rel.target], (rel_type, r[:2])
            assert r[-1] == rel_type
        seen += len(rows)
    assert seen > 1000
    header, rows = _read(bulk_dir / "relationships" / "LINKED.csv")
    assert header[2:5] == ["weight:double", "signals:string[]", "evidence:string"]
    assert all("|" in r[3] or r[3].isidentifier() for r in rows)


def test_constraints_style_queries_and_import_script(bulk_dir):
    schema = load_schema()
    constraints = (bulk_dir / "constraints.cypher").read_text()
    statements = [s.strip() for s in constraints.split(";") if s.strip()]
    assert len(statements) == len(schema.nodes)
    assert all("IF NOT EXISTS" in s and "IS UNIQUE" in s for s in statements)
    grass = (bulk_dir / "style.grass").read_text()
    for label, node in schema.nodes.items():
        block = re.search(rf"node\.{label} \{{\n(.*?)\n\}}", grass, re.S)
        assert block, label
        assert COLOURS.get(label, "#A5ABB6") in block.group(1)
        assert re.search(r'caption: "\{(\w+)\}"', block.group(1)).group(1) in node.properties
    queries = (bulk_dir / "queries.cypher").read_text()
    assert queries.count(";\n") == len(QUERIES)
    script = (bulk_dir / "import.sh").read_text()
    assert "neo4j-admin database import full" in script
    for label in schema.nodes:
        assert f"--nodes=nodes/{label}.csv" in script
    assert "--array-delimiter='|'" in script
    assert not list(bulk_dir.rglob("*.tmp"))


def test_array_delimiter_inside_a_value_is_refused(result_dir, tmp_path):
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from linkage.errors import LinkageError
    from linkage.export.neo4j import export_bulk

    copy = tmp_path / "result"
    shutil.copytree(result_dir, copy)
    # through Arrow: pandas cannot write back the map column (contributions)
    campaigns = pq.read_table(copy / "campaigns.parquet")
    reasons = campaigns.column("reasons").to_pylist()
    reasons[0] = ["a | b", *reasons[0][1:]]
    at = campaigns.schema.get_field_index("reasons")
    campaigns = campaigns.set_column(at, "reasons", pa.array(reasons, pa.list_(pa.string())))
    pq.write_table(campaigns, copy / "campaigns.parquet")
    with pytest.raises(
        LinkageError, match=r"1 Campaign rows have a reasons element containing '\|'"
    ):
        export_bulk(copy, tmp_path / "out")
    assert not list((tmp_path / "out").rglob("Campaign.csv"))
