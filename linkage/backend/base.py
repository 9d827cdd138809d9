"""The backend interface: where the SQL of the graph stages runs.

A backend holds named tables and runs SQL over them. Stages write their SQL once,
in DuckDB's dialect; :meth:`Backend.create_table` and :meth:`Backend.fetch`
translate it (:func:`linkage.backend.dialect.translate`) and hand it to the four
engine-specific methods a backend implements, as splink's ``DatabaseAPI`` does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa

from linkage.backend.dialect import translate

__all__ = ["Backend"]


class Backend(ABC):
    """Named tables and SQL over them, on one engine.

    Subclasses implement :meth:`read_parquet`, :meth:`register_arrow`,
    :meth:`_create` and :meth:`_fetch` in their own dialect; the rest is shared.
    """

    name: ClassVar[str]
    """The name :func:`linkage.backend.get_backend` knows the backend by."""
    dialect: ClassVar[str]
    """sqlglot's name for the engine's SQL dialect."""

    @abstractmethod
    def read_parquet(self, name: str, paths: Sequence[str]) -> None:
        """Make the Parquet files ``paths`` (local paths or object-store URLs the engine
        can read) the table ``name``."""

    @abstractmethod
    def register_arrow(self, name: str, data: pa.Table) -> None:
        """Make a small in-memory table (settings, weights) the table ``name``."""

    @abstractmethod
    def _create(self, name: str, sql: str, view: bool) -> None:
        """Make ``sql`` (in :attr:`dialect`) the table ``name``, replacing it: computed
        now, or a view computed where it is read when ``view``."""

    @abstractmethod
    def _fetch(self, sql: str) -> pa.Table:
        """The result of ``sql`` (in :attr:`dialect`), brought to the driver."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend opened itself."""

    def sql(self, sql: str) -> str:
        """``sql``, written for DuckDB, in this backend's dialect."""
        return translate(sql, self.dialect)

    def create_table(self, name: str, sql: str, *, view: bool = False) -> None:
        """Make the DuckDB-dialect query ``sql`` the table ``name`` (a view when ``view``)."""
        self._create(name, self.sql(sql), view)

    def fetch(self, sql: str) -> pa.Table:
        """The result of the DuckDB-dialect query ``sql`` as Arrow: for small results."""
        return self._fetch(self.sql(sql))

    def fetch_pandas(self, sql: str) -> pd.DataFrame:
        """:meth:`fetch` as pandas."""
        return self.fetch(sql).to_pandas()

    def count(self, name: str) -> int:
        """Rows in the table ``name``."""
        return int(self.fetch(f"SELECT count(*) AS n FROM {name}").column(0)[0].as_py())

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
