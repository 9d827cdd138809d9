"""Readable text for entity keys that do not read by themselves.

Most entity keys are what an investigator looks for: an address, a fingerprint, a
domain. The co-activity keys (written by ``linkage.graph.coactivity``) are not:

- ``cosession`` ``j0.42|17|305``: a pair of accounts (internal ids 17 and 305)
  whose session starts are alike, Jaccard similarity 0.42 -> ``session starts
  alike (Jaccard 0.42)``; ``coactive`` likewise over active hours -> ``active hours
  alike (Jaccard 0.42)``;
- ``signup`` ``a123|US|gmail.com``: window 123 of the ``signup_window_minutes``
  grid (``b``: the grid shifted by half a window), declared country, email domain
  (``?`` when not given) -> ``sign-up burst 2026-04-22 08:00-09:00 UTC, US, gmail.com``;
  ``a123|*``: every sign-up of the window -> ``..., any country and domain``.

This module is the one reader-side place that parses those keys: the service, the
page and the exports take its text (:class:`EntityText`) or, for the property
graph, its SQL (:func:`entity_property_sql`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from linkage.settings import DetectSettings

__all__ = ["EntityText", "SignupWindow", "entity_property_sql", "pair_jaccard", "signup_window"]

_PAIR = re.compile(r"^j(\d\.\d+)\|\d+\|\d+$")
_SIGNUP = re.compile(r"^([ab])(\d+)\|(?:(\*)|([^|]*)\|(.*))$")
_UNKNOWN = "?"
_PATTERNS = {"cosession": "session starts alike", "coactive": "active hours alike"}


@dataclass(frozen=True)
class SignupWindow:
    """What a ``signup`` key says: the window and the sign-up profile (``any``: every
    sign-up of the window, whatever its country and domain)."""

    start: datetime
    end: datetime
    country: str | None
    email_domain: str | None
    any: bool = False


def pair_jaccard(entity: str) -> float | None:
    """The Jaccard similarity a ``cosession`` or ``coactive`` key records, or ``None``."""
    m = _PAIR.match(entity)
    return float(m.group(1)) if m else None


def _window_seconds(window_minutes: float) -> int:
    return int(window_minutes * 60)  # as linkage.graph.coactivity cuts the windows


def signup_window(entity: str, window_minutes: float) -> SignupWindow | None:
    """The window (UTC) and profile of a ``signup`` key made with windows of
    ``window_minutes``, or ``None`` when it is not one."""
    m = _SIGNUP.match(entity)
    if not m:
        return None
    width = _window_seconds(window_minutes)
    shift = width // 2 if m.group(1) == "b" else 0
    start = datetime.fromtimestamp(int(m.group(2)) * width - shift, UTC)
    end = start + timedelta(seconds=width)
    if m.group(3):
        return SignupWindow(start, end, None, None, any=True)
    country, domain = m.group(4), m.group(5)
    return SignupWindow(
        start,
        end,
        None if country in ("", _UNKNOWN) else country,
        None if domain in ("", _UNKNOWN) else domain,
    )


@dataclass(frozen=True)
class EntityText:
    """Renders entities as text for an investigator; ``EntityText.of(settings)`` for
    the settings a result was made with."""

    signup_window_minutes: float = DetectSettings().signup_window_minutes

    @classmethod
    def of(cls, settings: DetectSettings) -> EntityText:
        return cls(float(settings.signup_window_minutes))

    def __call__(self, entity_type: str, entity: str) -> str:
        """``active hours alike (Jaccard 0.42)``, ``sign-up burst 2026-04-22 08:00-09:00
        UTC, US, gmail.com``; any other entity as its key."""
        if entity_type in _PATTERNS:
            j = pair_jaccard(entity)
            return entity if j is None else f"{_PATTERNS[entity_type]} (Jaccard {j:.2f})"
        if entity_type == "signup":
            w = signup_window(entity, self.signup_window_minutes)
            if w is None:
                return entity
            end = f"{w.end:%H:%M}" if w.end.date() == w.start.date() else f"{w.end:%Y-%m-%d %H:%M}"
            who = (
                "any country and domain"
                if w.any
                else f"{w.country or 'no country'}, {w.email_domain or 'no email domain'}"
            )
            return f"sign-up burst {w.start:%Y-%m-%d %H:%M}-{end} UTC, {who}"
        return entity


def entity_property_sql(label: str, column: str, window_minutes: float) -> dict[str, str]:
    """SQL for the parsed properties of ``SessionPattern``, ``ActiveHoursPattern`` and
    ``SignupBurst`` nodes (as :func:`pair_jaccard` and :func:`signup_window`) over key
    column ``column``; empty for other labels."""
    if label in ("SessionPattern", "ActiveHoursPattern"):
        return {"jaccard": f"TRY_CAST(regexp_extract({column}, '{_PAIR.pattern}', 1) AS DOUBLE)"}
    if label != "SignupBurst":
        return {}
    width = _window_seconds(window_minutes)
    part = f"regexp_extract({column}, '{_SIGNUP.pattern}', {{}})"
    start = (
        f"to_timestamp(TRY_CAST({part.format(2)} AS BIGINT) * {width} "
        f"- CASE WHEN {part.format(1)} = 'b' THEN {width // 2} ELSE 0 END)"
    )
    return {
        "window_start": start,
        "window_minutes": f"{float(window_minutes)!r}::DOUBLE",
        "country": f"nullif(nullif({part.format(4)}, ''), '{_UNKNOWN}')",
        "email_domain": f"nullif(nullif({part.format(5)}, ''), '{_UNKNOWN}')",
    }
