"""Prompt clusters: what accounts ask about, as entities of the evidence graph.

A bounded, deterministic sample of each account's prompts is embedded and
grouped into ``prompt_cluster_k`` clusters by seeded spherical k-means; each
account gets a ``prompt_cluster`` event for the (at most
``prompt_clusters_per_account``) clusters most of its sampled prompts fall in.
The projection then weighs a cluster like any other entity, by type weight /
ln(1 + accounts): a cluster of recipe questions that thousands of accounts
share says almost nothing, one that a few hundred fresh accounts share says
more.

The cost is bounded whatever the data size:

- per account, at most ``prompt_samples_per_account`` distinct prompt texts
  are sampled (chosen by a seeded hash, not by time);
- identical texts are embedded once, and at most ``prompt_max_embeddings``
  distinct texts are embedded in all: every account's first sampled text
  before any account's second, and so on (ties by seeded hash);
- k-means is fitted on at most ``KMEANS_FIT_SAMPLE`` of those vectors, then
  every embedded text goes to its nearest centroid (one matrix product).

Precomputed embeddings win: when ``requests.prompt_embedding`` holds vectors
(``ingest_meta.embedding_dim`` is set), the sampled requests that carry one are
clustered by it and the embedder is used only to name each cluster's
capability from its texts. Without precomputed vectors, the embedder named by
``prompt_embedder`` embeds ``prompt_text``.

The stage runs on any backend of the workspace, with the same result: each
account's sample is drawn by :func:`sample_account_texts` (or
:func:`pick_account_requests`) and the texts are embedded by :func:`embed_texts`,
through :meth:`~linkage.backend.Backend.map_by` (on Spark, on the executors); the
sample key is DuckDB's 64-bit ``hash`` computed in numpy
(:func:`linkage.arrays.duckdb_hash_strings`), so every engine draws DuckDB's
sample. k-means is global and runs in this process, on the vectors brought here
(``prompt_max_embeddings`` rows at most, ``dim`` float32 each); of the texts only
each cluster's medoid (and, with precomputed vectors, ``CAPABILITY_TEXTS`` per
cluster) come here.

Creates temp tables ``prompt_texts(tid, prompt_text)`` (what was embedded),
``prompt_sample(aid, tid, n, first_ts, last_ts)``, ``prompt_text_ids(tid,
cluster)`` and ``prompt_clusters(cluster_id, size, accounts, label,
capability)``: ``size`` is the number of sampled prompts (requests) in the
cluster, ``accounts`` the accounts with sampled prompts in it (its
``prompt_cluster`` entity links only those for which it is among their top
``prompt_clusters_per_account``), ``label`` its most distinctive words and
``capability`` the shipped prompt corpus (``coding``, ``reasoning``,
``agentic``, ``everyday``) whose mean embedding is nearest to the cluster's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.arrays import duckdb_combine_hash, duckdb_hash_ints, duckdb_hash_strings
from linkage.corpus import load_corpus
from linkage.embed import Embedder, get_embedder
from linkage.errors import LinkageError
from linkage.graph.events import Events
from linkage.graph.workspace import Workspace, WorkTable, tables_of
from linkage.progress import ProgressFn
from linkage.settings import DetectSettings

__all__ = [
    "CAPABILITIES",
    "KMEANS_FIT_SAMPLE",
    "KMEANS_INIT_SAMPLE",
    "KMEANS_ITERATIONS",
    "PromptClusters",
    "build_prompt_clusters",
    "capability_centroids",
    "spherical_kmeans",
]

KMEANS_FIT_SAMPLE = 16_000
"""k-means is fitted on at most this many vectors (seeded sample); the rest are assigned."""
KMEANS_ITERATIONS = 20
"""At most this many Lloyd iterations (it stops earlier when no assignment changes)."""
KMEANS_INIT_SAMPLE = 4_096
"""k-means++ seeding picks its centres from a seeded sample of at most this many rows."""
MIN_POINTS_PER_CLUSTER = 4
"""With few distinct prompts, k shrinks so clusters average at least this many."""
LABEL_WORDS = 3
LABEL_TEXTS = 200
"""Words for a cluster's label come from at most this many of its texts."""
CAPABILITY_TEXTS = 16
"""In precomputed mode, at most this many texts per cluster name its capability."""
CORPUS_TEXTS = 250
"""Texts per shipped corpus (evenly spaced) that define its capability centroid."""
_EMBED_BATCH = 8_192
CAPABILITIES = {
    "coding": "coding",
    "reasoning": "reasoning",
    "agentic": "agentic",
    "everyday": "everyday",
}
"""Capability name -> shipped corpus (``linkage.corpus.CORPORA``) that defines it."""
_STOPWORD_TEXT = (
    "the and for you that this with are from your what how can not but all any its "
    "was were has have had will would should could into then than them they their there "
    "these those which who whom when where why use using used each also such only one "
    "two out about over under more most other some very just our ours his her hers him "
    "she he it is be to of in on at by an or as if so do does did done get got make "
    "made let via per may might must shall here given give list write below above "
    "following return returns please tell me my we us"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class PromptClusters:
    """Output of stage ``prompt clusters``: ``prompt_texts``, ``prompt_sample``,
    ``prompt_text_ids`` and ``prompt_clusters``; ``prompt_cluster`` events in ``events``."""

    count: int
    """Clusters found (0 when the stage is off or there is no prompt text)."""
    precomputed: bool = False
    """Whether the store's precomputed embeddings were clustered."""
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("prompt clusters")


def build_prompt_clusters(
    ws: Workspace,
    events: Events,
    settings: DetectSettings,
    progress: ProgressFn | None = None,
) -> PromptClusters:
    """Cluster sampled prompts of ``req``; add ``prompt_cluster`` events to ``events``.

    Also reads the store's ``requests`` and ``ingest_meta`` tables. Deterministic
    for the same data and settings (``settings.seed`` seeds sampling and k-means),
    and the same on every backend: the per-account sampling and the embedding run
    where the backend runs per-key work (:meth:`~linkage.backend.Backend.map_by`);
    k-means, the cluster ids and the capabilities run here, on the vectors (at
    most ``prompt_max_embeddings``) and the texts of a few rows per cluster.
    """
    s = settings
    _empty_tables(ws)
    if s.prompt_cluster_k <= 0 or s.prompt_samples_per_account <= 0:
        return PromptClusters(0)
    precomputed = _has_precomputed(ws)
    (_sample_precomputed if precomputed else _sample_texts)(ws, s)
    n = ws.count("prompt_texts")
    if n == 0:
        _drop_scratch(ws)
        return PromptClusters(0, precomputed)
    embedder: Embedder | None = None
    if not precomputed:
        embedder = get_embedder(s.prompt_embedder)
        if progress:
            progress("prompt clusters", 0, n)
        ws.backend.map_by(
            "pc_vectors",
            "SELECT tid, prompt_text FROM prompt_texts ORDER BY tid",
            ["tid"],
            partial(embed_texts, s.prompt_embedder),
            VECTORS_SCHEMA,
        )
        if progress:
            progress("prompt clusters", n, n)
    has_text, vectors = _fetch_vectors(ws, normalise=precomputed)
    _drop_scratch(ws)
    k = max(1, min(s.prompt_cluster_k, len(vectors) // MIN_POINTS_PER_CLUSTER))
    centroids = spherical_kmeans(vectors, k, seed=s.seed)
    assign = _nearest(vectors, centroids)
    k = len(centroids)
    medoid = _medoids(vectors, centroids, assign)
    rows = np.array(sorted(medoid.values()), np.int64)
    ids = _cluster_ids(
        medoid, dict(zip(rows.tolist(), _texts_of(ws, rows), strict=True)), vectors, centroids
    )
    _add_events(ws, s, assign, ids)
    labels = _labels(ws, k)
    if precomputed:
        capability = _capabilities(s, None, None, k, assign, has_text, partial(_texts_of, ws))
    else:
        capability = _capabilities(s, centroids, embedder, k, assign, has_text, None)
    _describe(ws, ids, labels, capability)
    return PromptClusters(k, precomputed)


VECTORS_SCHEMA = pa.schema([("tid", pa.int64()), ("v", pa.list_(pa.float32()))])
"""``pc_vectors``: the embedding of each text of ``prompt_texts``."""

SAMPLE_SCHEMA = pa.schema(
    [
        ("aid", pa.int32()),
        ("h", pa.int64()),
        ("prompt_text", pa.string()),
        ("n", pa.int64()),
        ("first_ts", pa.timestamp("us", tz="UTC")),
        ("last_ts", pa.timestamp("us", tz="UTC")),
        ("rk", pa.int64()),
    ]
)
"""``pc_raw``: each account's sampled distinct texts (:func:`sample_account_texts`)."""

PICK_SCHEMA = pa.schema(
    [
        ("aid", pa.int32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("dup", pa.int64()),
        ("h", pa.int64()),
        ("rk", pa.int64()),
    ]
)
"""``pc_pick``: each account's sampled requests with a vector (:func:`pick_account_requests`)."""

_SCRATCH = ("pc_raw", "pc_pick", "pc_vectors")
_SIGN = np.uint64(1 << 63)


def _sortable(h: np.ndarray) -> np.ndarray:
    """``uint64`` hashes as ``int64`` in the same order (engines without unsigned types)."""
    return (h ^ _SIGN).view(np.int64)


def _seed_hash(seed: int) -> np.ndarray:
    return duckdb_hash_ints(np.array([seed], np.int64))


def sample_account_texts(seed: int, per_account: int, rows: pa.Table) -> pa.Table:
    """``pc_raw`` for the accounts of ``rows`` (``aid, ts, prompt_text``, every row of
    each account): per account, its distinct non-blank texts with count and first and
    last use, the ``per_account`` first by ``hash(prompt_text, seed)`` (DuckDB's
    ``hash``, computed in numpy, so every engine draws the same sample), ranked ``rk``.

    Texts are grouped by that 64-bit hash, as DuckDB's ``GROUP BY aid, h`` did."""
    if rows.num_rows == 0:
        return SAMPLE_SCHEMA.empty_table()
    aid = rows.column("aid").to_numpy().astype(np.int32, copy=False)
    ts = rows.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    enc = pc.dictionary_encode(rows.column("prompt_text")).combine_chunks()
    words, idx = enc.dictionary, enc.indices.to_numpy().astype(np.int64)
    h_text = duckdb_combine_hash(duckdb_hash_strings(words), _seed_hash(seed))
    blank = pc.equal(pc.utf8_length(_trim(words)), 0).to_numpy(zero_copy_only=False)
    h = h_text[idx]
    order = np.lexsort((h, aid))
    aid_s, h_s = aid[order], h[order]
    start = np.flatnonzero(np.r_[True, (aid_s[1:] != aid_s[:-1]) | (h_s[1:] != h_s[:-1])])
    n = np.diff(np.r_[start, len(order)])
    first = np.minimum.reduceat(ts[order], start)
    last = np.maximum.reduceat(ts[order], start)
    text = idx[order[start]]
    keep = ~blank[text]
    g_aid, g_h = aid_s[start][keep], h_s[start][keep]
    new_acct = np.r_[True, g_aid[1:] != g_aid[:-1]][: len(g_aid)]
    pos = np.arange(len(g_aid))
    rk = pos - np.maximum.accumulate(np.where(new_acct, pos, 0)) + 1
    take = rk <= per_account
    sel = np.flatnonzero(keep)[take]
    return pa.table(
        {
            "aid": pa.array(g_aid[take], pa.int32()),
            "h": pa.array(_sortable(g_h[take])),
            "prompt_text": words.take(pa.array(text[sel])).cast(pa.string()),
            "n": pa.array(n[sel], pa.int64()),
            "first_ts": pa.array(first[sel], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "last_ts": pa.array(last[sel], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "rk": pa.array(rk[take], pa.int64()),
        },
        schema=SAMPLE_SCHEMA,
    )


_ZS = "\u0020\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
"""Unicode's space separators (category Zs): what DuckDB's ``trim`` removes."""


def _trim(words: pa.Array) -> pa.Array:
    """DuckDB's ``trim``: Unicode space separators (category Zs) off both ends."""
    return pc.utf8_trim(words, characters=_ZS)


def pick_account_requests(seed: int, per_account: int, rows: pa.Table) -> pa.Table:
    """``pc_pick`` for the accounts of ``rows`` (``aid, ts, c``: the requests with a
    vector, ``c`` of them at each instant): per account, the ``per_account`` first by
    ``hash(aid, ts, seed)`` (DuckDB's), requests of one instant in turn (``dup``)."""
    if rows.num_rows == 0:
        return PICK_SCHEMA.empty_table()
    aid = rows.column("aid").to_numpy().astype(np.int32, copy=False)
    ts = rows.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    c = rows.column("c").to_numpy().astype(np.int64)
    h = duckdb_combine_hash(
        duckdb_combine_hash(duckdb_hash_ints(aid), duckdb_hash_ints(ts)), _seed_hash(seed)
    )
    order = np.lexsort((ts, h, aid))
    rep = np.repeat(order, c[order])
    dup = np.arange(len(rep)) - np.repeat(np.cumsum(c[order]) - c[order], c[order])
    a = aid[rep]
    new_acct = np.r_[True, a[1:] != a[:-1]]
    pos = np.arange(len(a))
    rk = pos - np.maximum.accumulate(np.where(new_acct, pos, 0)) + 1
    take = rk <= per_account
    return pa.table(
        {
            "aid": pa.array(a[take], pa.int32()),
            "ts": pa.array(ts[rep][take], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "dup": pa.array(dup[take], pa.int64()),
            "h": pa.array(_sortable(h[rep][take])),
            "rk": pa.array(rk[take], pa.int64()),
        },
        schema=PICK_SCHEMA,
    )


def embed_texts(embedder: str, rows: pa.Table) -> pa.Table:
    """``pc_vectors`` for ``rows`` (``tid, prompt_text``): the embedder named
    ``embedder`` (loaded once per process), in batches of ``_EMBED_BATCH``."""
    emb = get_embedder(embedder)
    texts = np.asarray(rows.column("prompt_text").to_pylist(), dtype=object)
    out = _embed_all(emb, texts, None)
    values = pa.array(out.ravel(), pa.float32())
    offsets = pa.array(np.arange(len(out) + 1, dtype=np.int32) * emb.dim, pa.int32())
    return pa.table(
        {"tid": rows.column("tid"), "v": pa.ListArray.from_arrays(offsets, values)},
        schema=VECTORS_SCHEMA,
    )


def _fetch_vectors(ws: Workspace, *, normalise: bool) -> tuple[np.ndarray, np.ndarray]:
    """Whether each embedded text is there (not null), and the vectors, in ``tid``
    order, here: the one step whose size grows with the data (``prompt_max_embeddings``
    rows at most)."""
    tbl = ws.fetch(
        """SELECT t.prompt_text IS NOT NULL AS has_text, v.v
           FROM prompt_texts t JOIN pc_vectors v USING (tid) ORDER BY t.tid"""
    )
    emb = tbl.column("v").combine_chunks()
    flat = emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    vectors = flat.reshape(len(emb), -1) if len(emb) else np.zeros((0, 1), np.float32)
    if normalise:
        norm = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norm, out=vectors, where=norm > 0)
    has_text = tbl.column("has_text").to_numpy(zero_copy_only=False).astype(bool)
    return has_text, vectors


def _texts_of(ws: Workspace, tids: np.ndarray) -> list[str | None]:
    """The texts of ``prompt_texts`` rows ``tids``, in that order (a few per cluster)."""
    want = pa.table({"i": np.arange(len(tids), dtype=np.int64), "tid": tids.astype(np.int64)})
    with ws.registered("pc_want", want):
        got = ws.fetch(
            """SELECT w.i, t.prompt_text FROM pc_want w JOIN prompt_texts t USING (tid)
               ORDER BY w.i"""
        )
    texts: list[str | None] = got.column("prompt_text").to_pylist()
    return texts


def _drop_scratch(ws: Workspace) -> None:
    for name in _SCRATCH:
        ws.drop(name)


def _add_events(ws: Workspace, s: DetectSettings, assign: np.ndarray, ids: list[str]) -> None:
    """``prompt_text_ids``; each account's top clusters as ``prompt_cluster`` events;
    ``pc_events`` (every account's clusters) for :func:`_describe`."""
    tid_cluster = pa.table(
        {"tid": np.arange(len(assign), dtype=np.int64), "cluster": assign.astype(np.int32)}
    )
    with ws.registered("pc_assign_df", tid_cluster):
        ws.create("prompt_text_ids", "SELECT * FROM pc_assign_df")
    cluster_ids = pd.DataFrame({"cluster": np.arange(len(ids), dtype=np.int32), "cid": ids})
    with ws.registered("pc_ids_df", cluster_ids):
        ws.create(
            "pc_events",
            """
            SELECT s.aid, c.cid, sum(s.n)::BIGINT AS n, min(s.first_ts) AS first_ts,
                   max(s.last_ts) AS last_ts
            FROM prompt_sample s JOIN prompt_text_ids t USING (tid)
            JOIN pc_ids_df c USING (cluster)
            GROUP BY s.aid, c.cid
            """,
        )
    ws.append(
        "events",
        f"""
        SELECT aid, 'prompt_cluster', cid, n, first_ts, last_ts FROM pc_events
        QUALIFY row_number() OVER (PARTITION BY aid ORDER BY n DESC, cid)
            <= {int(s.prompt_clusters_per_account)}
        """,
    )


def _describe(
    ws: Workspace, ids: list[str], labels: dict[int, str], capability: list[str | None]
) -> None:
    """``prompt_clusters``: size, accounts, label and capability of every cluster."""
    k = len(ids)
    meta = pd.DataFrame(
        {
            "cluster": np.arange(k, dtype=np.int32),
            "cid": ids,
            "label": [labels.get(c, "") for c in range(k)],
            "capability": capability,
        }
    )
    with ws.registered("pc_meta_df", meta):
        ws.create(
            "prompt_clusters",
            """
            SELECT m.cid AS cluster_id, coalesce(z.size, 0)::BIGINT AS size,
                   coalesce(z.accounts, 0)::BIGINT AS accounts, m.label, m.capability
            FROM pc_meta_df m
            LEFT JOIN (SELECT cid, sum(n) AS size, count(*) AS accounts FROM pc_events
                       GROUP BY cid) z USING (cid)
            ORDER BY cluster_id
            """,
        )
    ws.drop("pc_events")


def _empty_tables(ws: Workspace) -> None:
    ws.create(
        "prompt_clusters",
        """SELECT NULL::VARCHAR AS cluster_id, NULL::BIGINT AS size, NULL::BIGINT AS accounts,
                  NULL::VARCHAR AS label, NULL::VARCHAR AS capability LIMIT 0""",
    )
    ws.create(
        "prompt_sample",
        """SELECT NULL::INTEGER AS aid, NULL::BIGINT AS tid, NULL::BIGINT AS n,
                  NULL::TIMESTAMPTZ AS first_ts, NULL::TIMESTAMPTZ AS last_ts LIMIT 0""",
    )
    ws.create("prompt_text_ids", "SELECT NULL::BIGINT AS tid, NULL::INTEGER AS cluster LIMIT 0")
    ws.create("prompt_texts", "SELECT NULL::BIGINT AS tid, NULL::VARCHAR AS prompt_text LIMIT 0")


def _has_precomputed(ws: Workspace) -> bool:
    dim = ws.fetch("SELECT max(embedding_dim) AS d FROM ingest_meta")
    if dim.num_rows == 0 or dim.column(0)[0].as_py() is None:
        return False
    found = ws.fetch(
        "SELECT count(*) AS n FROM (SELECT 1 FROM requests WHERE prompt_embedding IS NOT NULL "
        "LIMIT 1)"
    )
    return bool(found.column(0)[0].as_py())


def _sample_texts(ws: Workspace, s: DetectSettings) -> None:
    """``prompt_texts``: the distinct texts to embed (``tid`` = position), and
    ``prompt_sample`` rows pointing at them; ``pc_vectors`` is made by the caller.

    Texts are grouped by a seeded 64-bit hash (:func:`sample_account_texts`, per
    account where the backend runs per-key work); the hash also orders the sample.
    """
    ws.backend.map_by(
        "pc_raw",
        "SELECT aid, ts, prompt_text FROM req WHERE prompt_text IS NOT NULL",
        ["aid"],
        partial(sample_account_texts, int(s.seed), int(s.prompt_samples_per_account)),
        SAMPLE_SCHEMA,
    )
    ws.create(
        "prompt_texts",
        f"""
        SELECT (row_number() OVER (ORDER BY pri, h) - 1)::BIGINT AS tid, h, prompt_text
        FROM (SELECT h, any_value(prompt_text) AS prompt_text, min(rk) AS pri
              FROM pc_raw GROUP BY h ORDER BY pri, h LIMIT {int(s.prompt_max_embeddings)})
        """,
    )
    ws.append(
        "prompt_sample",
        """SELECT r.aid, t.tid, r.n, r.first_ts, r.last_ts
           FROM pc_raw r JOIN prompt_texts t USING (h)""",
    )
    ws.create("prompt_texts", "SELECT tid, prompt_text FROM prompt_texts")


def _sample_precomputed(ws: Workspace, s: DetectSettings) -> None:
    """``prompt_texts``: sampled requests carrying a precomputed embedding (``tid`` =
    position); ``pc_vectors``: their vectors; ``prompt_sample``: one row each.

    Requests are ranked by ``(aid, ts)`` alone (:func:`pick_account_requests`); only
    the chosen rows' vectors are then read, so memory stays bounded however many rows
    carry one. Requests of one account at one instant are told apart by text, then
    vector.
    """
    ws.backend.map_by(
        "pc_pick",
        """SELECT aid, ts, count(*) AS c FROM requests WHERE prompt_embedding IS NOT NULL
           GROUP BY aid, ts""",
        ["aid"],
        partial(pick_account_requests, int(s.seed), int(s.prompt_samples_per_account)),
        PICK_SCHEMA,
    )
    ws.create(
        "prompt_texts",
        f"""
        SELECT (row_number() OVER (ORDER BY p.rk, p.h, p.aid, p.ts, p.dup) - 1)::BIGINT AS tid,
               p.aid, p.ts, r.prompt_text, r.prompt_embedding
        FROM (SELECT * FROM pc_pick ORDER BY rk, h, aid, ts, dup
              LIMIT {int(s.prompt_max_embeddings)}) p
        JOIN (SELECT r.aid, r.ts, r.prompt_text, r.prompt_embedding,
                     row_number() OVER (PARTITION BY r.aid, r.ts
                                        ORDER BY r.prompt_text NULLS FIRST,
                                                 r.prompt_embedding NULLS FIRST) - 1 AS dup
              FROM requests r JOIN (SELECT DISTINCT aid, ts FROM pc_pick) k USING (aid, ts)
              WHERE r.prompt_embedding IS NOT NULL) r USING (aid, ts, dup)
        """,
    )
    ws.append("prompt_sample", "SELECT aid, tid, 1, ts, ts FROM prompt_texts")
    ws.create("pc_vectors", "SELECT tid, prompt_embedding AS v FROM prompt_texts")
    ws.create("prompt_texts", "SELECT tid, prompt_text FROM prompt_texts")


def _embed_all(embedder: Embedder, texts: np.ndarray, progress: ProgressFn | None) -> np.ndarray:
    out = np.empty((len(texts), embedder.dim), np.float32)
    for start in range(0, len(texts), _EMBED_BATCH):
        stop = min(len(texts), start + _EMBED_BATCH)
        out[start:stop] = embedder.embed(texts[start:stop].tolist())
        if progress:
            progress("prompt clusters", stop, len(texts))
    return out


def spherical_kmeans(
    x: np.ndarray,
    k: int,
    *,
    seed: int,
    iterations: int = KMEANS_ITERATIONS,
    fit_sample: int = KMEANS_FIT_SAMPLE,
) -> np.ndarray:
    """Seeded spherical k-means (cosine) on unit rows ``x``: a ``(k', d)`` array of unit centroids.

    k-means++ seeding (on at most ``KMEANS_INIT_SAMPLE`` rows) and Lloyd
    iterations on a seeded sample of at most ``fit_sample`` rows;
    ``k' = min(k, distinct rows)``. An emptied cluster is re-seeded with the row
    farthest from its centroid. Same input and seed, same centroids.

    >>> x = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.14, 0.99]], np.float32)
    >>> c = spherical_kmeans(x, 2, seed=0)
    >>> sorted(_nearest(x, c).tolist()) == [0, 0, 1, 1]
    True
    """
    if x.ndim != 2 or len(x) == 0 or k < 1:
        raise LinkageError(
            f"spherical_kmeans needs a non-empty 2-d array and k >= 1, got shape {x.shape}, k={k}"
        )
    rng = np.random.default_rng([seed, 0x9C])
    fit = x if len(x) <= fit_sample else x[np.sort(rng.choice(len(x), fit_sample, replace=False))]
    fit = np.ascontiguousarray(fit, dtype=np.float32)
    init = (
        fit
        if len(fit) <= KMEANS_INIT_SAMPLE
        else fit[rng.choice(len(fit), KMEANS_INIT_SAMPLE, replace=False)]
    )
    c = _kmeans_pp(init, k, rng)
    labels = np.full(len(fit), -1)
    for _ in range(iterations):
        sim = fit @ c.T
        new = sim.argmax(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        sums = np.zeros_like(c)
        order = np.argsort(labels, kind="stable")
        present, starts = np.unique(labels[order], return_index=True)
        sums[present] = np.add.reduceat(fit[order], starts, axis=0)
        empty = np.setdiff1d(np.arange(len(c)), present)
        if len(empty):
            best = sim[np.arange(len(fit)), labels]
            sums[empty] = fit[np.argsort(best, kind="stable")[: len(empty)]]
        norm = np.linalg.norm(sums, axis=1, keepdims=True)
        c = np.where(norm > 0, sums / np.maximum(norm, 1e-12), c).astype(np.float32)
    return c


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with cosine distance (1 - similarity)."""
    chosen = [int(rng.integers(len(x)))]
    dist = np.clip(1.0 - x @ x[chosen[0]], 0.0, None).astype(np.float64)
    for _ in range(1, k):
        total = dist.sum()
        if total <= 1e-9:
            break  # every remaining row duplicates a centre
        nxt = int(np.searchsorted(np.cumsum(dist), rng.random() * total))
        nxt = min(nxt, len(x) - 1)
        chosen.append(nxt)
        dist = np.minimum(dist, np.clip(1.0 - x @ x[nxt], 0.0, None))
    return np.ascontiguousarray(x[chosen], dtype=np.float32)


def _nearest(x: np.ndarray, c: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Index of the most similar centroid for every row, in chunks (bounded memory)."""
    out = np.empty(len(x), np.int64)
    for start in range(0, len(x), chunk):
        out[start : start + chunk] = (x[start : start + chunk] @ c.T).argmax(axis=1)
    return out


def _medoids(x: np.ndarray, c: np.ndarray, assign: np.ndarray) -> dict[int, int]:
    """Each non-empty cluster's most central member (row of ``x``; ties by row)."""
    sim = np.einsum("ij,ij->i", x, c[assign])
    order = np.lexsort((np.arange(len(x)), -sim, assign))
    present, first = np.unique(assign[order], return_index=True)
    return dict(zip(present.tolist(), order[first].tolist(), strict=True))


def _cluster_ids(
    medoid: dict[int, int], texts: dict[int, str | None], x: np.ndarray, c: np.ndarray
) -> list[str]:
    """Stable ids: ``pc_`` + md5 of the cluster's most central member (its text in
    ``texts``, else its vector), or of the centroid for an empty cluster."""
    ids: list[str] = []
    for j in range(len(c)):
        i = medoid.get(j)
        if i is None:
            key = c[j].round(4).tobytes()
        elif texts[i] is not None:
            key = str(texts[i]).encode()
        else:
            key = x[i].round(4).tobytes()
        ids.append("pc_" + hashlib.md5(key).hexdigest()[:12])
    # two clusters with the same medoid key (only possible for identical vectors) stay distinct
    seen: dict[str, int] = {}
    for j, cid in enumerate(ids):
        seen[cid] = seen.get(cid, 0) + 1
        if seen[cid] > 1:
            ids[j] = f"{cid}_{seen[cid]}"
    return ids


def _labels(ws: Workspace, k: int) -> dict[int, str]:
    """A few distinctive words per cluster: share of its texts using the word x rarity elsewhere."""
    stop = ", ".join(f"'{w}'" for w in sorted(_STOPWORDS))
    rows = ws.fetch(
        f"""
        WITH t AS (
            SELECT i.cluster, i.tid, p.prompt_text FROM prompt_text_ids i
            JOIN prompt_texts p USING (tid) WHERE p.prompt_text IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY i.cluster ORDER BY i.tid) <= {LABEL_TEXTS}),
        sz AS (SELECT cluster, count(*) AS n_texts FROM t GROUP BY cluster),
        w AS (SELECT DISTINCT cluster, tid,
                     unnest(regexp_extract_all(lower(left(prompt_text, 2000)), '[a-z]{{3,}}'))
                         AS word
              FROM t),
        dfc AS (SELECT cluster, word, count(*) AS n FROM w
                WHERE NOT list_contains([{stop}], word) GROUP BY cluster, word),
        dfa AS (SELECT word, count(*) AS nc FROM dfc GROUP BY word),
        scored AS (
            SELECT d.cluster, d.word,
                   d.n / sz.n_texts * ln(1 + {float(k)!r}::DOUBLE / a.nc) AS score
            FROM dfc d JOIN dfa a USING (word) JOIN sz USING (cluster)
            QUALIFY row_number() OVER (PARTITION BY d.cluster ORDER BY score DESC, d.word)
                <= {LABEL_WORDS})
        SELECT cluster, string_agg(word, ' ' ORDER BY score DESC, word) AS label FROM scored
        GROUP BY cluster
        """
    )
    return {
        int(c): str(label)
        for c, label in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True)
    }


@cache
def capability_centroids(embedder: Embedder) -> tuple[tuple[str, ...], np.ndarray]:
    """Capability names and the unit mean embedding of each one's shipped corpus."""
    names = tuple(CAPABILITIES)
    rows = []
    for name in names:
        texts = load_corpus(CAPABILITIES[name]).texts
        pick = np.unique(np.linspace(0, len(texts) - 1, min(CORPUS_TEXTS, len(texts))).astype(int))
        v = embedder.embed([texts[i] for i in pick]).mean(axis=0)
        rows.append(v / max(float(np.linalg.norm(v)), 1e-12))
    return names, np.stack(rows).astype(np.float32)


def _capabilities(
    s: DetectSettings,
    centroids: np.ndarray | None,
    embedder: Embedder | None,
    k: int,
    assign: np.ndarray,
    has_text: np.ndarray,
    texts_of: Callable[[np.ndarray], list[str | None]] | None,
) -> list[str | None]:
    """Nearest capability per cluster: from the centroids when they live in the
    embedder's space, else from the embedder's view of a few texts per cluster
    (``texts_of`` the texts of rows)."""
    emb = embedder or get_embedder(s.prompt_embedder)
    names, caps = capability_centroids(emb)
    if centroids is None:
        if texts_of is None:
            raise LinkageError("naming capabilities from texts needs the texts")
        with_text = np.flatnonzero(has_text)
        order = with_text[np.argsort(assign[with_text], kind="stable")]
        picked = np.concatenate(
            [order[assign[order] == j][:CAPABILITY_TEXTS] for j in range(k)] or [order[:0]]
        )
        centroids = np.zeros((k, emb.dim), np.float32)
        if len(picked):
            v = emb.embed([str(t) for t in texts_of(picked)])
            np.add.at(centroids, assign[picked], v)
    best = (centroids @ caps.T).argmax(axis=1)
    empty = np.linalg.norm(centroids, axis=1) == 0
    return [None if empty[j] else names[int(best[j])] for j in range(k)]
