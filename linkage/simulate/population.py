"""Who is on the simulated platform: legitimate populations and Hydra campaigns.

The result is a struct of per-account numpy arrays (:class:`Population`) plus
the world's entity tables; traffic generation only gathers from them. Each
population has its own builder (:mod:`~linkage.simulate.legit`,
:mod:`~linkage.simulate.campaigns`) over one shared
:class:`~linkage.simulate.context.BuildContext`.
"""

from __future__ import annotations

import numpy as np

from linkage.simulate.accounts import (
    CAMPAIGN_UAS,
    CH,
    CHANNELS,
    DAY,
    HOUR,
    KIND,
    KINDS,
    LEGIT_UAS,
    LOOKALIKE_UAS,
    POPULATION,
    POPULATIONS,
    PROMPT_CATEGORIES,
    TIMINGS,
    Population,
    epoch_seconds,
)
from linkage.simulate.campaigns import add_campaign, campaign_chain
from linkage.simulate.context import BuildContext, split_sizes
from linkage.simulate.legit import (
    add_automation,
    add_companies,
    add_families,
    add_individuals,
    add_students,
)
from linkage.simulate.lookalikes import add_lookalikes, lookalike_sizes
from linkage.simulate.scenario import Scenario
from linkage.simulate.world import World

__all__ = [
    "CHANNELS",
    "DAY",
    "HOUR",
    "KINDS",
    "POPULATIONS",
    "PROMPT_CATEGORIES",
    "TIMINGS",
    "Population",
    "build_population",
    "epoch_seconds",
]


def build_population(sc: Scenario, world: World, rng: np.random.Generator) -> Population:
    """Build every account of the scenario and the infrastructure they use."""
    ctx = BuildContext(sc, world, rng)
    # Campaign accounts first (their count fixes how many legitimate ones there are).
    chains = [campaign_chain(c, sc, ctx.start, ctx.end, rng) for c in sc.campaigns]
    n_campaign = sum(len(ch[0]) for ch in chains)
    n_legit = sc.accounts - n_campaign
    if n_legit < 50:
        raise ValueError(
            f"scenario {sc.name!r}: campaigns take {n_campaign} of {sc.accounts} accounts"
        )
    # Legitimate population sizes.
    n_auto = max(1, round(sc.automation_frac * n_legit))
    fam_sizes = split_sizes(rng, round(sc.family_frac * n_legit), *sc.family_size)
    comp_sizes = split_sizes(rng, round(sc.company_frac * n_legit), *sc.company_size, log=True)
    n_students = round(sc.campus_frac * n_legit)
    looks = lookalike_sizes(sc, n_legit, rng)
    n_indiv = n_legit - n_auto - int(fam_sizes.sum()) - int(comp_sizes.sum()) - n_students
    n_indiv -= looks.total
    if n_indiv < 0.2 * n_legit:
        raise ValueError(f"scenario {sc.name!r}: legitimate group shares leave too few individuals")
    # Households: one home address per individual, student, company developer,
    # automation owner, look-alike person, and one per family.
    n_homes = n_indiv + n_students + int(comp_sizes.sum()) + n_auto + len(fam_sizes)
    ctx.add_homes(n_homes + looks.homes)
    ctx.add_shared_networks(
        int(sc.mobile_frac * (n_indiv + n_students + fam_sizes.sum() + comp_sizes.sum())),
        int(sc.vpn_frac * n_indiv),
    )
    add_individuals(ctx, n_indiv)
    if n_students:
        add_students(ctx, n_students)
    if len(fam_sizes):
        add_families(ctx, fam_sizes)
    if len(comp_sizes):
        add_companies(ctx, comp_sizes)
    add_automation(ctx, n_auto)
    add_lookalikes(ctx, looks)
    used_templates: set[int] = set()
    campaign_templates = [
        add_campaign(ctx, ci, spec, chain, used_templates)
        for ci, (spec, chain) in enumerate(zip(sc.campaigns, chains, strict=True))
    ]
    return _assemble(ctx, campaign_templates)


def _assemble(ctx: BuildContext, campaign_templates: list[np.ndarray]) -> Population:
    """Concatenate the blocks in a random order, so file order says nothing about labels."""
    rng, blocks, sc = ctx.rng, ctx.blocks, ctx.sc
    order = rng.permutation(sum(len(bl["kind"]) for bl in blocks.blocks))
    cols = {name: blocks.concat(name)[order] for name in blocks.blocks[0]}
    _mark_proxied_homes(ctx, cols)
    user_agents = list(LEGIT_UAS) + list(CAMPAIGN_UAS) + list(LOOKALIKE_UAS)
    ua = cols["ua"].astype(np.int16)
    is_campaign = cols["kind"] == KIND["campaign"]
    ua = np.where(is_campaign, ua + len(LEGIT_UAS), ua).astype(np.int16)
    ua_alt = np.where(
        is_campaign, len(LEGIT_UAS) + (ua - len(LEGIT_UAS) + 1) % len(CAMPAIGN_UAS), ua
    )
    n_total = len(order)
    perm_ids = (
        np.arange(n_total, dtype=np.uint64) * np.uint64(2654435761)
        + np.uint64(rng.integers(0, 2**31))
    ) % np.uint64(2**32)
    session_hours = rng.integers(0, 24, size=(max(1, len(sc.campaigns)), 2))
    session_hours[:, 1] = (session_hours[:, 0] + 8 + rng.integers(0, 5, len(session_hours))) % 24
    return Population(
        account_id=np.array([f"acct_{x:08x}" for x in perm_ids.tolist()], dtype=object),
        ua=ua,
        ua_alt=ua_alt.astype(np.int16),
        campaign_names=[c.name for c in sc.campaigns],
        campaign_templates=campaign_templates,
        session_hours=session_hours,
        user_agents=user_agents,
        schedules=np.array(ctx.schedules, dtype=np.float64).reshape(-1, 6),
        card_fp=ctx.cards.fp,
        card_bin=ctx.cards.bin,
        card_country=ctx.cards.country,
        phone_text=ctx.ids.phone_text,
        org_text=ctx.ids.org_text,
        referral_text=ctx.ids.referral_text,
        **{k: v for k, v in cols.items() if k != "ua"},
    )


def _mark_proxied_homes(ctx: BuildContext, cols: dict[str, np.ndarray]) -> None:
    """Individuals and family members whose home address a campaign's proxy borrowed."""
    if not ctx.proxy_exits:
        return
    exits = np.unique(np.concatenate(ctx.proxy_exits))
    home_ip = ctx.world.ip_pools.values()[cols["ch_start"][:, CH["home"]]]
    has_home = cols["ch_cum"][:, CH["home"]] > 0
    person = np.isin(cols["population"], [POPULATION["individual"], POPULATION["family"]])
    borrowed = person & has_home & np.isin(home_ip, exits)
    cols["population"][borrowed] = POPULATION["proxied_home"]
