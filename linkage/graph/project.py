"""Evidence-weighted projection of account-entity events onto account pairs.

Each shared entity contributes ``type weight x IP-kind weight / ln(1 + degree)``
to every pair of accounts it links, times ``distant_factor`` when the two
accounts used it more than ``cotemporal_days`` apart. Entities shared by at
most ``clique_max_degree`` accounts link every pair of their accounts; larger
ones (hubs: carrier NAT, popular devices, busy proxy exits) link each account
only to its ``hub_neighbours`` nearest accounts on either side in order of
first use. So the pair count is bounded by
``sum(d^2 / 2 for d <= clique_max_degree) + hub_neighbours * sum(d for hubs)``.
Entities weighing less than ``min_entity_weight`` (mobile carrier NAT, campus
exits: thousands of accounts, about 0.005 each) link nobody; at a million
accounts they were a sixth of all pairs and never decided an edge.
Every edge keeps its per-entity evidence. Edge weights are summed in fixed
point (1e-9), so they do not depend on the order parallel threads add them.
Corroboration (:func:`corroborate`) is applied by pair in SQL, where the pairs
are grouped anyway: ``edges`` in the projection, and the readers of per-entity
evidence through :meth:`Corroboration.rows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.arrays import mix64
from linkage.graph.clusters import PromptClusters
from linkage.graph.coactivity import Coactivity
from linkage.graph.events import Events
from linkage.graph.ipintel import IpKinds
from linkage.graph.templates import Templates
from linkage.graph.workspace import Workspace, WorkTable, tables_of
from linkage.settings import DetectSettings

__all__ = [
    "ATTACH_TYPES",
    "BOND_TYPES",
    "CIRCUMSTANCE_KINDS",
    "IDENTITY_TYPES",
    "SCHEDULE_TYPES",
    "Corroboration",
    "EdgeList",
    "Projection",
    "corroborate",
    "edge_list",
    "link_pairs",
    "pair_evidence",
    "project_pairs",
    "weight_sql",
    "weights_registered",
]


@dataclass(frozen=True)
class Projection:
    """Output of stage ``projection``, and of :func:`linkage.graph.build_graph`: the
    weighted account graph (``entities``, ``links``, ``entity_weight``,
    ``pair_evidence``, ``edges``) and the stage outputs it was built from."""

    events: Events
    coactivity: Coactivity
    templates: Templates
    prompt_clusters: PromptClusters
    ip_kinds: IpKinds
    pairs: int
    """Rows of ``pair_evidence``: (account pair, shared entity)."""
    edges: int
    """Rows of ``edges``: account pairs at least ``min_edge_weight`` apart."""
    corroboration: Corroboration
    """How ``pair_evidence`` weights are corroborated (:func:`corroborate`): read
    per-entity evidence through its :meth:`~Corroboration.rows`."""
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("projection")

    @property
    def accounts(self) -> int:
        return self.events.accounts


@dataclass(frozen=True)
class EdgeList:
    """The ``edges`` table as arrays, ordered by ``(src, dst)``."""

    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    bond: np.ndarray
    """The part of ``weight`` from bonds (shared identities weighing at least
    ``bond_min_weight``)."""
    schedule: np.ndarray
    """Whether the pair's schedules are verified alike (:data:`SCHEDULE_TYPES`)."""


def edge_list_sql() -> str:
    """The projection's edges as community detection reads them: ``schedule`` when the
    pair shares a verified schedule type."""
    types = ", ".join(f"'{t}'" for t in sorted(SCHEDULE_TYPES))
    return f"SELECT src, dst, weight, bond, list_has_any(signals, [{types}]) AS schedule FROM edges"


def edge_list(ws: Workspace, projection: Projection) -> EdgeList:
    """Read the projection's edges into memory, in ``(src, dst)`` order (for community
    detection and scoring), from the workspace's backend."""
    e = ws.fetch(f"{edge_list_sql()} ORDER BY src, dst")
    return EdgeList(
        e.column("src").to_numpy(),
        e.column("dst").to_numpy(),
        e.column("weight").to_numpy(),
        e.column("bond").to_numpy(),
        e.column("schedule").to_numpy(zero_copy_only=False).astype(bool),
    )


def project_pairs(
    ws: Workspace,
    settings: DetectSettings,
    *,
    events: Events,
    coactivity: Coactivity,
    templates: Templates,
    prompt_clusters: PromptClusters,
    ip_kinds: IpKinds,
    known_legitimate: pd.DataFrame | None = None,
) -> Projection:
    """Weigh every account-entity event of ``events`` (including those the evidence
    stages ``templates`` and ``prompt_clusters`` appended) onto account pairs.

    Creates:

    - ``entities(eid, etype, ekey, degree, uses, first_ts, last_ts, kind)``: every
      entity, numbered densely in ``(etype, ekey)`` order;
    - ``links(aid, eid, n, first_ts, last_ts)``: ``events`` by entity id;
    - ``entity_weight(eid, etype, ekey, degree, kind, tcode, w)``: the entities that
      link accounts (degree 2 to ``hub_max_degree``, weight at least
      ``min_entity_weight``) and their weight;
    - ``pair_evidence(src, dst, eid, w, tcode, strong, rare)`` (see
      :func:`pair_evidence`; made by entity with :func:`link_pairs`: on DuckDB a kept
      Arrow table, :meth:`Workspace.arrow`, elsewhere a table on the backend; ``w``
      before corroboration, read it through
      ``Projection.corroboration``; ``strong``: a bond, ``rare``: weighs at least
      ``corroborate_min_weight``) and ``edges(src, dst, weight, bond, n_entities,
      signals, corroborated)``, with ``src < dst``, the weight corroborated, the part
      of it from bonds, and whether the pair's circumstantial evidence counts in full.

    IP entities are weighed by their kind in ``entity_kind`` (``ip_kinds``); entities
    of ``known_legitimate`` (``etype, ekey``: the infrastructure of campaigns
    investigators dismissed) times ``dismissed_entity_weight``.

    Runs on the workspace's backend. On DuckDB the pairs are Arrow in this process and
    screened (:func:`may_reach`) before they are grouped into edges; on a backend that
    groups them in place (Spark) every pair is grouped. Both give the same edges: the
    screen drops only pairs lighter than ``min_edge_weight``.
    """
    s = settings
    ws.create("entities", ENTITIES_SQL)
    ws.create("links", LINKS_SQL)
    types = _weigh_entities(ws, s, known_legitimate)
    ws.hold(_pair_bytes(ws, s))
    pairs = ws.map_by(
        "pair_evidence",
        _links_sql(s),
        ["eid"],
        partial(link_pairs, s),
        PAIR_SCHEMA,
        order=LINK_ORDER,
        keep=True,
    )
    rule = corroborate(types, s.uncorroborated_factor)
    if pairs is None:  # a table on the backend, grouped by pair there as it is
        _create_edges(ws, "pair_evidence", types, rule, s)
        n_pairs = ws.count("pair_evidence")
    else:  # Arrow here: first drop the pairs that cannot weigh an edge
        ws.hold(pairs.nbytes + _SCREEN_BYTES_PER_ROW * pairs.num_rows)
        candidates = pairs.filter(may_reach(pairs, s.min_edge_weight, rule))
        ws.hold(pairs.nbytes + candidates.nbytes)  # kept for the rest of detection
        with ws.registered("edge_candidates", candidates):
            _create_edges(ws, "edge_candidates", types, rule, s)
        del candidates
        ws.hold(pairs.nbytes)
        n_pairs = pairs.num_rows
    return Projection(
        events,
        coactivity,
        templates,
        prompt_clusters,
        ip_kinds,
        n_pairs,
        ws.count("edges"),
        rule,
    )


ENTITIES_SQL = """
    SELECT (row_number() OVER (ORDER BY e.etype, e.ekey) - 1)::INTEGER AS eid, e.*, k.kind
    FROM (SELECT etype, ekey, count(*)::INTEGER AS degree, sum(n)::BIGINT AS uses,
                 min(first_ts) AS first_ts, max(last_ts) AS last_ts
          FROM events GROUP BY etype, ekey) e
    LEFT JOIN entity_kind k USING (etype, ekey)"""
"""``entities``: every entity of ``events``, numbered densely in ``(etype, ekey)`` order."""

LINKS_SQL = """
    SELECT v.aid, e.eid, v.n, v.first_ts, v.last_ts
    FROM events v JOIN entities e USING (etype, ekey)"""
"""``links``: ``events`` by entity id."""


LINK_ORDER = ("eid", "f", "aid")
"""The order :func:`link_pairs` pairs links in: by entity, first use, account."""


def _links_sql(s: DetectSettings) -> str:
    """The weighted links :func:`link_pairs` pairs (``f``, ``l``: first and last use
    in epoch microseconds)."""
    return f"""
        SELECT l.aid, l.eid, epoch_us(l.first_ts) AS f, epoch_us(l.last_ts) AS l, w.w,
               w.tcode,
               (w.etype IN ({_strings(sorted(BOND_TYPES))})
                AND w.w >= {_double(s.bond_min_weight)}) AS strong,
               w.w >= {_double(s.corroborate_min_weight)} AS rare
        FROM links l JOIN entity_weight w USING (eid) WHERE w.w > 0
        """


def _create_edges(
    ws: Workspace, rows: str, types: list[str], rule: Corroboration, s: DetectSettings
) -> None:
    """``edges`` from the ``pair_evidence`` rows of the table ``rows`` (all of them, or
    the pairs :func:`may_reach` kept): the pairs weighing at least ``min_edge_weight``."""
    listed = f"[{_strings(types)}]"
    ws.create(
        "edges",
        f"""
        SELECT src, dst, weight, bond, n_entities,
               list_filter({listed},
                           lambda x: (mask >> (list_position({listed}, x) - 1)) & 1 = 1)
                   AS signals,
               corroborated
        FROM (SELECT src, dst, {rule.weight()} AS weight,
                     (sum(CASE WHEN strong THEN round(w * 1e9)::BIGINT ELSE 0 END) / 1e9)::DOUBLE
                         AS bond,
                     count(*) AS n_entities, bit_or(1::BIGINT << tcode) AS mask,
                     {rule.corroborated()} AS corroborated
              FROM {rows} GROUP BY src, dst)
        WHERE weight >= {_double(s.min_edge_weight)}
        """,
    )


def _strings(values: list[str]) -> str:
    """SQL string literals, comma-separated."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _double(x: float) -> str:
    """SQL for the DOUBLE ``x``, exactly (parsed from its shortest repr, on every engine)."""
    return f"'{float(x)!r}'::DOUBLE"


def _pair_bytes(ws: Workspace, s: DetectSettings) -> int:
    """About the memory of :func:`pair_evidence`: its input links and output pairs, as
    counted from the entities' degrees."""
    k = s.hub_neighbours
    got = ws.fetch(
        f"""
        SELECT coalesce(sum(degree), 0) AS links,
               coalesce(sum(CASE WHEN degree <= {int(s.clique_max_degree)}
                                 THEN degree * (degree - 1) // 2
                                 ELSE {k} * degree - {k * (k + 1) // 2} END), 0) AS pairs
        FROM entity_weight WHERE w > 0
        """
    )
    row = tuple(c[0].as_py() for c in got.columns) if got.num_rows else None
    links, pairs = (int(row[0]), int(row[1])) if row else (0, 0)
    # aid, eid, f, l, w, tcode, strong, rare; src, dst, eid, w, tcode, strong, rare
    return links * 35 + pairs * 23


def _weigh_entities(
    ws: Workspace, s: DetectSettings, known_legitimate: pd.DataFrame | None = None
) -> list[str]:
    """Create ``entity_weight``; return the entity types in ``tcode`` order."""
    got = ws.fetch("SELECT DISTINCT etype FROM entities").column(0).to_pylist()
    types = sorted(got)
    known = pd.DataFrame({"etype": [], "ekey": []}, dtype=str)
    if known_legitimate is not None:
        known = known_legitimate[["etype", "ekey"]].drop_duplicates()
    # only when there is any, so that a run without decisions computes exactly as before
    legit_join, legit_factor = (
        ("LEFT JOIN known_legit kl ON kl.etype = e.etype AND kl.ekey = e.ekey",
         f" * CASE WHEN kl.etype IS NULL THEN 1.0 ELSE {float(s.dismissed_entity_weight)!r} END")
        if len(known)
        else ("", "")
    )  # fmt: skip
    with weights_registered(ws, s, types), ws.registered("known_legit", known):
        ws.create(
            "entity_weight",
            f"""
            SELECT * FROM (
                SELECT e.eid, e.etype, e.ekey, e.degree, e.kind, t.tcode::TINYINT AS tcode,
                       {weight_sql("e.degree")}{legit_factor} AS w
                FROM entities e JOIN type_w t USING (etype)
                LEFT JOIN kind_w kw ON kw.kind = e.kind
                {legit_join}
                WHERE e.degree BETWEEN 2 AND {int(s.hub_max_degree)})
            WHERE w >= {_double(s.min_entity_weight)}
            """,
        )
    return types


@contextmanager
def weights_registered(ws: Workspace, s: DetectSettings, types: list[str]) -> Iterator[None]:
    """``type_w(etype, tcode, tw)`` (``types`` in ``tcode`` order) and ``kind_w(kind, kw)``
    from the settings, registered for :func:`weight_sql` for the block."""
    weights = pd.DataFrame(
        {"etype": types, "tcode": range(len(types)), "tw": [_type_weight(s, t) for t in types]}
    )
    kinds = pd.DataFrame(list(s.ip_kind_weights.items()), columns=["kind", "kw"])
    with ws.registered("type_w", weights), ws.registered("kind_w", kinds):
        yield


def weight_sql(degree: str) -> str:
    """SQL for the weight of an entity held by ``degree`` accounts: its type's weight
    (``type_w t``) x its IP kind's (``kind_w kw``, left-joined) / ln(1 + degree)."""
    return f"t.tw * coalesce(kw.kw, 1.0) / ln(1 + {degree})"


def _type_weight(s: DetectSettings, etype: str) -> float:
    """The settings' weight for ``etype``; a settings file saved before a type existed
    gets that type's default weight; identifier kinds use ``identifier``."""
    defaults = DetectSettings().type_weights
    if etype in s.type_weights:
        return float(s.type_weights[etype])
    if etype in defaults:
        return float(defaults[etype])
    return float(s.type_weights.get("identifier", defaults["identifier"]))


PAIR_SCHEMA = pa.schema(
    [
        ("src", pa.int32()),
        ("dst", pa.int32()),
        ("eid", pa.int32()),
        ("w", pa.float64()),
        ("tcode", pa.int8()),
        ("strong", pa.bool_()),
        ("rare", pa.bool_()),
    ]
)
"""Columns of ``pair_evidence``."""

_LINK_COLUMNS = ("aid", "eid", "f", "l", "w", "tcode", "strong", "rare")


def link_pairs(s: DetectSettings, rows: pa.Table) -> pa.Table:
    """:func:`pair_evidence` of the weighted links ``rows`` (every link of each entity
    they hold, in any order): the step ``pair_evidence`` is made by
    (:meth:`~linkage.backend.Backend.map_by` by entity), on whichever engine.

    Rows already in :data:`LINK_ORDER` (as ``map_by`` hands them) are paired as they
    are; others are sorted first.
    """
    ev = {c: rows.column(c).to_numpy(zero_copy_only=False) for c in _LINK_COLUMNS}
    e, f, a = ev["eid"], ev["f"], ev["aid"]
    later = (e[1:] > e[:-1]) | (
        (e[1:] == e[:-1]) & ((f[1:] > f[:-1]) | ((f[1:] == f[:-1]) & (a[1:] > a[:-1])))
    )
    if not later.all():
        order = np.lexsort((a, f, e))
        ev = {c: v[order] for c, v in ev.items()}
    del later
    return pair_evidence(ev, s)


PAIR_CHUNK = 4_000_000
"""Pairs generated per step: bounds the temporary arrays of :func:`pair_evidence`."""


def pair_evidence(ev: dict[str, np.ndarray], s: DetectSettings) -> pa.Table:
    """One row per (account pair, shared entity): ``src, dst, eid, w, tcode, strong,
    rare``.

    ``ev`` holds the weighted account-entity links as arrays ``aid, eid, f, l
    (first and last use, epoch microseconds), w, tcode, strong, rare``, sorted by entity, then
    first use, then account. Entities of degree up to ``clique_max_degree`` link
    all their pairs; larger ones link each account to the next
    ``hub_neighbours`` accounts in that order. Pairs are generated with array
    arithmetic, at most :data:`PAIR_CHUNK` at a time, straight into the output
    arrays: never a Python loop over pairs, and memory stays near the output's.
    """
    n = len(ev["eid"])
    eid = ev["eid"]
    starts = np.flatnonzero(np.r_[True, eid[1:] != eid[:-1]]) if n else np.zeros(0, np.int64)
    degree = np.diff(np.r_[starts, n])
    small = degree <= s.clique_max_degree
    k = s.hub_neighbours
    hub_starts, hub_degree = starts[~small], degree[~small]
    total = int((degree[small] * (degree[small] - 1) // 2).sum()) + int(
        sum(np.clip(hub_degree - off, 0, None).sum() for off in range(1, k + 1))
    )
    out = _PairWriter(ev, s, total)
    for d in np.unique(degree[small]):
        i, j = np.triu_indices(int(d), 1)
        st = starts[small & (degree == d)]
        step = max(1, PAIR_CHUNK // len(i))
        for c in range(0, len(st), step):
            chunk = st[c : c + step, None]
            out.write((chunk + i).ravel(), (chunk + j).ravel())
    if len(hub_starts):
        offset_in_entity = np.arange(hub_degree.sum()) - np.repeat(
            np.cumsum(hub_degree) - hub_degree, hub_degree
        )
        position = np.repeat(hub_starts, hub_degree) + offset_in_entity
        remaining = np.repeat(hub_degree, hub_degree) - offset_in_entity
        for off in range(1, k + 1):
            pos = position[remaining > off]
            for c in range(0, len(pos), PAIR_CHUNK):
                out.write(pos[c : c + PAIR_CHUNK], pos[c : c + PAIR_CHUNK] + off)
    return out.table()


SCREEN_BUCKETS = 1 << 26
"""Most hash buckets :func:`may_reach` sums pair weights in (512 MiB of float64)."""
_SCREEN_BYTES_PER_ROW = 12
"""About the memory :func:`may_reach` needs per pair row, beside its buckets."""


def may_reach(pairs: pa.Table, min_weight: float, rule: Corroboration | None = None) -> pa.Array:
    """Which ``pair_evidence`` rows belong to a pair that may weigh ``min_weight``: a
    screen that drops whole pairs, only ones certainly lighter, before they are grouped.

    A pair's edge weight is at most the fixed-point sum ``round(w * 1e9)`` of its rows
    (corroboration only scales evidence down). Rows are summed so into hash buckets of
    their pair; a bucket holds its pairs' sums and any colliding pair's on top, so a
    bucket below ``min_weight`` holds only pairs below it. With ``rule`` (the
    projection's :class:`Corroboration`), a bucket none of whose pairs can be
    corroborated (no bond, no verified schedule, fewer than two kinds of rare
    circumstance among all its rows) sums its circumstantial rows scaled, as the edge
    weight will. The sums are of integers in float64, exact below 2**53 (else every
    row passes). At a million accounts most of the tens of millions of pairs weigh far
    less than an edge and are dropped here.
    """
    n = pairs.num_rows
    buckets = min(SCREEN_BUCKETS, 1 << max(1, (n - 1).bit_length()))
    src = pairs.column("src").to_numpy()
    dst = pairs.column("dst").to_numpy()
    w = pairs.column("w").to_numpy()
    slot = np.empty(n, np.int32)
    for c in range(0, n, PAIR_CHUNK):
        key = (src[c : c + PAIR_CHUNK].astype(np.uint64) << np.uint64(32)) | dst[
            c : c + PAIR_CHUNK
        ].astype(np.uint64)
        slot[c : c + PAIR_CHUNK] = mix64(key) & np.uint64(buckets - 1)
    scaled = _scaled_rows(pairs, slot, buckets, rule) if rule and rule.circumstantial else None
    factor = rule.factor if rule else 1.0
    fixed = np.empty(n, np.float64)
    for c in range(0, n, PAIR_CHUNK):
        part = w[c : c + PAIR_CHUNK]
        if scaled is not None:
            part = np.where(scaled[c : c + PAIR_CHUNK], part * factor, part)
        fixed[c : c + PAIR_CHUNK] = fixed_point(part)
    del scaled
    total = np.bincount(slot, weights=fixed, minlength=buckets)
    del fixed
    if not len(total) or total.max() >= 2.0**53:
        return pa.array(np.ones(n, bool))
    return pa.array(total[slot] / 1e9 >= min_weight)


def _scaled_rows(
    pairs: pa.Table, slot: np.ndarray, buckets: int, rule: Corroboration
) -> np.ndarray:
    """Which rows :func:`may_reach` counts at ``rule.factor``: the circumstantial rows of
    buckets where no pair can be corroborated (:meth:`Corroboration.corroborated` over
    all the bucket's rows, whatever their pair, is false)."""
    tcode = pairs.column("tcode").to_numpy()
    strong = pairs.column("strong").to_numpy(zero_copy_only=False)
    rare = pairs.column("rare").to_numpy(zero_copy_only=False)
    codes = np.arange(64)

    def of(bits: int) -> np.ndarray:
        """Per type code, whether ``bits`` has it."""
        return ((bits >> codes) & 1).astype(bool)

    schedule, kinds = of(rule.schedule), [of(bits) for bits in rule.kinds]
    maybe = np.zeros(buckets, bool)
    has = np.zeros((len(kinds), buckets), bool)
    for c in range(0, len(slot), PAIR_CHUNK):
        at, code = slot[c : c + PAIR_CHUNK], tcode[c : c + PAIR_CHUNK]
        maybe[at[strong[c : c + PAIR_CHUNK] | schedule[code]]] = True
        for k, kind in enumerate(kinds):
            has[k, at[rare[c : c + PAIR_CHUNK] & kind[code]]] = True
    del strong, rare
    maybe |= has.sum(axis=0, dtype=np.uint8) >= 2
    del has
    circumstantial = of(rule.circumstantial)
    scaled = np.empty(len(slot), bool)
    for c in range(0, len(slot), PAIR_CHUNK):
        at = slot[c : c + PAIR_CHUNK]
        scaled[c : c + PAIR_CHUNK] = circumstantial[tcode[c : c + PAIR_CHUNK]] & ~maybe[at]
    return scaled


def fixed_point(x: np.ndarray) -> np.ndarray:
    """``round(x * 1e9)`` as DuckDB rounds a DOUBLE (half away from zero), as float64."""
    v = x * 1e9
    r = np.trunc(v)
    r += np.sign(v) * (np.abs(v - r) >= 0.5)
    return r


class _PairWriter:
    """Preallocated output columns of :func:`pair_evidence`, filled chunk by chunk."""

    def __init__(self, ev: dict[str, np.ndarray], s: DetectSettings, total: int) -> None:
        self.ev = ev
        self.near = round(float(s.cotemporal_days) * 86400) * 1_000_000
        self.distant = float(s.distant_factor)
        self.at = 0
        self.src = np.empty(total, np.int32)
        self.dst = np.empty(total, np.int32)
        self.eid = np.empty(total, np.int32)
        self.w = np.empty(total, np.float64)
        self.tcode = np.empty(total, ev["tcode"].dtype)
        self.strong = np.empty(total, bool)
        self.rare = np.empty(total, bool)

    def write(self, first: np.ndarray, second: np.ndarray) -> None:
        """Add the pairs (``first[i]``, ``second[i]``) of positions in ``ev``."""
        ev, at, m = self.ev, self.at, len(first)
        a, b = ev["aid"][first], ev["aid"][second]
        np.minimum(a, b, out=self.src[at : at + m])
        np.maximum(a, b, out=self.dst[at : at + m])
        self.eid[at : at + m] = ev["eid"][first]
        f, last = ev["f"], ev["l"]
        close = (f[first] <= last[second] + self.near) & (f[second] <= last[first] + self.near)
        self.w[at : at + m] = ev["w"][first] * np.where(close, 1.0, self.distant)
        self.tcode[at : at + m] = ev["tcode"][first]
        self.strong[at : at + m] = ev["strong"][first]
        self.rare[at : at + m] = ev["rare"][first]
        self.at += m

    def table(self) -> pa.Table:
        assert self.at == len(self.src), "pair count mismatch"
        return pa.table(
            {
                "src": self.src,
                "dst": self.dst,
                "eid": self.eid,
                "w": self.w,
                "tcode": self.tcode,
                "strong": self.strong,
                "rare": self.rare,
            }
        )


IDENTITY_TYPES = frozenset({"card", "api_key", "identifier", "device"})
"""What an operator controls and hands out."""
BOND_TYPES = IDENTITY_TYPES
"""Bonds: a shared identity weighing at least ``bond_min_weight`` (not a popular
browser's default fingerprint, held by hundreds). One hand runs both accounts; pieces
of a community tied by bonds are one campaign (:func:`linkage.detect.leiden.consolidate`)."""
ATTACH_TYPES = IDENTITY_TYPES | {"ip"}
"""What an account sits on: its cards, devices, keys, identifiers and addresses. The
attachment rule (:func:`linkage.detect.attach.attach_by_entities`, and scoring new
accounts in :mod:`linkage.score.newcomers`) ties accounts by these alone; behaviour
(schedules, sign-up windows, templates) needs volume to show and is left to the graph."""
SCHEDULE_TYPES = frozenset({"cosession", "coactive"})
"""Schedules verified alike (:mod:`linkage.graph.coactivity`): they corroborate like a
bond, but two operators can keep the same hours, so they merge no pieces."""
CIRCUMSTANCE_KINDS: dict[str, str] = {
    "ip": "address",
    "prefix": "address",
    "template": "content",
    "signup": "signup",
}
"""Evidence that strangers can share by circumstance (a proxy provider's exits, a
public prompt template, a sign-up rush), by kind."""


@dataclass(frozen=True)
class Corroboration:
    """The rule of :func:`corroborate` for one projection, as SQL over ``pair_evidence``
    rows (columns ``src, dst, eid, w, tcode, strong, rare``) grouped by account pair.

    The per-row weight it leaves is ``w``, times :attr:`factor` for a circumstantial
    row of a pair that is not corroborated.
    """

    factor: float
    """What the circumstantial evidence of an uncorroborated pair counts at."""
    schedule: int
    """Bit ``tcode`` set for every verified schedule type (:data:`SCHEDULE_TYPES`)."""
    circumstantial: int
    """Bit ``tcode`` set for every circumstantial type; 0 when nothing is scaled."""
    kinds: tuple[int, ...]
    """Per kind of circumstance: the bits of its types."""

    def corroborated(self) -> str:
        """SQL aggregate over one pair's rows: true when its circumstantial evidence
        counts in full (a bond, a verified schedule, or two kinds of circumstance among
        its ``rare`` rows)."""
        mask = "bit_or(1::BIGINT << tcode)"
        rare = "bit_or(CASE WHEN rare THEN 1::BIGINT << tcode ELSE 0::BIGINT END)"
        counted = " + ".join(f"(({rare} & {bits}) <> 0)::INTEGER" for bits in self.kinds)
        return f"(bool_or(strong) OR ({mask} & {self.schedule}) <> 0 OR ({counted or '0'}) >= 2)"

    def is_circumstantial(self, tcode: str = "tcode") -> str:
        """SQL: whether a row of type code ``tcode`` is circumstantial evidence."""
        return f"(({self.circumstantial} >> {tcode}) & 1 = 1)"

    def weight(self) -> str:
        """SQL aggregate over one pair's rows: its edge weight, every row's corroborated
        weight summed in fixed point (1e-9) exactly as the rows themselves would be."""
        full = "sum(round(w * 1e9)::BIGINT)"
        if not self.circumstantial:
            return f"({full} / 1e9)::DOUBLE"
        alone = f"sum(round(({self.row_weight('', 'false')}) * 1e9)::BIGINT)"
        return f"((CASE WHEN {self.corroborated()} THEN {full} ELSE {alone} END) / 1e9)::DOUBLE"

    def row_weight(self, row: str, corroborated: str) -> str:
        """SQL: the corroborated weight of a ``pair_evidence`` row (aliased ``row``; ``""``
        for unqualified columns) whose pair's :meth:`corroborated` is the SQL
        ``corroborated`` (``edges.corroborated`` for the pairs of ``edges``)."""
        at = f"{row}." if row else ""
        if not self.circumstantial:
            return f"{at}w"
        return (
            f"CASE WHEN {self.is_circumstantial(f'{at}tcode')} AND NOT {corroborated} "
            f"THEN {at}w * {self._factor()} ELSE {at}w END"
        )

    def rows(self, rows: str) -> str:
        """SQL: the ``pair_evidence`` rows that the query ``rows`` selects, with ``w``
        corroborated. ``rows`` must keep every row of each pair it keeps (filter by
        pair, never by entity), since the pair's rows together decide."""
        if not self.circumstantial:
            return f"SELECT src, dst, eid, w, tcode, strong, rare FROM ({rows})"
        return f"""
            WITH r AS ({rows}),
            pair AS (SELECT src, dst, {self.corroborated()} AS corroborated
                     FROM r GROUP BY src, dst)
            SELECT r.src, r.dst, r.eid, {self.row_weight("r", "pair.corroborated")} AS w, r.tcode,
                   r.strong, r.rare
            FROM r JOIN pair ON pair.src = r.src AND pair.dst = r.dst"""

    def _factor(self) -> str:
        return f"'{float(self.factor)!r}'::DOUBLE"


def corroborate(types: list[str], factor: float) -> Corroboration:
    """Scale the circumstantial evidence of pairs tied by one kind of it alone by ``factor``.

    Two operators behind one proxy provider share its exits and nothing else;
    a household whose home address a proxy borrowed shares that address with
    the swarm and nothing else; two operators using one public extraction
    template share that template and nothing else. Their evidence is
    discounted. A pair that also shares a bond (``strong`` rows: an identity) or a
    verified schedule, or two different kinds of circumstance (say a template and
    an address), keeps it in full; only ``rare`` rows (entities weighing at
    least ``corroborate_min_weight``, not a VPN exit shared by hundreds) count
    as a kind.

    ``types`` are the entity types in ``tcode`` order. The rule is applied in SQL
    where the rows are grouped by pair (:class:`Corroboration`); a ``factor`` of 1 or
    more scales nothing.
    """
    kinds = sorted(set(CIRCUMSTANCE_KINDS.values()))
    schedule, bits = 0, dict.fromkeys(kinds, 0)
    for code, t in enumerate(types):
        if t in SCHEDULE_TYPES:
            schedule |= 1 << code
        elif t in CIRCUMSTANCE_KINDS:
            bits[CIRCUMSTANCE_KINDS[t]] |= 1 << code
    circumstantial = 0 if factor >= 1.0 else sum(bits.values())
    return Corroboration(float(factor), schedule, circumstantial, tuple(bits[k] for k in kinds))
