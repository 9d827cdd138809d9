"""Builders of the coordinated (Hydra) campaigns: sign-up and churn chains,
proxy networks, spoofed devices, virtual cards and extraction templates."""

from __future__ import annotations

import math

import numpy as np

from linkage.simulate.accounts import (
    CAMPAIGN_UAS,
    COUNTRIES,
    COUNTRY_P,
    DAY,
    DISPOSABLE,
    HOUR,
    KIND,
    POPULATION,
    TIMING,
)
from linkage.simulate.context import BuildContext, Channels
from linkage.simulate.legit import company_egress
from linkage.simulate.prompts import EXTRACTION_TEMPLATES
from linkage.simulate.scenario import CampaignSpec, Scenario

__all__ = ["Chain", "add_campaign", "campaign_chain"]

Chain = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""A campaign's accounts as (slot, created, end, banned, parent); ``parent`` is, for a
replacement account created after a mass ban, the campaign-local index of the banned
account whose card, phone and devices it reuses, and -1 otherwise."""


def _bursts(spec: CampaignSpec, start: int, end: int, rng: np.random.Generator) -> np.ndarray:
    """Sign-up burst times: inside the first part of the window, or before it."""
    if spec.account_age_days > 0:
        first = start - spec.account_age_days * DAY
        c_start = first + rng.uniform(0, 0.2) * (start - first)
        last = c_start + 0.5 * (start - c_start)
    else:
        c_start = start + rng.uniform(0, 0.2) * (end - start)
        last = c_start + 0.5 * (end - c_start)
    return np.sort(np.concatenate([[c_start], rng.uniform(c_start, last, spec.signup_bursts - 1)]))


def campaign_chain(
    spec: CampaignSpec, sc: Scenario, start: int, end: int, rng: np.random.Generator
) -> Chain:
    """Accounts of one campaign as (slot, created, end, banned, parent).

    Accounts sign up in bursts; with churn each account lives an exponential
    lifetime, is banned, and its slot is refilled hours later by a new account
    on the same infrastructure (same cards, phones, proxies). A mass ban then
    ends every live account at once, and replacements regrow near the end.
    """
    target = max(spec.min_accounts, round(spec.accounts_frac * sc.accounts))
    bursts = _bursts(spec, start, end, rng)
    spread = spec.signup_spread_hours * HOUR
    life = spec.churn_lifetime_days
    if life is None:
        first = (
            bursts[rng.integers(0, len(bursts), target)] + rng.uniform(0, spread, target)
        ).astype(np.int64)
        chain = (np.arange(target), first, np.full(target, end, np.int64), np.zeros(target, bool))
    else:
        chain = _churn(target, bursts, life, spread, end, rng)
    if spec.mass_ban_at is None:
        return (*chain, np.full(len(chain[0]), -1, np.int64))
    return _mass_ban(spec, chain, start, end, rng)


def _churn(
    target: int,
    bursts: np.ndarray,
    life: float,
    spread: float,
    end: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ban-and-replace chains over enough slots to give ``target`` accounts."""
    mean_rest = 0.6 * (end - bursts[0]) / DAY
    n_slots = max(1, math.ceil(target / (1 + mean_rest / life)))
    while True:
        slots: list[int] = []
        created: list[float] = []
        stops: list[float] = []
        banned: list[bool] = []
        for s in range(n_slots):
            t = float(bursts[rng.integers(0, len(bursts))] + rng.uniform(0, spread))
            while t < end - DAY:
                stop = t + max(DAY, rng.exponential(life * DAY))
                slots.append(s)
                created.append(t)
                stops.append(min(stop, end))
                banned.append(stop < end)
                t = stop + rng.uniform(0.5 * HOUR, 12 * HOUR)
        if len(slots) >= target:
            break
        n_slots = math.ceil(n_slots * 1.25)
    keep = np.argsort(np.array(created), kind="stable")[:target]
    keep.sort()
    return (
        np.array(slots)[keep],
        np.array(created, dtype=np.int64)[keep],
        np.array(stops, dtype=np.int64)[keep],
        np.array(banned)[keep],
    )


def _mass_ban(
    spec: CampaignSpec,
    chain: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    start: int,
    end: int,
    rng: np.random.Generator,
) -> Chain:
    """Ban every account alive at ``mass_ban_at``; drop later sign-ups; regrow replacements."""
    assert spec.mass_ban_at is not None
    t_ban = int(start + spec.mass_ban_at * (end - start))
    keep = chain[1] < t_ban
    slot, created, stop, banned = (a[keep] for a in chain)
    live = stop > t_ban
    stop = np.where(live, t_ban, stop).astype(np.int64)
    banned = banned | live
    victims = np.flatnonzero(live)
    k = round(spec.regrowth_frac * len(victims)) if len(victims) else 0
    parent = rng.choice(victims, size=k, replace=k > len(victims)) if k else np.zeros(0, int)
    hi = end - 6 * HOUR
    lo = min(max(t_ban + HOUR, end - spec.regrowth_days * DAY), hi - 1)
    born = rng.uniform(lo, hi, k).astype(np.int64)
    return (
        np.concatenate([slot, slot[parent]]),
        np.concatenate([created, born]),
        np.concatenate([stop, np.full(k, end, np.int64)]),
        np.concatenate([banned, np.zeros(k, bool)]),
        np.concatenate([np.full(len(slot), -1, np.int64), parent]).astype(np.int64),
    )


def _proxy_exits(
    ctx: BuildContext, spec: CampaignSpec, pool_size: int, org: str = "Residential proxy network"
) -> np.ndarray:
    """``pool_size`` residential-proxy exits: ``proxy_overlap`` of them real users' homes."""
    world, rng = ctx.world, ctx.rng
    n_overlap = round(pool_size * spec.proxy_overlap)
    overlap = (
        rng.choice(ctx.legit_home_ips(), size=n_overlap, replace=False)
        if n_overlap
        else np.zeros(0, np.int32)
    )
    if spec.proxy_prefixes:
        per = math.ceil((pool_size - n_overlap) / spec.proxy_prefixes)
        fresh = np.concatenate(
            [
                world.v4_hosts(
                    world.add_v4_network(24, "residential", f"Residential ISP {spec.name}-{k}"),
                    24,
                    per,
                    "residential",
                )
                for k in range(spec.proxy_prefixes)
            ]
        )
    else:
        fresh = world.residential_hosts(pool_size - n_overlap)
    exits = np.concatenate([overlap, fresh]).astype(np.int32)
    known = exits[rng.random(len(exits)) < ctx.sc.proxy_intel_coverage]
    for ip in known.tolist():
        world.add_intel(world.ip_text[ip], "proxy", org, "US")
    ctx.proxy_exits.append(exits)
    return exits


def _proxy_pool(ctx: BuildContext, spec: CampaignSpec, n_slots: int) -> tuple[int, int]:
    """The campaign's own exit pool, or its commercial provider's pool shared with others."""
    pool_size = max(8, round(n_slots * spec.proxy_exits_per_account))
    name = spec.proxy_provider
    if not name:
        return ctx.world.ip_pools.add(_proxy_exits(ctx, spec, pool_size))
    if name not in ctx.provider_pools:
        users = sum(c.proxy_provider == name for c in ctx.sc.campaigns)
        exits = _proxy_exits(ctx, spec, pool_size * users, f"{name} (proxy provider)")
        ctx.provider_pools[name] = ctx.world.ip_pools.add(exits)
    return ctx.provider_pools[name]


def _network(ctx: BuildContext, spec: CampaignSpec, ci: int, n: int, n_slots: int) -> Channels:
    """Residential proxies, datacenter addresses, commercial VPN exits and, for a front
    company, its corporate egress; a behaviour-only swarm gets its own exits per account."""
    if spec.kind == "behaviour_only":
        return _own_exits(ctx, spec, n)
    proxy = _proxy_pool(ctx, spec, n_slots) if spec.proxy_share else None
    dc = ctx.world.v4_hosts(ctx.cloud_bases[ci % 3], 16, max(2, n_slots // 6), "hosting")
    chans = ctx.channels(
        n,
        proxy=spec.proxy_share,
        dc=spec.hosting_share,
        vpn=spec.vpn_share,
        corp=spec.corporate_share,
    )
    if proxy is not None:
        ctx.set_pool(chans, "proxy", proxy)
    ctx.set_pool(chans, "dc", ctx.world.ip_pools.add(dc))
    ctx.set_pool(chans, "vpn", ctx.vpn_pool)
    if spec.corporate_share:
        country = np.array(["US"], dtype=object)
        egress = company_egress(ctx, country, [f"{spec.name} Inc."])
        ctx.set_pool(chans, "corp", (int(egress[0][0]), int(egress[1][0])))
    return chans


def _own_exits(ctx: BuildContext, spec: CampaignSpec, n: int) -> Channels:
    """Each account its own residential exits, shared with no other account of the swarm."""
    k = max(1, round(spec.proxy_exits_per_account))
    exits = _proxy_exits(ctx, spec, n * k)
    exits = np.unique(exits)  # an overlapping home and a fresh host may coincide
    if len(exits) < n * k:
        exits = np.concatenate([exits, ctx.world.residential_hosts(2 * (n * k - len(exits)))])
    chans = ctx.channels(n, proxy=1.0)
    start, _ = ctx.world.ip_pools.add(ctx.rng.permutation(exits[: n * k]))
    ctx.set_pool(chans, "proxy", (start + k * np.arange(n, dtype=np.int32), k))
    return chans


def _devices(
    ctx: BuildContext, spec: CampaignSpec, n: int, n_slots: int
) -> tuple[np.ndarray, np.ndarray]:
    """Spoofed fingerprints: rotating over a campaign pool, popular defaults, or unique."""
    rng, world = ctx.rng, ctx.world
    if spec.kind == "behaviour_only":  # a fresh fingerprint each, never a popular one
        ds, _ = world.dev_pools.add(world.new_devices(n))
        return (ds + np.arange(n)).astype(np.int32), np.ones(n, np.int32)
    if spec.kind == "front_company":  # company laptops, like any company's
        return ctx.legit_devices(n)
    if spec.device_mode not in ("rotate", "popular"):
        return ctx.legit_devices(n, np.ones(n, np.int64))
    # each account rotates over a few fingerprints: drawn from the campaign's
    # spoofed pool, or copied from popular defaults to blend in
    k = spec.devices_per_account
    if spec.device_mode == "rotate":
        pool = world.new_devices(max(3, round(n_slots * spec.device_pool_per_slot)))
        picks = pool[rng.integers(0, len(pool), n * k)]
    else:
        picks = ctx.popular_weighted[rng.integers(0, len(ctx.popular_weighted), n * k)]
    ds, _ = world.dev_pools.add(picks)
    return (ds + k * np.arange(n)).astype(np.int32), np.full(n, k, np.int32)


def _payment_and_ids(
    ctx: BuildContext, spec: CampaignSpec, ci: int, slot: np.ndarray, countries: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cards (shared along slots: replacements reuse them), phones and email domains."""
    rng, n = ctx.rng, len(slot)
    if spec.kind == "front_company":  # one company card on an ordinary BIN
        card = np.repeat(ctx.cards.new(1, countries=np.array(["US"], dtype=object)), n)
        return card, ctx.ids.phones(n), np.full(n, f"{spec.name}-labs.com", dtype=object)
    if spec.card_bins and spec.kind != "behaviour_only":
        n_cards = max(1, math.ceil(n / spec.accounts_per_card))
        card = ctx.cards.new(n_cards, bins=ctx.campaign_bins[ci])[slot % n_cards]
    else:
        card = ctx.cards.new(n, countries=countries)
    if spec.phones_per_account > 0 and spec.kind != "behaviour_only":
        phones = ctx.ids.phones(max(1, round(n * spec.phones_per_account)))
        phone = phones[slot % len(phones)]
    else:
        phone = ctx.ids.phones(n)
    disposable = rng.random(n) < spec.disposable_email
    own_domains = np.array([f"mx{k}-{spec.name}.net" for k in range(3)], dtype=object)
    email = np.where(
        disposable,
        rng.choice(np.concatenate([np.array(DISPOSABLE, dtype=object), own_domains]), size=n),
        ctx.webmail(n),
    )
    return card, phone, email


def _templates(
    rng: np.random.Generator, spec: CampaignSpec, used_templates: set[int]
) -> np.ndarray:
    """The campaign's extraction templates; separate operators prefer unused ones."""
    fams = [i for i, t in enumerate(EXTRACTION_TEMPLATES) if t[0] in spec.focus]
    by_family: dict[str, list[int]] = {}
    for i in fams:
        by_family.setdefault(EXTRACTION_TEMPLATES[i][0], []).append(i)
    chosen = [
        t
        for ts in by_family.values()
        for t in sorted(rng.permutation(ts).tolist(), key=lambda t: t in used_templates)[
            : spec.templates_per_family
        ]
    ]
    used_templates.update(chosen)
    return np.array(sorted(chosen), dtype=np.int16)


def _regrow(
    ctx: BuildContext, spec: CampaignSpec, b: dict[str, np.ndarray], parent: np.ndarray
) -> None:
    """Replacement accounts take over their banned parent's card, phone and devices."""
    new = np.flatnonzero(parent >= 0)
    if not len(new):
        return
    src = parent[new]
    for col in ("card", "phone", "dev_start", "dev_size"):
        b[col][new] = b[col][src]
    lo, hi = spec.regrowth_requests
    b["n_req"][new] = ctx.rng.integers(lo, hi + 1, len(new))
    b["population"][new] = POPULATION["regrowth"]


def add_campaign(
    ctx: BuildContext, ci: int, spec: CampaignSpec, chain: Chain, used_templates: set[int]
) -> np.ndarray:
    """Append one campaign's accounts; return its extraction template indices."""
    rng = ctx.rng
    slot, created, stop, banned, parent = chain
    n = len(slot)
    n_slots = int(slot.max()) + 1
    countries = rng.choice(COUNTRIES, size=n, p=COUNTRY_P)
    b: dict[str, np.ndarray] = {
        "kind": np.full(n, KIND["campaign"], np.int8),
        "campaign": np.full(n, ci, np.int16),
        "group": slot.astype(np.int32),
        "created": created,
        "end": stop,
        "banned": banned,
        "tz": np.zeros(n, np.int8),
        "country": countries.astype(object),
        "legit_template": np.full(n, -1, np.int16),
        "out_tokens": np.full(n, float(spec.output_tokens_median), np.float32),
        "ua": np.full(n, rng.integers(0, len(CAMPAIGN_UAS)), np.int16),
        "referral": np.full(n, -1, np.int32),
        "org": np.full(n, -1, np.int32),
        "population": np.full(n, POPULATION[spec.kind], np.int8),
        "group_name": np.full(n, spec.name, dtype=object),
        "sched": np.full(n, -1, np.int16),
    }
    if spec.kind == "front_company":
        b["org"][:] = ctx.ids.orgs(1)[0]
    chans = _network(ctx, spec, ci, n, n_slots)
    b["dev_start"], b["dev_size"] = _devices(ctx, spec, n, n_slots)
    b["card"], b["phone"], b["email_domain"] = _payment_and_ids(ctx, spec, ci, slot, countries)
    b["ua"] = np.full(n, int(rng.integers(0, len(CAMPAIGN_UAS))), np.int16)
    camo = spec.camouflage
    b.update(
        ch_cum=chans[0],
        ch_start=chans[1],
        ch_size=chans[2],
        timing=np.full(n, TIMING[spec.timing], np.int8),
        prompt_cum=ctx.prompt_mix(n, (camo, 0, 0, 0, 0, 1 - camo)),
        n_req=np.clip(
            np.round(rng.lognormal(math.log(spec.requests_per_account), 0.35, n)), 5, 50_000
        ).astype(np.int64),
    )
    templates = _templates(rng, spec, used_templates)
    _regrow(ctx, spec, b, parent)
    ctx.blocks.add(**b)
    return templates
