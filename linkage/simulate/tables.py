"""The small contract tables of a simulation: accounts, payments, identifiers,
ip_intel and labels."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from linkage.simulate.population import DAY, KINDS, POPULATIONS, Population
from linkage.simulate.world import World

__all__ = [
    "accounts_table",
    "identifiers_table",
    "ip_intel_table",
    "labels_table",
    "payments_table",
]

_TS = pa.timestamp("us", tz="UTC")
_COMPANY_BILLED = [POPULATIONS.index(k) for k in ("company", "eval_team", "saas", "front_company")]


def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64) * 1_000_000, _TS)


def accounts_table(p: Population) -> pa.Table:
    """One row per account, in the population's (shuffled) order."""
    banned_at = pa.array(np.asarray(p.end, dtype=np.int64) * 1_000_000, _TS, mask=~p.banned)
    return pa.table(
        {
            "account_id": pa.array(p.account_id, pa.string()),
            "created_at": _ts(p.created),
            "email_domain": pa.array(p.email_domain, pa.string()),
            "country": pa.array(p.country, pa.string()),
            "status": pa.array(np.where(p.banned, "banned", "active"), pa.string()),
            "banned_at": banned_at,
        }
    )


def payments_table(p: Population, start: int, rng: np.random.Generator) -> pa.Table:
    """An attach event plus 0-2 charges per account that has an instrument."""
    has = np.flatnonzero(p.card >= 0)
    n_rows = 1 + rng.integers(0, 3, len(has))
    acc = np.repeat(has, n_rows)
    first = np.concatenate([[True], acc[1:] != acc[:-1]])
    t0 = p.created[acc].astype(np.float64)
    active_from = np.maximum(t0, start)
    t = np.where(
        first,
        t0 + rng.uniform(0, 3600, len(acc)),
        active_from + rng.random(len(acc)) * (p.end[acc] - active_from),
    )
    campaign = p.kind[acc] == KINDS.index("campaign")
    company = np.isin(p.population[acc], _COMPANY_BILLED)
    amount = np.round(
        rng.lognormal(np.log(np.where(company, 400.0, np.where(campaign, 10.0, 20.0))), 0.5), 2
    )
    steady = np.flatnonzero((p.population == POPULATIONS.index("eval_team")) & (p.card >= 0))
    if len(steady):  # an enterprise card is charged every week, the same amount
        weeks = np.arange(start, p.end.max(), 7 * DAY)
        acc = np.concatenate([acc, np.repeat(steady, len(weeks))])
        t = np.concatenate([t, np.tile(weeks + 9 * 3600, len(steady))])
        base = np.round(rng.lognormal(np.log(400.0), 0.3, len(steady)), 2)
        amount = np.concatenate([amount, np.repeat(base, len(weeks))])
    card = p.card[acc]
    card_fp = pa.array(p.card_fp, pa.string())
    return pa.table(
        {
            "account_id": pa.array(p.account_id[acc], pa.string()),
            "ts": _ts(t.astype(np.int64)),
            "instrument_fp": card_fp.take(pa.array(card)),
            "bin": pa.array(p.card_bin, pa.string()).take(pa.array(card)),
            "card_country": pa.array(p.card_country, pa.string()).take(pa.array(card)),
            "amount_usd": pa.array(amount),
        }
    )


def identifiers_table(p: Population) -> pa.Table:
    """Phone-number hashes, organisation ids and referral codes."""
    parts = []
    for kind, idx, texts in (
        ("phone_hash", p.phone, p.phone_text),
        ("org_id", p.org, p.org_text),
        ("referral_code", p.referral, p.referral_text),
    ):
        acc = np.flatnonzero(idx >= 0)
        parts.append(
            pa.table(
                {
                    "account_id": pa.array(p.account_id[acc], pa.string()),
                    "kind": pa.array([kind] * len(acc), pa.string()),
                    "value": pa.array(texts, pa.string()).take(pa.array(idx[acc])),
                    "ts": _ts(p.created[acc]),
                }
            )
        )
    return pa.concat_tables(parts)


def ip_intel_table(world: World) -> pa.Table:
    return pa.Table.from_pandas(world.intel_frame(), preserve_index=False)


def labels_table(p: Population) -> pa.Table:
    """Ground truth: each account's campaign (null for legitimate accounts), its
    ``population`` (see :data:`~linkage.simulate.accounts.POPULATIONS`) and ``group_id``:
    the legitimate group (``company-3``, ``class-0``, ``eval-1`` ...) or campaign it
    belongs to, null for accounts on their own."""
    names = np.array([*p.campaign_names, None], dtype=object)
    return pa.table(
        {
            "account_id": pa.array(p.account_id, pa.string()),
            "campaign_id": pa.array(names[p.campaign], pa.string()),
            "population": pa.array(np.array(POPULATIONS, dtype=object)[p.population], pa.string()),
            "group_id": pa.array(p.group_name, pa.string()),
        }
    )
