"""SQL written once, in DuckDB's dialect, and translated for other engines with sqlglot.

sqlglot carries most of DuckDB's SQL over (casts, shifts, ``bit_or``, ``FILTER``,
lambdas); :data:`RENAMES` and :func:`_fix` cover the functions it passes through
unchanged that the target lacks (measured in ``docs/SPARK.md``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from linkage.errors import LinkageError

__all__ = ["RENAMES", "translate"]

RENAMES: dict[str, dict[str, str]] = {
    "spark": {"LIST_POSITION": "ARRAY_POSITION", "EPOCH_US": "UNIX_MICROS", "ROUND_EVEN": "BROUND"},
}
"""Per target dialect: DuckDB functions sqlglot leaves as they are, and the target's name."""


def translate(sql: str, dialect: str) -> str:
    """``sql`` (one DuckDB statement) in ``dialect``; DuckDB's own is returned as it is.

    >>> translate("SELECT list_position(l, x), 1::BIGINT << n FROM t", "spark")
    'SELECT ARRAY_POSITION(l, x), SHIFTLEFT(CAST(1 AS BIGINT), n) FROM t'
    """
    if dialect == "duckdb":
        return sql
    return _translate(sql, dialect)


@lru_cache(maxsize=256)
def _translate(sql: str, dialect: str) -> str:
    try:
        import sqlglot
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise LinkageError(
            f"translating SQL for {dialect} needs sqlglot: pip install 'linkage[spark]'"
        ) from e
    renames = RENAMES.get(dialect, {})
    tree = sqlglot.parse_one(sql, read="duckdb")
    return str(tree.transform(lambda node: _fix(node, dialect, renames)).sql(dialect=dialect))


def _fix(node: Any, dialect: str, renames: dict[str, str]) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and str(node.name).upper() in renames:
        # renamed in place: transform does not descend into a node it was handed back
        # new, and the arguments may hold more to rename (``round_even(epoch_us(ts))``)
        node.set("this", renames[str(node.name).upper()])
        return node
    if dialect == "spark" and isinstance(node, exp.ArrayOverlaps):  # list_has_any; no `&&`
        return exp.Anonymous(this="ARRAYS_OVERLAP", expressions=[node.this, node.expression])
    return node
