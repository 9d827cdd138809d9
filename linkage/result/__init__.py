"""The result directory: names, format version, completeness, read-only access.

:class:`ResultDir` owns every file and store table name of ``RESULT_DIR`` (see
:mod:`linkage.result.layout`); ``detect`` writes through it and ``investigate``,
``export``, ``evaluate`` and the service read through it. A directory without the
completeness marker (``detect`` did not finish) is refused by every reader.
"""

from linkage.result.connect import connect
from linkage.result.layout import (
    ACCOUNTS_FILE,
    CAMPAIGN_TABLES,
    CAMPAIGNS_FILE,
    COMPLETE_FILE,
    DETECT_SUMMARY_FILE,
    EDGES_FILE,
    EVIDENCE_FILE,
    GRAPH_TABLES,
    INDEX_TABLE,
    INDEX_TYPES,
    INDICATORS_PER_TYPE,
    INGEST_SUMMARY_FILE,
    INVESTIGATION_TABLES,
    MAX_EVIDENCE_PER_EDGE,
    PARQUET_STORE_DIR,
    QUARANTINE_DIR,
    RESULT_FILES,
    RESULT_FORMAT_VERSION,
    RESULT_TABLES,
    SETTINGS_FILE,
    STORE_FILE,
)
from linkage.result.resultdir import IncompleteResultError, ResultDir
from linkage.result.timestamps import ISO_UTC, iso_utc, iso_utc_sql

__all__ = [
    "ACCOUNTS_FILE",
    "CAMPAIGNS_FILE",
    "CAMPAIGN_TABLES",
    "COMPLETE_FILE",
    "DETECT_SUMMARY_FILE",
    "EDGES_FILE",
    "EVIDENCE_FILE",
    "GRAPH_TABLES",
    "INDEX_TABLE",
    "INDEX_TYPES",
    "INDICATORS_PER_TYPE",
    "INGEST_SUMMARY_FILE",
    "INVESTIGATION_TABLES",
    "ISO_UTC",
    "MAX_EVIDENCE_PER_EDGE",
    "PARQUET_STORE_DIR",
    "QUARANTINE_DIR",
    "RESULT_FILES",
    "RESULT_FORMAT_VERSION",
    "RESULT_TABLES",
    "SETTINGS_FILE",
    "STORE_FILE",
    "IncompleteResultError",
    "ResultDir",
    "connect",
    "iso_utc",
    "iso_utc_sql",
]
