"""Ingest of a few records held in memory (the service's ``POST /score``): the same
validation and normalisation as :func:`linkage.ingest.ingest`, without files. A bad
row is an error naming its table, row and reason, not a quarantined row.
:func:`validate_account` does it for one account, in plain Python where it can
(:mod:`linkage.ingest.account`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.contract import INPUT_TABLES
from linkage.errors import ContractError
from linkage.ingest.account import Rows, normalize_account
from linkage.ingest.pipeline import INGEST_ORDER
from linkage.ingest.readers import complete_columns
from linkage.ingest.store import arrow_schema
from linkage.ingest.validate import Context, validate_batch

__all__ = ["validate_account", "validate_records"]


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


def validate_account(tables: Rows) -> Rows:
    """The kept rows of one account's records (``accounts``, ``requests``, ``payments``,
    ``identifiers``: store columns, timestamps as UTC datetimes), as
    :func:`validate_records` keeps them; raises its :class:`ContractError`, or one when
    ``accounts`` does not hold exactly one row. Plain Python for the common case
    (:func:`~linkage.ingest.account.normalize_account`), ``validate_records`` for the
    rest."""
    rows = normalize_account(tables)
    if rows is not None:
        return rows
    unknown = sorted(set(tables) - {"accounts", *_ROWS})
    if unknown:
        raise ContractError(f"unknown tables {unknown}; known: {['accounts', *_ROWS]}")
    if len(tables.get("accounts") or []) != 1:
        raise ContractError("accounts: give exactly one account")
    valid = validate_records(tables)
    return {name: valid[name].to_pylist() for name in ("accounts", *_ROWS)}


_ROWS = ("requests", "payments", "identifiers")
