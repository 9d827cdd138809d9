"""Timestamps as text in every linkage output: ISO 8601 in UTC, microseconds, ``Z``.

One format for Python values (:func:`iso_utc`) and for SQL (:func:`iso_utc_sql`), so a
ban list file, the streamed ban list, the API and the graph exports agree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["ISO_UTC", "iso_utc", "iso_utc_sql"]

ISO_UTC = "%Y-%m-%dT%H:%M:%S.%fZ"
"""``strftime`` format of a timestamp in UTC (``2026-04-22T08:15:00.000000Z``)."""


def iso_utc(value: Any) -> str | None:
    """A timezone-aware timestamp as ISO text in UTC; ``None`` for a missing value.

    >>> iso_utc(pd.Timestamp("2026-04-22 10:15", tz="Europe/Paris"))
    '2026-04-22T08:15:00.000000Z'
    >>> iso_utc(None) is None
    True
    """
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").strftime(ISO_UTC)


def iso_utc_sql(expr: str) -> str:
    """SQL rendering a TIMESTAMPTZ expression (fixed SQL, never user input) as ISO text
    in UTC, whatever the session time zone."""
    return f"strftime({expr} AT TIME ZONE 'UTC', '{ISO_UTC}')"
