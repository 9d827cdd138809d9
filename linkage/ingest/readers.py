"""Streaming readers for the three input formats: Parquet, CSV and JSONL.

A reader yields ``RawBatch`` objects: an Arrow table with every contract
column of the table (columns absent from the file are all null), the 1-based
data row number of each row in the file, and the rows it could not parse at
all (malformed CSV or JSON lines). Values are as read: strings from CSV and
JSONL, the stored types from Parquet. Row numbers count data rows only: the
CSV header and blank lines are not rows.

Parquet is read in batches of ``batch_rows`` rows. CSV and JSONL are read in
byte blocks sized from the average line length so that a block holds about
``batch_rows`` rows, then cut into batches of exactly ``batch_rows``.
"""

from __future__ import annotations

import csv
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from linkage.contract import TableSpec
from linkage.errors import ContractError
from linkage.ingest.cards import redact_cards

__all__ = [
    "BadRow",
    "CsvReader",
    "JsonlReader",
    "ParquetReader",
    "RawBatch",
    "complete_columns",
    "open_parquet",
    "open_reader",
    "parquet_columns",
]

MALFORMED_CSV = "malformed CSV line"
MALFORMED_JSON = "malformed JSON line"
_MIN_BLOCK = 4 << 20
_MAX_BLOCK = 256 << 20
_SAMPLE = 1 << 20

Record = dict[str, str | None]


@dataclass
class BadRow:
    """A row rejected by a reader (or by validation): where, why and what was read."""

    row: int
    reason: str
    record: Record
    kind: str = ""

    @property
    def reason_kind(self) -> str:
        """The reason without per-row detail (the key counted in the summary)."""
        return self.kind or self.reason


@dataclass
class RawBatch:
    """One batch of rows as read, with their file row numbers."""

    data: pa.Table
    rows: np.ndarray
    bad: list[BadRow] = field(default_factory=list)
    done: int = 0
    total: int = 0


def _line_record(text: str) -> Record:
    return {"_line": redact_cards(text.rstrip("\r\n"))[0]}


def complete_columns(table: pa.Table, spec: TableSpec) -> pa.Table:
    """All contract columns in contract order; absent ones null; strings plain ``string``."""
    cols = []
    for name in spec.column_names:
        if name in table.column_names:
            arr = table.column(name).combine_chunks()
            if pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
                arr = arr.cast(pa.string())
            cols.append(arr)
        else:
            cols.append(pa.nulls(table.num_rows))
    return pa.Table.from_arrays(cols, names=spec.column_names)


def _cut(
    data: pa.Table,
    rows: np.ndarray,
    bad: list[BadRow],
    batch_rows: int,
    done: tuple[int, int],
    total: int,
) -> Iterator[RawBatch]:
    """Cut a block into batches of ``batch_rows``, each reader-rejected row going to the
    batch whose row range holds it, so rows are emitted in file order."""
    bad = sorted(bad, key=lambda b: b.row)
    n = data.num_rows
    start_done, end_done = done
    if n == 0:
        if bad:
            yield RawBatch(data, rows, bad, end_done, total)
        return
    for lo in range(0, n, batch_rows):
        hi = min(n, lo + batch_rows)
        if hi == n:
            mine, bad = bad, []
        else:
            last = int(rows[hi - 1])
            mine = [b for b in bad if b.row < last]
            bad = [b for b in bad if b.row >= last]
        progress = start_done + (end_done - start_done) * hi // n
        yield RawBatch(data.slice(lo, hi - lo), rows[lo:hi], mine, progress, total)


def _block_size(path: Path, batch_rows: int) -> int:
    with open(path, "rb") as fh:
        sample = fh.read(_SAMPLE)
    lines = max(1, sample.count(b"\n"))
    per_row = len(sample) / lines
    return int(min(_MAX_BLOCK, max(_MIN_BLOCK, per_row * batch_rows * 1.2)))


class TableReader(ABC):
    """Reads one table file in batches. ``columns`` are the contract columns it has."""

    format: ClassVar[str]

    def __init__(self, path: Path, spec: TableSpec, batch_rows: int) -> None:
        self.path = path
        self.spec = spec
        self.batch_rows = batch_rows

    @property
    def name(self) -> str:
        return self.path.name

    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """Contract columns present in the file."""

    @abstractmethod
    def batches(self) -> Iterator[RawBatch]:
        """Yield the file's rows in order, in batches."""


def _check_type(file: str, spec: TableSpec, name: str, typ: pa.DataType) -> None:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    kind = spec.column(name).type
    stringy = (
        pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ)
    )
    nested = pa.types.is_nested(typ)
    if kind == "timestamp":
        ok = stringy or pa.types.is_timestamp(typ) or pa.types.is_date(typ)
        ok = ok or pa.types.is_null(typ)
        expected = "a timestamp or an ISO 8601 string"
    elif kind == "embedding":
        listy = pa.types.is_list(typ) or pa.types.is_large_list(typ)
        listy = listy or pa.types.is_fixed_size_list(typ)
        ok = stringy or pa.types.is_null(typ)
        if listy:
            value = typ.value_type
            ok = pa.types.is_integer(value) or pa.types.is_floating(value)
            ok = ok or pa.types.is_decimal(value)
        expected = "a list of floats"
    else:
        ok = not nested and not pa.types.is_binary(typ)
        expected = f"a {kind}"
    if not ok:
        raise ContractError(
            f"{file}: column '{name}' has type {typ}; expected {expected}. "
            "Convert the column and try again."
        )


def open_parquet(file: str, source: Any) -> pq.ParquetFile:
    """``pq.ParquetFile`` of ``source`` (a path or a seekable file object), or a
    ``ContractError`` naming ``file`` when it is not a readable Parquet file."""
    try:
        return pq.ParquetFile(source, pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ContractError(f"{file} is not a readable Parquet file ({exc})") from None


def parquet_columns(file: str, schema: pa.Schema, spec: TableSpec) -> list[str]:
    """The contract columns of ``spec`` in the Parquet ``file`` of Arrow ``schema``, in
    contract order; raises ``ContractError`` naming the file and column when one has a
    type the contract does not allow."""
    present = [c for c in spec.column_names if c in schema.names]
    for name in present:
        _check_type(file, spec, name, schema.field(name).type)
    return present


class ParquetReader(TableReader):
    """Parquet via ``ParquetFile.iter_batches``; progress counts rows."""

    format = "parquet"

    def __init__(self, path: Path, spec: TableSpec, batch_rows: int) -> None:
        super().__init__(path, spec, batch_rows)
        self._file = open_parquet(self.name, path)
        self._present = parquet_columns(self.name, self._file.schema_arrow, spec)

    @property
    def columns(self) -> list[str]:
        return list(self._present)

    def batches(self) -> Iterator[RawBatch]:
        total = self._file.metadata.num_rows
        done = 0
        batches = self._file.iter_batches(batch_size=self.batch_rows, columns=self._present)
        while True:
            try:
                rb = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as exc:
                msg = redact_cards(str(exc))[0]
                raise ContractError(f"{self.name}: cannot read after row {done}: {msg}") from None
            n = rb.num_rows
            rows = np.arange(done + 1, done + n + 1, dtype=np.int64)
            done += n
            yield RawBatch(
                complete_columns(pa.Table.from_batches([rb]), self.spec), rows, [], done, total
            )


class CsvReader(TableReader):
    """CSV via ``pyarrow.csv.open_csv``, every column read as a string.

    A line with the wrong number of fields is a malformed row, not an error.
    Empty fields are null. Quoted values may span lines.
    """

    format = "csv"

    def __init__(self, path: Path, spec: TableSpec, batch_rows: int) -> None:
        super().__init__(path, spec, batch_rows)
        with open(path, "rb") as fh:
            head = fh.read(_SAMPLE).decode("utf-8-sig", "replace")
        try:
            header = next(csv.reader(io.StringIO(head, newline="")), None)
        except csv.Error as exc:
            raise ContractError(f"{self.name}: cannot read the CSV header ({exc})") from None
        if not header:
            raise ContractError(f"{self.name} is empty: expected a header row naming the columns")
        self._present = [c for c in spec.column_names if c in header]

    @property
    def columns(self) -> list[str]:
        return list(self._present)

    def batches(self) -> Iterator[RawBatch]:
        # Rows pyarrow rejects reach ``on_invalid`` with their record number (the
        # header is record 1, blank lines are not counted), possibly before the
        # batch they belong to; the other rows of a batch take the numbers left.
        pending: list[tuple[int, str]] = []
        next_row = 1

        def on_invalid(row: Any) -> str:
            number = row.number - 1 if row.number is not None else next_row
            pending.append((number, row.text))
            return "skip"

        total = self.path.stat().st_size
        last_done = 0
        with pa.OSFile(str(self.path)) as source:
            try:
                reader = pcsv.open_csv(
                    source,
                    read_options=pcsv.ReadOptions(
                        use_threads=False, block_size=_block_size(self.path, self.batch_rows)
                    ),
                    parse_options=pcsv.ParseOptions(
                        newlines_in_values=True, invalid_row_handler=on_invalid
                    ),
                    convert_options=pcsv.ConvertOptions(
                        column_types={c: pa.string() for c in self._present},
                        include_columns=self._present,
                        strings_can_be_null=True,
                        null_values=[""],
                        quoted_strings_can_be_null=True,
                    ),
                )
                while True:
                    try:
                        rb = reader.read_next_batch()
                    except StopIteration:
                        break
                    n = rb.num_rows
                    invalid = sorted(pending)
                    pending.clear()
                    taken = np.array([r for r, _ in invalid], dtype=np.int64)
                    free = np.arange(next_row, next_row + n + len(invalid), dtype=np.int64)
                    rows = np.setdiff1d(free, taken, assume_unique=True)[:n]
                    if n:
                        last = int(rows[-1])
                        mine = [(r, t) for r, t in invalid if r < last]
                        pending.extend((r, t) for r, t in invalid if r > last)
                        next_row = last + 1
                    else:
                        mine, pending[:] = [], invalid
                    bad = [BadRow(r, MALFORMED_CSV, _line_record(t)) for r, t in mine]
                    done = min(total, source.tell())
                    data = complete_columns(pa.Table.from_batches([rb]), self.spec)
                    yield from _cut(data, rows, bad, self.batch_rows, (last_done, done), total)
                    last_done = done
            except pa.ArrowInvalid as exc:
                msg = redact_cards(str(exc))[0]
                raise ContractError(
                    f"{self.name}: cannot read the CSV file ({msg}); "
                    "it must be UTF-8 text with one header row"
                ) from None
        if pending:
            bad = [BadRow(r, MALFORMED_CSV, _line_record(t)) for r, t in sorted(pending)]
            empty = pa.table({c: pa.array([], pa.string()) for c in self._present})
            yield RawBatch(
                complete_columns(empty, self.spec), np.zeros(0, np.int64), bad, total, total
            )


_JSON_BLOCK = 16 << 20


def _count_objects(chunk: bytes) -> tuple[int, bool]:
    """(non-blank lines, whether every such line looks like ``{...}``) of a chunk."""
    text = chunk if chunk.endswith(b"\n") else chunk + b"\n"
    n = text.count(b"\n")
    ends = text.count(b"}\r\n") if text.count(b"\r\n") == n else text.count(b"}\n")
    starts = text.count(b"\n{") + text.startswith(b"{")
    if ends == n and starts == n:  # the usual case, decided without a scan in Python
        return n, True
    lines = [line.strip() for line in text.split(b"\n")]
    lines = [line for line in lines if line]
    shaped = all(line[:1] == b"{" and line[-1:] == b"}" for line in lines)
    return len(lines), shaped


def _json_text(value: Any, kind: str) -> str | None:
    """A JSON value as the text the chunked reader would give for a column of ``kind``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if kind == "integer":
            f = float(value)
            return str(int(f)) if f.is_integer() else repr(f)
        if kind == "float":
            return repr(float(value))
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


def _json_embedding(value: Any) -> tuple[bool, list[float | None] | None]:
    """(ok, list) for an embedding value from ``json.loads``."""
    if value is None:
        return True, None
    if not isinstance(value, list):
        return False, None
    out: list[float | None] = []
    for v in value:
        if v is None:
            out.append(None)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out.append(float(v))
        else:
            return False, None
    return True, out


class JsonlReader(TableReader):
    """JSON Lines: one object per line, read with ``pyarrow.json`` chunk by chunk.

    A chunk that pyarrow rejects is re-read line by line with ``json.loads`` so
    that only the bad lines are quarantined. The columns are the keys seen in
    the first 1000 objects; a key missing on a later line is null there.
    """

    format = "jsonl"

    def __init__(self, path: Path, spec: TableSpec, batch_rows: int) -> None:
        super().__init__(path, spec, batch_rows)
        keys: set[str] = set()
        seen = 0
        with open(path, "rb") as fh:
            sample = fh.read(_SAMPLE)
        lines = sample.split(b"\n")
        if len(sample) == _SAMPLE:  # the last line may be cut
            lines = lines[:-1]
        for line in lines:
            if seen >= 1000:
                break
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                keys.update(obj)
                seen += 1
        self._present = (
            [c for c in spec.column_names if c in keys] if seen else list(spec.column_names)
        )
        kinds = {"string": pa.string(), "timestamp": pa.string(), "integer": pa.float64()}
        kinds |= {"float": pa.float64(), "embedding": pa.list_(pa.float64())}
        self._schema = pa.schema([(c.name, kinds[c.type]) for c in spec.columns])

    @property
    def columns(self) -> list[str]:
        return list(self._present)

    def _chunks(self, block: int) -> Iterator[tuple[bytes, int]]:
        with open(self.path, "rb") as fh:
            carry = b""
            while True:
                data = fh.read(block)
                if not data:
                    if carry:
                        yield carry, fh.tell()
                    return
                buf = carry + data
                cut = buf.rfind(b"\n")
                if cut < 0:
                    carry = buf
                    continue
                carry = buf[cut + 1 :]
                yield buf[: cut + 1], fh.tell() - len(carry)

    def _fast(self, chunk: bytes, n_lines: int) -> pa.Table | None:
        parse = pjson.ParseOptions(explicit_schema=self._schema, unexpected_field_behavior="ignore")
        for block in (_JSON_BLOCK, len(chunk) + 1):
            try:
                table = pjson.read_json(
                    io.BytesIO(chunk),
                    read_options=pjson.ReadOptions(use_threads=True, block_size=block),
                    parse_options=parse,
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                if "straddl" in str(exc) and block < len(chunk) + 1:
                    continue  # a line longer than the block: parse the chunk as one block
                return None
            if table.num_rows != n_lines or table.schema != self._schema:
                return None
            return table
        return None

    def _slow(self, chunk: bytes, first_row: int) -> tuple[pa.Table, np.ndarray, list[BadRow]]:
        cols: dict[str, list[Any]] = {c.name: [] for c in self.spec.columns}
        rows: list[int] = []
        bad: list[BadRow] = []
        row = first_row - 1
        for line in chunk.split(b"\n"):
            if not line.strip():
                continue
            row += 1
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                text = line.decode("utf-8", "replace")
                bad.append(BadRow(row, MALFORMED_JSON, _line_record(text)))
                continue
            values: dict[str, Any] = {}
            reject = None
            for c in self.spec.columns:
                v = obj.get(c.name)
                if c.type == "embedding":
                    ok, emb = _json_embedding(v)
                    values[c.name] = emb
                    if not ok:
                        reject = f"invalid value: {c.name}"
                else:
                    values[c.name] = _json_text(v, c.type)
            if reject:
                record = {c.name: _json_text(obj.get(c.name), c.type) for c in self.spec.columns}
                bad.append(BadRow(row, reject, record))
                continue
            rows.append(row)
            for name, v in values.items():
                cols[name].append(v)
        fields = [
            pa.field(f.name, pa.string() if f.type == pa.float64() else f.type)
            for f in self._schema
        ]
        table = pa.table(cols, schema=pa.schema(fields))
        return table, np.array(rows, dtype=np.int64), bad

    def batches(self) -> Iterator[RawBatch]:
        total = self.path.stat().st_size
        next_row = 1
        last_done = 0
        for chunk, done in self._chunks(_block_size(self.path, self.batch_rows)):
            n_lines, shaped = _count_objects(chunk)
            if not n_lines:
                continue
            table = self._fast(chunk, n_lines) if shaped else None
            if table is not None:
                rows = np.arange(next_row, next_row + n_lines, dtype=np.int64)
                bad: list[BadRow] = []
            else:
                table, rows, bad = self._slow(chunk, next_row)
            next_row += n_lines
            data = complete_columns(table, self.spec)
            yield from _cut(data, rows, bad, self.batch_rows, (last_done, done), total)
            last_done = done


_READERS: dict[str, type[TableReader]] = {
    "parquet": ParquetReader,
    "csv": CsvReader,
    "jsonl": JsonlReader,
}


def open_reader(path: Path, spec: TableSpec, batch_rows: int) -> TableReader:
    """The reader for ``path`` chosen by its extension."""
    return _READERS[path.suffix.lstrip(".").lower()](path, spec, batch_rows)
