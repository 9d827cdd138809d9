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
CampaignKind = Literal["hydra", "surgical", "behaviour_only", "front_company"]
CAMPAIGN_KINDS = ("hydra", "surgical", "behaviour_only", "front_company")
TEMPLATE_FAMILIES = ("coding", "agentic", "reasoning", "rewrite")


@dataclass(frozen=True)
class CampaignSpec:
    """One coordinated (Hydra) campaign.

    Sizes are a fraction of the scenario's accounts with a floor, so the same
    scenario scales from a demo to a million accounts.

    ``kind`` picks how the operator builds its accounts:

    - ``hydra``: virtual cards from a few BINs, rotating or copied device
      fingerprints, a residential-proxy pool shared by the whole campaign.
    - ``surgical``: built like ``hydra``; set ``card_bins=0`` and
      ``device_mode="unique"`` so nothing but prompts, prefixes and timing bind it.
    - ``behaviour_only``: every account has its own ordinary card, its own fresh
      device, its own phone and its own ``round(proxy_exits_per_account)``
      residential exits (``proxy_overlap`` of them real users' homes, never shared
      with another account of the campaign); only sign-up bursts, scheduler-
      synchronised sessions (``timing="sync"``) and the extraction templates tie
      it together. Requires ``proxy_share=1``.
    - ``front_company``: structurally a customer: one email domain, a corporate
      egress on a business ISP (``corporate_share``) plus cloud hosts
      (``hosting_share``), one company card on an ordinary BIN, one organisation
      id, accounts created ``account_age_days`` before the window.
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
    kind: CampaignKind = "hydra"
    signup_spread_hours: float = 4.0
    """Accounts of one sign-up burst are created within this many hours of it."""
    corporate_share: float = 0.0
    """Share of requests from the operator's own corporate egress (``front_company``)."""
    account_age_days: float = 0.0
    """If > 0, accounts sign up (in bursts) up to this many days before the window."""
    mass_ban_at: float | None = None
    """Fraction of the window at which the platform bans every live account at once;
    accounts the chain would create later are not created. None: no mass ban."""
    regrowth_frac: float = 0.0
    """Replacement accounts after the mass ban, per account banned in it. Each sits on
    one banned account's card, phone and device fingerprints and the campaign's proxies."""
    regrowth_requests: tuple[int, int] = (5, 30)
    """Requests per replacement account (inclusive range): they are new."""
    regrowth_days: float = 3.0
    """Replacement accounts are created in the last this-many days of the window."""
    proxy_provider: str = ""
    """Campaigns naming the same provider draw residential exits from that commercial
    provider's one pool (separate operators sharing only commodity exits); empty: own pool."""

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
        shares = self.proxy_share + self.hosting_share + self.vpn_share + self.corporate_share
        if abs(shares - 1.0) > 1e-6:
            raise ScenarioError(
                f"campaign {self.name!r}: proxy_share + hosting_share + vpn_share"
                " + corporate_share must be 1"
            )
        if self.kind not in CAMPAIGN_KINDS:
            raise ScenarioError(
                f"campaign {self.name!r}: unknown kind {self.kind!r}; choose from {CAMPAIGN_KINDS}"
            )
        if self.kind == "behaviour_only" and self.proxy_share != 1.0:
            raise ScenarioError(f"campaign {self.name!r}: behaviour_only needs proxy_share=1")
        if self.corporate_share and self.kind != "front_company":
            raise ScenarioError(f"campaign {self.name!r}: corporate_share is for front_company")
        lo, hi = self.regrowth_requests
        if not 1 <= lo <= hi:
            raise ScenarioError(f"campaign {self.name!r}: regrowth_requests must be 1 <= lo <= hi")
        if self.mass_ban_at is not None and not 0.0 < self.mass_ban_at < 1.0:
            raise ScenarioError(f"campaign {self.name!r}: mass_ban_at must be in (0, 1)")


@dataclass(frozen=True)
class Scenario:
    """Every knob of the simulator. ``accounts`` is the total number of accounts."""

    name: str = "default"
    accounts: int = 3000
    days: int = 45
    """Length of the simulated window."""
    start: str = "2026-09-01T00:00:00Z"
    """Start of the window (ISO 8601, UTC)."""
    # legitimate populations (shares of legitimate accounts)
    family_frac: float = 0.06
    family_size: tuple[int, int] = (2, 5)
    """Accounts per family (inclusive range); a family shares a home address and a card."""
    company_frac: float = 0.08
    company_size: tuple[int, int] = (5, 60)
    """Developers per company (log-uniform); they share egress, card, org id, template."""
    automation_frac: float = 0.002
    """Single accounts with heavy 24/7 automation from cloud addresses."""
    campus_frac: float = 0.05
    """Students behind campus NAT (``students_per_campus_ip`` per address)."""
    mobile_frac: float = 0.45
    """Share of legitimate individuals who also use a mobile carrier (CGNAT) address."""
    vpn_frac: float = 0.06
    """Share of individuals who sometimes use a commercial VPN exit."""
    ipv6_frac: float = 0.2
    """Share of home addresses that are IPv6."""
    popular_device_frac: float = 0.1
    """Share of legitimate devices that carry a popular default fingerprint."""
    paying_frac: float = 0.55
    """Share of individuals with a card on file."""
    users_per_cgnat_ip: int = 250
    students_per_campus_ip: int = 150
    legit_requests_median: float = 6.5
    """Median requests of an individual over the window (log-normal)."""
    legit_requests_sigma: float = 1.3
    """Log-normal sigma of legitimate volumes (heavy tail)."""
    legit_virtual_card_frac: float = 0.0
    """Share of paying legitimate accounts whose card comes from a campaign BIN."""
    legit_banned_frac: float = 0.002
    """Legitimate accounts banned for unrelated reasons (no replacement follows)."""
    proxy_intel_coverage: float = 0.3
    """Share of campaign proxy exits the platform's IP intelligence knows as ``proxy``."""
    # legitimate look-alikes: coordinated for innocent reasons (shares of legitimate accounts)
    eval_team_frac: float = 0.0
    """Enterprise evaluation teams: old accounts, one org id and corporate card paying
    weekly, corporate egress plus team cloud hosts, benchmark templates run 24/7."""
    eval_team_size: tuple[int, int] = (8, 40)
    class_frac: float = 0.0
    """University classes: accounts created in a burst at the first lab, the lab's NAT
    address and machine image, a weekly lab session, the assignment's prompt template."""
    class_size: tuple[int, int] = (20, 90)
    hackathon_frac: float = 0.0
    """Hackathon / bootcamp cohorts: sign up in one burst at one venue's Wi-Fi, share a
    promo code (``referral_code``) and a starter-kit template, work the same event days."""
    hackathon_size: tuple[int, int] = (20, 150)
    saas_frac: float = 0.0
    """SaaS resellers: end-user accounts provisioned in nightly batches, all calling from
    the app's cloud hosts with its card, org id, user agent and system-prompt template."""
    saas_size: tuple[int, int] = (20, 300)
    framework_frac: float = 0.0
    """Unrelated users of popular open-source agent frameworks: the framework's prompt
    template and default user agent, otherwise ordinary individuals."""
    frameworks: int = 2
    ci_bot_frac: float = 0.0
    """CI bots of unrelated owners on one cloud's hosted-runner pool: shared runner
    addresses and image fingerprints, cron-scheduled at the top of the hour."""
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
        for name in _LOOKALIKE_FRACS:
            if not 0.0 <= getattr(self, name) <= 0.5:
                raise ScenarioError(f"scenario {self.name!r}: {name} must be in [0, 0.5]")
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
            campaigns.append(CampaignSpec(**_tuples(CampaignSpec, c)))
        return cls(campaigns=tuple(campaigns), **_tuples(cls, data))


_LOOKALIKE_FRACS = (
    "eval_team_frac",
    "class_frac",
    "hackathon_frac",
    "saas_frac",
    "framework_frac",
    "ci_bot_frac",
)


def _tuples(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """JSON lists back to the tuples the dataclass declares."""
    tuple_fields = {f.name for f in fields(cls) if str(f.type).startswith("tuple")}
    return {
        k: tuple(v) if k in tuple_fields and isinstance(v, list) else v for k, v in data.items()
    }


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
        kind="surgical",
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

# A swarm that shares nothing but behaviour: its own card, fresh device, phone and
# residential exits per account; sign-up bursts, synchronised sessions and templates.
_BEHAVIOUR_ONLY = CampaignSpec(
    name="swarm-behaviour",
    kind="behaviour_only",
    accounts_frac=0.004,
    min_accounts=30,
    requests_per_account=250,
    focus=("coding", "reasoning"),
    camouflage=0.5,
    timing="sync",
    churn_lifetime_days=None,
    signup_bursts=3,
    signup_spread_hours=1.5,
    proxy_share=1.0,
    hosting_share=0.0,
    vpn_share=0.0,
    proxy_exits_per_account=2.0,
    proxy_overlap=0.7,
    card_bins=0,
    device_mode="unique",
    disposable_email=0.0,
    phones_per_account=0.0,
)

# A front company: own domain, corporate egress, company card, org id, months-old
# accounts, extraction around the clock.
_FRONT_COMPANY = CampaignSpec(
    name="front-company",
    kind="front_company",
    accounts_frac=0.0006,
    min_accounts=20,
    requests_per_account=900,
    focus=("coding", "reasoning", "agentic"),
    camouflage=0.4,
    timing="automated",
    churn_lifetime_days=None,
    signup_bursts=2,
    account_age_days=120.0,
    proxy_share=0.0,
    hosting_share=0.3,
    vpn_share=0.0,
    corporate_share=0.7,
    card_bins=0,
    device_mode="unique",
    disposable_email=0.0,
    phones_per_account=0.0,
    templates_per_family=1,
)

_HARD_LEGIT: dict[str, Any] = dict(
    company_frac=0.12,
    company_size=(5, 120),
    campus_frac=0.08,
    vpn_frac=0.12,
    mobile_frac=0.6,
    popular_device_frac=0.2,
    legit_virtual_card_frac=0.01,
    proxy_intel_coverage=0.1,
    prompt_sample_rate=0.03,
)


def _harder(c: CampaignSpec) -> CampaignSpec:
    """More camouflage, proxies that are nearly all real homes, popular devices."""
    return replace(
        c,
        camouflage=min(0.9, c.camouflage + 0.3),
        proxy_overlap=0.9 if c.proxy_overlap else 0.0,
        device_mode="popular" if c.device_mode == "rotate" else c.device_mode,
        disposable_email=c.disposable_email * 0.3,
        requests_per_account=c.requests_per_account * 0.6,
        timing="human" if c.name == "hydra-coding" else c.timing,
    )


_HARD_CAMPAIGNS = tuple(_harder(c) for c in _DEFAULT_CAMPAIGNS)


def _hard_campaigns() -> tuple[CampaignSpec, ...]:
    coding, reasoning, rewrite, surgical = _HARD_CAMPAIGNS
    return (
        replace(coding, mass_ban_at=0.75, regrowth_frac=0.5),
        replace(reasoning, proxy_provider="ProxyCo"),
        replace(rewrite, proxy_provider="ProxyCo"),
        surgical,
        replace(_BEHAVIOUR_ONLY, accounts_frac=0.003, min_accounts=25),
        _FRONT_COMPANY,
    )


def _adversarial_campaigns() -> tuple[CampaignSpec, ...]:
    coding, reasoning, rewrite, surgical = _HARD_CAMPAIGNS
    return (
        replace(coding, mass_ban_at=0.7, regrowth_frac=0.8, camouflage=0.7),
        replace(
            reasoning,
            proxy_provider="ProxyCo",
            proxy_share=0.8,
            hosting_share=0.1,
            vpn_share=0.1,
            mass_ban_at=0.8,
            regrowth_frac=0.5,
        ),
        replace(
            rewrite, proxy_provider="ProxyCo", proxy_share=0.7, hosting_share=0.3, vpn_share=0.0
        ),
        surgical,
        replace(_BEHAVIOUR_ONLY, camouflage=0.6),
        replace(_FRONT_COMPANY, accounts_frac=0.0008, min_accounts=25),
    )


SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(name="default", accounts=3000, campaigns=_DEFAULT_CAMPAIGNS),
    "hard": Scenario(
        name="hard",
        accounts=6000,
        **_HARD_LEGIT,
        eval_team_frac=0.005,
        class_frac=0.01,
        hackathon_frac=0.008,
        saas_frac=0.01,
        framework_frac=0.03,
        ci_bot_frac=0.004,
        campaigns=_hard_campaigns(),
    ),
    "adversarial": Scenario(
        name="adversarial",
        accounts=10000,
        **{**_HARD_LEGIT, "proxy_intel_coverage": 0.05},
        eval_team_frac=0.01,
        class_frac=0.02,
        hackathon_frac=0.015,
        saas_frac=0.02,
        framework_frac=0.05,
        ci_bot_frac=0.008,
        campaigns=_adversarial_campaigns(),
    ),
}


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A named scenario (``default``, ``hard``, ``adversarial``) or one saved as JSON."""
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
