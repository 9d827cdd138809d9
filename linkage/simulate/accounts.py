"""The per-account arrays of a simulated platform and the vocabularies they index."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CHANNELS",
    "DAY",
    "HOUR",
    "KINDS",
    "POPULATIONS",
    "PROMPT_CATEGORIES",
    "TIMINGS",
    "Population",
    "epoch_seconds",
]

DAY = 86_400
HOUR = 3_600

CHANNELS = ("home", "mobile", "vpn", "campus", "corp", "cloud", "proxy", "dc")
KINDS = ("individual", "student", "family", "company", "automation", "campaign")
TIMINGS = ("evening", "work", "automated", "sync", "cron")
POPULATIONS = (
    # legitimate
    "individual",
    "campus",
    "family",
    "company",
    "automation",
    "proxied_home",
    "eval_team",
    "class",
    "hackathon",
    "saas",
    "framework",
    "ci_bot",
    # campaigns (a campaign account's population is its campaign's kind)
    "hydra",
    "surgical",
    "behaviour_only",
    "front_company",
    "regrowth",
)
"""The ``population`` label of each account; ``proxied_home``: an individual or family
member whose home address a campaign's residential proxy borrowed."""
PROMPT_CATEGORIES = ("everyday", "coding", "reasoning", "agentic", "legit_template", "extraction")

CH = {name: i for i, name in enumerate(CHANNELS)}
KIND = {name: i for i, name in enumerate(KINDS)}
TIMING = {"human": 0, "evening": 0, "work": 1, "automated": 2, "sync": 3, "cron": 4}
POPULATION = {name: i for i, name in enumerate(POPULATIONS)}

WEBMAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "hotmail.com")
WEBMAIL_P = (0.5, 0.16, 0.1, 0.12, 0.04, 0.08)
DISPOSABLE = (
    "mailinator.com",
    "tempmail.dev",
    "guerrillamail.com",
    "10minutemail.net",
    "yopmail.com",
    "sharklasers.com",
)
COUNTRIES = ("US", "IN", "GB", "DE", "BR", "FR", "JP", "CA", "KR", "ES", "NL", "AU", "SG", "MX")
COUNTRY_P = np.array([35, 10, 6, 5, 5, 4, 4, 4, 3, 3, 2, 2, 2, 3], dtype=float)
COUNTRY_P /= COUNTRY_P.sum()
TZ = {
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
LEGIT_UAS = (
    "anthropic-python/0.69.0",
    "openai-python/2.8.1",
    "openai-node/6.9.0",
    "curl/8.5.0",
    "python-requests/2.32.5",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 15_6) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/142.0 Safari/537.36",
)
LEGIT_UA_P = (0.3, 0.25, 0.1, 0.05, 0.1, 0.1, 0.1)
CAMPAIGN_UAS = (
    "python-httpx/0.28.1",
    "aiohttp/3.13.2",
    "Go-http-client/2.0",
    "openai-python/2.8.1",
    "node-fetch/3.3.2",
)
LOOKALIKE_UAS = (
    "langchain-python/0.3.27 openai-python/2.8.1",
    "crewai/0.86.0 litellm/1.55.3",
    "eval-harness/0.4.8 anthropic-python/0.69.0",
    "WriteWell-backend/3.2 openai-node/6.9.0",
    "HelpDeskAI/1.14 (+https://helpdeskai.example)",
)
"""User agents of frameworks, evaluation harnesses and SaaS apps (legitimate)."""
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
    population: np.ndarray  # index into POPULATIONS
    group_name: np.ndarray  # legitimate group or campaign name, None for loners
    sched: np.ndarray  # index into schedules, -1 none
    campaign_names: list[str]
    campaign_templates: list[np.ndarray]  # per campaign: indices into EXTRACTION_TEMPLATES
    session_hours: np.ndarray  # (n_campaigns, 2) UTC start hour of daily work sessions
    user_agents: list[str]
    schedules: np.ndarray  # (k, 6): weekday (-1 daily), UTC hour, hours, from, to, share
    card_fp: list[str] = field(default_factory=list)
    card_bin: list[str] = field(default_factory=list)
    card_country: list[str] = field(default_factory=list)
    phone_text: list[str] = field(default_factory=list)
    org_text: list[str] = field(default_factory=list)
    referral_text: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.kind)


def epoch_seconds(iso: str) -> int:
    return int(np.datetime64(iso.replace("Z", ""), "s").astype(np.int64))
