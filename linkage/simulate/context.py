"""What every population builder shares: the scenario, the world, the random
stream, the card and identifier registries, and the legitimate infrastructure
(homes, mobile carriers, VPN exits, clouds, business ISPs, popular devices)."""

from __future__ import annotations

import math

import numpy as np

from linkage.simulate.accounts import (
    CH,
    CHANNELS,
    COUNTRIES,
    COUNTRY_P,
    DAY,
    KIND,
    LEGIT_UA_P,
    LEGIT_UAS,
    N_POPULAR_DEVICES,
    POPULATION,
    TIMING,
    TZ,
    WEBMAIL,
    WEBMAIL_P,
    epoch_seconds,
)
from linkage.simulate.scenario import Scenario
from linkage.simulate.world import World, hex_ids

_KIND_POPULATION = {
    "individual": "individual",
    "student": "campus",
    "family": "family",
    "company": "company",
    "automation": "automation",
}

__all__ = ["Blocks", "BuildContext", "Cards", "Channels", "Ids", "cum", "split_sizes"]

Channels = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(cumulative channel probabilities, pool starts, pool sizes), each (n, len(CHANNELS))."""


class Blocks:
    """Collects per-account attribute blocks and concatenates them once."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, np.ndarray]] = []

    def add(self, **cols: np.ndarray) -> None:
        self.blocks.append(cols)

    def concat(self, name: str) -> np.ndarray:
        return np.concatenate([b[name] for b in self.blocks])


def cum(probs: np.ndarray) -> np.ndarray:
    p = probs / probs.sum(axis=1, keepdims=True)
    return np.cumsum(p, axis=1).astype(np.float32)


def split_sizes(
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


class Cards:
    """Payment instruments: fingerprint, BIN and issuing country per card."""

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
            countries = self.rng.choice(COUNTRIES, size=n, p=COUNTRY_P)
        self.country.extend(countries.tolist())
        return np.arange(start, start + n, dtype=np.int32)


class Ids:
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


class BuildContext:
    """State shared by the population builders; each builder appends one block.

    The order in which builders draw from ``rng`` is part of the output: the same
    seed and scenario must give the same files, so builders run in a fixed order.
    """

    def __init__(self, sc: Scenario, world: World, rng: np.random.Generator) -> None:
        self.sc, self.world, self.rng = sc, world, rng
        self.start = epoch_seconds(sc.start)
        self.end = self.start + sc.days * DAY
        self.blocks = Blocks()
        self.cards = Cards(rng)
        self.ids = Ids(rng)
        self.campaign_bins = [
            [str(b) for b in rng.integers(400000, 559999, size=max(1, c.card_bins))]
            for c in sc.campaigns
        ]
        self.schedules: list[tuple[float, float, float, float, float, float]] = []
        self.provider_pools: dict[str, tuple[int, int]] = {}
        self.n_corp_blocks = 0
        """Corporate /28 egress blocks handed out so far (companies, teams, fronts)."""
        self.proxy_exits: list[np.ndarray] = []
        """Every campaign's residential exits (global IP indices), to find borrowed homes."""

    def add_schedule(
        self, weekday: int, hour: float, hours: float, t_from: float, t_to: float, share: float
    ) -> int:
        """A recurring session: ``share`` of an account's requests fall on ``weekday``
        (0 = Monday, -1 = every day) from ``hour`` (UTC) for ``hours``, between
        ``t_from`` and ``t_to``; return its index for the ``sched`` column."""
        self.schedules.append((weekday, hour, hours, t_from, t_to, share))
        return len(self.schedules) - 1

    # -- shared legitimate infrastructure -----------------------------------------------
    def add_homes(self, n_homes: int) -> None:
        """One home address per household, spread over residential ISPs (v4 and v6)."""
        world, rng = self.world, self.rng
        world.isp_bases = [
            world.add_v4_network(16, "residential", f"Residential ISP {i}")
            for i in range(max(6, n_homes // 15000))
        ]
        n_v6 = round(self.sc.ipv6_frac * n_homes)
        homes = np.concatenate(
            [
                world.residential_hosts(n_homes - n_v6),
                world.ipv6_hosts(n_v6, "residential", "Residential ISP v6"),
            ]
        )
        homes = homes[rng.permutation(len(homes))]
        while len(homes) < n_homes:  # residential_hosts dedupes; top up rare collisions
            homes = np.concatenate([homes, world.residential_hosts(n_homes - len(homes))])
        self.home_start, _ = world.ip_pools.add(homes)
        self.n_homes = n_homes
        self._home_next = self.home_start

    def add_shared_networks(self, n_mobile_users: int, n_vpn_users: int) -> None:
        """Mobile carriers (CGNAT), commercial VPNs, clouds, business ISPs, popular devices."""
        world, sc = self.world, self.sc
        carriers = []
        for k in range(4):
            base = world.add_v4_network(16, "mobile", f"Mobile Carrier {k} CGNAT")
            size = max(2, n_mobile_users // 4 // sc.users_per_cgnat_ip)
            carriers.append(world.ip_pools.add(world.v4_hosts(base, 16, size, "mobile")))
        self.carrier_start = np.array([c[0] for c in carriers])
        self.carrier_size = np.array([c[1] for c in carriers])
        vpn_bases = [world.add_v4_network(24, "vpn", f"Commercial VPN {k}") for k in range(2)]
        vpn_hosts = np.concatenate(
            [world.v4_hosts(b, 24, max(10, n_vpn_users // 30), "vpn") for b in vpn_bases]
        )
        self.vpn_pool = world.ip_pools.add(vpn_hosts)
        self.cloud_bases = [
            world.add_v4_network(16, "hosting", f"Cloud Provider {k}") for k in range(3)
        ]
        self.corp_bases = [
            world.add_v4_network(16, "corporate", f"Business ISP {k}", intel=False)
            for k in range(4)
        ]
        self.popular = world.new_devices(N_POPULAR_DEVICES)
        self.pop_w = 1.0 / np.arange(1, N_POPULAR_DEVICES + 1)
        self.popular_weighted = np.repeat(
            self.popular, np.maximum(1, (self.pop_w / self.pop_w.sum() * 200).astype(int))
        )

    def take_homes(self, k: int) -> np.ndarray:
        """The next ``k`` unused home addresses (pool positions)."""
        out = np.arange(self._home_next, self._home_next + k, dtype=np.int32)
        self._home_next += k
        return out

    def legit_home_ips(self) -> np.ndarray:
        """Every household's home address (global IP indices)."""
        return self.world.ip_pools.values()[self.home_start : self.home_start + self.n_homes]

    # -- per-account attributes ---------------------------------------------------------
    def legit_devices(
        self, n: int, counts: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """1-3 devices per account, some carrying a popular default fingerprint."""
        rng = self.rng
        k = counts if counts is not None else rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
        total = int(k.sum())
        is_pop = rng.random(total) < self.sc.popular_device_frac
        devs = np.empty(total, dtype=np.int32)
        devs[is_pop] = self.popular[
            rng.choice(N_POPULAR_DEVICES, size=int(is_pop.sum()), p=self.pop_w / self.pop_w.sum())
        ]
        devs[~is_pop] = self.world.new_devices(int((~is_pop).sum()))
        s, _ = self.world.dev_pools.add(devs)
        starts = s + np.concatenate([[0], np.cumsum(k)[:-1]]).astype(np.int32)
        return starts, k.astype(np.int32)

    def legit_created(self, n: int) -> np.ndarray:
        """Sign-up times: 85% before the window (up to 18 months), the rest inside it."""
        rng = self.rng
        before = rng.random(n) < 0.85
        return np.where(
            before,
            self.start - rng.uniform(0, 540 * DAY, n),
            rng.uniform(self.start, self.end - DAY, n),
        ).astype(np.int64)

    @staticmethod
    def prompt_mix(n: int, mix: tuple[float, ...]) -> np.ndarray:
        return cum(np.tile(np.array(mix, dtype=float), (n, 1)))

    def base_block(
        self,
        n: int,
        kind: str,
        countries: np.ndarray | None = None,
        population: str | None = None,
    ) -> dict[str, np.ndarray]:
        """The attributes every legitimate account has, before its population fills in more.

        ``population`` (default: the kind's own, ``campus`` for students) is the label.
        """
        rng, start, end = self.rng, self.start, self.end
        countries = (
            countries if countries is not None else rng.choice(COUNTRIES, size=n, p=COUNTRY_P)
        )
        created = self.legit_created(n)
        banned = rng.random(n) < self.sc.legit_banned_frac
        active_from = np.maximum(created, start)
        ban_at = (active_from + rng.uniform(0.2, 1.0, n) * (end - active_from)).astype(np.int64)
        return {
            "kind": np.full(n, KIND[kind], np.int8),
            "campaign": np.full(n, -1, np.int16),
            "group": np.full(n, -1, np.int32),
            "created": created,
            "end": np.where(banned, ban_at, end).astype(np.int64),
            "banned": banned,
            "tz": np.array([TZ[c] for c in countries.tolist()], dtype=np.int8),
            "country": countries.astype(object),
            "legit_template": np.full(n, -1, np.int16),
            "out_tokens": np.full(n, 450.0, np.float32),
            "ua": rng.choice(len(LEGIT_UAS), size=n, p=LEGIT_UA_P).astype(np.int16),
            "card": np.full(n, -1, np.int32),
            "phone": np.full(n, -1, np.int32),
            "org": np.full(n, -1, np.int32),
            "referral": np.full(n, -1, np.int32),
            "population": np.full(n, POPULATION[population or _KIND_POPULATION[kind]], np.int8),
            "group_name": np.full(n, None, dtype=object),
            "sched": np.full(n, -1, np.int16),
        }

    @staticmethod
    def name_groups(b: dict[str, np.ndarray], prefix: str) -> None:
        """Label each account with its group: ``prefix-<group>``."""
        b["group_name"] = np.array([f"{prefix}-{g}" for g in b["group"].tolist()], dtype=object)

    @staticmethod
    def channels(n: int, **probs: float | np.ndarray) -> Channels:
        """Channel probabilities per account, with empty pools to fill by :meth:`set_pool`."""
        p = np.zeros((n, len(CHANNELS)))
        for name, value in probs.items():
            p[:, CH[name]] = value
        return (
            cum(p),
            np.zeros((n, len(CHANNELS)), np.int32),
            np.zeros((n, len(CHANNELS)), np.int32),
        )

    @staticmethod
    def set_pool(chans: Channels, ch: str, pool: tuple[int | np.ndarray, int | np.ndarray]) -> None:
        """Point channel ``ch`` of every account at ``pool`` (start, size)."""
        _, st, sz = chans
        st[:, CH[ch]], sz[:, CH[ch]] = pool

    def set_mobile(self, chans: Channels, n: int) -> None:
        """Each account on one of the carriers; requests rotate over its CGNAT pool."""
        carrier = self.rng.integers(0, len(self.carrier_start), n)
        self.set_pool(chans, "mobile", (self.carrier_start[carrier], self.carrier_size[carrier]))

    def volume(
        self, n: int, median: float, sigma: float, created: np.ndarray, stop: np.ndarray
    ) -> np.ndarray:
        """Heavy-tailed request counts, scaled by the share of the window an account lives."""
        active = (stop - np.maximum(created, self.start)) / (self.end - self.start)
        v = self.rng.lognormal(math.log(median), sigma, n) * np.clip(active, 0.02, 1.0)
        return np.clip(np.round(v), 1, 20_000).astype(np.int64)

    def set_behaviour(
        self,
        b: dict[str, np.ndarray],
        chans: Channels,
        timing: str,
        mix: tuple[float, ...],
        *,
        email: np.ndarray,
        median: float,
        sigma: float | None = None,
    ) -> None:
        """Channels, rhythm, prompt mix, email domain and volume of a legitimate block."""
        n = len(b["kind"])
        sigma = self.sc.legit_requests_sigma if sigma is None else sigma
        b.update(
            ch_cum=chans[0],
            ch_start=chans[1],
            ch_size=chans[2],
            timing=np.full(n, TIMING[timing], np.int8),
            prompt_cum=self.prompt_mix(n, mix),
            email_domain=email,
            n_req=self.volume(n, median, sigma, b["created"], b["end"]),
        )

    def webmail(self, n: int) -> np.ndarray:
        return self.rng.choice(WEBMAIL, size=n, p=WEBMAIL_P).astype(object)
