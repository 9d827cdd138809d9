"""Request traffic for a chunk of accounts, fully vectorised over requests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from linkage.simulate.population import DAY, HOUR, PROMPT_CATEGORIES, Population
from linkage.simulate.prompts import EXTRACTION_TEMPLATES, LEGIT_TEMPLATES, OPENERS, load_corpus
from linkage.simulate.scenario import Scenario

__all__ = ["Embedder", "RequestGenerator"]

# Local-hour activity profiles (index: hour 0-23).
_EVENING = np.array(
    [2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 5, 6, 7, 8, 9, 9, 7, 4], float
)
_WORK = np.array(
    [
        0.2,
        0.1,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        2,
        6,
        9,
        10,
        10,
        7,
        9,
        10,
        10,
        9,
        6,
        3,
        1.5,
        1,
        0.8,
        0.5,
        0.3,
    ],
    float,
)
_HOUR_CUM = np.stack([np.cumsum(p / p.sum()) for p in (_EVENING, _WORK)])
_SESSION_SECONDS = 3 * HOUR
_CORPUS_OF_CATEGORY = ("everyday", "coding", "reasoning", "agentic")


class Embedder:
    """Synthetic precomputed prompt embeddings: prompts of one topic, template
    and corpus item land near each other, as a real sentence embedder's would."""

    def __init__(self, dim: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 7])
        self.dim = dim
        self.category = rng.standard_normal((len(PROMPT_CATEGORIES), dim)).astype(np.float32)
        # the first four legitimate templates keep their historical stream position
        self.template = rng.standard_normal((len(EXTRACTION_TEMPLATES) + 4, dim)).astype(np.float32)
        self.items = {
            name: rng.standard_normal((len(load_corpus(name).texts), dim)).astype(np.float32)
            for name in _CORPUS_OF_CATEGORY
        }
        extra = np.random.default_rng([seed, 8]).standard_normal((len(LEGIT_TEMPLATES) - 4, dim))
        self.template = np.concatenate([self.template, extra.astype(np.float32)])

    def embed(
        self,
        rng: np.random.Generator,
        category: np.ndarray,
        template: np.ndarray,
        corpus: list[str],
        item: np.ndarray,
    ) -> np.ndarray:
        """Unit vectors for prompts given their category, template (-1: none) and corpus item."""
        v = self.category[category].copy()
        has_t = template >= 0
        v[has_t] += 0.8 * self.template[template[has_t]]
        for name in _CORPUS_OF_CATEGORY:
            sel = np.array([c == name for c in corpus], dtype=bool)
            if sel.any():
                v[sel] += 0.6 * self.items[name][item[sel]]
        v += 0.1 * rng.standard_normal(v.shape).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


class RequestGenerator:
    """Generates the ``requests`` rows of a set of accounts."""

    def __init__(
        self,
        pop: Population,
        sc: Scenario,
        start: int,
        end: int,
        ip_pool: np.ndarray,
        dev_pool: np.ndarray,
        ip_text: pa.Array,
        dev_text: pa.Array,
        key_text: pa.Array,
        seed: int,
    ) -> None:
        self.pop, self.sc, self.start, self.end = pop, sc, start, end
        self.ip_pool, self.dev_pool = ip_pool, dev_pool
        self.ip_text, self.dev_text, self.key_text = ip_text, dev_text, key_text
        self.account_text = pa.array(pop.account_id, pa.string())
        self.ua_text = pa.array(pop.user_agents, pa.string())
        self.embedder = Embedder(sc.embedding_dim, seed) if sc.embedding_dim else None
        n_days = sc.days + 2
        rng = np.random.default_rng([seed, 11])
        self.session_jitter = rng.uniform(
            -0.5 * HOUR, 0.5 * HOUR, size=(max(1, len(pop.campaign_names)), n_days, 2)
        )

    def generate(self, accounts: np.ndarray, rng: np.random.Generator) -> pa.Table:
        """All requests of ``accounts`` (indices into the population), sorted by time."""
        p = self.pop
        ra = np.repeat(accounts, p.n_req[accounts])
        n = len(ra)
        # network channel and address
        u = rng.random(n, dtype=np.float32)
        ch = np.minimum((u[:, None] > p.ch_cum[ra]).sum(axis=1), p.ch_cum.shape[1] - 1)
        pos = p.ch_start[ra, ch] + (rng.random(n) * p.ch_size[ra, ch]).astype(np.int64)
        ip = self.ip_pool[pos]
        dev = self.dev_pool[p.dev_start[ra] + (rng.random(n) * p.dev_size[ra]).astype(np.int64)]
        ts = self._timestamps(ra, rng)
        key = 2 * ra + (rng.random(n) < 0.15)
        ua = np.where(rng.random(n) < 0.3, p.ua_alt[ra], p.ua[ra])
        prompt_text, embedding, n_chars = self._prompts(ra, rng)
        out_med = p.out_tokens[ra]
        output_tokens = np.round(rng.lognormal(0, 0.6, n) * out_med).astype(np.int64)
        input_tokens = np.where(
            n_chars > 0, n_chars // 4 + 20, np.round(rng.lognormal(np.log(350), 0.8, n))
        ).astype(np.int64)
        order = np.argsort(ts, kind="stable")
        cols: dict[str, pa.Array] = {
            "account_id": self.account_text.take(pa.array(ra[order])),
            "ts": pa.array(ts[order], pa.timestamp("us", tz="UTC")),
            "ip": self.ip_text.take(pa.array(ip[order])),
            "device_fp": self.dev_text.take(pa.array(dev[order])),
            "api_key_id": self.key_text.take(pa.array(key[order])),
            "user_agent": self.ua_text.take(pa.array(ua[order])),
            "prompt_text": prompt_text.take(pa.array(order)),
        }
        if embedding is not None:
            cols["prompt_embedding"] = embedding.take(pa.array(order))
        cols["input_tokens"] = pa.array(input_tokens[order])
        cols["output_tokens"] = pa.array(output_tokens[order])
        return pa.table(cols)

    def _timestamps(self, ra: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Microsecond UTC timestamps following each account's rhythm."""
        p = self.pop
        n = len(ra)
        t0 = np.maximum(p.created[ra], self.start).astype(np.float64)
        t1 = p.end[ra].astype(np.float64)
        t = t0 + rng.random(n) * (t1 - t0)
        timing = p.timing[ra]
        human = timing <= 1
        if human.any():
            tz = p.tz[ra[human]].astype(np.float64) * HOUR
            local_day = np.floor((t[human] + tz) / DAY) * DAY - tz
            prof = _HOUR_CUM[timing[human]]
            hour = (rng.random(int(human.sum()))[:, None] > prof).sum(axis=1)
            t[human] = local_day + hour * HOUR + rng.random(int(human.sum())) * HOUR
        sync = timing == 3
        if sync.any():
            camp = p.campaign[ra[sync]]
            day = np.floor(t[sync] / DAY) * DAY
            day_idx = np.clip(
                ((day - self.start) // DAY).astype(np.int64) + 1,
                0,
                self.session_jitter.shape[1] - 1,
            )
            which = rng.integers(0, 2, int(sync.sum()))
            begin = (
                day
                + p.session_hours[camp, which] * HOUR
                + self.session_jitter[camp, day_idx, which]
            )
            t[sync] = begin + rng.random(int(sync.sum())) * _SESSION_SECONDS
        cron = np.flatnonzero(timing == 4)
        if len(cron):
            t[cron] = _cron(t[cron], rng)
        scheduled = np.flatnonzero(p.sched[ra] >= 0)
        if len(scheduled):
            self._scheduled(t, t0, t1, scheduled, p.sched[ra[scheduled]], rng)
        t = np.clip(t, t0, np.maximum(t0, t1 - 1))
        return (t * 1e6).astype(np.int64)

    def _scheduled(
        self,
        t: np.ndarray,
        t0: np.ndarray,
        t1: np.ndarray,
        idx: np.ndarray,
        sched: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Move each schedule's share of requests into its sessions (lab, event days)."""
        s = self.pop.schedules[sched]
        weekday, hour, hours, t_from, t_to, share = s.T
        pick = rng.random(len(idx)) < share
        lo = np.maximum(t0[idx], t_from)
        hi = np.minimum(t1[idx], t_to)
        day = np.floor((lo + rng.random(len(idx)) * np.maximum(hi - lo, 0)) / DAY) * DAY
        dow = (day // DAY + 3) % 7  # 1970-01-01 was a Thursday
        day -= np.where(weekday >= 0, (dow - weekday) % 7, 0) * DAY
        when = day + hour * HOUR + rng.random(len(idx)) * hours * HOUR
        when = np.where((when < lo) & (weekday >= 0), when + 7 * DAY, when)
        ok = pick & (hi > lo) & (when >= lo) & (when < hi)
        t[idx[ok]] = when[ok]

    def _prompts(
        self, ra: np.ndarray, rng: np.random.Generator
    ) -> tuple[pa.Array, pa.Array | None, np.ndarray]:
        """Prompt text on a sample of requests (null elsewhere), optional embeddings."""
        n = len(ra)
        sampled = np.flatnonzero(rng.random(n) < self.sc.prompt_sample_rate)
        category, template = self._prompt_kinds(ra[sampled], rng)
        corpus, item, texts = _prompt_texts(category, template, rng)
        full = np.full(n, None, dtype=object)
        full[sampled] = texts
        n_chars = np.zeros(n, np.int64)
        n_chars[sampled] = [len(s) for s in texts]
        embedding = None
        if self.embedder is not None:
            embedding = self._embeddings(n, sampled, category, template, corpus, item, rng)
        return pa.array(full, pa.string()), embedding, n_chars

    def _prompt_kinds(
        self, acc: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Category (index into PROMPT_CATEGORIES) and template (-1: none) per sampled prompt."""
        p = self.pop
        category = (rng.random(len(acc))[:, None] > p.prompt_cum[acc]).sum(axis=1)
        category = np.minimum(category, len(PROMPT_CATEGORIES) - 1)
        template = np.full(len(acc), -1, np.int64)
        is_legit_t = category == 4
        template[is_legit_t] = p.legit_template[acc[is_legit_t]]
        is_legit_t &= template >= 0
        category[(category == 4) & ~is_legit_t] = 0
        is_ext = category == 5
        if is_ext.any():
            camp = p.campaign[acc[is_ext]]
            choice = rng.random(int(is_ext.sum()))
            sizes = np.array([len(t) for t in p.campaign_templates])[camp]
            idx = (choice * sizes).astype(np.int64)
            template[is_ext] = np.array(
                [
                    p.campaign_templates[c][i]
                    for c, i in zip(camp.tolist(), idx.tolist(), strict=True)
                ],
                dtype=np.int64,
            )
        return category, template

    def _embeddings(
        self,
        n: int,
        sampled: np.ndarray,
        category: np.ndarray,
        template: np.ndarray,
        corpus: list[str],
        item: np.ndarray,
        rng: np.random.Generator,
    ) -> pa.Array:
        """Embeddings of the sampled prompts as a list column (null where no prompt)."""
        assert self.embedder is not None
        vecs = self.embedder.embed(
            rng,
            category,
            np.where(
                category == 5,
                template,
                np.where(category == 4, len(EXTRACTION_TEMPLATES) + template, -1),
            ),
            corpus,
            item,
        )
        lengths = np.zeros(n, np.int32)
        lengths[sampled] = self.embedder.dim
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        mask = np.ones(n, bool)
        mask[sampled] = False
        return pa.ListArray.from_arrays(
            pa.array(offsets), pa.array(vecs.ravel()), mask=pa.array(mask)
        )


def _prompt_texts(
    category: np.ndarray, template: np.ndarray, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, list[str]]:
    """Slot corpus, corpus item and full text of each prompt."""
    corpus: list[str] = []
    for c, t in zip(category.tolist(), template.tolist(), strict=True):
        if c == 4:
            corpus.append(LEGIT_TEMPLATES[t][0])
        elif c == 5:
            corpus.append(EXTRACTION_TEMPLATES[t][1])
        else:
            corpus.append(_CORPUS_OF_CATEGORY[c])
    sizes = {name: len(load_corpus(name).texts) for name in _CORPUS_OF_CATEGORY}
    item = (rng.random(len(category)) * np.array([sizes[c] for c in corpus])).astype(np.int64)
    opener = rng.integers(0, len(OPENERS), len(category))
    texts: list[str] = []
    for c, t, name, i, o in zip(
        category.tolist(), template.tolist(), corpus, item.tolist(), opener.tolist(), strict=True
    ):
        x = load_corpus(name).texts[i]
        if c == 4:
            texts.append(LEGIT_TEMPLATES[t][1].format(x=x))
        elif c == 5:
            texts.append(EXTRACTION_TEMPLATES[t][2].format(x=x))
        else:
            texts.append(OPENERS[o] + x)
    return corpus, item, texts


def _cron(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cron jobs: at the top of the hour (70%) or a quarter past, plus runner queueing."""
    minute = np.where(rng.random(len(t)) < 0.7, 0, rng.integers(1, 4, len(t)) * 15)
    return np.floor(t / HOUR) * HOUR + minute * 60 + rng.exponential(40.0, len(t))
