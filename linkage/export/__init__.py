"""Exports for enforcement and sharing."""

from linkage.export.banlist import BANLIST_COLUMNS, banlist, write_banlist

__all__ = ["BANLIST_COLUMNS", "banlist", "write_banlist"]
