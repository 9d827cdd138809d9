"""The names in a result directory: files, store tables, the format version.

The single source of every name ``linkage detect`` (and ``ingest``) writes into
``RESULT_DIR`` and every reader looks for; see ``docs/CONTRACT.md`` (output) and
``docs/RESULT_STORE.md`` (the store's tables).
"""

from __future__ import annotations

__all__ = [
    "ACCOUNTS_FILE",
    "CAMPAIGNS_FILE",
    "CAMPAIGN_TABLES",
    "COMPLETE_FILE",
    "DECISIONS_FILE",
    "DETECT_SUMMARY_FILE",
    "EDGES_FILE",
    "EVIDENCE_FILE",
    "GRAPH_TABLES",
    "INDEX_TABLE",
    "INDEX_TYPES",
    "INDICATORS_PER_TYPE",
    "INGEST_SUMMARY_FILE",
    "INVESTIGATION_TABLES",
    "MAX_EVIDENCE_PER_EDGE",
    "PARQUET_STORE_DIR",
    "QUARANTINE_DIR",
    "RESULT_FILES",
    "RESULT_FORMAT_VERSION",
    "RESULT_TABLES",
    "SETTINGS_FILE",
    "STORE_FILE",
]

RESULT_FORMAT_VERSION = 1
"""Layout version of a result directory, written in the completeness marker."""

ACCOUNTS_FILE = "accounts.parquet"
CAMPAIGNS_FILE = "campaigns.parquet"
EDGES_FILE = "edges.parquet"
EVIDENCE_FILE = "evidence.parquet"
SETTINGS_FILE = "settings.json"
DECISIONS_FILE = "decisions.parquet"
"""Investigators' decisions as they reached this run (``linkage.review``); a result
written before decisions existed has none."""
DETECT_SUMMARY_FILE = "detect_summary.json"
STORE_FILE = "linkage.duckdb"
QUARANTINE_DIR = "quarantine"
PARQUET_STORE_DIR = "parquet_store"
"""The store as Parquet, one ``<table>.parquet`` directory per store table: what ingest on
Spark (``linkage.ingest.spark``) writes when no other place is given."""
INGEST_SUMMARY_FILE = "ingest_summary.json"
COMPLETE_FILE = "COMPLETE"
"""The completeness marker: written last by ``detect``, removed first when it starts."""

RESULT_FILES = (ACCOUNTS_FILE, CAMPAIGNS_FILE, EDGES_FILE, EVIDENCE_FILE, SETTINGS_FILE, STORE_FILE)
"""Files every complete result directory of ``linkage detect`` has."""

GRAPH_TABLES = (
    "graph_accounts",
    "graph_entities",
    "graph_links",
    "graph_edges",
    "graph_evidence",
    "graph_templates",
    "graph_prompt_clusters",
)
"""The store's property-graph tables."""

CAMPAIGN_TABLES = ("campaign_daily", "campaign_indicators")
"""The store's per-campaign tables."""

INDEX_TABLE = "campaign_index"
"""The store's index of each campaign's infrastructure, for scoring new accounts
(``linkage score``)."""

INDEX_TYPES = (
    "api_key",
    "bin",
    "card",
    "device",
    "email_domain",
    "identifier",
    "ip",
    "prefix",
    "template",
)
"""Entity types of ``campaign_index``: what a new account can share with a campaign from
its first requests, payments and identifiers."""

RESULT_TABLES = GRAPH_TABLES + CAMPAIGN_TABLES + (INDEX_TABLE,)
"""Every table ``detect`` leaves in the store (``docs/RESULT_STORE.md``)."""

INVESTIGATION_TABLES = (
    "graph_accounts",
    "graph_entities",
    "graph_links",
    "graph_edges",
    "graph_evidence",
    *CAMPAIGN_TABLES,
)
"""The tables the investigation queries need."""

MAX_EVIDENCE_PER_EDGE = 8
"""Strongest shared entities stored per edge (``graph_evidence``)."""

INDICATORS_PER_TYPE = 25
"""Entities stored per campaign and entity type (``campaign_indicators``)."""
