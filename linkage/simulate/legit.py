"""Builders of the ordinary legitimate populations: individuals, students behind
campus NAT, families, companies and single accounts with heavy automation.

Each builder appends one block of accounts to the context; see
:class:`~linkage.simulate.context.BuildContext`.
"""

from __future__ import annotations

import math

import numpy as np

from linkage.simulate.accounts import COUNTRIES, COUNTRY_P
from linkage.simulate.context import BuildContext
from linkage.simulate.world import ipv4_text

__all__ = [
    "add_automation",
    "add_companies",
    "add_families",
    "add_individuals",
    "add_students",
    "company_egress",
]

N_BASE_LEGIT_TEMPLATES = 4
"""Companies and automation pick from the first four legitimate templates only."""


def add_individuals(ctx: BuildContext, n: int) -> None:
    """People on their own: home, sometimes mobile and VPN, evening rhythm, webmail."""
    sc, rng = ctx.sc, ctx.rng
    b = ctx.base_block(n, "individual")
    is_mobile = rng.random(n) < sc.mobile_frac
    is_vpn = rng.random(n) < sc.vpn_frac
    chans = ctx.channels(
        n, home=0.65, mobile=np.where(is_mobile, 0.3, 0), vpn=np.where(is_vpn, 0.5, 0)
    )
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    ctx.set_mobile(chans, n)
    ctx.set_pool(chans, "vpn", ctx.vpn_pool)
    paying = rng.random(n) < sc.paying_frac
    ctx.set_behaviour(
        b,
        chans,
        "evening",
        (0.55, 0.15, 0.15, 0.15, 0, 0),
        email=ctx.webmail(n),
        median=sc.legit_requests_median,
    )
    b["card"][paying] = ctx.cards.new(int(paying.sum()), countries=b["country"][paying])
    virt = paying & (rng.random(n) < sc.legit_virtual_card_frac)
    if virt.any() and ctx.campaign_bins:
        b["card"][virt] = ctx.cards.new(int(virt.sum()), bins=ctx.campaign_bins[0])
    has_phone = rng.random(n) < 0.7
    b["phone"][has_phone] = ctx.ids.phones(int(has_phone.sum()))
    b["dev_start"], b["dev_size"] = ctx.legit_devices(n)
    ctx.blocks.add(**b)


def add_students(ctx: BuildContext, n: int) -> None:
    """Students behind campus NAT: hundreds of unrelated people per address."""
    sc, rng, world = ctx.sc, ctx.rng, ctx.world
    b = ctx.base_block(n, "student")
    n_ips = max(1, n // sc.students_per_campus_ip)
    n_campus = max(1, math.ceil(n_ips / 3))
    campus_pools = []
    for k in range(n_campus):
        base = world.add_v4_network(24, "education", f"University {k}")
        campus_pools.append(
            world.ip_pools.add(world.v4_hosts(base, 24, int(rng.integers(1, 5)), "education"))
        )
    campus = rng.integers(0, n_campus, n)
    chans = ctx.channels(n, campus=0.6, mobile=0.25, home=0.15)
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    ctx.set_pool(
        chans,
        "campus",
        (
            np.array([c[0] for c in campus_pools])[campus],
            np.array([c[1] for c in campus_pools])[campus],
        ),
    )
    ctx.set_mobile(chans, n)
    b["group"][:] = campus
    ctx.name_groups(b, "campus")
    ctx.set_behaviour(
        b,
        chans,
        "evening",
        (0.3, 0.25, 0.35, 0.1, 0, 0),
        email=np.array([f"univ{k}.edu" for k in campus.tolist()], dtype=object),
        median=sc.legit_requests_median,
    )
    paying = rng.random(n) < 0.3
    b["card"][paying] = ctx.cards.new(int(paying.sum()), countries=b["country"][paying])
    b["dev_start"], b["dev_size"] = ctx.legit_devices(n)
    ctx.blocks.add(**b)


def add_families(ctx: BuildContext, fam_sizes: np.ndarray) -> None:
    """Families: a shared home address, a shared card and referral codes."""
    sc, rng = ctx.sc, ctx.rng
    n = int(fam_sizes.sum())
    fam = np.repeat(np.arange(len(fam_sizes)), fam_sizes)
    fam_country = rng.choice(COUNTRIES, size=len(fam_sizes), p=COUNTRY_P)
    b = ctx.base_block(n, "family", fam_country[fam])
    chans = ctx.channels(n, home=0.75, mobile=0.25)
    ctx.set_pool(chans, "home", (ctx.take_homes(len(fam_sizes))[fam], 1))
    ctx.set_mobile(chans, n)
    fam_card = ctx.cards.new(len(fam_sizes), countries=fam_country)
    pays = rng.random(len(fam_sizes)) < 0.8
    b["card"] = np.where(pays[fam], fam_card[fam], -1).astype(np.int32)
    first = np.concatenate([[True], fam[1:] != fam[:-1]])
    b["referral"] = np.where(first, -1, ctx.ids.referrals(len(fam_sizes))[fam]).astype(np.int32)
    b["phone"] = ctx.ids.phones(n)
    b["group"] = fam.astype(np.int32)
    ctx.name_groups(b, "family")
    ctx.set_behaviour(
        b,
        chans,
        "evening",
        (0.55, 0.15, 0.15, 0.15, 0, 0),
        email=ctx.webmail(n),
        median=sc.legit_requests_median,
    )
    b["dev_start"], b["dev_size"] = ctx.legit_devices(n)
    ctx.blocks.add(**b)


def company_egress(
    ctx: BuildContext, countries: np.ndarray, names: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A /28 corporate egress of 1-2 addresses per company; intel knows half of them."""
    world, rng, bases = ctx.world, ctx.rng, ctx.corp_bases
    offset = ctx.n_corp_blocks
    ctx.n_corp_blocks += len(countries)
    egress_start = np.zeros(len(countries), np.int32)
    egress_size = np.zeros(len(countries), np.int32)
    for k in range(len(countries)):
        j = offset + k
        base = bases[j % len(bases)] + ((j // len(bases)) % 4096) * 16
        ips = world.v4_hosts(base, 28, int(rng.integers(1, 3)), "corporate")
        egress_start[k], egress_size[k] = world.ip_pools.add(ips)
        if rng.random() < 0.5:  # intel knows half of the companies' ranges
            world.add_intel(
                f"{ipv4_text(np.array([base]))[0]}/28",
                "corporate",
                names[k] if names else f"Company {k}",
                str(countries[k]),
            )
    return egress_start, egress_size


def add_companies(ctx: BuildContext, comp_sizes: np.ndarray) -> None:
    """Companies: shared egress, company card, org id, coding prompts, work hours."""
    sc, rng = ctx.sc, ctx.rng
    n = int(comp_sizes.sum())
    comp = np.repeat(np.arange(len(comp_sizes)), comp_sizes)
    comp_country = rng.choice(COUNTRIES, size=len(comp_sizes), p=COUNTRY_P)
    b = ctx.base_block(n, "company", comp_country[comp])
    egress_start, egress_size = company_egress(ctx, comp_country)
    chans = ctx.channels(n, corp=0.8, home=0.15, mobile=0.05)
    ctx.set_pool(chans, "corp", (egress_start[comp], egress_size[comp]))
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    ctx.set_mobile(chans, n)
    b["card"] = ctx.cards.new(len(comp_sizes), countries=comp_country)[comp]
    b["org"] = ctx.ids.orgs(len(comp_sizes))[comp]
    b["group"] = comp.astype(np.int32)
    ctx.name_groups(b, "company")
    b["legit_template"] = (comp % N_BASE_LEGIT_TEMPLATES).astype(np.int16)
    b["out_tokens"][:] = 900.0
    ctx.set_behaviour(
        b,
        chans,
        "work",
        (0.15, 0.5, 0.05, 0.2, 0.1, 0),
        email=np.array([f"company{k}.io" for k in comp.tolist()], dtype=object),
        median=3 * sc.legit_requests_median,
    )
    b["dev_start"], b["dev_size"] = ctx.legit_devices(n)
    ctx.blocks.add(**b)


def add_automation(ctx: BuildContext, n: int) -> None:
    """Single accounts with heavy legitimate automation (24/7, cloud addresses)."""
    rng, world = ctx.rng, ctx.world
    b = ctx.base_block(n, "automation")
    cloud = np.concatenate(
        [world.v4_hosts(ctx.cloud_bases[k % 3], 16, 2, "hosting") for k in range(n)]
    )
    cloud_start, _ = world.ip_pools.add(cloud)
    chans = ctx.channels(n, cloud=0.97, home=0.03)
    ctx.set_pool(chans, "cloud", (cloud_start + 2 * np.arange(n, dtype=np.int32), 2))
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    b["card"] = ctx.cards.new(n, countries=b["country"])
    b["legit_template"] = rng.integers(0, N_BASE_LEGIT_TEMPLATES, n).astype(np.int16)
    b["phone"] = ctx.ids.phones(n)
    ctx.set_behaviour(
        b,
        chans,
        "automated",
        (0.1, 0, 0, 0.1, 0.8, 0),
        email=np.array([f"automation{k}.dev" for k in range(n)], dtype=object),
        median=3000,
        sigma=0.5,
    )
    b["dev_start"], b["dev_size"] = ctx.legit_devices(n, np.ones(n, np.int64))
    ctx.blocks.add(**b)
