"""Score new accounts against the campaigns a result already knows, without detecting
again (``linkage score``, the service's ``POST /score``).

``detect`` leaves ``campaign_index`` in the result store: the cards, devices, keys,
identifiers, addresses, networks, BINs, email domains and templates that reported
campaigns' members hold, each with its weight, its holders among the members and in
all. A new account's entities are keyed as detection keys them (ingest's
normalisation, :func:`linkage.graph.build_events`, the template ids of
:mod:`linkage.graph.templates`), looked up in the index, and the attachment rule of
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.errors import LinkageError
from linkage.graph import Workspace, build_events
from linkage.graph.project import ATTACH_TYPES
from linkage.graph.templates import skeleton_sql, template_id_sql
from linkage.ingest import IngestSummary, ingest
from linkage.ingest.records import validate_records
from linkage.ingest.store import STORE_VERSION
from linkage.result import INDEX_TABLE, INDEX_TYPES, ResultDir
from linkage.result.connect import configure
from linkage.score.scoring import score_accounts

__all__ = [
    "SCORE_COLUMNS",
    "CampaignIndex",
    "ScoreRun",
    "Scorer",
    "account_keys",
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
class CampaignIndex:
    """A result's ``campaign_index`` in memory, for look-ups by ``(type, key)``."""

    rows: pd.DataFrame
    """``campaign_id, entity_type, entity, kind, weight, members, accounts`` in
    ``(entity_type, entity, campaign_id)`` order, with ``share`` (members / accounts)."""
    keys: pd.Index
    """The distinct ``type␟key`` of ``rows``; the rows of key ``i`` are
    ``starts[i]:starts[i] + counts[i]``."""
    starts: np.ndarray
    counts: np.ndarray
    campaigns: pd.DataFrame
    """``score``, ``size`` and ``reasons`` by ``campaign_id``."""
    known: pd.Index
    """The result's account ids (skipped unless asked to score every account)."""
    rule: Rule

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
        """An index over ``rows`` (ordered by ``entity_type, entity``)."""
        rows = rows.reset_index(drop=True)
        rows["share"] = rows.members / rows.accounts.clip(lower=1)
        flat = (rows.entity_type + _SEP + rows.entity).to_numpy(dtype=object)
        first = np.ones(len(flat), dtype=bool)
        first[1:] = flat[1:] != flat[:-1]
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, len(flat)))
        keys = pd.Index(flat[starts])
        if not keys.is_unique:
            raise LinkageError(f"{INDEX_TABLE} is not ordered by entity; run detect again")
        return cls(rows, keys, starts, counts, campaigns, known, rule)

    def match(self, keys: pd.DataFrame) -> pd.DataFrame:
        """The index rows of each ``(account_id, entity_type, entity)`` of ``keys``, with
        its ``account_id``."""
        flat = (keys.entity_type + _SEP + keys.entity).to_numpy(dtype=object)
        pos = self.keys.get_indexer(flat) if len(flat) else np.zeros(0, np.int64)
        hit = np.flatnonzero(pos >= 0)
        counts = self.counts[pos[hit]]
        starts = self.starts[pos[hit]]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = self.rows.iloc[np.repeat(starts, counts) + offsets].reset_index(drop=True)
        rows.insert(0, "account_id", keys.account_id.to_numpy()[np.repeat(hit, counts)])
        return rows


def account_keys(ws: Workspace) -> pd.DataFrame:
    """``(account_id, entity_type, entity)`` of the indexed types for every account of
    the store on ``ws``, keyed as detection keys them: the ``events`` of
    :func:`linkage.graph.build_events`, and each prompt's template id (whether or not
    the template is shared here: the index says which are)."""
    build_events(ws)
    return ws.execute(
        f"""
        SELECT a.account_id, e.etype AS entity_type, e.ekey AS entity
        FROM events e JOIN acct a USING (aid) WHERE list_contains(?::VARCHAR[], e.etype)
        UNION
        SELECT a.account_id, 'template', {template_id_sql("p.skeleton")}
        FROM (SELECT DISTINCT aid, {skeleton_sql("prompt_text")} AS skeleton
              FROM req WHERE prompt_text IS NOT NULL) p JOIN acct a USING (aid)
        """,
        [list(INDEX_TYPES)],
    ).df()


def attribute(accounts: pd.Series, keys: pd.DataFrame, index: CampaignIndex) -> pd.DataFrame:
    """One row per account of ``accounts`` (:data:`SCORE_COLUMNS`): the campaign its
    ``keys`` tie it to by the attachment rule, its score, flag and reasons; sorted by
    score descending, then account id."""
    rule = index.rule
    matched = index.match(keys[keys.account_id.isin(accounts)])
    matched["tie"] = matched.weight * matched.share
    attach = matched[matched.entity_type.isin(ATTACH_TYPES)]
    ties = (
        attach.groupby(["account_id", "campaign_id"], sort=False)
        .agg(tie=("tie", "sum"), entities=("tie", "size"))
        .reset_index()
        .sort_values(["account_id", "tie", "campaign_id"], ascending=[True, False, True])
    )
    best = ties.drop_duplicates("account_id").set_index("account_id")
    tied = best[(best.tie >= rule.attach_weight) & (best.entities >= rule.attach_min)]
    out = pd.DataFrame({"account_id": pd.Series(accounts, dtype=object).drop_duplicates()})
    out["campaign_id"] = tied.campaign_id.reindex(out.account_id).to_numpy()
    out["score"] = _scores(out, _evidence(matched, tied), index)
    out["flagged"] = out.campaign_id.notna() & (out.score >= rule.flag_threshold)
    by_account = dict(tuple(matched.groupby("account_id", sort=False)))
    out["reasons"] = [
        _reasons(aid, cid, by_account.get(aid), best, index)
        for aid, cid in zip(out.account_id, out.campaign_id, strict=True)
    ]
    out = out.sort_values(["score", "account_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)[list(SCORE_COLUMNS)]


def _evidence(matched: pd.DataFrame, tied: pd.DataFrame) -> pd.Series:
    """Each tied account's evidence inside its campaign: weight x share summed over
    every indexed entity it shares with it."""
    pairs = pd.DataFrame({"account_id": tied.index, "campaign_id": tied.campaign_id.to_numpy()})
    inside = matched.merge(pairs, on=["account_id", "campaign_id"])
    return inside.groupby("account_id").tie.sum()


def _scores(out: pd.DataFrame, evidence: pd.Series, index: CampaignIndex) -> np.ndarray:
    """Campaign score x attachment (:func:`score_accounts`, with no edges of their own)."""
    codes, uniques = pd.factorize(out.campaign_id)
    camp_score = index.campaigns.score.reindex(uniques).fillna(0).to_numpy(np.float64)
    n = len(out)
    return score_accounts(
        codes,
        camp_score if len(camp_score) else np.zeros(1),
        np.zeros(n),
        evidence.reindex(out.account_id).fillna(0).to_numpy(np.float64),
        index.rule.full_attachment,
    )


def _reasons(
    account_id: str,
    campaign_id: Any,
    matched: pd.DataFrame | None,
    best: pd.DataFrame,
    index: CampaignIndex,
) -> list[str]:
    """What the account shares with its campaign, strongest first, then the campaign's
    own strongest reasons; or why it is tied to none."""
    rule = index.rule
    if isinstance(campaign_id, str) and matched is not None:
        mine = matched[matched.campaign_id == campaign_id]
        camp = index.campaigns.loc[campaign_id]
        row = best.loc[account_id]
        reasons = [
            f"shares {_shared(mine)} with campaign {campaign_id} "
            f"(held by up to {_most_held(mine)} of its {int(camp['size'])} accounts)",
            f"tied to it by {row.tie:.2f} over {int(row.entities)} cards, devices, keys, "
            f"identifiers and addresses (attachment needs {rule.attach_weight:g} over "
            f"{rule.attach_min})",
        ]
        own = list(camp.reasons)[:_CAMPAIGN_REASONS]
        return reasons + [f"campaign {campaign_id}: {r}" for r in own]
    if matched is None or account_id not in best.index:
        return ["shares no card, device, key, identifier or address with a known campaign"]
    row = best.loc[account_id]
    weak = matched[matched.campaign_id == row.campaign_id]
    return [
        f"tied to no known campaign: shares only {_shared(weak)} with campaign "
        f"{row.campaign_id} (tie {row.tie:.2f} over {int(row.entities)}; attachment needs "
        f"{rule.attach_weight:g} over {rule.attach_min})"
    ]


def _most_held(rows: pd.DataFrame) -> int:
    """The most members holding one of the account's cards, devices, keys, identifiers
    or addresses."""
    return int(rows[rows.entity_type.isin(ATTACH_TYPES)].members.max())


def _shared(rows: pd.DataFrame) -> str:
    """``card fingerprint f1, device d1 and 3 addresses``: each type's values, the
    strongest types first."""
    parts = []
    order = rows.groupby("entity_type").tie.sum().sort_values(ascending=False)
    for etype in order.index:
        values = rows[rows.entity_type == etype].sort_values("tie", ascending=False)
        one, many = _TYPE_NAMES.get(etype, (etype, etype))
        if len(values) == 1:
            parts.append(f"{one} {_short(values.entity.iloc[0])}")
        elif len(values) <= _SHOWN_PER_TYPE:
            parts.append(f"{many} {', '.join(_short(v) for v in values.entity)}")
        else:
            parts.append(f"{len(values)} {many}")
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
    scoring one account is a few small queries (the service keeps one per result)."""

    def __init__(self, index: CampaignIndex) -> None:
        self.index = index
        self._con = configure(duckdb.connect(":memory:"))
        self._con.execute("SET threads = 1")

    @classmethod
    def open(cls, result_dir: str | Path) -> Scorer:
        return cls(CampaignIndex.load(result_dir))

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
        rows = attribute(ids[~known], keys, self.index)
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
        meta = pa.table({"store_version": pa.array([STORE_VERSION], pa.int32())})
        con = self._con.cursor()
        try:
            for name, table in {**valid, "ingest_meta": meta}.items():
                con.register(name, table)
            keys = account_keys(Workspace(con))
        finally:
            con.close()
        return attribute(valid["accounts"].column("account_id").to_pandas(), keys, self.index)


def score_new(
    result_dir: str | Path, data_dir: str | Path, *, all_accounts: bool = False
) -> ScoreRun:
    """Score the accounts of ``data_dir`` that ``result_dir`` does not know (all of
    them with ``all_accounts``) against its campaigns (:class:`Scorer`)."""
    scorer = Scorer.open(result_dir)
    try:
        return scorer.score_data_dir(data_dir, all_accounts=all_accounts)
    finally:
        scorer.close()
