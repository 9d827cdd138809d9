"""Per-table validation and normalisation of a raw batch, vectorised.

Checks run column by column in contract order, then the cross-row checks
(duplicate ``account_id``, unknown account); a row is quarantined with the
first reason it fails. Reasons (``<column>`` is a contract column name):

- ``missing value: <column>``: a required value is null or blank
- ``unparseable timestamp: <column>``, ``unparseable integer: <column>``,
  ``unparseable number: <column>``, ``unparseable ip address``,
  ``unparseable cidr``
- ``invalid value: <column>``: an unknown ``status`` or ip ``kind``, a
  negative count or ASN, an infinite amount, an embedding that is empty,
  holds a null or a non-finite value, or is not a list of numbers
- ``wrong embedding dimension: got N, expected D``: D is the length of the
  first valid embedding of the file, or the size of a Parquet
  ``fixed_size_list`` column
- ``raw card number in <column>``: ``instrument_fp`` or ``bin`` (payments),
  ``value`` (identifiers)
- ``duplicate account_id (first at row N)``: the first row is kept
- ``unknown account: <id>``: not among the kept accounts
- ``malformed CSV line``, ``malformed JSON line`` (from the readers)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.contract import INPUT_TABLES, IP_KINDS, STATUSES
from linkage.ingest.cards import card_value_mask, redact_cards_array
from linkage.ingest.normalize import (
    IpNormalizer,
    clean_strings,
    lower_code,
    normalize_domain,
    parse_cidrs,
    parse_embeddings,
    parse_floats,
    parse_integers,
    parse_timestamps,
    upper_code,
)
from linkage.ingest.store import arrow_schema

__all__ = ["Context", "DuplicateTracker", "RowFlags", "Validated", "validate_batch"]


def _mask(arr: pa.Array, null: bool = False) -> np.ndarray:
    """A boolean Arrow array as a numpy mask, nulls as ``null``."""
    return np.asarray(pc.fill_null(arr, null).to_numpy(zero_copy_only=False), dtype=bool)


def _valid(arr: pa.Array) -> np.ndarray:
    return _mask(pc.is_valid(arr))


class RowFlags:
    """The first failing reason of each row of a batch."""

    def __init__(self, n: int) -> None:
        self.ok = np.ones(n, dtype=bool)
        self.reason = np.empty(n, dtype=object)
        self.kind = np.empty(n, dtype=object)

    def flag(
        self,
        mask: np.ndarray,
        kind: str,
        detail: Callable[[np.ndarray], list[str]] | None = None,
    ) -> None:
        """Flag rows in ``mask`` not flagged yet; ``detail(idx)`` gives full reasons."""
        sel = np.asarray(mask, dtype=bool) & self.ok
        if not sel.any():
            return
        idx = np.flatnonzero(sel)
        self.kind[idx] = kind
        if detail is None:
            self.reason[idx] = kind
        else:
            self.reason[idx] = np.array(detail(idx), dtype=object)
        self.ok[idx] = False


class DuplicateTracker:
    """Remembers kept account ids and their rows to reject later duplicates."""

    def __init__(self) -> None:
        self._ids: list[pa.Array] = []
        self._rows: list[np.ndarray] = []
        self._index: pd.Index | None = None
        self._all_rows = np.zeros(0, dtype=np.int64)

    def check(self, ids: pa.Array, rows: np.ndarray, flags: RowFlags) -> None:
        """Flag rows whose id was kept before (this batch or earlier); record the rest."""
        cand = np.flatnonzero(flags.ok)
        if not len(cand):
            return
        cand_ids = ids.take(pa.array(cand)).to_pandas()
        cand_rows = rows[cand]
        first = np.full(len(cand), -1, dtype=np.int64)
        if self._ids:
            if self._index is None:
                self._index = pd.Index(pa.concat_arrays(self._ids).to_pandas())
                self._all_rows = np.concatenate(self._rows)
            pos = self._index.get_indexer(cand_ids)
            first = np.where(pos >= 0, self._all_rows[np.maximum(pos, 0)], -1)
        codes, _ = pd.factorize(cand_ids)
        _, first_idx = np.unique(codes, return_index=True)
        first_in_batch = first_idx[codes]
        within = first_in_batch != np.arange(len(cand))
        first = np.where((first < 0) & within, cand_rows[first_in_batch], first)
        dup = first >= 0
        mask = np.zeros(len(flags.ok), dtype=bool)
        mask[cand[dup]] = True
        first_at = dict(zip(cand[dup].tolist(), first[dup].tolist(), strict=True))
        flags.flag(
            mask,
            "duplicate account_id",
            lambda idx: [f"duplicate account_id (first at row {first_at[i]})" for i in idx],
        )
        keep = cand[~dup]
        if len(keep):
            self._ids.append(ids.take(pa.array(keep)))
            self._rows.append(rows[keep])
            self._index = None


@dataclass
class Context:
    """State carried across batches and tables of one ingest run."""

    accounts: pd.Index | None = None
    """Kept account ids, sorted; the position of an id is its ``aid``."""
    ip: IpNormalizer = field(default_factory=IpNormalizer)
    embedding_dim: int | None = None
    duplicates: DuplicateTracker = field(default_factory=DuplicateTracker)


@dataclass
class Validated:
    """The kept rows in store layout, the flags of every row, and how many kept
    rows had a card number masked in their text (``redacted``: which ones)."""

    good: pa.Table
    flags: RowFlags
    cards_redacted: int = 0
    redacted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


class _Batch:
    """Helpers over one batch: column access and the common checks."""

    def __init__(self, data: pa.Table, rows: np.ndarray, ctx: Context) -> None:
        self.data = data
        self.rows = rows
        self.ctx = ctx
        self.flags = RowFlags(data.num_rows)
        self.cards_redacted = np.zeros(data.num_rows, dtype=bool)

    def col(self, name: str) -> pa.Array:
        return self.data.column(name).combine_chunks()

    def required(self, name: str, arr: pa.Array) -> pa.Array:
        self.flags.flag(~_valid(arr), f"missing value: {name}")
        return arr

    def string(self, name: str, *, required: bool = False, trim: bool = True) -> pa.Array:
        arr = clean_strings(self.col(name), trim=trim)
        return self.required(name, arr) if required else arr

    def timestamp(self, name: str, *, required: bool = False) -> pa.Array:
        out, bad = parse_timestamps(self.col(name))
        if required:
            self.flags.flag(~_valid(out) & ~bad, f"missing value: {name}")
        self.flags.flag(bad, f"unparseable timestamp: {name}")
        return out

    def integer(self, name: str) -> pa.Array:
        out, bad = parse_integers(self.col(name))
        self.flags.flag(bad, f"unparseable integer: {name}")
        self.flags.flag(_mask(pc.less(out, 0)), f"invalid value: {name}")
        return out

    def number(self, name: str) -> pa.Array:
        out, bad = parse_floats(self.col(name))
        self.flags.flag(bad, f"unparseable number: {name}")
        return out

    def enum(self, name: str, allowed: frozenset[str], default: str | None = None) -> pa.Array:
        arr = lower_code(self.col(name))
        if default is not None:
            arr = pc.fill_null(arr, default)
        else:
            self.required(name, arr)
        known = _mask(pc.is_in(arr, value_set=pa.array(sorted(allowed))), null=True)
        self.flags.flag(~known, f"invalid value: {name}")
        return arr

    def no_card(self, name: str, arr: pa.Array) -> pa.Array:
        self.flags.flag(card_value_mask(arr), f"raw card number in {name}")
        return arr

    def known_account(self, ids: pa.Array) -> np.ndarray:
        """Flag ids that are not kept accounts; return each id's ``aid`` (its position
        among the kept account ids in sorted order; -1 when unknown)."""
        accounts = self.ctx.accounts
        if accounts is None:
            return np.full(len(ids), -1, np.int32)
        encoded = pc.dictionary_encode(ids)
        distinct = accounts.get_indexer(encoded.dictionary.to_pandas())
        valid = _valid(ids)
        pos = np.full(len(ids), -1, np.int64)
        pos[valid] = distinct[np.asarray(encoded.indices.drop_null().to_numpy(), dtype=np.int64)]
        unknown = (pos < 0) & valid

        def detail(idx: np.ndarray) -> list[str]:
            return [f"unknown account: {v}" for v in ids.take(pa.array(idx)).to_pylist()]

        self.flags.flag(unknown, "unknown account", detail)
        return pos.astype(np.int32)


def _accounts(b: _Batch) -> dict[str, pa.Array]:
    out = {
        "account_id": b.string("account_id", required=True),
        "created_at": b.timestamp("created_at", required=True),
        "email_domain": normalize_domain(b.col("email_domain")),
        "country": upper_code(b.col("country")),
        "status": b.enum("status", STATUSES, default="active"),
        "banned_at": b.timestamp("banned_at"),
    }
    b.ctx.duplicates.check(out["account_id"], b.rows, b.flags)
    return out


def _embedding(b: _Batch, name: str) -> pa.Array:
    out, lengths, invalid, fixed = parse_embeddings(b.col(name))
    b.flags.flag(invalid, f"invalid value: {name}")
    usable = _valid(out)
    if b.ctx.embedding_dim is None:
        if fixed is not None:
            b.ctx.embedding_dim = fixed
        elif usable.any():
            b.ctx.embedding_dim = int(lengths[np.argmax(usable)])
    dim = b.ctx.embedding_dim
    if dim is not None:

        def detail(idx: np.ndarray) -> list[str]:
            return [f"wrong embedding dimension: got {lengths[i]}, expected {dim}" for i in idx]

        b.flags.flag(usable & (lengths != dim), "wrong embedding dimension", detail)
    return out


def _requests(b: _Batch) -> dict[str, pa.Array]:
    account_id = b.string("account_id", required=True)
    ts = b.timestamp("ts", required=True)
    raw_ip = b.string("ip", required=True)
    ip, version, prefix, bad_ip = b.ctx.ip(raw_ip)
    b.flags.flag(bad_ip, "unparseable ip address")
    prompt, redacted = redact_cards_array(b.string("prompt_text", trim=False))
    out = {
        "account_id": account_id,
        "ts": ts,
        "ip": ip,
        "ip_version": version,
        "ip_prefix": prefix,
        "device_fp": b.string("device_fp"),
        "api_key_id": b.string("api_key_id"),
        "user_agent": b.string("user_agent", trim=False),
        "prompt_text": prompt,
        "prompt_embedding": _embedding(b, "prompt_embedding"),
        "input_tokens": b.integer("input_tokens"),
        "output_tokens": b.integer("output_tokens"),
    }
    out["aid"] = pa.array(b.known_account(account_id))
    b.cards_redacted = redacted
    return out


def _payments(b: _Batch) -> dict[str, pa.Array]:
    account_id = b.string("account_id", required=True)
    out = {
        "account_id": account_id,
        "ts": b.timestamp("ts", required=True),
        "instrument_fp": b.no_card("instrument_fp", b.string("instrument_fp", required=True)),
        "bin": b.no_card("bin", b.string("bin")),
        "card_country": upper_code(b.col("card_country")),
        "amount_usd": b.number("amount_usd"),
    }
    b.known_account(account_id)
    return out


def _ip_intel(b: _Batch) -> dict[str, pa.Array]:
    cidr = b.string("cidr", required=True)
    parsed, bad = parse_cidrs(cidr)
    b.flags.flag(bad, "unparseable cidr")
    return {
        **parsed,
        "kind": b.enum("kind", IP_KINDS),
        "asn": b.integer("asn"),
        "org": b.string("org"),
        "country": upper_code(b.col("country")),
    }


def _identifiers(b: _Batch) -> dict[str, pa.Array]:
    account_id = b.string("account_id", required=True)
    kind = b.required("kind", lower_code(b.col("kind")))
    out = {
        "account_id": account_id,
        "kind": kind,
        "value": b.no_card("value", b.string("value", required=True)),
        "ts": b.timestamp("ts"),
    }
    b.known_account(account_id)
    return out


_VALIDATORS: dict[str, Callable[[_Batch], dict[str, pa.Array]]] = {
    "accounts": _accounts,
    "requests": _requests,
    "payments": _payments,
    "ip_intel": _ip_intel,
    "identifiers": _identifiers,
}


def validate_batch(table: str, data: pa.Table, rows: np.ndarray, ctx: Context) -> Validated:
    """Validate and normalise one raw batch of ``table``; keep the rows that pass."""
    if table not in _VALIDATORS or table not in INPUT_TABLES:
        raise KeyError(table)
    b = _Batch(data, rows, ctx)
    out = _VALIDATORS[table](b)
    schema = arrow_schema(table)
    arrays = [pc.cast(out[f.name], f.type) for f in schema]
    full = pa.Table.from_arrays(arrays, names=schema.names)
    good = full.filter(pa.array(b.flags.ok))
    redacted = b.cards_redacted[b.flags.ok]
    return Validated(good, b.flags, int(redacted.sum()), redacted)
