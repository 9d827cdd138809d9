"""Files for ``neo4j-admin database import full``: CSVs with Neo4j's header conventions.

``DIR/nodes/<Label>.csv`` has ``<key>:ID(<Label>)``, typed properties
(``score:double``, ``created_at:datetime``, ``reasons:string[]``) and ``:LABEL``;
``DIR/relationships/<TYPE>.csv`` has ``:START_ID(<Label>)``, ``:END_ID(<Label>)``,
typed properties and ``:TYPE``. Beside them: ``import.sh`` (the ``neo4j-admin``
command), ``constraints.cypher``, ``style.grass`` (Neo4j Browser style sheet) and
``queries.cypher`` (saved investigator queries). Every file is written atomically.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from linkage.export.atomic import atomic_path, atomic_write_text
from linkage.export.neo4j.assets import grass, queries_cypher
from linkage.export.neo4j.cypher import constraint_statements
from linkage.export.property_graph import (
    ARRAY_DELIMITER,
    NodeSet,
    RelationshipSet,
    ResultGraph,
)
from linkage.progress import ProgressFn

__all__ = ["NEO4J_TYPES", "BulkExport", "export_bulk"]

NEO4J_TYPES = {
    "string": "string",
    "integer": "long",
    "float": "double",
    "boolean": "boolean",
    "datetime": "datetime",
    "list<string>": "string[]",
}
"""Schema property type -> ``neo4j-admin import`` header type."""


@dataclass
class BulkExport:
    """Files written and rows per label / relationship type."""

    directory: Path
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def export_bulk(
    result_dir: str | Path, out_dir: str | Path, progress: ProgressFn | None = None
) -> BulkExport:
    """Write the whole result as ``neo4j-admin`` import files into ``out_dir``."""
    out = Path(out_dir)
    done = BulkExport(out)
    with ResultGraph(result_dir) as graph:
        parts: list[NodeSet | RelationshipSet] = [*graph.nodes, *graph.relationships]
        for i, part in enumerate(parts, 1):
            if isinstance(part, NodeSet):
                n = part
                headers = {n.key: f"{n.key}:ID({n.label})"}
                headers.update(_typed(n.properties, skip=n.key))
                headers[f"={n.label}"] = ":LABEL"
                path = out / "nodes" / f"{n.label}.csv"
                with atomic_path(path) as tmp:
                    done.nodes[n.label] = graph.copy_csv(n, tmp, headers)
            else:
                r = part
                headers = {"start": f":START_ID({r.source})", "end": f":END_ID({r.target})"}
                headers.update(_typed(r.properties))
                headers[f"={r.type}"] = ":TYPE"
                path = out / "relationships" / f"{r.type}.csv"
                with atomic_path(path) as tmp:
                    done.relationships[r.type] = graph.copy_csv(r, tmp, headers)
            done.files.append(path)
            if progress:
                progress("neo4j files", i, len(parts))
        schema = graph.schema
    extras = {
        "constraints.cypher": ";\n".join(constraint_statements(schema)) + ";\n",
        "style.grass": grass(schema),
        "queries.cypher": queries_cypher(),
        "import.sh": _import_script(done),
    }
    for name, text in extras.items():
        atomic_write_text(out / name, text)
        done.files.append(out / name)
    (out / "import.sh").chmod(0o755)
    return done


def _typed(properties: dict[str, str], skip: str | None = None) -> dict[str, str]:
    return {p: f"{p}:{NEO4J_TYPES[t]}" for p, t in properties.items() if p != skip}


def _import_script(done: BulkExport) -> str:
    files = [f"--nodes={shlex.quote(f'nodes/{label}.csv')}" for label in done.nodes]
    files += [
        f"--relationships={shlex.quote(f'relationships/{t}.csv')}" for t in done.relationships
    ]
    lines = [
        "#!/usr/bin/env sh",
        "# Import this directory into an empty Neo4j 5 database (stop the database first),",
        "# then run constraints.cypher in Neo4j Browser or cypher-shell.",
        "# Usage: ./import.sh [DATABASE]   (default: neo4j)",
        'cd "$(dirname "$0")" || exit 1',
        'neo4j-admin database import full "${1:-neo4j}" --overwrite-destination \\',
        f"  --array-delimiter='{ARRAY_DELIMITER}' --multiline-fields=true \\",
        *(f"  {f} \\" for f in files[:-1]),
        f"  {files[-1]}",
    ]
    return "\n".join(lines) + "\n"
