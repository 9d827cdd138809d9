"""Shared infrastructure of the simulated platform: address pools, device
fingerprints, card BINs, and the IP intelligence a platform would hold.

Everything is an index into one global table per entity type; accounts refer to
pools (contiguous slices of ``pool_ips`` / ``pool_devs``) so traffic generation
is pure numpy gathers.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["IndexPools", "World", "hex_ids", "ipv4_text"]


def ipv4_text(values: np.ndarray) -> list[str]:
    """Dotted-quad text for unsigned 32-bit integers."""
    v = values.astype(np.uint64)
    a, b, c, d = (v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255
    return [
        f"{w}.{x}.{y}.{z}"
        for w, x, y, z in zip(a.tolist(), b.tolist(), c.tolist(), d.tolist(), strict=True)
    ]


def hex_ids(rng: np.random.Generator, n: int, prefix: str, digits: int = 16) -> list[str]:
    """``n`` random hexadecimal identifiers with a prefix (collisions are negligible)."""
    vals = rng.integers(0, 2**63 - 1, size=n, dtype=np.int64)
    mask = (1 << (4 * digits)) - 1 if digits < 16 else (1 << 63) - 1
    return [f"{prefix}{x & mask:0{digits}x}" for x in vals.tolist()]


@dataclass
class IndexPools:
    """Concatenated pools of entity indices; a pool is (start, size) in ``values``."""

    chunks: list[np.ndarray] = field(default_factory=list)
    length: int = 0

    def add(self, indices: np.ndarray) -> tuple[int, int]:
        """Append a pool; return its (start, size)."""
        arr = np.asarray(indices, dtype=np.int32)
        start = self.length
        self.chunks.append(arr)
        self.length += len(arr)
        return start, len(arr)

    def values(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int32)


@dataclass
class World:
    """Global entity tables and pools, shared by legitimate users and campaigns."""

    rng: np.random.Generator
    ip_text: list[str] = field(default_factory=list)
    ip_kind: list[str] = field(default_factory=list)
    intel: list[dict[str, object]] = field(default_factory=list)
    device_text: list[str] = field(default_factory=list)
    ip_pools: IndexPools = field(default_factory=IndexPools)
    dev_pools: IndexPools = field(default_factory=IndexPools)
    isp_bases: list[int] = field(default_factory=list)
    _used_v4: set[int] = field(default_factory=set)
    _next_asn: int = 64600

    # -- addresses -----------------------------------------------------------------
    def _add_ips(self, texts: list[str], kind: str) -> np.ndarray:
        start = len(self.ip_text)
        self.ip_text.extend(texts)
        self.ip_kind.extend([kind] * len(texts))
        return np.arange(start, start + len(texts), dtype=np.int32)

    def _fresh_v4_block(self, prefix_len: int) -> int:
        """A random unused public-looking IPv4 network base address."""
        first_octets = np.array(
            [23, 24, 45, 50, 67, 71, 73, 76, 82, 86, 92, 98, 99, 109, 151, 174, 185, 188, 212]
        )
        while True:
            base = int(self.rng.choice(first_octets)) << 24 | int(self.rng.integers(0, 1 << 24))
            base &= ~((1 << (32 - prefix_len)) - 1) & 0xFFFFFFFF
            key = base >> 16
            if key not in self._used_v4:
                self._used_v4.add(key)
                return base

    def add_v4_network(
        self, prefix_len: int, kind: str, org: str, country: str = "US", *, intel: bool = True
    ) -> int:
        """Reserve a new IPv4 network and (optionally) publish it in ip_intel; return its base."""
        base = self._fresh_v4_block(prefix_len)
        if intel:
            self.add_intel(f"{ipv4_text(np.array([base]))[0]}/{prefix_len}", kind, org, country)
        return base

    def add_intel(self, cidr: str, kind: str, org: str, country: str) -> None:
        """Publish a network (or single address) in the platform's IP intelligence."""
        self._next_asn += 1
        self.intel.append(
            {"cidr": cidr, "kind": kind, "asn": self._next_asn, "org": org, "country": country}
        )

    def v4_hosts(self, base: int, prefix_len: int, n: int, kind: str) -> np.ndarray:
        """``n`` distinct host addresses inside a network, as global IP indices."""
        span = (1 << (32 - prefix_len)) - 2
        offs = self.rng.choice(span, size=min(n, span), replace=False) + 1
        return self._add_ips(ipv4_text(base + offs), kind)

    def residential_hosts(self, n: int) -> np.ndarray:
        """Up to ``n`` distinct household addresses spread over the ISP networks."""
        isp = self.rng.integers(0, len(self.isp_bases), size=n)
        host = self.rng.integers(1, 65535, size=n)
        ints = np.array(self.isp_bases, dtype=np.int64)[isp] + host
        ints = np.unique(ints)
        self.rng.shuffle(ints)
        return self._add_ips(ipv4_text(ints), "residential")

    def ipv6_hosts(self, n: int, kind: str, org: str) -> np.ndarray:
        """``n`` IPv6 addresses, one per /48 site, inside a fresh /32."""
        top = 0x2600 + int(self.rng.integers(0, 0x1FF))
        second = int(self.rng.integers(0, 0xFFFF))
        net = ipaddress.IPv6Network(f"{top:x}:{second:x}::/32")
        self.add_intel(str(net), kind, org, "US")
        sites = self.rng.choice(0xFFFF, size=n, replace=n > 0xFFFF) + 1
        ifaces = self.rng.integers(1, 2**62, size=n)
        base = int(net.network_address)
        texts = [
            str(ipaddress.IPv6Address(base | (int(s) << 80) | int(i)))
            for s, i in zip(sites, ifaces, strict=True)
        ]
        return self._add_ips(texts, kind)

    # -- devices ---------------------------------------------------------------------
    def new_devices(self, n: int) -> np.ndarray:
        """``n`` fresh device fingerprints (global device indices)."""
        start = len(self.device_text)
        self.device_text.extend(hex_ids(self.rng, n, "fp_", 16))
        return np.arange(start, start + n, dtype=np.int32)

    def intel_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.intel, columns=["cidr", "kind", "asn", "org", "country"])
