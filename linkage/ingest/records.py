"""Ingest of a few records held in memory (the service's ``POST /score``): the same
validation and normalisation as :func:`linkage.ingest.ingest`, without files. A bad
row is an error naming its table, row and reason, not a quarantined row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.contract import INPUT_TABLES
from linkage.errors import ContractError
from linkage.ingest.pipeline import INGEST_ORDER
from linkage.ingest.readers import complete_columns
from linkage.ingest.store import arrow_schema
from linkage.ingest.validate import Context, validate_batch

__all__ = ["validate_records"]


def validate_records(tables: dict[str, list[dict[str, object]]]) -> dict[str, pa.Table]:
    """Validate and normalise ``{table: rows}`` (contract columns; ``accounts`` first);
    return every store table (empty when not given) in store layout.

    Raises :class:`ContractError` naming the first bad row, as ``requests[3]:
    unparseable ip address``; an unknown table is an error too.
    """
    unknown = sorted(set(tables) - set(INGEST_ORDER))
    if unknown:
        raise ContractError(f"unknown tables {unknown}; known: {list(INGEST_ORDER)}")
    ctx = Context()
    out: dict[str, pa.Table] = {}
    for table in INGEST_ORDER:
        rows = tables.get(table, [])
        if not rows:
            out[table] = arrow_schema(table).empty_table()
            continue
        try:
            given = pa.Table.from_pylist(rows)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise ContractError(
                f"{table}: a column holds values of mixed or unsupported types "
                f"({type(exc).__name__}); give text, numbers or null"
            ) from None
        raw = complete_columns(given, INPUT_TABLES[table])
        checked = validate_batch(table, raw, np.arange(raw.num_rows), ctx)
        bad = np.flatnonzero(~checked.flags.ok)
        if len(bad):
            i = int(bad[0])
            raise ContractError(f"{table}[{i}]: {checked.flags.reason[i]}")
        out[table] = checked.good
        if table == "accounts":
            ids = checked.good.column("account_id").to_pylist()
            ctx.accounts = pd.Index(sorted(ids))
    return out
