"""Vectorised parsing and normalisation of one column of a batch.

Each ``parse_*`` function takes an Arrow array as read (strings from CSV and
JSONL, possibly typed from Parquet) and returns the normalised array plus a
boolean numpy mask of the rows whose non-null value could not be parsed.
Nulls stay null and are never flagged here; required columns are checked
separately.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "IPV4_RE",
    "IpNormalizer",
    "as_string",
    "clean_strings",
    "lower_code",
    "normalize_domain",
    "parse_cidrs",
    "parse_embeddings",
    "parse_floats",
    "parse_integers",
    "parse_timestamps",
    "upper_code",
]

TS_TYPE = pa.timestamp("us", tz="UTC")
_INT_RE = r"^[+-]?\d{1,18}(\.0*)?$"
_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_INT_LIMIT = 1e18
_UNIT_TO_US = {"s": (1_000_000, 1), "ms": (1_000, 1), "us": (1, 1), "ns": (1, 1_000)}
_US_MAX = 2**62
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_RE = rf"^{_OCTET}(\.{_OCTET}){{3}}$"
"""A canonical dotted-quad IPv4 address (RE2 syntax; ``\\d`` is ASCII there)."""


def _bool_mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _valid(arr: pa.Array) -> np.ndarray:
    return _bool_mask(pc.is_valid(arr))


def as_string(arr: pa.Array) -> pa.Array:
    """Cast a primitive array to ``string`` (dictionaries decoded, nulls kept)."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if arr.type == pa.string():
        return arr
    return pc.cast(arr, pa.string())


def clean_strings(arr: pa.Array, *, trim: bool = True) -> pa.Array:
    """Strings with surrounding whitespace trimmed (if ``trim``); blank becomes null."""
    arr = as_string(arr)
    if trim:
        arr = pc.utf8_trim_whitespace(arr)
    blank = pc.equal(pc.utf8_length(arr), 0)
    return pc.if_else(blank, pa.scalar(None, pa.string()), arr)


def lower_code(arr: pa.Array) -> pa.Array:
    """Trimmed, lower-cased strings (``status``, ``kind``)."""
    return pc.utf8_lower(clean_strings(arr))


def upper_code(arr: pa.Array) -> pa.Array:
    """Trimmed, upper-cased strings (country codes)."""
    return pc.utf8_upper(clean_strings(arr))


def normalize_domain(arr: pa.Array) -> pa.Array:
    """Lower-case e-mail domains; of a full address only the part after the last ``@``."""
    arr = pc.utf8_lower(clean_strings(arr))
    arr = pc.replace_substring_regex(arr, pattern=r"^.*@", replacement="")
    return clean_strings(arr)


def parse_integers(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Parse integers: typed ints as is, integral floats, or text like ``12``/``12.0``."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    n = len(arr)
    if pa.types.is_null(arr.type):
        return pa.nulls(n, pa.int64()), np.zeros(n, dtype=bool)
    if pa.types.is_integer(arr.type):
        try:
            return pc.cast(arr, pa.int64()), np.zeros(n, dtype=bool)
        except pa.ArrowInvalid:  # uint64 beyond int64
            arr = as_string(arr)
    if pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        values = np.asarray(values, dtype=np.float64)
        present = ~np.isnan(values)
        with np.errstate(invalid="ignore"):
            good = present & (np.mod(values, 1) == 0) & (np.abs(values) < _INT_LIMIT)
        out = np.where(good, values, 0).astype(np.int64)
        return pa.array(out, pa.int64(), mask=~good), present & ~good
    text = clean_strings(arr)
    ok = _bool_mask(pc.match_substring_regex(text, _INT_RE))
    bad = _valid(text) & ~ok
    digits = pc.replace_substring_regex(text, pattern=r"^\+|\.0*$", replacement="")
    digits = pc.if_else(pa.array(ok), digits, pa.scalar(None, pa.string()))
    return pc.cast(digits, pa.int64()), bad


def parse_floats(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Parse finite floats (NaN is taken as null); the mask flags unparseable values."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    n = len(arr)
    if pa.types.is_null(arr.type):
        return pa.nulls(n, pa.float64()), np.zeros(n, dtype=bool)
    if (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or (pa.types.is_decimal(arr.type))
    ):
        out = pc.cast(arr, pa.float64())
        bad = np.zeros(n, dtype=bool)
    else:
        text = clean_strings(arr)
        ok = _bool_mask(pc.match_substring_regex(text, _FLOAT_RE))
        bad = _valid(text) & ~ok
        out = pc.cast(pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string())), pa.float64())
    values = np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.float64)
    nan = np.isnan(values)
    bad = bad | np.isinf(values)
    return pa.array(np.where(nan | bad, 0.0, values), pa.float64(), mask=nan | bad), bad


def _micros(values: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Integers in ``unit`` since the epoch to microseconds (floor); mask of overflows."""
    mul, div = _UNIT_TO_US[unit]
    if div > 1:
        return np.floor_divide(values, div), np.zeros(len(values), dtype=bool)
    limit = _US_MAX // mul
    over = np.abs(values) > limit
    return np.where(over, 0, values) * mul, over


def parse_timestamps(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Timestamps to ``timestamp[us, tz=UTC]``.

    Parquet timestamps (naive ones are taken as UTC) and dates are converted
    directly; strings are parsed as ISO 8601 with pandas, naive strings taken
    as UTC. Sub-microsecond precision is floored.
    """
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    n = len(arr)
    if pa.types.is_null(arr.type):
        return pa.nulls(n, TS_TYPE), np.zeros(n, dtype=bool)
    if pa.types.is_date(arr.type):
        arr = pc.cast(pc.cast(arr, pa.date32()), pa.timestamp("s"))
    valid = _valid(arr)
    if pa.types.is_timestamp(arr.type):
        raw = np.asarray(
            pc.fill_null(pc.cast(arr, pa.int64()), 0).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        us, bad = _micros(raw, arr.type.unit)
    else:
        text = clean_strings(arr)
        valid = _valid(text)
        parsed = pd.to_datetime(text.to_pandas(), utc=True, format="ISO8601", errors="coerce")
        if not isinstance(parsed.dtype, pd.DatetimeTZDtype):  # all null: object dtype
            parsed = pd.Series(pd.NaT, index=parsed.index, dtype="datetime64[us, UTC]")
        bad = valid & parsed.isna().to_numpy()
        raw = parsed.array.asi8.copy()
        raw[~valid | bad] = 0
        us, over = _micros(raw, parsed.dtype.unit)
        bad |= over
    keep = valid & ~bad
    return pa.array(np.where(keep, us, 0), TS_TYPE, mask=~keep), bad


def parse_embeddings(arr: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray, int | None]:
    """Embeddings to ``list<float32>``.

    Accepts Arrow lists of numbers (any list type) or text such as
    ``[0.1, 0.2]``. Returns (embeddings, lengths, invalid mask, fixed size);
    invalid means unparseable, empty, a null element, or not finite as float32.
    ``fixed size`` is the list size of a Parquet ``fixed_size_list`` column.
    """
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    n = len(arr)
    out_type = pa.list_(pa.float32())
    fixed = arr.type.list_size if pa.types.is_fixed_size_list(arr.type) else None
    if pa.types.is_null(arr.type):
        return pa.nulls(n, out_type), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool), None
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or fixed is not None:
        lists = (
            pc.cast(arr, pa.list_(arr.type.value_type))
            if fixed or (pa.types.is_large_list(arr.type))
            else arr
        )
        flat = pc.list_flatten(lists)
        elem_bad = ~_valid(flat)
        try:
            values = pc.cast(flat, pa.float32(), safe=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = pa.nulls(len(flat), pa.float32())
            elem_bad[:] = True
    else:
        text = clean_strings(arr)
        body = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, r"^\[|\]$", ""))
        lists = pc.split_pattern_regex(body, r"\s*,\s*|\s+")
        flat = pc.list_flatten(lists)
        elem_ok = _bool_mask(pc.match_substring_regex(flat, _FLOAT_RE))
        elem_bad = ~elem_ok
        cleaned = pc.if_else(pa.array(elem_ok), flat, pa.scalar("0"))
        values = pc.cast(pc.cast(cleaned, pa.float64()), pa.float32(), safe=False)
    vals = np.asarray(pc.fill_null(values, 0.0).to_numpy(zero_copy_only=False), dtype=np.float32)
    elem_bad = elem_bad | ~np.isfinite(vals)
    valid = _valid(lists)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(lists), 0).to_numpy(), dtype=np.int64)
    parents = np.repeat(np.arange(n), lengths)  # list_flatten drops the values of null lists
    invalid = valid & ((lengths == 0) | (np.bincount(parents[elem_bad], minlength=n) > 0))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    keep = valid & ~invalid
    out = pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(vals, pa.float32()), mask=pa.array(~keep)
    )
    return out, lengths, invalid, fixed


class IpNormalizer:
    """Canonical IP text, version and /24 or /48 prefix, caching distinct strings."""

    def __init__(self, max_cache: int = 2_000_000) -> None:
        self._cache: dict[str, tuple[str, int, str] | None] = {}
        self._max_cache = max_cache

    @staticmethod
    def parse_one(text: str) -> tuple[str, int, str] | None:
        """(canonical, version, prefix) of one address, or None if unparseable."""
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return None
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if isinstance(addr, ipaddress.IPv4Address):
            canon = str(addr)
            return canon, 4, canon.rsplit(".", 1)[0] + ".0/24"
        prefix = ipaddress.IPv6Address((int(addr) >> 80) << 80).compressed
        return addr.compressed, 6, f"{prefix}/48"

    def __call__(self, arr: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, np.ndarray]:
        """Normalise trimmed IP strings: (ip, ip_version, ip_prefix, unparseable mask).

        Each distinct string of the batch is normalised once: canonical
        dotted-quad IPv4 (the common case) in Arrow, others with ``ipaddress``
        (cached across batches).
        """
        encoded = pc.dictionary_encode(arr)
        ip, version, prefix, bad = self._distinct(encoded.dictionary)
        idx = encoded.indices
        valid = _valid(idx)
        bad_rows = np.zeros(len(arr), dtype=bool)
        bad_rows[valid] = bad[np.asarray(idx.drop_null().to_numpy(), dtype=np.int64)]
        return pc.take(ip, idx), pc.take(version, idx), pc.take(prefix, idx), bad_rows

    def _distinct(self, arr: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, np.ndarray]:
        valid = _valid(arr)
        v4 = _bool_mask(pc.match_substring_regex(arr, IPV4_RE))
        ip = pc.if_else(pa.array(v4), arr, pa.scalar(None, pa.string()))
        version = pc.if_else(pa.array(v4), pa.scalar(4, pa.int8()), pa.scalar(None, pa.int8()))
        prefix = pc.replace_substring_regex(ip, pattern=r"\.\d+$", replacement=".0/24")
        other = valid & ~v4
        if other.any():
            sub = arr.filter(pa.array(other))
            uniq = pc.unique(sub)
            if len(self._cache) > self._max_cache:
                self._cache.clear()
            parsed: list[tuple[str, int, str] | None] = []
            for s in uniq.to_pylist():
                if s not in self._cache:
                    self._cache[s] = self.parse_one(s)
                parsed.append(self._cache[s])
            idx = pc.index_in(sub, value_set=uniq)
            mask = pa.array(other)

            def column(k: int, typ: pa.DataType) -> pa.Array:
                return pc.take(pa.array([None if p is None else p[k] for p in parsed], typ), idx)

            ip = pc.replace_with_mask(ip, mask, column(0, pa.string()))
            version = pc.replace_with_mask(version, mask, column(1, pa.int8()))
            prefix = pc.replace_with_mask(prefix, mask, column(2, pa.string()))
        bad = valid & ~_valid(ip)
        return ip, version, prefix, bad


def _parse_cidr(text: str) -> tuple[str, str, int, int] | None:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:
            net = ipaddress.IPv4Network((mapped, net.prefixlen - 96))
    return str(net), str(net.network_address), net.prefixlen, net.version


def parse_cidrs(arr: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Canonical ``cidr``, ``network``, ``prefix_len`` and ``ip_version`` of trimmed ranges."""
    uniq = pc.unique(pc.drop_null(arr))
    parsed = [_parse_cidr(s) for s in uniq.to_pylist()]
    idx = pc.index_in(arr, value_set=uniq)
    types = {"cidr": pa.string(), "network": pa.string(), "prefix_len": pa.int16()}
    types["ip_version"] = pa.int8()
    cols = {
        name: pc.take(pa.array([None if p is None else p[k] for p in parsed], typ), idx)
        for k, (name, typ) in enumerate(types.items())
    }
    bad = _valid(arr) & ~_valid(cols["cidr"])
    return cols, bad
