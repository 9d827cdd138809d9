"""Ingest: validate a data directory against the contract and load the store.

``ingest(data_dir, out_dir)`` streams every contract table into the embedded
DuckDB store ``out_dir/linkage.duckdb`` (read it with ``open_store``), writes
rows that break the contract to ``out_dir/quarantine/<table>.jsonl`` and a
summary to ``out_dir/ingest_summary.json``.
"""

from linkage.ingest.pipeline import ingest
from linkage.ingest.store import STORE_FILE, open_store
from linkage.ingest.summary import IngestSummary, TableSummary

__all__ = ["STORE_FILE", "IngestSummary", "TableSummary", "ingest", "open_store"]
