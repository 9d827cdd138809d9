"""Raw card numbers (PANs): detection with the Luhn check, masking and redaction.

A raw card number is 13 to 19 digits, optionally with single spaces or dashes
between digit groups, that passes the Luhn check. It is shown only masked,
``************1111`` (last four digits kept). Candidates are found with a
vectorised regex; only those are Luhn-checked in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "card_value_mask",
    "is_card_number",
    "luhn_ok",
    "mask_digits",
    "redact_cards",
    "redact_cards_array",
]

_MIN, _MAX = 13, 19
# RE2 (pyarrow) patterns: a whole value that may be a card number, and text that
# contains at least 13 digits in a row (single space or dash separators allowed).
_VALUE_RE2 = r"^\s*\d(?:[ -]?\d){12,18}\s*$"
_CONTAINS_RE2 = r"\d(?:[ -]?\d){12}"
# Python patterns: a maximal run of digits with single separators.
_RUN = re.compile(r"\d(?:[ -]?\d)*")
_NON_DIGIT = re.compile(r"\D")
_GROUP = re.compile(r"\d+")
_CONTAINS = re.compile(_CONTAINS_RE2)
_TRANSLATE = bytes(range(48)) + bytes([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]) + bytes(range(58, 256))


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn check."""
    b = digits.encode("ascii")
    odd = b[-1::-2]
    even = b[-2::-2].translate(_TRANSLATE)
    return (sum(odd) - 48 * len(odd) + sum(even)) % 10 == 0


def mask_digits(digits: str) -> str:
    """Mask a card number: one ``*`` per digit except the last four."""
    return "*" * (len(digits) - 4) + digits[-4:]


def is_card_number(value: str) -> bool:
    """True when the whole value (stripped) is a raw card number."""
    digits = _NON_DIGIT.sub("", value)
    stripped = value.strip()
    if not _MIN <= len(digits) <= _MAX or not _RUN.fullmatch(stripped):
        return False
    return luhn_ok(digits)


def _card_spans(groups: list[re.Match[str]]) -> list[tuple[int, int, str]]:
    """(start, end, digits) of the text spans made of consecutive digit groups that
    form a card number; overlapping spans are merged."""
    found: list[tuple[int, int, str]] = []
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += groups[j].group()
            if len(digits) > _MAX:
                break
            if len(digits) >= _MIN and luhn_ok(digits):
                found.append((groups[i].start(), groups[j].end(), digits))
    merged: list[tuple[int, int, str]] = []
    for start, end, digits in sorted(found):
        if merged and start < merged[-1][1]:
            prev_start, prev_end, prev_digits = merged[-1]
            if end > prev_end:
                extra = "".join(g.group() for g in groups if prev_end <= g.start() < end)
                merged[-1] = (prev_start, end, prev_digits + extra)
        else:
            merged.append((start, end, digits))
    return merged


def redact_cards(text: str) -> tuple[str, int]:
    """Mask every raw card number inside ``text``; returns (text, numbers masked).

    Digits are read in groups separated by single spaces or dashes; any run of
    consecutive groups holding 13 to 19 digits that passes Luhn is masked, so a
    card number written next to other numbers is still caught.
    """
    if not _CONTAINS.search(text):
        return text, 0
    out: list[str] = []
    last = 0
    count = 0
    for m in _RUN.finditer(text):
        groups = list(_GROUP.finditer(text, m.start(), m.end()))
        for start, end, digits in _card_spans(groups):
            out.append(text[last:start])
            out.append(mask_digits(digits))
            last = end
            count += 1
    if not count:
        return text, 0
    out.append(text[last:])
    return "".join(out), count


def _candidates(arr: pa.Array, pattern: str) -> np.ndarray:
    hit = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    return np.flatnonzero(hit.to_numpy(zero_copy_only=False))


def card_value_mask(arr: pa.Array) -> np.ndarray:
    """Boolean mask of the string values that are a raw card number as a whole."""
    mask = np.zeros(len(arr), dtype=bool)
    idx = _candidates(arr, _VALUE_RE2)
    if len(idx):
        values = arr.take(pa.array(idx)).to_pylist()
        mask[idx] = [is_card_number(v) for v in values]
    return mask


def redact_cards_array(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Mask card numbers inside the string values; returns (array, mask of changed rows)."""
    changed = np.zeros(len(arr), dtype=bool)
    idx = _candidates(arr, _CONTAINS_RE2)
    if not len(idx):
        return arr, changed
    texts: list[str] = []
    for i, value in zip(idx.tolist(), arr.take(pa.array(idx)).to_pylist(), strict=True):
        text, n = redact_cards(value)
        if n:
            changed[i] = True
            texts.append(text)
    if not texts:
        return arr, changed
    out = pc.replace_with_mask(arr, pa.array(changed), pa.array(texts, pa.string()))
    return out, changed
