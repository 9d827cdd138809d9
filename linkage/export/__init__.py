"""Exports for enforcement and sharing."""

from linkage.export.banlist import (
    BANLIST_COLUMNS,
    BanlistExport,
    banlist,
    diff_banlists,
    export_banlist,
    read_banlist,
    write_banlist,
)

__all__ = [
    "BANLIST_COLUMNS",
    "BanlistExport",
    "banlist",
    "diff_banlists",
    "export_banlist",
    "read_banlist",
    "write_banlist",
]
