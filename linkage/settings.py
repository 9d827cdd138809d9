"""Detection settings: one declarative object, saved next to every result."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from linkage.errors import LinkageError

__all__ = ["DetectSettings"]


def _type_weights() -> dict[str, float]:
    return {
        "card": 3.0,
        "api_key": 3.0,
        "identifier": 2.5,
        "template": 2.0,
        "device": 1.0,
        "ip": 1.0,
        "prefix": 0.4,
        "email_domain": 0.4,
        "bin": 0.2,
        "prompt_cluster": 0.3,
        "rhythm": 0.5,
        "cosession": 0.5,
        "coactive": 0.6,
        "signup": 0.6,
    }


def _ip_kind_weights() -> dict[str, float]:
    return {
        "residential": 1.0,
        "proxy": 1.0,
        "unknown": 0.8,
        "hosting": 0.5,
        "corporate": 0.5,
        "vpn": 0.2,
        "tor": 0.2,
        "mobile": 0.05,
        "education": 0.05,
    }


RETIRED = frozenset({"attach_weight"})
"""Settings of earlier versions that no longer exist: ignored when a result's saved
settings are read, so older results still open."""


@dataclass(frozen=True)
class DetectSettings:
    """Every parameter of detection. Round-trips to JSON (``save`` / ``load``)."""

    seed: int = 0
    memory_limit_gb: float = 6.0
    """DuckDB's working-memory cap; beyond it DuckDB spills to disk (results do not change).
    Detection lowers it by the arrays it holds beside DuckDB (the projection's pair
    evidence, :meth:`linkage.graph.Workspace.hold`), so the process stays near it."""
    # evidence weighting
    type_weights: dict[str, float] = field(default_factory=_type_weights)
    """Base weight of a shared entity by type (identifiers use ``identifier``)."""
    ip_kind_weights: dict[str, float] = field(default_factory=_ip_kind_weights)
    """Multiplier for IP and prefix entities by IP-intelligence kind."""
    clique_max_degree: int = 40
    """Entities shared by at most this many accounts link every pair of them."""
    hub_neighbours: int = 4
    """Entities shared by more accounts (hubs) link each account only to this many
    accounts on either side in order of first use: pairs grow linearly, not quadratically."""
    hub_max_degree: int = 200_000
    """Entities shared by more accounts than this are ignored for linking."""
    min_entity_weight: float = 0.01
    """Entities weighing less than this link nobody: a mobile carrier NAT shared by
    thousands adds about 0.005 to each pair, could never make an edge of
    ``min_edge_weight`` on its own scale, and would cost most of the pairs."""
    cotemporal_days: float = 3.0
    """Two accounts using an entity within this many days of each other count fully..."""
    distant_factor: float = 0.3
    """...and at this fraction when their use is further apart."""
    bond_min_weight: float = 0.25
    """A shared card, device, key or identifier is a bond when it weighs at least this
    (a device fingerprint held by more than about 50 accounts is a popular
    configuration; a card shared by a hundred is still one payer)."""
    corroborate_min_weight: float = 0.1
    """Circumstantial entities weighing less than this (a VPN exit or a prompt template
    shared by hundreds) corroborate nothing (:func:`linkage.graph.project.corroborate`)."""
    uncorroborated_factor: float = 0.3
    """Circumstantial evidence (addresses, templates, session schedules, sign-up bursts)
    of a pair tied by one kind of it alone, with no card, device, key or identifier,
    counts at this fraction (:func:`linkage.graph.project.corroborate`): a proxy
    provider's exits, a borrowed home address or a public template do not merge strangers."""
    min_edge_weight: float = 0.5
    """Account pairs with less total evidence are not linked."""
    # co-activity (linkage.graph.coactivity)
    session_gap_minutes: float = 30.0
    """A request after this much silence starts a session."""
    session_bucket_minutes: float = 10.0
    """Session starts closer than half of this always share a time bucket."""
    coactive_bucket_minutes: float = 60.0
    """Active hours (any request) of accounts on this grid (and one shifted by half) are
    compared like session starts: ``coactive`` evidence."""
    coactive_max_day_share: float = 0.5
    """Accounts active in more than this share of the buckets of their active days run
    round the clock and get no co-activity tokens."""
    session_crowd_factor: float = 4.0
    """Buckets holding more than this times the median bucket's accounts are ignored."""
    session_min_count: int = 6
    session_min_days: int = 3
    """Accounts with fewer sessions, or sessions on fewer days, get no schedule evidence."""
    session_bands: int = 20
    session_rows: int = 3
    """MinHash bands and hashes per band: a pair sharing a share J of its buckets is a
    candidate on each band with probability ``J**rows``; J is then estimated from all
    ``bands * rows`` hashes."""
    lsh_neighbours: int = 10
    """Each account is compared with at most this many others of a band's bucket."""
    coactivity_min_jaccard: float = 0.3
    coactivity_min_lift: float = 2.5
    coactivity_min_shared: int = 12
    """Accounts are alike (a ``cosession`` or ``coactive`` entity of the pair) when they
    share at least this share of their buckets, this many times what chance gives two
    accounts as busy as they are, and at least this many bucket tokens (two per bucket,
    one per grid)."""
    signup_window_minutes: float = 60.0
    signup_burst_min: int = 5
    signup_burst_factor: float = 5.0
    """A sign-up window is a burst when it holds at least ``signup_burst_min`` accounts
    (of the platform, or of one country and email domain), and this many times the
    usual rate."""
    # prompt clusters (linkage.graph.clusters)
    prompt_embedder: str = "static"
    """Embedder (``linkage.embed`` registry name) for prompt text without precomputed vectors."""
    prompt_cluster_k: int = 128
    """Number of prompt clusters (fewer when there are few distinct prompts); 0 turns them off."""
    prompt_samples_per_account: int = 8
    """Distinct prompt texts sampled per account (seeded hash order) for clustering."""
    prompt_max_embeddings: int = 100_000
    """At most this many distinct prompts are embedded in all (bounds the stage's time)."""
    prompt_clusters_per_account: int = 2
    """Each account links to at most this many clusters (those most of its prompts fall in)."""
    # community detection
    resolution: float = 0.03
    merge_ratio: float = 0.01
    """Communities tied to each other at least this fraction of their own density merge
    (:func:`linkage.detect.leiden.consolidate`); 0 turns merging off..."""
    merge_bond_ratio: float = 0.002
    """...when at least this fraction is bonds (shared identities, ``bond_min_weight``):
    two operators behind one proxy pool share addresses, not cards."""
    split_bond_weight: float = 0.35
    split_core_share: float = 0.4
    split_rest_share: float = 0.2
    """Pairs bonded by at least ``split_bond_weight`` (a shared card, key or identifier,
    or a device held by a handful of accounts), or keeping verified alike schedules,
    form cores. A community whose largest core holds at least ``split_core_share`` of
    it, and whose other cores together hold at least ``split_rest_share``, with no such
    tie between, is split in two: one operator, and another behind the same proxy pool
    and public templates (:func:`linkage.detect.leiden.separate`); 0 turns it off."""
    entity_attach_weight: float = 1.0
    entity_attach_min: int = 2
    piece_max_size: int = 9
    """An account outside every community, or in one of at most ``piece_max_size``
    accounts, joins a larger community whose members hold its cards, devices and
    addresses when those weigh at least ``entity_attach_weight`` over at least
    ``entity_attach_min`` entities (:func:`linkage.detect.attach.attach_by_entities`)."""
    min_campaign_size: int = 5
    max_campaign_size: int = 60_000
    # scoring
    report_threshold: float = 0.2
    """Communities scoring at least this are reported as campaigns."""
    full_attachment: float = 3.0
    """An account with this much distinct evidence inside its campaign (each shared
    entity counted once) is fully attached to it, however dense the campaign's core
    (see :func:`linkage.score.score_accounts`)."""
    flag_threshold: float = 0.5
    """Accounts scoring at least this (inside a reported campaign) are flagged for the ban list."""
    # runs over time (detect --previous)
    lineage_min_overlap: float = 0.5
    """A campaign continues a previous one when they share at least this share of the
    smaller one's accounts (:mod:`linkage.detect.lineage`)."""
    leiden_scope: str = "graph"
    """``graph``: one Leiden run over the whole evidence graph (in process; on Spark, on
    the driver); ``component``: one per connected component (on Spark, on the
    executors; :mod:`linkage.detect.by_component`). Both backends give the same result
    for the same scope; the two scopes can partition differently where Leiden's result
    turns on its random draw (docs/SPARK.md)."""
    warm_start: bool = True
    """With a previous run, Leiden starts from its campaigns (igraph's
    ``initial_membership``) instead of from every account alone."""
    previous_min_share: float = 0.5
    """``detect --previous`` warns when the input holds fewer accounts than this share
    of the previous run's (an empty or truncated input)."""
    # investigators' decisions (linkage.review.apply)
    reopen_abuse_margin: float = 1.0
    """A dismissed campaign re-opens when its abuse features' contributions sum to at
    least this much more (in logit) than when it was dismissed (a quarter more of its
    prompts asking for reasoning traces is 1.0)."""
    dismissed_entity_weight: float = 0.25
    """With ``--previous``, the infrastructure of campaigns investigators dismissed (their
    ``campaign_index`` entities: the corporate card, egress, org id) weighs this much of
    its usual weight as evidence: known to be a customer's."""
    confirmed_min_attachment: float = 0.25
    """A confirmed campaign's member is flagged, whatever the campaign's score, when its
    score is at least this share of the campaign's: a lower bar than the engine's own,
    so replacement accounts with a handful of requests are banned at once."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        """Write the settings as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectSettings:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k not in RETIRED}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LinkageError(f"unknown detection settings {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> DetectSettings:
        """Read settings saved with :meth:`save` (or written by hand)."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise LinkageError(f"{path}: cannot read detection settings: {exc}") from exc
