"""Exports for enforcement and sharing: the ban list, STIX 2.1, graph files, Neo4j.

Reads results through :mod:`linkage.investigate` and :mod:`linkage.result`; nothing
below ``export`` imports it."""

from linkage.export.banlist import (
    BANLIST_COLUMNS,
    BANLIST_TEXT_FORMATS,
    MAX_REMOVED_SHARE,
    BanlistExport,
    banlist,
    banlist_lines,
    diff_banlists,
    export_banlist,
    read_banlist,
    removal_guard,
    write_banlist,
)
from linkage.export.scores import SCORE_FORMATS, write_scores

__all__ = [
    "BANLIST_COLUMNS",
    "BANLIST_TEXT_FORMATS",
    "MAX_REMOVED_SHARE",
    "SCORE_FORMATS",
    "BanlistExport",
    "banlist",
    "banlist_lines",
    "diff_banlists",
    "export_banlist",
    "read_banlist",
    "removal_guard",
    "write_banlist",
    "write_scores",
]
