"""The backend interface: where the SQL of the graph stages runs.

A backend holds named tables and runs SQL over them. Stages write their SQL once,
in DuckDB's dialect; :meth:`Backend.create_table` and :meth:`Backend.fetch`
translate it (:func:`linkage.backend.dialect.translate`) and hand it to the four
engine-specific methods a backend implements, as splink's ``DatabaseAPI`` does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa

from linkage.backend.dialect import translate

__all__ = ["ArrowFn", "Backend"]

ArrowFn = Callable[[pa.Table], pa.Table]
"""A step in numpy over Arrow: rows in, rows out (:meth:`Backend.map_by`)."""


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
    def register_arrow(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        """Make a small in-memory table (settings, weights) the table ``name``."""

    @abstractmethod
    def names(self) -> set[str]:
        """The names of the tables and views now on the backend."""

    @abstractmethod
    def unregister(self, name: str) -> None:
        """Forget the table ``name`` given to :meth:`register_arrow`."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Forget the table or view ``name`` made by :meth:`create_table` or :meth:`map_by`
        (a stage's scratch table); nothing when there is none."""

    @abstractmethod
    def _create(self, name: str, sql: str, view: bool) -> None:
        """Make ``sql`` (in :attr:`dialect`) the table ``name``, replacing it: computed
        now, or a view computed where it is read when ``view``."""

    @abstractmethod
    def _insert(self, name: str, sql: str) -> None:
        """Append the rows of ``sql`` (in :attr:`dialect`, the columns of ``name`` in
        order) to the table ``name``."""

    @abstractmethod
    def _fetch(self, sql: str) -> pa.Table:
        """The result of ``sql`` (in :attr:`dialect`), brought to the driver."""

    @abstractmethod
    def _map_by(
        self,
        out: str,
        sql: str,
        key: Sequence[str],
        fn: ArrowFn,
        schema: pa.Schema,
        order: Sequence[str],
    ) -> None:
        """:meth:`map_by` with ``sql`` in :attr:`dialect`."""

    @abstractmethod
    def write_parquet(self, name: str, path: str) -> None:
        """Write the table ``name`` as Parquet at ``path`` (a file or, on engines that
        write in parallel, a directory of files)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend opened itself."""

    def sql(self, sql: str) -> str:
        """``sql``, written for DuckDB, in this backend's dialect."""
        return translate(sql, self.dialect)

    def create_table(self, name: str, sql: str, *, view: bool = False) -> None:
        """Make the DuckDB-dialect query ``sql`` the table ``name`` (a view when ``view``)."""
        self._create(name, self.sql(sql), view)

    def insert(self, name: str, sql: str) -> None:
        """Append the rows of the DuckDB-dialect query ``sql`` to the table ``name``."""
        self._insert(name, self.sql(sql))

    def map_by(
        self,
        out: str,
        sql: str,
        key: Sequence[str],
        fn: ArrowFn,
        schema: pa.Schema,
        *,
        order: Sequence[str] = (),
    ) -> None:
        """Make ``fn`` over the rows of the DuckDB-dialect query ``sql`` the table ``out``
        (columns ``schema``): the numpy steps of a stage, where the engine runs them.

        ``fn`` is called on parts of the rows that hold every row of each value of
        ``key`` they hold (DuckDB: once, on all rows; Spark: once per partition, on
        the executors), so its output for a key must depend on that key's rows only;
        each part sorted by the columns ``order`` (ascending) when given. ``fn`` must
        be picklable (a module-level function, or a ``functools.partial`` of one) and
        return a table of ``schema``.
        """
        self._map_by(out, self.sql(sql), key, fn, schema, order)

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
