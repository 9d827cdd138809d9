"""Compute backends: where the graph stages' SQL runs (DuckDB by default, or Spark).

A backend (:class:`Backend`) holds named tables and runs SQL written once in DuckDB's
dialect, translated for its engine. :func:`get_backend` makes one by name from
:data:`BACKENDS`; :func:`register_backend` adds one.

>>> with get_backend("duckdb") as b:
...     b.create_table("t", "SELECT range AS x FROM range(3)")
...     b.count("t")
3
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkage.backend.base import Backend
from linkage.backend.dialect import translate
from linkage.backend.duckdb_backend import DuckDBBackend
from linkage.backend.spark import SparkBackend
from linkage.errors import LinkageError

__all__ = [
    "BACKENDS",
    "Backend",
    "DuckDBBackend",
    "SparkBackend",
    "get_backend",
    "register_backend",
    "translate",
]

BACKENDS: dict[str, Callable[..., Backend]] = {"duckdb": DuckDBBackend, "spark": SparkBackend}
"""Backend factories by name; ``duckdb`` is the default. Spark's imports pyspark only
when called."""


def register_backend(name: str, factory: Callable[..., Backend]) -> None:
    """Make ``factory`` (keyword options -> :class:`Backend`) known as ``name``."""
    BACKENDS[name] = factory


def get_backend(name: str = "duckdb", **options: Any) -> Backend:
    """A new backend ``name`` made with ``options`` (e.g. ``spark=`` a session)."""
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise LinkageError(f"unknown backend {name!r}: choose one of {known}")
    return BACKENDS[name](**options)
