"""Score new accounts against the campaigns a result already knows, without detecting
again (``linkage score``, the service's ``POST /score``).

``detect`` leaves ``campaign_index`` in the result store: the cards, devices, keys,
identifiers, addresses, networks, BINs, email domains and templates that reported
campaigns' members hold, each with its weight, its holders among the members and in
all. A new account's entities are keyed as detection keys them (ingest's
normalisation, the entity events of :func:`linkage.graph.events.entity_events_sql`, the
template ids of :mod:`linkage.graph.templates`), looked up in the index, and the
attachment rule of
:func:`linkage.detect.attach.attach_by_entities` picks its campaign: each shared
entity of :data:`~linkage.graph.project.ATTACH_TYPES` weighs its weight times the
share of its holders inside the campaign; the account joins the campaign where that
tie is largest (ties: the lowest id) when it reaches ``entity_attach_weight`` over at
least ``entity_attach_min`` entities. Its score is the campaign's score times
``min(1, evidence / full_attachment)`` (:func:`linkage.score.score_accounts`), where
evidence sums the same product over every indexed entity it shares with the campaign;
it is flagged at the result's ``flag_threshold``.

New accounts are scored one pass against the result's members: a replacement created
on another new account's card is not followed (detection's second attachment round).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.errors import LinkageError
from linkage.graph import Workspace
from linkage.graph.project import ATTACH_TYPES
from linkage.graph.templates import template_id
from linkage.ingest import IngestSummary, ingest
from linkage.ingest.records import validate_account, validate_records
from linkage.result import INDEX_TABLE, ResultDir
from linkage.result.connect import configure
from linkage.review import (
    Applied,
    Decision,
    DecisionLog,
    account_applied,
    apply_flags,
    result_decisions,
)
from linkage.score.keys import Keys, account_keys, record_keys
from linkage.score.scoring import FEATURES, score_accounts

__all__ = [
    "SCORE_COLUMNS",
    "Campaign",
    "CampaignIndex",
    "ScoreRow",
    "ScoreRun",
    "Scorer",
    "attribute",
    "score_new",
]

SCORE_COLUMNS = ("account_id", "campaign_id", "score", "flagged", "reasons")
"""The columns of a ``linkage score`` row (contract v2)."""

_SEP = "\x1f"
"""Between entity type and key in the index's look-up keys (sorts below any text)."""

_CAMPAIGN_REASONS = 2
"""The campaign's own reasons repeated in an attached account's reasons."""

_SHOWN_PER_TYPE = 2
"""Values named per entity type in a reason; the rest are counted."""

_TYPE_NAMES = {
    "card": ("card fingerprint", "card fingerprints"),
    "device": ("device", "devices"),
    "api_key": ("API key", "API keys"),
    "identifier": ("identifier", "identifiers"),
    "ip": ("address", "addresses"),
    "prefix": ("network", "networks"),
    "bin": ("card BIN", "card BINs"),
    "email_domain": ("email domain", "email domains"),
    "template": ("prompt template", "prompt templates"),
}


@dataclass(frozen=True)
class Rule:
    """The result's attachment and flagging settings (its ``settings.json``)."""

    attach_weight: float
    attach_min: int
    full_attachment: float
    flag_threshold: float


@dataclass(frozen=True)
class Campaign:
    """What a tied account's row takes from its campaign."""

    score: float
    size: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CampaignIndex:
    """A result's ``campaign_index`` in memory, in plain dicts and arrays: looking up an
    account's keys is a dict access per key, no query."""

    positions: dict[str, int]
    """Each distinct ``type␟key`` and its number ``i``: its rows are
    ``starts[i]:starts[i] + counts[i]`` of :attr:`columns`."""
    starts: np.ndarray
    counts: np.ndarray
    columns: dict[str, np.ndarray]
    """``campaign_id, entity_type, entity, members`` of the rows in ``(entity_type,
    entity, campaign_id)`` order, with ``tie`` (weight x members / accounts) and
    ``attach`` (an entity of :data:`~linkage.graph.project.ATTACH_TYPES`)."""
    campaigns: dict[str, Campaign]
    known: pd.Index
    """The result's account ids (skipped unless asked to score every account)."""
    rule: Rule
    types: frozenset[str]
    """The entity types the index holds (keys of other types cannot match)."""

    @classmethod
    def load(cls, result_dir: str | Path) -> CampaignIndex:
        """Read the index of a complete result (refused when it predates the index)."""
        result = ResultDir.open(result_dir)
        s = result.settings()
        with result.connect((INDEX_TABLE,)) as con:
            rows = con.execute(
                f"""SELECT campaign_id, entity_type, entity, kind, weight, members, accounts
                    FROM {INDEX_TABLE} ORDER BY entity_type, entity, campaign_id"""
            ).df()
            known = con.execute("SELECT account_id FROM graph_accounts ORDER BY aid").df()
        camps = result.read_campaigns().set_index("campaign_id")[["score", "size", "reasons"]]
        rule = Rule(
            s.entity_attach_weight, s.entity_attach_min, s.full_attachment, s.flag_threshold
        )
        return cls.from_rows(rows, camps, pd.Index(known.account_id), rule)

    @classmethod
    def from_rows(
        cls, rows: pd.DataFrame, campaigns: pd.DataFrame, known: pd.Index, rule: Rule
    ) -> CampaignIndex:
        """An index over ``rows`` (ordered by ``entity_type, entity``) and ``campaigns``
        (``score``, ``size`` and ``reasons`` by ``campaign_id``)."""
        rows = rows.reset_index(drop=True)
        share = rows.members / rows.accounts.clip(lower=1)
        flat = (rows.entity_type + _SEP + rows.entity).to_numpy(dtype=object)
        first = np.ones(len(flat), dtype=bool)
        first[1:] = flat[1:] != flat[:-1]
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, len(flat)))
        positions = dict(zip(flat[starts].tolist(), range(len(starts)), strict=True))
        if len(positions) != len(starts):
            raise LinkageError(f"{INDEX_TABLE} is not ordered by entity; run detect again")
        columns = {
            "campaign_id": rows.campaign_id.to_numpy(dtype=object),
            "entity_type": rows.entity_type.to_numpy(dtype=object),
            "entity": rows.entity.to_numpy(dtype=object),
            "members": rows.members.to_numpy(np.int64),
            "tie": (rows.weight * share).to_numpy(np.float64),
            "attach": rows.entity_type.isin(ATTACH_TYPES).to_numpy(),
        }
        camps = {
            str(cid): Campaign(float(c.score), int(c.size), tuple(c.reasons))
            for cid, c in campaigns.iterrows()
        }
        types = frozenset(columns["entity_type"].tolist())
        return cls(positions, starts, counts, columns, camps, known, rule, types)

    def match(
        self, entity_type: np.ndarray, entity: np.ndarray, account: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The index rows (:attr:`columns`) of each key ``(entity_type[i], entity[i])``,
        with ``account``: the ``account[i]`` of the key that found them."""
        flat = entity_type.astype(object) + _SEP + entity.astype(object)
        get = self.positions.get
        pos = np.fromiter((get(k, -1) for k in flat), np.int64, len(flat))
        hit = np.flatnonzero(pos >= 0)
        counts = self.counts[pos[hit]]
        starts = self.starts[pos[hit]]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        take = np.repeat(starts, counts) + offsets
        found_by = account[np.repeat(hit, counts)]
        order = np.lexsort((take, found_by))  # the index's order, whatever the keys' order
        out = {name: col[take[order]] for name, col in self.columns.items()}
        out["account"] = found_by[order]
        return out


class ScoreRow(NamedTuple):
    """One row of ``linkage score`` (:data:`SCORE_COLUMNS`)."""

    account_id: str
    campaign_id: str | None
    score: float
    flagged: bool
    reasons: list[str]


@dataclass
class Decisions:
    """Investigators' decisions on one result's campaigns and accounts
    (:func:`linkage.review.result_decisions`), read again when the log changes."""

    campaigns: pd.DataFrame
    """The result's ``campaign_id`` and ``contributions``."""
    applied: pd.DataFrame
    """The result's ``decisions.parquet``."""
    log: DecisionLog | None
    reopen_margin: float
    min_attachment: float
    _stamp: tuple[int, int] | None = None
    _now: tuple[dict[str, Applied], dict[str, Decision]] | None = None

    @classmethod
    def load(cls, result: ResultDir, log: DecisionLog | None) -> Decisions:
        s = result.settings()
        campaigns = result.read_campaigns()[["campaign_id", "contributions"]]
        applied = result.read_decisions()
        return cls(campaigns, applied, log, s.reopen_abuse_margin, s.confirmed_min_attachment)

    def now(self) -> tuple[dict[str, Applied], dict[str, Decision]]:
        """Campaign id -> the decision that reaches it; account id -> its own decision."""
        stamp = self.log.stamp() if self.log is not None else None
        if self._now is None or stamp != self._stamp:
            current = self.log.current() if self.log is not None else {}
            self._now = result_decisions(
                self.campaigns, self.applied, current, ABUSE_FEATURES, self.reopen_margin
            )
            self._stamp = stamp
        return self._now


ABUSE_FEATURES = tuple(f.name for f in FEATURES if f.role == "abuse")


def attribute(
    accounts: Iterable[str], keys: Keys, index: CampaignIndex, decisions: Decisions | None = None
) -> pd.DataFrame:
    """One row per account of ``accounts`` (:data:`SCORE_COLUMNS`): the campaign its
    ``keys`` tie it to by the attachment rule, its score, flag and reasons; sorted by
    score descending, then account id. Columnar (numpy) but for the reasons of the
    accounts that share anything, so one account and ten thousand take the same path.
    With ``decisions``, investigators' decisions change flags and come first in the
    reasons, as in detection (:func:`linkage.review.apply_flags`)."""
    return pd.DataFrame(_attribute(accounts, keys, index, decisions), columns=list(SCORE_COLUMNS))


def _attribute(
    accounts: Iterable[str], keys: Keys, index: CampaignIndex, decisions: Decisions | None
) -> dict[str, Any]:
    """The columns of :func:`attribute`."""
    rule = index.rule
    ids = np.array(list(dict.fromkeys(accounts)), dtype=object)
    number = {a: i for i, a in enumerate(ids.tolist())}
    of_key = np.fromiter((number.get(a, -1) for a in keys.account_id), np.int64, len(keys))
    mine = of_key >= 0
    m = index.match(keys.entity_type[mine], keys.entity[mine], of_key[mine])
    acct, tie = m["account"], m["tie"]
    camps, camp = np.unique(m["campaign_id"], return_inverse=True)  # a lower code: lower id
    pair = acct.astype(np.int64) * max(1, len(camps)) + camp
    pairs, ties, n_ent, best = _best_pairs(pair, tie, m["attach"], len(camps), len(ids))
    # index -1 (no pair) reads the padding: no tie, no entity, no campaign
    ties, n_ent = np.concatenate([ties, [0.0]]), np.concatenate([n_ent, [0]])
    code = np.concatenate([pairs % max(1, len(camps)), [-1]])[best]
    ok = (ties[best] >= rule.attach_weight) & (n_ent[best] >= rule.attach_min)
    code[~ok] = -1
    names = np.concatenate([camps.astype(object), [None]])
    # evidence: weight x share over every indexed entity shared with the campaign
    inside = ok[acct] & (pair == np.concatenate([pairs, [-1]])[best[acct]])
    evidence = np.bincount(acct[inside], tie[inside], minlength=len(ids))
    known = index.campaigns
    camp_score = np.array([known[c].score if c in known else 0.0 for c in camps], np.float64)
    score = score_accounts(
        code,
        camp_score if len(camp_score) else np.zeros(1),
        np.zeros(len(ids)),
        evidence,
        rule.full_attachment,
    )
    # reasons: the rows of each account's best pair, in pair order
    by_pair = np.argsort(pair, kind="stable")
    cols = (
        pair[by_pair],
        m["entity_type"][by_pair],
        m["entity"][by_pair],
        tie[by_pair],
        m["members"][by_pair],
    )
    reasons: list[list[str]] = [[_NOTHING]] * len(ids)
    for i in np.flatnonzero(best >= 0):
        b = best[i]
        lo, hi = np.searchsorted(cols[0], [pairs[b], pairs[b] + 1])
        rows = list(zip(*(c[lo:hi] for c in cols[1:]), strict=True))
        reasons[i] = _reasons(
            bool(ok[i]), camps[pairs[b] % len(camps)], ties[b], int(n_ent[b]), rows, index
        )
    flagged = ok & (score >= rule.flag_threshold)
    if decisions is not None:
        flagged = _decided(ids, names[code], score, flagged, reasons, index, decisions)
    order = np.lexsort((ids.astype(str), -score))
    return {
        "account_id": ids[order],
        "campaign_id": names[code][order],
        "score": score[order],
        "flagged": flagged[order],
        "reasons": [reasons[i] for i in order],
    }


def _decided(
    ids: np.ndarray,
    campaign: np.ndarray,
    score: np.ndarray,
    flagged: np.ndarray,
    reasons: list[list[str]],
    index: CampaignIndex,
    decisions: Decisions,
) -> np.ndarray:
    """``flagged`` after the decisions in force; each decided row's ``reasons`` start
    with what decided it (the account's own decision, else its campaign's)."""
    camps, mine = decisions.now()
    if not camps and not mine:
        return flagged
    present = {c for c in campaign.tolist() if c is not None}
    camp_score = {c: index.campaigns[c].score for c in present if c in index.campaigns}
    out = apply_flags(
        ids, campaign, score, flagged, camp_score, camps, mine, decisions.min_attachment
    )
    own = {a.id: a.reason for a in account_applied(ids.tolist(), mine)}
    for i, (account, cid) in enumerate(zip(ids.tolist(), campaign.tolist(), strict=True)):
        said = own.get(account) or (camps[cid].reason if cid in camps else None)
        if said is not None:
            reasons[i] = [said, *reasons[i]]
    return out


def _best_pairs(
    pair: np.ndarray, tie: np.ndarray, attach: np.ndarray, n_camps: int, n_accounts: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(pairs, ties, entities, best)``: the distinct (account, campaign) ``pair`` codes
    of the matched rows, each pair's tie and entities over the attachment types, and the
    position in ``pairs`` of each account's best pair (largest tie, then lowest campaign;
    -1 when it shares no attachment entity)."""
    pairs, of_row = np.unique(pair, return_inverse=True)
    ties = np.bincount(of_row, np.where(attach, tie, 0.0), minlength=len(pairs))
    n_ent = np.bincount(of_row, attach.astype(np.int64), minlength=len(pairs))
    p_acct, p_camp = pairs // max(1, n_camps), pairs % max(1, n_camps)
    cand = np.flatnonzero(n_ent > 0)
    cand = cand[np.lexsort((p_camp[cand], -ties[cand], p_acct[cand]))]
    first = cand[np.r_[True, p_acct[cand][1:] != p_acct[cand][:-1]]] if len(cand) else cand
    best = np.full(n_accounts, -1, np.int64)
    best[p_acct[first]] = first
    return pairs, ties, n_ent, best


_NOTHING = "shares no card, device, key, identifier or address with a known campaign"

Row = tuple[str, str, float, int]
"""A shared entity: type, key, weight x share, members holding it."""


def _reasons(
    tied: bool, campaign_id: str, tie: float, entities: int, rows: list[Row], index: CampaignIndex
) -> list[str]:
    """What the account shares with its best campaign, strongest first, and the
    campaign's own strongest reasons; or why that is not enough to tie it."""
    rule = index.rule
    needs = f"attachment needs {rule.attach_weight:g} over {rule.attach_min}"
    if not tied:
        return [
            f"tied to no known campaign: shares only {_shared(rows)} with campaign "
            f"{campaign_id} (tie {tie:.2f} over {entities}, {needs})"
        ]
    camp = index.campaigns[campaign_id]
    held = max(r[3] for r in rows if r[0] in ATTACH_TYPES)
    own = camp.reasons[:_CAMPAIGN_REASONS]
    return [
        f"shares {_shared(rows)} with campaign {campaign_id} "
        f"(held by up to {held} of its {camp.size} accounts)",
        f"tied to it by {tie:.2f} over {entities} cards, devices, keys, identifiers and "
        f"addresses ({needs})",
        *(f"campaign {campaign_id}: {r}" for r in own),
    ]


def _shared(rows: list[Row]) -> str:
    """``card fingerprint f1, device d1 and 3 addresses``: each type's values, the
    strongest types first (ties by name, so the order of ``rows`` does not matter)."""
    by_type: dict[str, list[tuple[float, str]]] = {}
    for etype, entity, tie, _ in rows:
        by_type.setdefault(etype, []).append((tie, entity))
    parts = []
    for etype, values in sorted(by_type.items(), key=lambda kv: (-sum(t for t, _ in kv[1]), kv[0])):
        one, many = _TYPE_NAMES.get(etype, (etype, etype))
        names = [_short(e) for _, e in sorted(values, key=lambda v: (-v[0], v[1]))]
        if len(names) == 1:
            parts.append(f"{one} {names[0]}")
        elif len(names) <= _SHOWN_PER_TYPE:
            parts.append(f"{many} {', '.join(names)}")
        else:
            parts.append(f"{len(names)} {many}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass
class ScoreRun:
    """What :meth:`Scorer.score_data_dir` scored and skipped."""

    rows: pd.DataFrame
    """One row per scored account (:data:`SCORE_COLUMNS`)."""
    accounts: int
    """Accounts in the data directory (kept by ingest)."""
    skipped_known: int
    """Accounts the result already knows, not scored (without ``all_accounts``)."""
    ingest: IngestSummary
    warnings: list[str] = field(default_factory=list)

    @property
    def tied(self) -> int:
        return int(self.rows.campaign_id.notna().sum())

    @property
    def flagged(self) -> int:
        return int(self.rows.flagged.sum())

    def table(self) -> pa.Table:
        """The rows in the contract's types."""
        r = self.rows
        return pa.table(
            {
                "account_id": pa.array(r.account_id, pa.string()),
                "campaign_id": pa.array(r.campaign_id, pa.string(), from_pandas=True),
                "score": pa.array(r.score, pa.float64()),
                "flagged": pa.array(r.flagged, pa.bool_()),
                "reasons": pa.array(r.reasons.tolist(), pa.list_(pa.string())),
            }
        )


class Scorer:
    """Scores accounts against one result's campaigns; the index stays in memory, so
    scoring one account runs no query (the service keeps one per result)."""

    def __init__(self, index: CampaignIndex, decisions: Decisions | None = None) -> None:
        self.index = index
        self.decisions = decisions
        self._con = configure(duckdb.connect(":memory:"))
        self._con.execute("SET threads = 1")
        template_id("\u0130")  # reads DuckDB's case table now, not on a request

    @classmethod
    def open(cls, result_dir: str | Path, log: DecisionLog | None = None) -> Scorer:
        """The scorer of a result: its index, and the decisions its run applied and
        (with ``log``) those investigators make later on its campaigns and accounts."""
        return cls(CampaignIndex.load(result_dir), Decisions.load(ResultDir.open(result_dir), log))

    def close(self) -> None:
        self._con.close()

    def score_data_dir(self, data_dir: str | Path, *, all_accounts: bool = False) -> ScoreRun:
        """Ingest ``data_dir`` (contract input; it may hold only the new accounts and
        their rows) into a temporary store and score its accounts, those the result
        does not know unless ``all_accounts``."""
        with tempfile.TemporaryDirectory(prefix="linkage-score-") as tmp:
            summary = ingest(Path(data_dir), Path(tmp))
            with Workspace.open(Path(tmp), read_only=True) as ws:
                ids = ws.execute("SELECT account_id FROM accounts ORDER BY account_id").df()
                keys = account_keys(ws)
        ids = ids.account_id
        known = ids.isin(self.index.known) if not all_accounts else np.zeros(len(ids), bool)
        rows = attribute(ids[~known], keys, self.index, self.decisions)
        warnings = [
            f"{t.rows_quarantined:,} rows of {name} quarantined ("
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(t.reasons.items()))
            + ")"
            for name, t in summary.tables.items()
            if t.rows_quarantined
        ]
        return ScoreRun(rows, len(ids), int(known.sum()), summary, warnings)

    def score_records(self, tables: dict[str, list[dict[str, object]]]) -> pd.DataFrame:
        """Score the accounts of ``{table: rows}`` held in memory (contract columns),
        validated as ingest validates (:class:`~linkage.errors.ContractError` naming a
        bad row); nothing is written."""
        valid = validate_records(tables)
        con = self._con.cursor()
        try:
            for name in _RECORD_TABLES:
                con.register(name, valid[name])
            keys = account_keys(Workspace(con))
        finally:
            con.close()
        accounts = valid["accounts"].column("account_id").to_pylist()
        return attribute(accounts, keys, self.index, self.decisions)

    def score_account(self, tables: Records) -> ScoreRow:
        """Score one account's records (``accounts`` holds one row): its row
        (:data:`SCORE_COLUMNS`), as :meth:`score_records` scores it, in plain Python
        but for the rule (:func:`~linkage.ingest.records.validate_account`,
        :func:`~linkage.score.keys.record_keys`); raises the same
        :class:`~linkage.errors.ContractError`."""
        rows = validate_account(tables)
        keys = record_keys(rows, self.index.types)
        c = _attribute([rows["accounts"][0]["account_id"]], keys, self.index, self.decisions)
        return ScoreRow(
            c["account_id"][0],
            c["campaign_id"][0],
            float(c["score"][0]),
            bool(c["flagged"][0]),
            c["reasons"][0],
        )


Records = dict[str, list[dict[str, object]]]
"""``{table: rows}`` of contract columns, as :meth:`Scorer.score_records` takes them."""

_RECORD_TABLES = ("accounts", "requests", "payments", "identifiers")


def score_new(
    result_dir: str | Path,
    data_dir: str | Path,
    *,
    all_accounts: bool = False,
    decisions: DecisionLog | None = None,
) -> ScoreRun:
    """Score the accounts of ``data_dir`` that ``result_dir`` does not know (all of
    them with ``all_accounts``) against its campaigns (:class:`Scorer`), with the
    decisions the result's run applied and those logged since in ``decisions``."""
    scorer = Scorer.open(result_dir, decisions)
    try:
        return scorer.score_data_dir(data_dir, all_accounts=all_accounts)
    finally:
        scorer.close()
