"""Who is on the simulated platform: legitimate populations and Hydra campaigns.

The result is a struct of per-account numpy arrays (:class:`Population`) plus
the world's entity tables; traffic generation only gathers from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from linkage.simulate.prompts import EXTRACTION_TEMPLATES, LEGIT_TEMPLATES
from linkage.simulate.scenario import CampaignSpec, Scenario
from linkage.simulate.world import World, hex_ids, ipv4_text

__all__ = ["CHANNELS", "KINDS", "PROMPT_CATEGORIES", "TIMINGS", "Population", "build_population"]

DAY = 86_400
HOUR = 3_600

CHANNELS = ("home", "mobile", "vpn", "campus", "corp", "cloud", "proxy", "dc")
KINDS = ("individual", "student", "family", "company", "automation", "campaign")
TIMINGS = ("evening", "work", "automated", "sync")
PROMPT_CATEGORIES = ("everyday", "coding", "reasoning", "agentic", "legit_template", "extraction")

_CH = {name: i for i, name in enumerate(CHANNELS)}
_KIND = {name: i for i, name in enumerate(KINDS)}
_TIMING = {"human": 0, "evening": 0, "work": 1, "automated": 2, "sync": 3}

_WEBMAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "hotmail.com")
_WEBMAIL_P = (0.5, 0.16, 0.1, 0.12, 0.04, 0.08)
_DISPOSABLE = (
    "mailinator.com",
    "tempmail.dev",
    "guerrillamail.com",
    "10minutemail.net",
    "yopmail.com",
    "sharklasers.com",
)
_COUNTRIES = ("US", "IN", "GB", "DE", "BR", "FR", "JP", "CA", "KR", "ES", "NL", "AU", "SG", "MX")
_COUNTRY_P = np.array([35, 10, 6, 5, 5, 4, 4, 4, 3, 3, 2, 2, 2, 3], dtype=float)
_COUNTRY_P /= _COUNTRY_P.sum()
_TZ = {
    "US": -6,
    "IN": 5,
    "GB": 0,
    "DE": 1,
    "BR": -3,
    "FR": 1,
    "JP": 9,
    "CA": -5,
    "KR": 9,
    "ES": 1,
    "NL": 1,
    "AU": 10,
    "SG": 8,
    "MX": -6,
}
_LEGIT_UAS = (
    "anthropic-python/0.69.0",
    "openai-python/2.8.1",
    "openai-node/6.9.0",
    "curl/8.5.0",
    "python-requests/2.32.5",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 15_6) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/142.0 Safari/537.36",
)
_LEGIT_UA_P = (0.3, 0.25, 0.1, 0.05, 0.1, 0.1, 0.1)
_CAMPAIGN_UAS = (
    "python-httpx/0.28.1",
    "aiohttp/3.13.2",
    "Go-http-client/2.0",
    "openai-python/2.8.1",
    "node-fetch/3.3.2",
)
N_POPULAR_DEVICES = 30


@dataclass
class Population:
    """Per-account arrays (index = account) and the entity tables they point into."""

    account_id: np.ndarray
    kind: np.ndarray
    campaign: np.ndarray  # index into campaign_names, -1 for legitimate
    group: np.ndarray  # family / company / campus / campaign slot, -1 if none
    created: np.ndarray  # epoch seconds
    end: np.ndarray  # epoch seconds: banned_at, or the end of the window
    banned: np.ndarray
    n_req: np.ndarray
    ch_cum: np.ndarray  # (n, len(CHANNELS)) cumulative channel probabilities
    ch_start: np.ndarray  # (n, len(CHANNELS)) pool start in world.ip_pools
    ch_size: np.ndarray
    dev_start: np.ndarray
    dev_size: np.ndarray
    timing: np.ndarray
    tz: np.ndarray
    prompt_cum: np.ndarray  # (n, len(PROMPT_CATEGORIES)) cumulative prompt mix
    legit_template: np.ndarray  # index into LEGIT_TEMPLATES or -1
    out_tokens: np.ndarray
    ua: np.ndarray  # index into user_agents
    ua_alt: np.ndarray
    email_domain: np.ndarray
    country: np.ndarray
    card: np.ndarray  # index into cards, -1 none
    phone: np.ndarray
    org: np.ndarray
    referral: np.ndarray
    campaign_names: list[str]
    campaign_templates: list[np.ndarray]  # per campaign: indices into EXTRACTION_TEMPLATES
    session_hours: np.ndarray  # (n_campaigns, 2) UTC start hour of daily work sessions
    user_agents: list[str]
    card_fp: list[str] = field(default_factory=list)
    card_bin: list[str] = field(default_factory=list)
    card_country: list[str] = field(default_factory=list)
    phone_text: list[str] = field(default_factory=list)
    org_text: list[str] = field(default_factory=list)
    referral_text: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.kind)


class _Blocks:
    """Collects per-account attribute blocks and concatenates them once."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, np.ndarray]] = []

    def add(self, **cols: np.ndarray) -> None:
        self.blocks.append(cols)

    def concat(self, name: str) -> np.ndarray:
        return np.concatenate([b[name] for b in self.blocks])


def _cum(probs: np.ndarray) -> np.ndarray:
    p = probs / probs.sum(axis=1, keepdims=True)
    return np.cumsum(p, axis=1).astype(np.float32)


def _split_sizes(
    rng: np.random.Generator, total: int, lo: int, hi: int, log: bool = False
) -> np.ndarray:
    """Group sizes in [lo, hi] whose sum is about ``total`` (0 groups if total < lo)."""
    sizes: list[int] = []
    remaining = total
    while remaining >= lo:
        s = (
            int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            if log
            else int(rng.integers(lo, hi + 1))
        )
        s = min(s, remaining)
        sizes.append(s)
        remaining -= s
    return np.array(sizes, dtype=np.int64)


class _Cards:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.fp: list[str] = []
        self.bin: list[str] = []
        self.country: list[str] = []
        self.legit_bins = [str(b) for b in rng.integers(400000, 559999, size=400)]
        w = 1.0 / np.arange(1, 401) ** 1.1
        self.legit_bin_p = w / w.sum()

    def new(
        self, n: int, bins: list[str] | None = None, countries: np.ndarray | None = None
    ) -> np.ndarray:
        """``n`` new instruments; BINs from ``bins`` (uniform) or the legitimate BIN mix."""
        start = len(self.fp)
        self.fp.extend(hex_ids(self.rng, n, "pm_", 16))
        if bins is None:
            idx = self.rng.choice(len(self.legit_bins), size=n, p=self.legit_bin_p)
            self.bin.extend(self.legit_bins[i] for i in idx.tolist())
        else:
            self.bin.extend(bins[i] for i in self.rng.integers(0, len(bins), size=n).tolist())
        if countries is None:
            countries = self.rng.choice(_COUNTRIES, size=n, p=_COUNTRY_P)
        self.country.extend(countries.tolist())
        return np.arange(start, start + n, dtype=np.int32)


def build_population(sc: Scenario, world: World, rng: np.random.Generator) -> Population:
    """Build every account of the scenario and the infrastructure they use."""
    start = epoch_seconds(sc.start)
    end = start + sc.days * DAY
    blocks = _Blocks()
    cards = _Cards(rng)
    ids = _Ids(rng)
    campaign_bins = [
        [str(b) for b in rng.integers(400000, 559999, size=max(1, c.card_bins))]
        for c in sc.campaigns
    ]

    # Campaign accounts first (their count fixes how many legitimate ones there are).
    chains = [_campaign_chain(c, sc, start, end, rng) for c in sc.campaigns]
    n_campaign = sum(len(ch[0]) for ch in chains)
    n_legit = sc.accounts - n_campaign
    if n_legit < 50:
        raise ValueError(
            f"scenario {sc.name!r}: campaigns take {n_campaign} of {sc.accounts} accounts"
        )

    # Legitimate population sizes.
    n_auto = max(1, round(sc.automation_frac * n_legit))
    fam_sizes = _split_sizes(rng, round(sc.family_frac * n_legit), *sc.family_size)
    comp_sizes = _split_sizes(rng, round(sc.company_frac * n_legit), *sc.company_size, log=True)
    n_students = round(sc.campus_frac * n_legit)
    n_indiv = n_legit - n_auto - int(fam_sizes.sum()) - int(comp_sizes.sum()) - n_students

    # Households: one home address per individual, student, company developer,
    # automation owner, and one per family.
    n_homes = n_indiv + n_students + int(comp_sizes.sum()) + n_auto + len(fam_sizes)
    world.isp_bases = [
        world.add_v4_network(16, "residential", f"Residential ISP {i}")
        for i in range(max(6, n_homes // 15000))
    ]
    n_v6 = round(sc.ipv6_frac * n_homes)
    homes = np.concatenate(
        [
            world.residential_hosts(n_homes - n_v6),
            world.ipv6_hosts(n_v6, "residential", "Residential ISP v6"),
        ]
    )
    homes = homes[rng.permutation(len(homes))]
    while len(homes) < n_homes:  # residential_hosts dedupes; top up rare collisions
        homes = np.concatenate([homes, world.residential_hosts(n_homes - len(homes))])
    home_start, _ = world.ip_pools.add(homes)
    home_cursor = iter(range(home_start, home_start + n_homes))

    def take_homes(k: int) -> np.ndarray:
        return np.fromiter((next(home_cursor) for _ in range(k)), dtype=np.int32, count=k)

    # Shared legitimate infrastructure.
    n_mobile_users = int(
        sc.mobile_frac * (n_indiv + n_students + fam_sizes.sum() + comp_sizes.sum())
    )
    carriers = []
    for k in range(4):
        base = world.add_v4_network(16, "mobile", f"Mobile Carrier {k} CGNAT")
        size = max(2, n_mobile_users // 4 // sc.users_per_cgnat_ip)
        carriers.append(world.ip_pools.add(world.v4_hosts(base, 16, size, "mobile")))
    vpn_bases = [world.add_v4_network(24, "vpn", f"Commercial VPN {k}") for k in range(2)]
    n_vpn_users = int(sc.vpn_frac * n_indiv)
    vpn_hosts = np.concatenate(
        [world.v4_hosts(b, 24, max(10, n_vpn_users // 30), "vpn") for b in vpn_bases]
    )
    vpn_pool = world.ip_pools.add(vpn_hosts)
    cloud_bases = [world.add_v4_network(16, "hosting", f"Cloud Provider {k}") for k in range(3)]
    corp_bases = [
        world.add_v4_network(16, "corporate", f"Business ISP {k}", intel=False) for k in range(4)
    ]
    popular = world.new_devices(N_POPULAR_DEVICES)
    pop_w = 1.0 / np.arange(1, N_POPULAR_DEVICES + 1)
    popular_weighted = np.repeat(popular, np.maximum(1, (pop_w / pop_w.sum() * 200).astype(int)))

    def legit_devices(n: int, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = counts if counts is not None else rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
        total = int(k.sum())
        is_pop = rng.random(total) < sc.popular_device_frac
        devs = np.empty(total, dtype=np.int32)
        devs[is_pop] = popular[
            rng.choice(N_POPULAR_DEVICES, size=int(is_pop.sum()), p=pop_w / pop_w.sum())
        ]
        devs[~is_pop] = world.new_devices(int((~is_pop).sum()))
        s, _ = world.dev_pools.add(devs)
        starts = s + np.concatenate([[0], np.cumsum(k)[:-1]]).astype(np.int32)
        return starts, k.astype(np.int32)

    def legit_created(n: int) -> np.ndarray:
        before = rng.random(n) < 0.85
        return np.where(
            before, start - rng.uniform(0, 540 * DAY, n), rng.uniform(start, end - DAY, n)
        ).astype(np.int64)

    def prompt_mix(n: int, mix: tuple[float, ...]) -> np.ndarray:
        return _cum(np.tile(np.array(mix, dtype=float), (n, 1)))

    def base_block(n: int, kind: str, countries: np.ndarray | None = None) -> dict[str, np.ndarray]:
        countries = (
            countries if countries is not None else rng.choice(_COUNTRIES, size=n, p=_COUNTRY_P)
        )
        created = legit_created(n)
        banned = rng.random(n) < sc.legit_banned_frac
        active_from = np.maximum(created, start)
        ban_at = (active_from + rng.uniform(0.2, 1.0, n) * (end - active_from)).astype(np.int64)
        return {
            "kind": np.full(n, _KIND[kind], np.int8),
            "campaign": np.full(n, -1, np.int16),
            "group": np.full(n, -1, np.int32),
            "created": created,
            "end": np.where(banned, ban_at, end).astype(np.int64),
            "banned": banned,
            "tz": np.array([_TZ[c] for c in countries.tolist()], dtype=np.int8),
            "country": countries.astype(object),
            "legit_template": np.full(n, -1, np.int16),
            "out_tokens": np.full(n, 450.0, np.float32),
            "ua": rng.choice(len(_LEGIT_UAS), size=n, p=_LEGIT_UA_P).astype(np.int16),
            "card": np.full(n, -1, np.int32),
            "phone": np.full(n, -1, np.int32),
            "org": np.full(n, -1, np.int32),
            "referral": np.full(n, -1, np.int32),
        }

    def channels(n: int, **probs: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = np.zeros((n, len(CHANNELS)))
        for name, value in probs.items():
            p[:, _CH[name]] = value
        return (
            _cum(p),
            np.zeros((n, len(CHANNELS)), np.int32),
            np.zeros((n, len(CHANNELS)), np.int32),
        )

    def set_pool(
        st: np.ndarray,
        sz: np.ndarray,
        ch: str,
        pool: tuple[int | np.ndarray, int | np.ndarray],
    ) -> None:
        st[:, _CH[ch]], sz[:, _CH[ch]] = pool

    carrier_start = np.array([c[0] for c in carriers])
    carrier_size = np.array([c[1] for c in carriers])

    def set_mobile(st: np.ndarray, sz: np.ndarray, n: int) -> None:
        """Each account on one of the carriers; requests rotate over its CGNAT pool."""
        carrier = rng.integers(0, len(carriers), n)
        set_pool(st, sz, "mobile", (carrier_start[carrier], carrier_size[carrier]))

    def volume(
        n: int, median: float, sigma: float, created: np.ndarray, stop: np.ndarray
    ) -> np.ndarray:
        active = (stop - np.maximum(created, start)) / (end - start)
        v = rng.lognormal(math.log(median), sigma, n) * np.clip(active, 0.02, 1.0)
        return np.clip(np.round(v), 1, 20_000).astype(np.int64)

    def set_behaviour(
        b: dict[str, np.ndarray],
        chans: tuple[np.ndarray, np.ndarray, np.ndarray],
        timing: str,
        mix: tuple[float, ...],
        *,
        email: np.ndarray,
        median: float,
        sigma: float = sc.legit_requests_sigma,
    ) -> None:
        """Channels, rhythm, prompt mix, email domain and volume of a legitimate block."""
        n = len(b["kind"])
        b.update(
            ch_cum=chans[0],
            ch_start=chans[1],
            ch_size=chans[2],
            timing=np.full(n, _TIMING[timing], np.int8),
            prompt_cum=prompt_mix(n, mix),
            email_domain=email,
            n_req=volume(n, median, sigma, b["created"], b["end"]),
        )

    def webmail(n: int) -> np.ndarray:
        return rng.choice(_WEBMAIL, size=n, p=_WEBMAIL_P).astype(object)

    # -- individuals --------------------------------------------------------------
    n = n_indiv
    b = base_block(n, "individual")
    is_mobile = rng.random(n) < sc.mobile_frac
    is_vpn = rng.random(n) < sc.vpn_frac
    cum, st, sz = channels(
        n, home=0.65, mobile=np.where(is_mobile, 0.3, 0), vpn=np.where(is_vpn, 0.5, 0)
    )
    set_pool(st, sz, "home", (take_homes(n), 1))
    set_mobile(st, sz, n)
    set_pool(st, sz, "vpn", vpn_pool)
    paying = rng.random(n) < sc.paying_frac
    set_behaviour(
        b,
        (cum, st, sz),
        "evening",
        (0.55, 0.15, 0.15, 0.15, 0, 0),
        email=webmail(n),
        median=sc.legit_requests_median,
    )
    b["card"][paying] = cards.new(int(paying.sum()), countries=b["country"][paying])
    virt = paying & (rng.random(n) < sc.legit_virtual_card_frac)
    if virt.any() and campaign_bins:
        b["card"][virt] = cards.new(int(virt.sum()), bins=campaign_bins[0])
    has_phone = rng.random(n) < 0.7
    b["phone"][has_phone] = ids.phones(int(has_phone.sum()))
    b["dev_start"], b["dev_size"] = legit_devices(n)
    blocks.add(**b)

    # -- students behind campus NAT ---------------------------------------------------
    n = n_students
    if n:
        b = base_block(n, "student")
        n_ips = max(1, n // sc.students_per_campus_ip)
        n_campus = max(1, math.ceil(n_ips / 3))
        campus_pools = []
        for k in range(n_campus):
            base = world.add_v4_network(24, "education", f"University {k}")
            campus_pools.append(
                world.ip_pools.add(world.v4_hosts(base, 24, int(rng.integers(1, 5)), "education"))
            )
        campus = rng.integers(0, n_campus, n)
        cum, st, sz = channels(n, campus=0.6, mobile=0.25, home=0.15)
        set_pool(st, sz, "home", (take_homes(n), 1))
        set_pool(
            st,
            sz,
            "campus",
            (
                np.array([c[0] for c in campus_pools])[campus],
                np.array([c[1] for c in campus_pools])[campus],
            ),
        )
        set_mobile(st, sz, n)
        b["group"][:] = campus
        set_behaviour(
            b,
            (cum, st, sz),
            "evening",
            (0.3, 0.25, 0.35, 0.1, 0, 0),
            email=np.array([f"univ{k}.edu" for k in campus.tolist()], dtype=object),
            median=sc.legit_requests_median,
        )
        paying = rng.random(n) < 0.3
        b["card"][paying] = cards.new(int(paying.sum()), countries=b["country"][paying])
        b["dev_start"], b["dev_size"] = legit_devices(n)
        blocks.add(**b)

    # -- families: shared home address and shared card ------------------------------------
    if len(fam_sizes):
        n = int(fam_sizes.sum())
        fam = np.repeat(np.arange(len(fam_sizes)), fam_sizes)
        fam_country = rng.choice(_COUNTRIES, size=len(fam_sizes), p=_COUNTRY_P)
        b = base_block(n, "family", fam_country[fam])
        cum, st, sz = channels(n, home=0.75, mobile=0.25)
        set_pool(st, sz, "home", (take_homes(len(fam_sizes))[fam], 1))
        set_mobile(st, sz, n)
        fam_card = cards.new(len(fam_sizes), countries=fam_country)
        pays = rng.random(len(fam_sizes)) < 0.8
        b["card"] = np.where(pays[fam], fam_card[fam], -1).astype(np.int32)
        first = np.concatenate([[True], fam[1:] != fam[:-1]])
        b["referral"] = np.where(first, -1, ids.referrals(len(fam_sizes))[fam]).astype(np.int32)
        b["phone"] = ids.phones(n)
        b["group"] = fam.astype(np.int32)
        set_behaviour(
            b,
            (cum, st, sz),
            "evening",
            (0.55, 0.15, 0.15, 0.15, 0, 0),
            email=webmail(n),
            median=sc.legit_requests_median,
        )
        b["dev_start"], b["dev_size"] = legit_devices(n)
        blocks.add(**b)

    # -- companies: shared egress, company card, org id, coding prompts, work hours ----------
    if len(comp_sizes):
        n = int(comp_sizes.sum())
        comp = np.repeat(np.arange(len(comp_sizes)), comp_sizes)
        comp_country = rng.choice(_COUNTRIES, size=len(comp_sizes), p=_COUNTRY_P)
        b = base_block(n, "company", comp_country[comp])
        egress_start = np.zeros(len(comp_sizes), np.int32)
        egress_size = np.zeros(len(comp_sizes), np.int32)
        for k in range(len(comp_sizes)):
            base = corp_bases[k % len(corp_bases)] + ((k // len(corp_bases)) % 4096) * 16
            ips = world.v4_hosts(base, 28, int(rng.integers(1, 3)), "corporate")
            egress_start[k], egress_size[k] = world.ip_pools.add(ips)
            if rng.random() < 0.5:  # intel knows half of the companies' ranges
                world.add_intel(
                    f"{ipv4_text(np.array([base]))[0]}/28",
                    "corporate",
                    f"Company {k}",
                    str(comp_country[k]),
                )
        cum, st, sz = channels(n, corp=0.8, home=0.15, mobile=0.05)
        set_pool(st, sz, "corp", (egress_start[comp], egress_size[comp]))
        set_pool(st, sz, "home", (take_homes(n), 1))
        set_mobile(st, sz, n)
        b["card"] = cards.new(len(comp_sizes), countries=comp_country)[comp]
        b["org"] = ids.orgs(len(comp_sizes))[comp]
        b["group"] = comp.astype(np.int32)
        b["legit_template"] = (comp % len(LEGIT_TEMPLATES)).astype(np.int16)
        b["out_tokens"][:] = 900.0
        set_behaviour(
            b,
            (cum, st, sz),
            "work",
            (0.15, 0.5, 0.05, 0.2, 0.1, 0),
            email=np.array([f"company{k}.io" for k in comp.tolist()], dtype=object),
            median=3 * sc.legit_requests_median,
        )
        b["dev_start"], b["dev_size"] = legit_devices(n)
        blocks.add(**b)

    # -- single accounts with heavy legitimate automation (24/7, cloud addresses) -------------
    n = n_auto
    b = base_block(n, "automation")
    cloud = np.concatenate([world.v4_hosts(cloud_bases[k % 3], 16, 2, "hosting") for k in range(n)])
    cloud_start, _ = world.ip_pools.add(cloud)
    cum, st, sz = channels(n, cloud=0.97, home=0.03)
    set_pool(st, sz, "cloud", (cloud_start + 2 * np.arange(n, dtype=np.int32), 2))
    set_pool(st, sz, "home", (take_homes(n), 1))
    b["card"] = cards.new(n, countries=b["country"])
    b["legit_template"] = rng.integers(0, len(LEGIT_TEMPLATES), n).astype(np.int16)
    b["phone"] = ids.phones(n)
    set_behaviour(
        b,
        (cum, st, sz),
        "automated",
        (0.1, 0, 0, 0.1, 0.8, 0),
        email=np.array([f"automation{k}.dev" for k in range(n)], dtype=object),
        median=3000,
        sigma=0.5,
    )
    b["dev_start"], b["dev_size"] = legit_devices(n, np.ones(n, np.int64))
    blocks.add(**b)

    # -- Hydra campaigns ------------------------------------------------------------------
    legit_home_ips = world.ip_pools.values()[home_start : home_start + n_homes]
    campaign_templates = []
    used_templates: set[int] = set()
    for ci, (spec, (slot, created, stop, banned)) in enumerate(
        zip(sc.campaigns, chains, strict=True)
    ):
        n = len(slot)
        n_slots = int(slot.max()) + 1
        countries = rng.choice(_COUNTRIES, size=n, p=_COUNTRY_P)
        b = {
            "kind": np.full(n, _KIND["campaign"], np.int8),
            "campaign": np.full(n, ci, np.int16),
            "group": slot.astype(np.int32),
            "created": created,
            "end": stop,
            "banned": banned,
            "tz": np.zeros(n, np.int8),
            "country": countries.astype(object),
            "legit_template": np.full(n, -1, np.int16),
            "out_tokens": np.full(n, float(spec.output_tokens_median), np.float32),
            "ua": np.full(n, rng.integers(0, len(_CAMPAIGN_UAS)), np.int16),
            "referral": np.full(n, -1, np.int32),
            "org": np.full(n, -1, np.int32),
        }
        # residential proxy exits: partly real users' home addresses
        pool_size = max(8, round(n_slots * spec.proxy_exits_per_account))
        n_overlap = round(pool_size * spec.proxy_overlap)
        overlap = (
            rng.choice(legit_home_ips, size=n_overlap, replace=False)
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
        known = exits[rng.random(len(exits)) < sc.proxy_intel_coverage]
        for ip in known.tolist():
            world.add_intel(world.ip_text[ip], "proxy", "Residential proxy network", "US")
        dc = world.v4_hosts(cloud_bases[ci % 3], 16, max(2, n_slots // 6), "hosting")
        cum, st, sz = channels(n, proxy=spec.proxy_share, dc=spec.hosting_share, vpn=spec.vpn_share)
        set_pool(st, sz, "proxy", world.ip_pools.add(exits))
        set_pool(st, sz, "dc", world.ip_pools.add(dc))
        set_pool(st, sz, "vpn", vpn_pool)
        # devices
        if spec.device_mode in ("rotate", "popular"):
            # each account rotates over a few fingerprints: drawn from the campaign's
            # spoofed pool, or copied from popular defaults to blend in
            k = spec.devices_per_account
            if spec.device_mode == "rotate":
                pool = world.new_devices(max(3, round(n_slots * spec.device_pool_per_slot)))
                picks = pool[rng.integers(0, len(pool), n * k)]
            else:
                picks = popular_weighted[rng.integers(0, len(popular_weighted), n * k)]
            ds, _ = world.dev_pools.add(picks)
            b["dev_start"] = (ds + k * np.arange(n)).astype(np.int32)
            b["dev_size"] = np.full(n, k, np.int32)
        else:
            b["dev_start"], b["dev_size"] = legit_devices(n, np.ones(n, np.int64))
        # cards: virtual cards from a few BINs, shared along slots (replacements reuse them)
        if spec.card_bins:
            n_cards = max(1, math.ceil(n / spec.accounts_per_card))
            b["card"] = cards.new(n_cards, bins=campaign_bins[ci])[slot % n_cards]
        else:
            b["card"] = cards.new(n, countries=countries)
        if spec.phones_per_account > 0:
            phones = ids.phones(max(1, round(n * spec.phones_per_account)))
            b["phone"] = phones[slot % len(phones)]
        else:
            b["phone"] = ids.phones(n)
        disposable = rng.random(n) < spec.disposable_email
        own_domains = np.array([f"mx{k}-{spec.name}.net" for k in range(3)], dtype=object)
        b["email_domain"] = np.where(
            disposable,
            rng.choice(np.concatenate([np.array(_DISPOSABLE, dtype=object), own_domains]), size=n),
            webmail(n),
        )
        b["ua"] = np.full(n, int(rng.integers(0, len(_CAMPAIGN_UAS))), np.int16)
        camo = spec.camouflage
        b.update(
            ch_cum=cum,
            ch_start=st,
            ch_size=sz,
            timing=np.full(n, _TIMING[spec.timing], np.int8),
            prompt_cum=prompt_mix(n, (camo, 0, 0, 0, 0, 1 - camo)),
            n_req=np.clip(
                np.round(rng.lognormal(math.log(spec.requests_per_account), 0.35, n)), 5, 50_000
            ).astype(np.int64),
        )
        fams = [i for i, t in enumerate(EXTRACTION_TEMPLATES) if t[0] in spec.focus]
        by_family: dict[str, list[int]] = {}
        for i in fams:
            by_family.setdefault(EXTRACTION_TEMPLATES[i][0], []).append(i)
        # campaigns are separate operators: prefer templates no earlier campaign uses
        chosen = [
            t
            for ts in by_family.values()
            for t in sorted(rng.permutation(ts).tolist(), key=lambda t: t in used_templates)[
                : spec.templates_per_family
            ]
        ]
        used_templates.update(chosen)
        campaign_templates.append(np.array(sorted(chosen), dtype=np.int16))
        blocks.add(**b)

    # -- assemble in a random order, so file order says nothing about labels --------------
    order = rng.permutation(sum(len(bl["kind"]) for bl in blocks.blocks))
    cols = {name: blocks.concat(name)[order] for name in blocks.blocks[0]}
    user_agents = list(_LEGIT_UAS) + list(_CAMPAIGN_UAS)
    ua = cols["ua"].astype(np.int16)
    is_campaign = cols["kind"] == _KIND["campaign"]
    ua = np.where(is_campaign, ua + len(_LEGIT_UAS), ua).astype(np.int16)
    ua_alt = np.where(
        is_campaign, len(_LEGIT_UAS) + (ua - len(_LEGIT_UAS) + 1) % len(_CAMPAIGN_UAS), ua
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
        card_fp=cards.fp,
        card_bin=cards.bin,
        card_country=cards.country,
        phone_text=ids.phone_text,
        org_text=ids.org_text,
        referral_text=ids.referral_text,
        **{k: v for k, v in cols.items() if k != "ua"},
    )


class _Ids:
    """Phone-number hashes, organisation ids and referral codes."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.phone_text: list[str] = []
        self.org_text: list[str] = []
        self.referral_text: list[str] = []

    def _new(self, store: list[str], n: int, prefix: str) -> np.ndarray:
        start = len(store)
        store.extend(hex_ids(self.rng, n, prefix, 16))
        return np.arange(start, start + n, dtype=np.int32)

    def phones(self, n: int) -> np.ndarray:
        return self._new(self.phone_text, n, "ph_")

    def orgs(self, n: int) -> np.ndarray:
        return self._new(self.org_text, n, "org_")

    def referrals(self, n: int) -> np.ndarray:
        return self._new(self.referral_text, n, "ref_")


def _campaign_chain(
    spec: CampaignSpec, sc: Scenario, start: int, end: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Accounts of one campaign as (slot, created, end, banned).

    Accounts sign up in bursts; with churn each account lives an exponential
    lifetime, is banned, and its slot is refilled hours later by a new account
    on the same infrastructure (same cards, phones, proxies).
    """
    target = max(spec.min_accounts, round(spec.accounts_frac * sc.accounts))
    c_start = start + rng.uniform(0, 0.2) * (end - start)
    bursts = np.sort(
        np.concatenate(
            [
                [c_start],
                rng.uniform(c_start, c_start + 0.5 * (end - c_start), spec.signup_bursts - 1),
            ]
        )
    )
    life = spec.churn_lifetime_days
    if life is None:
        first = (
            bursts[rng.integers(0, len(bursts), target)] + rng.uniform(0, 4 * HOUR, target)
        ).astype(np.int64)
        return np.arange(target), first, np.full(target, end, np.int64), np.zeros(target, bool)
    mean_rest = 0.6 * (end - c_start) / DAY
    n_slots = max(1, math.ceil(target / (1 + mean_rest / life)))
    while True:
        slots: list[int] = []
        created: list[float] = []
        stops: list[float] = []
        banned: list[bool] = []
        for s in range(n_slots):
            t = float(bursts[rng.integers(0, len(bursts))] + rng.uniform(0, 4 * HOUR))
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


def epoch_seconds(iso: str) -> int:
    return int(np.datetime64(iso.replace("Z", ""), "s").astype(np.int64))
