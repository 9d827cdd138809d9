"""Legitimate look-alikes: groups of real customers that share timing, templates or
infrastructure for innocent reasons, and so look coordinated.

- enterprise evaluation teams running benchmark templates around the clock,
- university classes doing the same assignment in the same weekly lab session,
- hackathon / bootcamp cohorts signing up in one burst at one venue,
- SaaS resellers whose end-user accounts all call from the app's cloud,
- unrelated users of popular open-source agent frameworks,
- CI bots of unrelated owners on one cloud's hosted-runner pool.

Each builder appends one block; sizes come from :func:`lookalike_sizes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linkage.simulate.accounts import (
    CAMPAIGN_UAS,
    COUNTRIES,
    COUNTRY_P,
    DAY,
    HOUR,
    LEGIT_UAS,
    TIMING,
    TZ,
)
from linkage.simulate.context import BuildContext, split_sizes
from linkage.simulate.legit import company_egress
from linkage.simulate.prompts import LEGIT_TEMPLATE_GROUPS as TPL
from linkage.simulate.scenario import Scenario

__all__ = ["LookalikeSizes", "add_lookalikes", "lookalike_sizes"]

_UA0 = len(LEGIT_UAS) + len(CAMPAIGN_UAS)  # first index of LOOKALIKE_UAS


@dataclass
class LookalikeSizes:
    """Group sizes of each look-alike population (empty when its share is 0)."""

    eval_teams: np.ndarray
    classes: np.ndarray
    hackathons: np.ndarray
    saas: np.ndarray
    n_framework: int
    n_ci: int

    @property
    def total(self) -> int:
        groups = (self.eval_teams, self.classes, self.hackathons, self.saas)
        return int(sum(g.sum() for g in groups)) + self.n_framework + self.n_ci

    @property
    def homes(self) -> int:
        """Accounts that also use a home address of their own."""
        people = (self.eval_teams, self.classes, self.hackathons)
        return int(sum(g.sum() for g in people)) + self.n_framework


def lookalike_sizes(sc: Scenario, n_legit: int, rng: np.random.Generator) -> LookalikeSizes:
    """Split each look-alike share of the legitimate accounts into groups."""
    return LookalikeSizes(
        eval_teams=split_sizes(rng, round(sc.eval_team_frac * n_legit), *sc.eval_team_size),
        classes=split_sizes(rng, round(sc.class_frac * n_legit), *sc.class_size),
        hackathons=split_sizes(rng, round(sc.hackathon_frac * n_legit), *sc.hackathon_size),
        saas=split_sizes(rng, round(sc.saas_frac * n_legit), *sc.saas_size, log=True),
        n_framework=round(sc.framework_frac * n_legit),
        n_ci=round(sc.ci_bot_frac * n_legit),
    )


def add_lookalikes(ctx: BuildContext, sizes: LookalikeSizes) -> None:
    """Append every look-alike population that has accounts, in a fixed order."""
    if len(sizes.eval_teams):
        add_eval_teams(ctx, sizes.eval_teams)
    if len(sizes.classes):
        add_classes(ctx, sizes.classes)
    if len(sizes.hackathons):
        add_hackathons(ctx, sizes.hackathons)
    if len(sizes.saas):
        add_saas(ctx, sizes.saas)
    if sizes.n_framework:
        add_framework_users(ctx, sizes.n_framework)
    if sizes.n_ci:
        add_ci_bots(ctx, sizes.n_ci)


def _old(ctx: BuildContext, n: int, lo_days: float, hi_days: float) -> np.ndarray:
    """Sign-up times ``lo_days``-``hi_days`` before the window."""
    return (ctx.start - ctx.rng.uniform(lo_days, hi_days, n) * DAY).astype(np.int64)


def _cloud_hosts(ctx: BuildContext, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A few cloud addresses per group: pool (start, size) per group."""
    starts = np.zeros(len(sizes), np.int32)
    for k, size in enumerate(sizes.tolist()):
        ips = ctx.world.v4_hosts(ctx.cloud_bases[k % 3], 16, int(size), "hosting")
        starts[k], _ = ctx.world.ip_pools.add(ips)
    return starts, sizes.astype(np.int32)


def _shared_devices(
    ctx: BuildContext, group: np.ndarray, n_groups: int, per_group: int, own: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per account: its own device (if ``own``) plus its group's ``per_group`` shared
    fingerprints (lab machine images, cloud runner images)."""
    shared = ctx.world.new_devices(n_groups * per_group).reshape(n_groups, per_group)
    cols = [shared[group]]
    if own:
        cols.insert(0, ctx.world.new_devices(len(group))[:, None])
    per = np.concatenate(cols, axis=1)
    s, _ = ctx.world.dev_pools.add(per.ravel())
    k = per.shape[1]
    return (s + k * np.arange(len(group))).astype(np.int32), np.full(len(group), k, np.int32)


def add_eval_teams(ctx: BuildContext, sizes: np.ndarray) -> None:
    """Enterprise evaluation teams: old accounts, verified org id, one corporate card
    paying steadily, no bans, corporate egress plus the team's cloud, benchmark templates
    (chain-of-thought answer formats on public benchmark items) around the clock."""
    sc, rng = ctx.sc, ctx.rng
    n, k = int(sizes.sum()), len(sizes)
    team = np.repeat(np.arange(k), sizes)
    country = rng.choice(COUNTRIES, size=k, p=COUNTRY_P)
    b = ctx.base_block(n, "company", country[team], population="eval_team")
    b["created"] = (_old(ctx, k, 120, 900)[team] - rng.uniform(0, 90, n) * DAY).astype(np.int64)
    b["banned"][:] = False
    b["end"][:] = ctx.end
    egress = company_egress(ctx, country, [f"Enterprise {j}" for j in range(k)])
    cloud = _cloud_hosts(ctx, rng.integers(2, 7, k))
    chans = ctx.channels(n, corp=0.35, cloud=0.6, home=0.05)
    ctx.set_pool(chans, "corp", (egress[0][team], egress[1][team]))
    ctx.set_pool(chans, "cloud", (cloud[0][team], cloud[1][team]))
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    b["card"] = ctx.cards.new(k, countries=country)[team]
    b["org"] = ctx.ids.orgs(k)[team]
    b["group"] = team.astype(np.int32)
    ctx.name_groups(b, "eval")
    bench = np.array(TPL["benchmark"])
    b["legit_template"] = bench[(team + np.arange(n)) % len(bench)].astype(np.int16)
    b["out_tokens"][:] = 700.0
    b["ua"][:] = _UA0 + 2
    ctx.set_behaviour(
        b,
        chans,
        "work",
        (0.1, 0.1, 0.1, 0.05, 0.65, 0),
        email=np.array([f"enterprise{j}.com" for j in team.tolist()], dtype=object),
        median=3 * sc.legit_requests_median,
    )
    runner = rng.random(n) < 0.75  # harness runners: 24/7, heavy
    b["timing"][runner] = TIMING["automated"]
    b["n_req"][runner] = ctx.volume(
        int(runner.sum()), 600, 0.6, b["created"][runner], b["end"][runner]
    )
    b["dev_start"], b["dev_size"] = _shared_devices(ctx, team, k, 2, own=True)
    ctx.blocks.add(**b)


def add_classes(ctx: BuildContext, sizes: np.ndarray) -> None:
    """University classes: most accounts created in a burst at the first lab session, the
    lab's NAT address and machine images, a weekly lab session, the assignment template."""
    sc, rng, world = ctx.sc, ctx.rng, ctx.world
    n, k = int(sizes.sum()), len(sizes)
    cls = np.repeat(np.arange(k), sizes)
    country = rng.choice(COUNTRIES, size=k, p=COUNTRY_P)
    b = ctx.base_block(n, "student", country[cls], population="class")
    tz = np.array([TZ[c] for c in country.tolist()])
    first_day = (ctx.start + rng.integers(-20, 10, k) * DAY) // DAY * DAY
    lab_hour = (rng.integers(9, 16, k) - tz) % 24  # local 9:00-16:00, as UTC
    first_lab = first_day + lab_hour * HOUR
    burst = rng.random(n) < 0.7
    b["created"] = np.where(
        burst,
        first_lab[cls] + rng.uniform(0, 3 * HOUR, n),
        np.minimum(b["created"], first_lab[cls]),
    ).astype(np.int64)
    b["end"] = np.maximum(b["end"], b["created"] + DAY)
    lab = np.zeros((k, 2), np.int32)
    for j in range(k):
        base = world.add_v4_network(24, "education", f"College {j} computer lab")
        lab[j] = world.ip_pools.add(world.v4_hosts(base, 24, int(rng.integers(1, 3)), "education"))
    chans = ctx.channels(n, campus=0.5, home=0.35, mobile=0.15)
    ctx.set_pool(chans, "campus", (lab[cls, 0], lab[cls, 1]))
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    ctx.set_mobile(chans, n)
    weekday = ((first_day // DAY + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
    sched = [
        ctx.add_schedule(int(weekday[j]), float(lab_hour[j]), 2.0, first_day[j], ctx.end, 0.5)
        for j in range(k)
    ]
    b["sched"] = np.array(sched, np.int16)[cls]
    b["group"] = cls.astype(np.int32)
    ctx.name_groups(b, "class")
    b["legit_template"] = np.array(TPL["class"], np.int16)[cls % len(TPL["class"])]
    ctx.set_behaviour(
        b,
        chans,
        "evening",
        (0.3, 0.15, 0.1, 0, 0.45, 0),
        email=np.array([f"college{j}.edu" for j in cls.tolist()], dtype=object),
        median=2 * sc.legit_requests_median,
    )
    paying = rng.random(n) < 0.2
    b["card"][paying] = ctx.cards.new(int(paying.sum()), countries=b["country"][paying])
    b["dev_start"], b["dev_size"] = _shared_devices(ctx, cls, k, 1, own=True)
    ctx.blocks.add(**b)


def add_hackathons(ctx: BuildContext, sizes: np.ndarray) -> None:
    """Hackathon / bootcamp cohorts: one sign-up burst at the venue's Wi-Fi, one promo code
    (a shared ``referral_code``), a starter-kit template, the same two event days."""
    sc, rng = ctx.sc, ctx.rng
    n, k = int(sizes.sum()), len(sizes)
    coh = np.repeat(np.arange(k), sizes)
    country = rng.choice(COUNTRIES, size=k, p=COUNTRY_P)
    b = ctx.base_block(n, "individual", country[coh], population="hackathon")
    tz = np.array([TZ[c] for c in country.tolist()])
    day0 = (ctx.start + rng.integers(2, max(3, sc.days - 5), k) * DAY) // DAY * DAY
    opening = day0 + ((9 - tz) % 24) * HOUR
    burst = rng.random(n) < 0.85
    b["created"] = np.where(
        burst, opening[coh] + rng.uniform(0, 3 * HOUR, n), np.minimum(b["created"], opening[coh])
    ).astype(np.int64)
    b["end"] = np.maximum(b["end"], b["created"] + DAY)
    venue = company_egress(ctx, country, [f"Event venue {j}" for j in range(k)])
    chans = ctx.channels(n, corp=0.5, home=0.4, mobile=0.1)
    ctx.set_pool(chans, "corp", (venue[0][coh], venue[1][coh]))
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    ctx.set_mobile(chans, n)
    sched = [
        ctx.add_schedule(
            -1, float(opening[j] % DAY) / HOUR, 14.0, opening[j], day0[j] + 2 * DAY, 0.65
        )
        for j in range(k)
    ]
    b["sched"] = np.array(sched, np.int16)[coh]
    b["referral"] = ctx.ids.referrals(k)[coh]
    b["group"] = coh.astype(np.int32)
    ctx.name_groups(b, "hackathon")
    b["legit_template"][:] = TPL["hackathon"][0]
    ctx.set_behaviour(
        b,
        chans,
        "evening",
        (0.2, 0.3, 0.05, 0.15, 0.3, 0),
        email=ctx.webmail(n),
        median=4 * sc.legit_requests_median,
    )
    paying = rng.random(n) < 0.1
    b["card"][paying] = ctx.cards.new(int(paying.sum()), countries=b["country"][paying])
    b["dev_start"], b["dev_size"] = ctx.legit_devices(n)
    ctx.blocks.add(**b)


def add_saas(ctx: BuildContext, sizes: np.ndarray) -> None:
    """SaaS resellers: end-user accounts provisioned in nightly batches, all calling from
    the app's cloud with its card, org id, user agent, server images and system prompt;
    traffic follows the end users' office hours in their own time zones."""
    sc, rng = ctx.sc, ctx.rng
    n, k = int(sizes.sum()), len(sizes)
    app = np.repeat(np.arange(k), sizes)
    b = ctx.base_block(n, "company", population="saas")
    batch_hour = rng.integers(0, 24, k)
    night = (ctx.start - rng.integers(5, 700, n) * DAY) // DAY * DAY
    b["created"] = (night + batch_hour[app] * HOUR + rng.integers(0, 600, n)).astype(np.int64)
    cloud = _cloud_hosts(ctx, rng.integers(2, 9, k))
    chans = ctx.channels(n, cloud=1.0)
    ctx.set_pool(chans, "cloud", (cloud[0][app], cloud[1][app]))
    b["card"] = ctx.cards.new(k)[app]
    b["org"] = ctx.ids.orgs(k)[app]
    b["group"] = app.astype(np.int32)
    ctx.name_groups(b, "saas")
    saas = np.array(TPL["saas"])
    b["legit_template"] = saas[app % len(saas)].astype(np.int16)
    b["ua"] = (_UA0 + 3 + app % 2).astype(np.int16)
    ctx.set_behaviour(
        b,
        chans,
        "work",
        (0.05, 0.05, 0, 0, 0.9, 0),
        email=np.array([f"saas{j}.app" for j in app.tolist()], dtype=object),
        median=2 * sc.legit_requests_median,
    )
    b["dev_start"], b["dev_size"] = _shared_devices(ctx, app, k, 2, own=False)
    ctx.blocks.add(**b)


def add_framework_users(ctx: BuildContext, n: int) -> None:
    """Strangers using one of ``frameworks`` popular agent frameworks: its prompt template
    and default user agent; some run their agent on a VPS of their own, some 24/7."""
    sc, rng, world = ctx.sc, ctx.rng, ctx.world
    fw = rng.integers(0, max(1, sc.frameworks), n)
    b = ctx.base_block(n, "individual", population="framework")
    vps = rng.random(n) < 0.4
    chans = ctx.channels(n, home=0.6, mobile=0.1, cloud=np.where(vps, 0.6, 0))
    ctx.set_pool(chans, "home", (ctx.take_homes(n), 1))
    ctx.set_mobile(chans, n)
    hosts = world.v4_hosts(ctx.cloud_bases[1], 16, n, "hosting")
    start, _ = world.ip_pools.add(hosts)
    ctx.set_pool(chans, "cloud", (start + np.arange(n, dtype=np.int32), 1))
    paying = rng.random(n) < sc.paying_frac
    b["card"][paying] = ctx.cards.new(int(paying.sum()), countries=b["country"][paying])
    b["group"] = fw.astype(np.int32)
    ctx.name_groups(b, "framework")
    tpl = np.array(TPL["framework"])
    b["legit_template"] = tpl[fw % len(tpl)].astype(np.int16)
    b["ua"] = (_UA0 + fw % 2).astype(np.int16)
    ctx.set_behaviour(
        b,
        chans,
        "evening",
        (0.2, 0.15, 0.05, 0.1, 0.5, 0),
        email=ctx.webmail(n),
        median=5 * sc.legit_requests_median,
    )
    b["timing"][rng.random(n) < 0.5] = TIMING["automated"]
    b["dev_start"], b["dev_size"] = ctx.legit_devices(n)
    ctx.blocks.add(**b)


def add_ci_bots(ctx: BuildContext, n: int) -> None:
    """CI bots of unrelated owners on one cloud's hosted runners: shared runner addresses
    and image fingerprints, a review template, cron jobs at the top of the hour."""
    rng, world = ctx.rng, ctx.world
    b = ctx.base_block(n, "automation", population="ci_bot")
    b["created"] = _old(ctx, n, 30, 900)
    runners = world.v4_hosts(ctx.cloud_bases[0], 16, max(8, n // 3), "hosting")
    chans = ctx.channels(n, cloud=1.0)
    ctx.set_pool(chans, "cloud", world.ip_pools.add(runners))
    b["card"] = ctx.cards.new(n, countries=b["country"])
    has_org = rng.random(n) < 0.5
    b["org"][has_org] = ctx.ids.orgs(int(has_org.sum()))
    b["group"][:] = 0
    ctx.name_groups(b, "ci")
    b["legit_template"][:] = TPL["ci"][0]
    ctx.set_behaviour(
        b,
        chans,
        "cron",
        (0.05, 0.1, 0, 0, 0.85, 0),
        email=np.array([f"ci{j}.dev" for j in range(n)], dtype=object),
        median=700,
        sigma=0.6,
    )
    b["dev_start"], b["dev_size"] = _shared_devices(ctx, np.zeros(n, np.int64), 1, 3, own=False)
    ctx.blocks.add(**b)
