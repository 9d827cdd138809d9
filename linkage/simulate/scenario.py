"""Simulation scenarios: every knob of the traffic simulator in one JSON-round-trippable object."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from linkage.errors import ScenarioError

__all__ = ["SCENARIOS", "CampaignSpec", "Scenario", "load_scenario"]

Timing = Literal["automated", "sync", "human"]
DeviceMode = Literal["rotate", "popular", "unique"]
TEMPLATE_FAMILIES = ("coding", "agentic", "reasoning", "rewrite")


@dataclass(frozen=True)
class CampaignSpec:
    """One coordinated (Hydra) campaign.

    Sizes are a fraction of the scenario's accounts with a floor, so the same
    scenario scales from a demo to a million accounts.
    """

    name: str
    accounts_frac: float
    min_accounts: int
    requests_per_account: float
    focus: tuple[str, ...] = ("coding", "agentic")
    camouflage: float = 0.3
    """Share of prompts that are mundane everyday requests, to flatten signals."""
    timing: Timing = "automated"
    churn_lifetime_days: float | None = 12.0
    """Mean days an account lives before it is banned and replaced; None: no churn."""
    signup_bursts: int = 4
    proxy_share: float = 0.6
    hosting_share: float = 0.3
    vpn_share: float = 0.1
    proxy_exits_per_account: float = 3.0
    """Size of the campaign's residential-proxy exit pool, per concurrent account."""
    proxy_overlap: float = 0.5
    """Share of proxy exits that are also real users' home addresses."""
    proxy_prefixes: int = 0
    """If > 0, proxy exits are concentrated in this many /24 prefixes."""
    card_bins: int = 3
    """Virtual cards come from this many BINs; 0: each account its own ordinary card."""
    accounts_per_card: float = 4.0
    device_mode: DeviceMode = "rotate"
    devices_per_account: int = 3
    """Fingerprints each account rotates over (``rotate`` and ``popular`` modes)."""
    device_pool_per_slot: float = 0.5
    """Size of the campaign's spoofed fingerprint pool per concurrent account (``rotate``)."""
    disposable_email: float = 0.7
    phones_per_account: float = 0.25
    """Virtual SMS numbers per account (reused across accounts); 0 with card_bins 0: unique."""
    templates_per_family: int = 2
    output_tokens_median: int = 1600

    def __post_init__(self) -> None:
        unknown = set(self.focus) - set(TEMPLATE_FAMILIES)
        if unknown:
            raise ScenarioError(
                f"campaign {self.name!r}: unknown focus {sorted(unknown)}; "
                f"choose from {list(TEMPLATE_FAMILIES)}"
            )
        for name in ("accounts_frac", "camouflage", "proxy_overlap"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ScenarioError(
                    f"campaign {self.name!r}: {name} must be in [0, 1], got {value}"
                )
        if abs(self.proxy_share + self.hosting_share + self.vpn_share - 1.0) > 1e-6:
            raise ScenarioError(
                f"campaign {self.name!r}: proxy_share + hosting_share + vpn_share must be 1"
            )


@dataclass(frozen=True)
class Scenario:
    """Every knob of the simulator. ``accounts`` is the total number of accounts."""

    name: str = "default"
    accounts: int = 3000
    days: int = 45
    start: str = "2026-09-01T00:00:00Z"
    # legitimate populations (shares of legitimate accounts)
    family_frac: float = 0.06
    family_size: tuple[int, int] = (2, 5)
    company_frac: float = 0.08
    company_size: tuple[int, int] = (5, 60)
    automation_frac: float = 0.002
    campus_frac: float = 0.05
    mobile_frac: float = 0.45
    """Share of legitimate individuals who also use a mobile carrier (CGNAT) address."""
    vpn_frac: float = 0.06
    ipv6_frac: float = 0.2
    popular_device_frac: float = 0.1
    """Share of legitimate devices that carry a popular default fingerprint."""
    paying_frac: float = 0.55
    users_per_cgnat_ip: int = 250
    students_per_campus_ip: int = 150
    legit_requests_median: float = 6.5
    legit_requests_sigma: float = 1.3
    legit_virtual_card_frac: float = 0.0
    """Share of paying legitimate accounts whose card comes from a campaign BIN."""
    legit_banned_frac: float = 0.002
    """Legitimate accounts banned for unrelated reasons (no replacement follows)."""
    proxy_intel_coverage: float = 0.3
    """Share of campaign proxy exits the platform's IP intelligence knows as ``proxy``."""
    # prompts
    prompt_sample_rate: float = 0.05
    embedding_dim: int = 0
    campaigns: tuple[CampaignSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.accounts < 100:
            raise ScenarioError(
                f"scenario {self.name!r}: accounts must be >= 100, got {self.accounts}"
            )
        if self.days < 1:
            raise ScenarioError(f"scenario {self.name!r}: days must be >= 1")
        if not 0.0 <= self.prompt_sample_rate <= 1.0:
            raise ScenarioError("prompt_sample_rate must be in [0, 1]")
        names = [c.name for c in self.campaigns]
        if len(set(names)) != len(names):
            raise ScenarioError(f"scenario {self.name!r}: campaign names must be unique")

    def with_accounts(self, accounts: int) -> Scenario:
        """The same scenario at another size."""
        return replace(self, accounts=accounts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path) -> None:
        """Write the scenario as JSON (loadable with :func:`load_scenario`)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ScenarioError(f"unknown scenario settings: {sorted(unknown)}")
        data = dict(data)
        campaigns = []
        for c in data.pop("campaigns", []):
            c = dict(c)
            ck = {f.name for f in fields(CampaignSpec)}
            if set(c) - ck:
                raise ScenarioError(f"unknown campaign settings: {sorted(set(c) - ck)}")
            c["focus"] = tuple(c.get("focus", ("coding", "agentic")))
            campaigns.append(CampaignSpec(**c))
        for key in ("family_size", "company_size"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(campaigns=tuple(campaigns), **data)


_DEFAULT_CAMPAIGNS = (
    # Largest reported campaign: ~25k accounts, 28.8M exchanges over 45 days,
    # coding and agentic reasoning, proxy networks, ban-and-replace churn.
    CampaignSpec(
        name="hydra-coding",
        accounts_frac=0.012,
        min_accounts=40,
        requests_per_account=600,
        focus=("coding", "agentic"),
        camouflage=0.3,
        timing="automated",
        churn_lifetime_days=12.0,
        signup_bursts=5,
    ),
    # Chain-of-thought elicitation in synchronised work sessions.
    CampaignSpec(
        name="hydra-reasoning",
        accounts_frac=0.005,
        min_accounts=25,
        requests_per_account=500,
        focus=("reasoning",),
        camouflage=0.25,
        timing="sync",
        churn_lifetime_days=18.0,
        proxy_share=0.3,
        hosting_share=0.4,
        vpn_share=0.3,
        card_bins=2,
        accounts_per_card=3.0,
        device_mode="popular",
    ),
    # Censorship-safe rewrites plus reasoning, from hosting ranges, 24/7.
    CampaignSpec(
        name="hydra-rewrite",
        accounts_frac=0.002,
        min_accounts=15,
        requests_per_account=300,
        focus=("rewrite", "reasoning"),
        camouflage=0.35,
        timing="automated",
        churn_lifetime_days=20.0,
        proxy_share=0.2,
        hosting_share=0.7,
        vpn_share=0.1,
        card_bins=1,
        accounts_per_card=5.0,
    ),
    # Surgical: low volume, no shared card or device at all; only prompt
    # templates, a proxy provider's few prefixes and synchronised sessions bind it.
    CampaignSpec(
        name="surgical-agentic",
        accounts_frac=0.0008,
        min_accounts=12,
        requests_per_account=60,
        focus=("agentic",),
        camouflage=0.15,
        timing="sync",
        churn_lifetime_days=None,
        signup_bursts=2,
        proxy_share=1.0,
        hosting_share=0.0,
        vpn_share=0.0,
        proxy_exits_per_account=6.0,
        proxy_overlap=0.0,
        proxy_prefixes=6,
        card_bins=0,
        device_mode="unique",
        disposable_email=0.0,
        phones_per_account=0.0,
        templates_per_family=1,
    ),
)

SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(name="default", accounts=3000, campaigns=_DEFAULT_CAMPAIGNS),
    "hard": Scenario(
        name="hard",
        accounts=6000,
        company_frac=0.12,
        company_size=(5, 120),
        campus_frac=0.08,
        vpn_frac=0.12,
        mobile_frac=0.6,
        popular_device_frac=0.2,
        legit_virtual_card_frac=0.01,
        proxy_intel_coverage=0.1,
        prompt_sample_rate=0.03,
        campaigns=tuple(
            replace(
                c,
                camouflage=min(0.9, c.camouflage + 0.3),
                proxy_overlap=0.9 if c.proxy_overlap else 0.0,
                device_mode="popular" if c.device_mode == "rotate" else c.device_mode,
                disposable_email=c.disposable_email * 0.3,
                requests_per_account=c.requests_per_account * 0.6,
                timing="human" if c.name == "hydra-coding" else c.timing,
            )
            for c in _DEFAULT_CAMPAIGNS
        ),
    ),
}


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A named scenario (``default``, ``hard``) or one saved as JSON."""
    key = str(name_or_path)
    if key in SCENARIOS:
        return SCENARIOS[key]
    path = Path(key)
    if path.suffix == ".json" and path.is_file():
        try:
            return Scenario.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ScenarioError(f"{path}: not a valid scenario file: {exc}") from exc
    raise ScenarioError(
        f"unknown scenario {key!r}: use one of {sorted(SCENARIOS)} or a path to a .json file"
    )
