"""The whole result as the property graph of ``schema/graph_schema.json``, read in batches.

One place maps the result store's tables (``docs/RESULT_STORE.md``) to the schema's
node labels and relationship types; the Neo4j push, the ``neo4j-admin`` CSV files and
the whole-result GraphML / GEXF read it. Each node set and relationship set is one
SQL query streamed as Arrow record batches, so nothing holds the graph in memory.
Labels, keys and property names come from the schema only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from linkage.errors import LinkageError
from linkage.investigate.describe import entity_property_sql
from linkage.result import GRAPH_TABLES, ResultDir, iso_utc_sql
from linkage.schema import ENTITY_LABELS, ENTITY_PARENTS, ENTITY_RELATIONSHIPS, load_schema

__all__ = ["ARRAY_DELIMITER", "GRAPH_TABLES", "NodeSet", "RelationshipSet", "ResultGraph"]

ARRAY_DELIMITER = "|"
"""Between list elements in CSV files (``neo4j-admin ... --array-delimiter='|'``)."""

_VERSION = "CASE WHEN contains(e.entity, ':') THEN 6 ELSE 4 END"
# schema property -> SQL expression over graph_entities e (p: its parent entity)
_ENTITY_PROPERTIES: dict[str, dict[str, str]] = {
    "IP": {"version": _VERSION, "prefix": "p.entity", "kind": "e.kind"},
    "IPPrefix": {"version": _VERSION},
    "PaymentInstrument": {"bin": "p.entity"},
    "Identifier": {
        "kind": "split_part(e.entity, ':', 1)",
        "value": "substr(e.entity, strpos(e.entity, ':') + 1)",
    },
    "PromptCluster": {
        "size": "c.size",
        "label": "c.label",
        "capability": "c.capability",
        "accounts": "c.accounts",
    },
    "PromptTemplate": {"skeleton": "t.skeleton", "size": "t.prompts"},
}
_ENTITY_JOINS = """
    FROM graph_entities e
    LEFT JOIN graph_entities p ON p.eid = e.parent_eid
    LEFT JOIN graph_templates t ON e.entity_type = 'template' AND t.template_id = e.entity
    LEFT JOIN graph_prompt_clusters c
        ON e.entity_type = 'prompt_cluster' AND c.cluster_id = e.entity
"""
_LINK_PROPERTIES = {
    "count": "l.uses",
    "first_seen": "l.first_seen",
    "last_seen": "l.last_seen",
}


@dataclass(frozen=True)
class NodeSet:
    """All nodes of one label: ``sql`` returns the key column first, then the properties
    that have a source (``properties``, schema types); ``missing`` lists schema
    properties the store has no column for."""

    label: str
    key: str
    properties: dict[str, str]
    sql: str
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelationshipSet:
    """All relationships of one type: ``sql`` returns ``start`` and ``end`` (the key
    values of the source and target nodes), then the properties."""

    type: str
    source: str
    target: str
    properties: dict[str, str]
    sql: str
    missing: tuple[str, ...] = ()


class ResultGraph:
    """The property graph of a result directory, read-only; use as a context manager."""

    def __init__(self, result_dir: str | Path) -> None:
        self.result_dir = Path(result_dir)
        self.schema = load_schema()
        result = ResultDir.open(self.result_dir)
        self._con = result.connect(GRAPH_TABLES)
        self._campaigns = result.campaigns_sql()
        self._signup_window = float(result.settings().signup_window_minutes)
        self.nodes = self._node_sets()
        self.relationships = self._relationship_sets()

    def __enter__(self) -> ResultGraph:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the store connection."""
        self._con.close()

    def count(self, part: NodeSet | RelationshipSet) -> int:
        """Rows in a node or relationship set."""
        rows = self._con.execute(f"SELECT count(*) FROM ({part.sql})").fetchall()
        return int(rows[0][0])

    def batches(
        self, part: NodeSet | RelationshipSet, size: int = 10_000
    ) -> Iterator[pa.RecordBatch]:
        """The rows of a node or relationship set, ``size`` at a time, in a stable order."""
        cursor = self._con.cursor()
        try:
            yield from cursor.sql(part.sql).to_arrow_reader(size)
        finally:
            cursor.close()

    def records(
        self, part: NodeSet | RelationshipSet, size: int = 10_000
    ) -> Iterator[list[dict[str, Any]]]:
        """Like :meth:`batches`, as lists of dicts (Python values, nulls kept)."""
        for batch in self.batches(part, size):
            yield batch.to_pylist()

    def copy_csv(self, part: NodeSet | RelationshipSet, path: Path, headers: dict[str, str]) -> int:
        """Write ``part`` as CSV to ``path`` (DuckDB ``COPY``, streaming): one column per
        ``headers`` item, ``{column: header text}``; a header whose column is not in the
        set (``:LABEL``, ``:TYPE``) gets its text after ``=`` as a constant. Datetimes
        become ISO 8601 UTC, lists ``|``-joined. Returns the row count."""
        types = {**part.properties, "start": "string", "end": "string"}
        cols = []
        for column, header in headers.items():
            if column.startswith("="):
                value = column[1:].replace("'", "''")
                cols.append(f"'{value}' AS \"{header}\"")
            else:
                cols.append(f'{_csv_value(column, types[column])} AS "{header}"')
        for column, prop_type in types.items():
            if prop_type == "list<string>" and column in headers:
                bad = self._con.execute(
                    f'SELECT count(*) FROM ({part.sql}) WHERE list_bool_or(list_transform("'
                    f"{column}\", lambda x: contains(x, '{ARRAY_DELIMITER}')))"
                ).fetchall()[0][0]
                if bad:
                    name = part.label if isinstance(part, NodeSet) else part.type
                    raise LinkageError(
                        f"{bad} {name} rows have a {column} element containing "
                        f"{ARRAY_DELIMITER!r}, the CSV array delimiter; they cannot be "
                        "written for neo4j-admin import"
                    )
        target = str(path).replace("'", "''")
        cursor = self._con.cursor()
        try:
            cursor.execute(
                f"COPY (SELECT {', '.join(cols)} FROM ({part.sql})) TO '{target}' "
                "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"')"
            )
        finally:
            cursor.close()
        return self.count(part)

    @property
    def missing(self) -> dict[str, tuple[str, ...]]:
        """Schema properties with no source in the result store, by label or type."""
        out = {n.label: n.missing for n in self.nodes if n.missing}
        out.update({r.type: r.missing for r in self.relationships if r.missing})
        return out

    # -- the mapping -----------------------------------------------------------------

    def _node_sets(self) -> list[NodeSet]:
        out = []
        by_label = {label: etype for etype, label in ENTITY_LABELS.items()}
        for label, node in self.schema.nodes.items():
            if label == "Account":
                sql = _select(
                    node.key,
                    node.properties,
                    {p: f"a.{p}" for p in node.properties},
                    "FROM graph_accounts a ORDER BY a.aid",
                )
                out.append(NodeSet(label, node.key, *sql))
            elif label == "Campaign":
                sql = _select(
                    node.key,
                    node.properties,
                    {p: f"c.{p}" for p in node.properties},
                    f"FROM {self._campaigns} c ORDER BY c.campaign_id",
                )
                out.append(NodeSet(label, node.key, *sql))
            elif label in by_label:
                exprs = {
                    node.key: "e.entity",
                    **_ENTITY_PROPERTIES.get(label, {}),
                    **entity_property_sql(label, "e.entity", self._signup_window),
                }
                where = f"WHERE e.entity_type = '{by_label[label]}' ORDER BY e.eid"
                sql = _select(node.key, node.properties, exprs, _ENTITY_JOINS + where)
                out.append(NodeSet(label, node.key, *sql))
        return out

    def _relationship_sets(self) -> list[RelationshipSet]:
        by_type = {rel: etype for etype, rel in ENTITY_RELATIONSHIPS.items()}
        parents = {rel: etype for etype, (_, rel) in ENTITY_PARENTS.items()}
        out = []
        for name, rel in self.schema.relationships.items():
            if name in by_type:
                source = f"""
                    FROM graph_links l JOIN graph_accounts a USING (aid)
                    JOIN graph_entities e USING (eid)
                    WHERE e.entity_type = '{by_type[name]}' ORDER BY l.eid, l.aid"""
                exprs = {"start": "a.account_id", "end": "e.entity", **_LINK_PROPERTIES}
            elif name in parents:
                source = f"""
                    FROM graph_entities e JOIN graph_entities p ON p.eid = e.parent_eid
                    WHERE e.entity_type = '{parents[name]}' ORDER BY e.eid"""
                exprs = {"start": "e.entity", "end": "p.entity"}
            elif name == "MEMBER_OF":
                source = f"""
                    FROM graph_accounts a
                    SEMI JOIN {self._campaigns} c ON c.campaign_id = a.campaign_id
                    ORDER BY a.aid"""
                exprs = {"start": "a.account_id", "end": "a.campaign_id", "score": "a.score"}
            elif name == "LINKED":
                source = """
                    FROM graph_edges g
                    JOIN graph_accounts a ON a.aid = g.src
                    JOIN graph_accounts b ON b.aid = g.dst
                    LEFT JOIN (
                        SELECT v.src, v.dst,
                               to_json(list({'type': e.entity_type, 'entity': e.entity,
                                             'weight': round(v.weight, 4)}
                                            ORDER BY v.weight DESC, e.entity))::VARCHAR
                                   AS evidence
                        FROM graph_evidence v JOIN graph_entities e USING (eid)
                        GROUP BY v.src, v.dst) ev ON ev.src = g.src AND ev.dst = g.dst
                    ORDER BY g.src, g.dst"""
                exprs = {
                    "start": "a.account_id",
                    "end": "b.account_id",
                    "weight": "g.weight",
                    "signals": "g.signals",
                    "evidence": "ev.evidence",
                }
            else:  # a schema type the result store has no rows for
                continue
            props = rel.properties
            cols = ["start", "end", *(p for p in props if p in exprs)]
            sql = f"SELECT {_columns(exprs, cols)} {source}"
            missing = tuple(p for p in props if p not in exprs)
            present = {p: t for p, t in props.items() if p in exprs}
            out.append(RelationshipSet(name, rel.source, rel.target, present, sql, missing))
        return out


def _select(
    key: str, properties: dict[str, str], exprs: dict[str, str], source: str
) -> tuple[dict[str, str], str, tuple[str, ...]]:
    """``(present properties, SQL, missing properties)`` for one node set."""
    present = {p: t for p, t in properties.items() if p in exprs}
    cols = [key, *(p for p in present if p != key)]
    sql = f"SELECT {_columns(exprs, cols)} {source}"
    missing = tuple(p for p in properties if p not in exprs)
    return {c: properties[c] for c in cols}, sql, missing


def _columns(exprs: dict[str, str], cols: list[str]) -> str:
    return ", ".join(f'{exprs[c]} AS "{c}"' for c in cols)


def _csv_value(column: str, prop_type: str) -> str:
    """SQL that renders one column as ``neo4j-admin import`` text."""
    col = f'"{column}"'
    if prop_type == "datetime":
        return iso_utc_sql(col)
    if prop_type == "list<string>":
        return f"array_to_string({col}, '{ARRAY_DELIMITER}')"
    return col
