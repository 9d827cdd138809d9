"""Write contract tables as Parquet, CSV or JSONL, streaming in batches."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from linkage.contract import FORMATS

__all__ = ["TableWriter", "write_table"]


def _as_text_timestamps(table: pa.Table) -> pa.Table:
    """ISO 8601 UTC strings (``2026-04-22T08:15:00Z``) for CSV and JSONL."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            text = pc.strftime(table.column(i), format="%Y-%m-%dT%H:%M:%SZ")
            table = table.set_column(i, field.name, text)
    return table


class TableWriter:
    """Appends Arrow tables to ``DIR/NAME.<fmt>``; use as a context manager."""

    def __init__(self, directory: Path, name: str, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
        self.path = Path(directory) / f"{name}.{fmt}"
        self.fmt = fmt
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None
        self._file: TextIO | None = None

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.fmt == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._parquet.write_table(table)
            return
        table = _as_text_timestamps(table)
        if self.fmt == "csv":
            for i, field in enumerate(table.schema):
                if pa.types.is_list(field.type):  # embeddings as JSON arrays in CSV
                    values = [
                        None if v is None else json.dumps(v) for v in table.column(i).to_pylist()
                    ]
                    table = table.set_column(i, field.name, pa.array(values, pa.string()))
            if self._csv is None:
                self._csv = pacsv.CSVWriter(self.path, table.schema)
            self._csv.write_table(table)
            return
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        names = table.column_names
        for row in zip(*(table.column(n).to_pylist() for n in names), strict=True):
            self._file.write(
                json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n"
            )

    def close(self) -> None:
        for w in (self._parquet, self._csv, self._file):
            if w is not None:
                w.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_table(directory: Path, name: str, fmt: str, table: pa.Table) -> int:
    """Write one whole table; return its row count."""
    with TableWriter(directory, name, fmt) as w:
        w.write(table)
    return w.rows
