"""The embedder interface, registry and the shipped static model, on the real
model files and the shipped prompt corpora."""

from __future__ import annotations

import socket
import zlib

import numpy as np
import pytest

from linkage.corpus import load_corpus
from linkage.embed import (
    MODEL_DIR,
    Embedder,
    EmbedderError,
    StaticEmbedder,
    available_embedders,
    get_embedder,
    register_embedder,
)


@pytest.fixture(scope="module")
def static() -> Embedder:
    return get_embedder("static")


def test_shape_dtype_unit_rows_and_determinism(static):
    texts = ["Write a Python function that reverses a string", "How do I bake sourdough?", ""]
    a = static.embed(texts)
    b = get_embedder("static").embed(list(reversed(texts)))[::-1]
    assert static.dim == 256
    assert a.shape == (3, 256) and a.dtype == np.float32 and a.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(a[:2], axis=1), 1.0, rtol=1e-5)
    assert not a[2].any()  # an empty text has no tokens: a zero row
    np.testing.assert_array_equal(a, b)  # order and batch do not change a text's vector
    assert static.embed([]).shape == (0, 256)


def test_non_text_is_rejected_with_its_position(static):
    with pytest.raises(EmbedderError, match="text 1 is NoneType"):
        static.embed(["fine", None])  # type: ignore[list-item]


def test_similar_prompts_are_closer_than_unrelated_ones(static):
    a, b, c = static.embed(
        [
            "Write a Python function that sorts a list of integers",
            "Implement a function in Python to sort an array of numbers",
            "What is a good recipe for a chocolate birthday cake?",
        ]
    )
    assert a @ b > a @ c + 0.2


def test_coding_and_everyday_prompts_separate_by_nearest_neighbours(static):
    coding = load_corpus("coding").texts
    everyday = load_corpus("everyday").texts
    x = static.embed(list(coding) + list(everyday))
    y = np.array([0] * len(coding) + [1] * len(everyday))
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    nn = np.argsort(-sim, axis=1, kind="stable")[:, :5]
    accuracy = float(((y[nn].mean(axis=1) > 0.5).astype(int) == y).mean())
    assert accuracy >= 0.9


def test_loading_and_embedding_never_touch_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    emb = StaticEmbedder(MODEL_DIR)
    assert emb.embed(["offline only"]).shape == (1, 256)


def test_a_missing_model_folder_says_how_to_fix_it(tmp_path):
    with pytest.raises(EmbedderError, match="no static embedder model here"):
        StaticEmbedder(tmp_path)


class HashingEmbedder(Embedder):
    """A bag-of-words embedder by feature hashing: a second real implementation."""

    name = "hashing"

    @property
    def dim(self) -> int:
        return 64

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 64] += 1.0
        return out


def test_registry_lists_loads_and_rejects_unknown_names():
    assert "static" in available_embedders()
    register_embedder("hashing", HashingEmbedder)
    emb = get_embedder("hashing")
    assert emb is get_embedder("hashing")  # loaded once
    v = emb.embed(["a b", "b a", "c"])
    np.testing.assert_allclose(v[0], v[1])
    assert v[0] @ v[2] == 0
    with pytest.raises(EmbedderError, match="unknown embedder 'nope'"):
        get_embedder("nope")
    with pytest.raises(EmbedderError, match="short identifier"):
        register_embedder("bad name", HashingEmbedder)
