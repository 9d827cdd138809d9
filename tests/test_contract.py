"""linkage.contract must say exactly what docs/CONTRACT.md says."""

from __future__ import annotations

import re
from pathlib import Path

from linkage.contract import INPUT_TABLES

DOC = Path(__file__).resolve().parents[1] / "docs" / "CONTRACT.md"


def documented_tables() -> dict[str, dict[str, bool]]:
    tables: dict[str, dict[str, bool]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        heading = re.match(r"### `(\w+)`", line)
        if heading:
            current = heading.group(1)
            tables[current] = {}
            continue
        if line.startswith("## Output"):
            break
        cell = re.match(r"\| (\w+) \| [^|]+ \| (yes|no) \|", line)
        if current and cell:
            tables[current][cell.group(1)] = cell.group(2) == "yes"
    return tables


def test_contract_module_matches_the_document():
    doc = documented_tables()
    assert set(doc) == set(INPUT_TABLES)
    for name, spec in INPUT_TABLES.items():
        assert {c.name: c.required for c in spec.columns} == doc[name], name


def test_required_tables():
    assert {n for n, t in INPUT_TABLES.items() if t.required} == {"accounts", "requests"}
