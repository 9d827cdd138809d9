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
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

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
    for the same data and settings (``settings.seed`` seeds sampling and k-means).
    """
    s, con = settings, ws.con
    _empty_tables(con)
    if s.prompt_cluster_k <= 0 or s.prompt_samples_per_account <= 0:
        return PromptClusters(0)
    precomputed = _has_precomputed(con)
    texts, vectors = (_sample_precomputed if precomputed else _sample_texts)(con, s)
    if len(texts) == 0:
        return PromptClusters(0, precomputed)
    embedder: Embedder | None = None
    if vectors is None:
        embedder = get_embedder(s.prompt_embedder)
        vectors = _embed_all(embedder, texts, progress)
    k = max(1, min(s.prompt_cluster_k, len(vectors) // MIN_POINTS_PER_CLUSTER))
    centroids = spherical_kmeans(vectors, k, seed=s.seed)
    assign = _nearest(vectors, centroids)
    k = len(centroids)
    ids = _cluster_ids(texts, vectors, centroids, assign)
    _add_events(ws, s, assign, ids)
    labels = _labels(con, k)
    capability = _capabilities(
        con, s, centroids if not precomputed else None, embedder, k, assign, texts
    )
    _describe(ws, ids, labels, capability)
    return PromptClusters(k, precomputed)


def _add_events(ws: Workspace, s: DetectSettings, assign: np.ndarray, ids: list[str]) -> None:
    """``prompt_text_ids``; each account's top clusters as ``prompt_cluster`` events;
    ``pc_events`` (every account's clusters) for :func:`_describe`."""
    tid_cluster = pa.table(
        {"tid": np.arange(len(assign), dtype=np.int64), "cluster": assign.astype(np.int32)}
    )
    with ws.registered("pc_assign_df", tid_cluster):
        ws.execute("CREATE OR REPLACE TEMP TABLE prompt_text_ids AS SELECT * FROM pc_assign_df")
    cluster_ids = pd.DataFrame({"cluster": np.arange(len(ids), dtype=np.int32), "cid": ids})
    with ws.registered("pc_ids_df", cluster_ids):
        ws.execute(
            """
            CREATE OR REPLACE TEMP TABLE pc_events AS
            SELECT s.aid, c.cid, sum(s.n)::BIGINT AS n, min(s.first_ts) AS first_ts,
                   max(s.last_ts) AS last_ts
            FROM prompt_sample s JOIN prompt_text_ids t USING (tid)
            JOIN pc_ids_df c USING (cluster)
            GROUP BY s.aid, c.cid
            """
        )
    ws.execute(
        """
        INSERT INTO events
        SELECT aid, 'prompt_cluster', cid, n, first_ts, last_ts FROM pc_events
        QUALIFY row_number() OVER (PARTITION BY aid ORDER BY n DESC, cid) <= ?
        """,
        [s.prompt_clusters_per_account],
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
        ws.execute(
            """
            CREATE OR REPLACE TEMP TABLE prompt_clusters AS
            SELECT m.cid AS cluster_id, coalesce(z.size, 0)::BIGINT AS size,
                   coalesce(z.accounts, 0)::BIGINT AS accounts, m.label, m.capability
            FROM pc_meta_df m
            LEFT JOIN (SELECT cid, sum(n) AS size, count(*) AS accounts FROM pc_events
                       GROUP BY cid) z USING (cid)
            ORDER BY cluster_id
            """
        )
    ws.execute("DROP TABLE pc_events")


def _empty_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE prompt_clusters (cluster_id VARCHAR, size BIGINT,
           accounts BIGINT, label VARCHAR, capability VARCHAR)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE prompt_sample (aid INTEGER, tid BIGINT, n BIGINT,
           first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ)"""
    )
    con.execute("CREATE OR REPLACE TEMP TABLE prompt_text_ids (tid BIGINT, cluster INTEGER)")
    con.execute("CREATE OR REPLACE TEMP TABLE prompt_texts (tid BIGINT, prompt_text VARCHAR)")


def _has_precomputed(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT max(embedding_dim) FROM ingest_meta").fetchone()
    if row is None or row[0] is None:
        return False
    found = con.execute(
        "SELECT EXISTS (SELECT 1 FROM requests WHERE prompt_embedding IS NOT NULL)"
    ).fetchone()
    return bool(found and found[0])


def _sample_texts(
    con: duckdb.DuckDBPyConnection, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray | None]:
    """Distinct texts to embed (``tid`` = position), and ``prompt_sample`` rows pointing at them.

    Texts are grouped by a seeded 64-bit hash (integer grouping is several times
    faster than grouping long strings); the hash also orders the sample.
    """
    seed = int(s.seed)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE pc_raw AS
        SELECT aid, h, prompt_text, n, first_ts, last_ts,
               row_number() OVER (PARTITION BY aid ORDER BY h) AS rk
        FROM (SELECT aid, hash(prompt_text, $seed::BIGINT) AS h,
                     any_value(prompt_text) AS prompt_text, count(*) AS n,
                     min(ts) AS first_ts, max(ts) AS last_ts
              FROM req WHERE prompt_text IS NOT NULL GROUP BY aid, h)
        WHERE trim(prompt_text) <> ''
        QUALIFY rk <= $per_account
        """.replace("$seed", str(seed)).replace(
            "$per_account", str(int(s.prompt_samples_per_account))
        )
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE prompt_texts AS
        SELECT (row_number() OVER (ORDER BY pri, h) - 1)::BIGINT AS tid, h, prompt_text
        FROM (SELECT h, any_value(prompt_text) AS prompt_text, min(rk) AS pri
              FROM pc_raw GROUP BY h ORDER BY pri, h LIMIT ?)
        """,
        [int(s.prompt_max_embeddings)],
    )
    con.execute(
        """
        INSERT INTO prompt_sample
        SELECT r.aid, t.tid, r.n, r.first_ts, r.last_ts FROM pc_raw r JOIN prompt_texts t USING (h)
        """
    )
    texts = con.sql("SELECT prompt_text FROM prompt_texts ORDER BY tid").to_arrow_table()
    con.execute("DROP TABLE pc_raw")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE prompt_texts AS SELECT tid, prompt_text FROM prompt_texts"
    )
    return np.asarray(texts.column(0).to_pylist(), dtype=object), None


def _sample_precomputed(
    con: duckdb.DuckDBPyConnection, s: DetectSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Sampled requests carrying a precomputed embedding (``tid`` = position), and the vectors.

    Requests are ranked by ``(aid, ts)`` and row id alone; only the chosen rows'
    vectors are then read, so memory stays bounded however many rows carry one.
    """
    seed = int(s.seed)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE pc_pick AS
        SELECT rid, aid, ts, h, rk FROM (
            SELECT rowid AS rid, aid, ts, hash(aid, ts, ?::BIGINT) AS h,
                   row_number() OVER (PARTITION BY aid ORDER BY hash(aid, ts, ?::BIGINT), rowid)
                       AS rk
            FROM requests WHERE prompt_embedding IS NOT NULL)
        WHERE rk <= ? ORDER BY rk, h, rid LIMIT ?
        """,
        [seed, seed, int(s.prompt_samples_per_account), int(s.prompt_max_embeddings)],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE prompt_texts AS
        SELECT (row_number() OVER (ORDER BY p.rk, p.h, p.rid) - 1)::BIGINT AS tid,
               p.aid, p.ts, r.prompt_text, r.prompt_embedding
        FROM pc_pick p JOIN requests r ON r.rowid = p.rid
        """
    )
    con.execute("DROP TABLE pc_pick")
    con.execute("INSERT INTO prompt_sample SELECT aid, tid, 1, ts, ts FROM prompt_texts")
    tbl = con.sql(
        "SELECT prompt_text, prompt_embedding FROM prompt_texts ORDER BY tid"
    ).to_arrow_table()
    emb = tbl.column("prompt_embedding").combine_chunks()
    flat = emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    vectors = flat.reshape(len(emb), -1) if len(emb) else np.zeros((0, 1), np.float32)
    norm = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norm, out=vectors, where=norm > 0)
    texts = np.asarray(tbl.column("prompt_text").to_pylist(), dtype=object)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE prompt_texts AS SELECT tid, prompt_text FROM prompt_texts"
    )
    return texts, vectors


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


def _cluster_ids(texts: np.ndarray, x: np.ndarray, c: np.ndarray, assign: np.ndarray) -> list[str]:
    """Stable ids: ``pc_`` + md5 of the cluster's most central member (text, else its vector)."""
    sim = np.einsum("ij,ij->i", x, c[assign])
    order = np.lexsort((np.arange(len(x)), -sim, assign))
    present, first = np.unique(assign[order], return_index=True)
    ids: list[str] = []
    medoid = dict(zip(present.tolist(), order[first].tolist(), strict=True))
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


def _labels(con: duckdb.DuckDBPyConnection, k: int) -> dict[int, str]:
    """A few distinctive words per cluster: share of its texts using the word x rarity elsewhere."""
    stop = sorted(_STOPWORDS)
    rows = con.execute(
        """
        WITH t AS (
            SELECT i.cluster, i.tid, p.prompt_text FROM prompt_text_ids i
            JOIN prompt_texts p USING (tid) WHERE p.prompt_text IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY i.cluster ORDER BY i.tid) <= ?),
        sz AS (SELECT cluster, count(*) AS n_texts FROM t GROUP BY cluster),
        w AS (SELECT DISTINCT cluster, tid,
                     unnest(regexp_extract_all(lower(left(prompt_text, 2000)), '[a-z]{3,}')) AS word
              FROM t),
        dfc AS (SELECT cluster, word, count(*) AS n FROM w
                WHERE NOT list_contains(?, word) GROUP BY cluster, word),
        dfa AS (SELECT word, count(*) AS nc FROM dfc GROUP BY word),
        scored AS (
            SELECT d.cluster, d.word, d.n / sz.n_texts * ln(1 + ? / a.nc) AS score
            FROM dfc d JOIN dfa a USING (word) JOIN sz USING (cluster)
            QUALIFY row_number() OVER (PARTITION BY d.cluster ORDER BY score DESC, d.word) <= ?)
        SELECT cluster, string_agg(word, ' ' ORDER BY score DESC, word) FROM scored
        GROUP BY cluster
        """,
        [LABEL_TEXTS, stop, float(k), LABEL_WORDS],
    ).fetchall()
    return {int(c): str(label) for c, label in rows}


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
    con: duckdb.DuckDBPyConnection,
    s: DetectSettings,
    centroids: np.ndarray | None,
    embedder: Embedder | None,
    k: int,
    assign: np.ndarray,
    texts: np.ndarray,
) -> list[str | None]:
    """Nearest capability per cluster: from the centroids when they live in the
    embedder's space, else from the embedder's view of a few texts per cluster."""
    emb = embedder or get_embedder(s.prompt_embedder)
    names, caps = capability_centroids(emb)
    if centroids is None:
        has_text = np.flatnonzero(np.array([t is not None for t in texts], dtype=bool))
        order = has_text[np.argsort(assign[has_text], kind="stable")]
        picked = np.concatenate(
            [order[assign[order] == j][:CAPABILITY_TEXTS] for j in range(k)] or [order[:0]]
        )
        centroids = np.zeros((k, emb.dim), np.float32)
        if len(picked):
            v = emb.embed([str(t) for t in texts[picked]])
            np.add.at(centroids, assign[picked], v)
    best = (centroids @ caps.T).argmax(axis=1)
    empty = np.linalg.norm(centroids, axis=1) == 0
    return [None if empty[j] else names[int(best[j])] for j in range(k)]
