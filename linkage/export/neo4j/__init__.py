"""Neo4j: push a result over Bolt, write ``neo4j-admin`` import files, explore locally.

``push_result`` MERGEs the whole result's property graph (constraints first, batched,
idempotent) into any Bolt server that speaks portable Cypher; ``export_bulk`` writes
the CSV files, constraints, a Browser style sheet and saved queries; ``BoltServer``
runs a local ArcadeDB Bolt server (optional extra ``linkage[explore]``) for
``linkage explore`` and the tests.
"""

from linkage.export.neo4j.assets import grass, queries_cypher, style_command
from linkage.export.neo4j.bulk import NEO4J_TYPES, BulkExport, export_bulk
from linkage.export.neo4j.push import PushSummary, push_result
from linkage.export.neo4j.server import BoltServer, arcadedb_home

__all__ = [
    "NEO4J_TYPES",
    "BoltServer",
    "BulkExport",
    "PushSummary",
    "arcadedb_home",
    "export_bulk",
    "grass",
    "push_result",
    "queries_cypher",
    "style_command",
]
