"""STIX 2.1 bundles of detected campaigns, for sharing indicators with peer providers.

What goes in (see README, "Export"):

- one ``identity`` for the producer, which creates every other object;
- one ``campaign`` per detected campaign: name, description with size, score and
  reasons, ``first_seen`` / ``last_seen``, ``confidence`` = score x 100;
- ``indicator`` objects with STIX patterns for the infrastructure the campaign shares
  (``campaign_indicators``): IPv4/IPv6 addresses and /24 or /48 prefixes
  (``[ipv4-addr:value = '203.0.113.0/24']``), device fingerprints and payment-instrument
  fingerprints (tokens, never card data) as patterns over the custom observable types
  ``x-linkage-device`` and ``x-linkage-payment-instrument`` (property ``fingerprint``):
  STIX 2.1 patterns may name custom object types, and a pattern needs no object
  definition, so the bundle stays free of custom objects and properties. Each indicator
  ``indicates`` its campaign through a ``relationship``. ``indicator_types`` is
  ``malicious-activity`` only when no account outside the campaign and no unflagged
  (legitimate) account used it; infrastructure legitimate accounts also used is
  ``anomalous-activity`` (residential proxy exits are also real people's homes) with
  its confidence scaled by :data:`ANOMALOUS_CONFIDENCE_SCALE`; ``confidence`` is the
  campaign's score x the members' share of the entity's accounts (x that scale);
  ``valid_until`` is ``valid_days`` (30 by default) after the entity was last seen;
- one ``note`` per campaign with its prompt templates (skeletons, digits folded):
  text to look for, not an observable a peer can match exactly;
- a TLP 2.0 ``marking-definition`` (the OASIS TLP 2.0 extension) on every object;
- with ``include_accounts`` only: a ``user-account`` per flagged member, ``related-to``
  its campaign.

API keys, identifiers (phone numbers, organisation ids), email domains and BINs are
not exported: they are internal to the platform, personal, or shared by legitimate
customers. Nor are behavioural evidence (activity rhythms, session patterns, sign-up
bursts) and prompt clusters: a peer has no observable to match them against. Ids are
UUIDv5 of the content and every ``created`` / ``modified`` is the result's last
observed activity, so the same result gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import stix2

from linkage.errors import LinkageError
from linkage.export.atomic import atomic_write_text
from linkage.result import ResultDir

__all__ = [
    "ANOMALOUS_CONFIDENCE_SCALE",
    "DEFAULT_VALID_DAYS",
    "TLP_LEVELS",
    "StixExport",
    "stix_bundle",
    "stix_text",
    "write_stix",
]

DEFAULT_VALID_DAYS = 30
"""An indicator is valid until this many days after its entity was last seen."""

ANOMALOUS_CONFIDENCE_SCALE = 0.5
"""Confidence factor of an indicator that legitimate (unflagged) accounts also used."""

TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
"""The OASIS TLP 2.0 marking extension (cti-stix-common-objects)."""
TLP_LEVELS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
"""TLP 2.0 level -> its standard marking-definition id."""
_TLP_CREATED = "2022-10-01T00:00:00.000Z"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/linkage/linkage/stix")

_PATTERNS: dict[str, tuple[str, str]] = {
    "device": ("x-linkage-device", "fingerprint"),
    "card": ("x-linkage-payment-instrument", "fingerprint"),
}
_LABELS = {
    "ip": "address",
    "prefix": "network",
    "device": "device fingerprint",
    "card": "payment-instrument fingerprint",
}


@dataclass(frozen=True)
class StixExport:
    """What ``write_stix`` wrote: object counts by kind."""

    path: Path
    campaigns: int
    indicators: int
    notes: int
    accounts: int
    objects: int


def stix_bundle(
    result_dir: str | Path,
    *,
    campaign: str | None = None,
    min_score: float | None = None,
    tlp: str = "amber",
    include_accounts: bool = False,
    producer: str = "linkage",
    valid_days: int = DEFAULT_VALID_DAYS,
) -> stix2.Bundle:
    """A STIX 2.1 bundle of the result's campaigns (all, the one ``campaign``, or those
    scoring at least ``min_score``) and their infrastructure, marked ``tlp``; each
    indicator valid until ``valid_days`` after its entity was last seen."""
    if not 1 <= valid_days <= 3650:
        raise LinkageError(f"--valid-days must be between 1 and 3650, not {valid_days}")
    if tlp not in TLP_LEVELS:
        raise LinkageError(f"--tlp must be one of {', '.join(TLP_LEVELS)}, not {tlp!r}")
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise LinkageError(f"--min-score must be between 0 and 1, not {min_score}")
    campaigns, indicators, templates, members, as_of = _load(
        Path(result_dir), campaign, min_score, include_accounts
    )
    marking = _tlp_marking(tlp)
    created = _ts(as_of)
    identity = stix2.Identity(
        id=_id("identity", producer),
        name=producer,
        identity_class="system",
        description="Coordinated-account campaigns found by linkage.",
        created=created,
        modified=created,
        object_marking_refs=[marking.id],
    )
    common = {
        "created_by_ref": identity.id,
        "created": created,
        "modified": created,
        "object_marking_refs": [marking.id],
    }
    objects: list[Any] = [marking, identity]
    for c in campaigns.itertuples():
        cid = str(c.campaign_id)
        camp = _campaign(c, producer, common)
        objects.append(camp)
        chosen = indicators[indicators.campaign_id == cid]
        objects += _indicators(c, camp.id, chosen, producer, common, valid_days)
        tpl = templates[templates.campaign_id == cid]
        if len(tpl):
            objects.append(_templates_note(cid, camp.id, tpl, producer, common))
        if include_accounts:
            objects += _accounts(camp.id, members[members.campaign_id == cid], producer, common)
    return stix2.Bundle(objects=objects, id=_id("bundle", *sorted(o.id for o in objects)))


def _campaign(c: Any, producer: str, common: dict[str, Any]) -> stix2.Campaign:
    cid = str(c.campaign_id)
    return stix2.Campaign(
        id=_id("campaign", producer, cid),
        name=f"linkage campaign {cid}",
        description=_campaign_description(c),
        first_seen=_ts(c.first_seen),
        last_seen=_ts(c.last_seen),
        confidence=_confidence(c.score),
        objective="Coordinated accounts abusing an AI API platform",
        **common,
    )


def _indicators(
    c: Any,
    camp_id: str,
    indicators: pd.DataFrame,
    producer: str,
    common: dict[str, Any],
    valid_days: int,
) -> list[Any]:
    """An ``indicator`` per shared entity of campaign ``c``, each ``indicates`` it."""
    cid = str(c.campaign_id)
    objects: list[Any] = []
    for ind in indicators.itertuples():
        pattern = _pattern(str(ind.entity_type), str(ind.entity))
        legitimate = int(ind.unflagged_accounts)
        malicious = int(ind.outside_accounts) == 0 and legitimate == 0
        share = int(ind.members) / (int(ind.members) + int(ind.outside_accounts))
        scale = 1.0 if legitimate == 0 else ANOMALOUS_CONFIDENCE_SCALE
        indicator = stix2.Indicator(
            id=_id("indicator", producer, cid, pattern),
            name=f"{_LABELS[str(ind.entity_type)]} {ind.entity}",
            description=(
                f"Used by {ind.members} of the campaign's {c.size} accounts "
                f"({ind.member_share:.0%}) and by {ind.outside_accounts} other accounts; "
                f"{legitimate} of its accounts are not flagged."
                + (f" IP intelligence: {ind.kind}." if isinstance(ind.kind, str) else "")
            ),
            indicator_types=["malicious-activity" if malicious else "anomalous-activity"],
            pattern=pattern,
            pattern_type="stix",
            valid_from=_ts(ind.first_seen),
            valid_until=_ts(pd.Timestamp(ind.last_seen) + pd.Timedelta(days=valid_days)),
            confidence=_confidence(float(c.score) * share * scale),
            **common,
        )
        objects.append(indicator)
        objects.append(_relationship(indicator.id, "indicates", camp_id, producer, common))
    return objects


def _templates_note(
    cid: str, camp_id: str, tpl: pd.DataFrame, producer: str, common: dict[str, Any]
) -> stix2.Note:
    return stix2.Note(
        id=_id("note", producer, cid, "templates"),
        abstract=f"Prompt templates of campaign {cid}",
        content="\n".join(
            f"- {t.skeleton} (used by {t.members} members, {t.outside_accounts} other accounts)"
            for t in tpl.itertuples()
        ),
        object_refs=[camp_id],
        **common,
    )


def _accounts(
    camp_id: str, members: pd.DataFrame, producer: str, common: dict[str, Any]
) -> list[Any]:
    """A ``user-account`` per flagged member, ``related-to`` the campaign."""
    objects: list[Any] = []
    for m in members.itertuples():
        account = stix2.UserAccount(
            user_id=str(m.account_id), object_marking_refs=common["object_marking_refs"]
        )
        objects.append(account)
        objects.append(
            _relationship(
                account.id,
                "related-to",
                camp_id,
                producer,
                common,
                description=f"Member of the campaign (account score {m.score:.3f}).",
            )
        )
    return objects


def stix_text(bundle: stix2.Bundle) -> str:
    """The bundle as indented JSON text ending in a newline: the bytes ``write_stix``
    writes and the service sends."""
    # stix2's own pretty printer takes seconds per hundred objects; indent its compact
    # output instead (same key order, so the bytes are still deterministic)
    return json.dumps(json.loads(bundle.serialize()), indent=2, ensure_ascii=False) + "\n"


def write_stix(
    result_dir: str | Path,
    path: str | Path,
    *,
    campaign: str | None = None,
    min_score: float | None = None,
    tlp: str = "amber",
    include_accounts: bool = False,
    producer: str = "linkage",
    valid_days: int = DEFAULT_VALID_DAYS,
) -> StixExport:
    """Write :func:`stix_bundle` as JSON to ``path`` (atomically); return counts."""
    bundle = stix_bundle(
        result_dir,
        campaign=campaign,
        min_score=min_score,
        tlp=tlp,
        include_accounts=include_accounts,
        producer=producer,
        valid_days=valid_days,
    )
    atomic_write_text(path, stix_text(bundle))
    kinds = pd.Series([o.type for o in bundle.objects]).value_counts().to_dict()
    return StixExport(
        Path(path),
        campaigns=kinds.get("campaign", 0),
        indicators=kinds.get("indicator", 0),
        notes=kinds.get("note", 0),
        accounts=kinds.get("user-account", 0),
        objects=len(bundle.objects),
    )


def _shareable(
    campaigns: pd.DataFrame, decisions: pd.DataFrame, campaign: str | None
) -> pd.DataFrame:
    """What may leave the lab: no campaign an investigator dismissed (a customer), and no
    decision reasons (they quote internal notes)."""
    if decisions.empty:
        return campaigns
    said = decisions[decisions.target == "campaign"]
    dismissed = set(said.id[(said.action == "dismiss") & (said.status == "applied")])
    if campaign is not None and campaign in dismissed:
        raise LinkageError(
            f"campaign {campaign!r} was dismissed by an investigator: it is not shared"
        )
    internal = dict(zip(said.id, said.reason, strict=True))
    out = campaigns[~campaigns.campaign_id.isin(dismissed)].copy()
    out["reasons"] = [
        [r for r in reasons if r != internal.get(cid)]
        for cid, reasons in zip(out.campaign_id, out.reasons, strict=True)
    ]
    return out


def _load(
    result_dir: Path, campaign: str | None, min_score: float | None, include_accounts: bool
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, Any]:
    result = ResultDir.open(result_dir)
    con = result.connect(
        ("campaign_indicators", "graph_entities", "graph_templates", "graph_links")
    )
    try:
        campaigns = _shareable(result.read_campaigns(), result.read_decisions(), campaign)
        if campaign is not None:
            if campaign not in set(campaigns.campaign_id):
                raise LinkageError(
                    f"{result_dir}: no campaign {campaign!r}; campaigns are "
                    f"{', '.join(campaigns.campaign_id[:10])}"
                    + (" ..." if len(campaigns) > 10 else "")
                )
            campaigns = campaigns[campaigns.campaign_id == campaign]
        if min_score is not None:
            campaigns = campaigns[campaigns.score >= min_score]
        campaigns = campaigns.sort_values("campaign_id").reset_index(drop=True)
        con.register("chosen", campaigns[["campaign_id"]])
        indicators = con.execute(
            """
            WITH unflagged AS (
                SELECT l.eid, count(*) AS n FROM graph_links l JOIN graph_accounts a USING (aid)
                WHERE NOT coalesce(a.flagged, false) GROUP BY l.eid)
            SELECT i.campaign_id, i.entity_type, i.entity, i.members, i.member_share,
                   i.outside_accounts, e.first_seen, e.last_seen, e.kind,
                   coalesce(u.n, 0) AS unflagged_accounts
            FROM campaign_indicators i JOIN graph_entities e USING (eid)
            LEFT JOIN unflagged u USING (eid)
            SEMI JOIN chosen c ON c.campaign_id = i.campaign_id
            WHERE i.entity_type IN ('ip', 'prefix', 'device', 'card')
            ORDER BY i.campaign_id, i.entity_type, i.rank, i.entity
            """
        ).df()
        templates = con.execute(
            """
            SELECT i.campaign_id, t.skeleton, i.members, i.outside_accounts
            FROM campaign_indicators i JOIN graph_templates t ON t.template_id = i.entity
            SEMI JOIN chosen c ON c.campaign_id = i.campaign_id
            WHERE i.entity_type = 'template'
            ORDER BY i.campaign_id, i.rank, i.entity
            """
        ).df()
        members = (
            con.execute(
                """
                SELECT a.campaign_id, a.account_id, a.score FROM graph_accounts a
                SEMI JOIN chosen c ON c.campaign_id = a.campaign_id
                WHERE a.flagged ORDER BY a.campaign_id, a.account_id
                """
            ).df()
            if include_accounts
            else pd.DataFrame(columns=["campaign_id", "account_id", "score"])
        )
        row = con.execute("SELECT max(last_seen), max(created_at) FROM graph_accounts").fetchone()
    finally:
        con.close()
    as_of = next((v for v in (row or ()) if v is not None), None)
    if as_of is None:
        as_of = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return campaigns, indicators, templates, members, as_of


def _tlp_marking(level: str) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=TLP_LEVELS[level],
        created=_TLP_CREATED,
        name=f"TLP:{level.upper()}",
        extensions={TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    )


def _relationship(
    source: str,
    kind: str,
    target: str,
    producer: str,
    common: dict[str, Any],
    description: str | None = None,
) -> stix2.Relationship:
    extra = {"description": description} if description else {}
    return stix2.Relationship(
        id=_id("relationship", producer, source, kind, target),
        relationship_type=kind,
        source_ref=source,
        target_ref=target,
        **common,
        **extra,
    )


def _pattern(entity_type: str, value: str) -> str:
    """The STIX pattern matching one entity; values are quoted per the patterning spec."""
    quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if entity_type in ("ip", "prefix"):
        sco = "ipv6-addr" if ":" in value else "ipv4-addr"
        return f"[{sco}:value = {quoted}]"
    sco, prop = _PATTERNS[entity_type]
    return f"[{sco}:{prop} = {quoted}]"


def _campaign_description(c: Any) -> str:
    reasons = "\n".join(f"- {r}" for r in _as_list(c.reasons))
    return (
        f"{c.size} coordinated accounts, {c.request_count} requests, "
        f"campaign score {float(c.score):.3f}. Reasons, strongest first:\n{reasons}"
    )


def _as_list(value: Iterable[str] | None) -> list[str]:
    return [] if value is None else [str(v) for v in value]


def _confidence(score: float) -> int:
    return max(0, min(100, round(float(score) * 100)))


def _ts(value: Any) -> str:
    """A UTC timestamp in STIX form, millisecond precision."""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, json.dumps([kind, *parts]))}"
