"""The shipped static embedder: a model2vec model distilled from all-MiniLM-L6-v2.

A static model stores one vector per token of the MiniLM vocabulary (the
transformer's output for that token alone, reduced to 256 dims by PCA); a
prompt's embedding is the mean of its token vectors. It needs no network and
no torch, and embeds thousands of prompts per second on one CPU core. The
model files live in ``linkage/data/embedder`` (see the README there for the
source model, its licence and how to rebuild it with
``scripts/distil_embedder.py``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from linkage.embed.base import Embedder, EmbedderError, register_embedder

__all__ = ["MAX_CHARS", "MODEL_DIR", "StaticEmbedder"]

MODEL_DIR = Path(str(resources.files("linkage") / "data" / "embedder"))
"""Where the shipped static model lives inside the installed package."""

MAX_CHARS = 400
"""Characters per prompt beyond this are ignored: the start of a prompt says what it
asks, and the cost of a prompt stays bounded however long it is."""


class StaticEmbedder(Embedder):
    """A model2vec static model loaded from a local directory (never from the network)."""

    name = "static"

    def __init__(self, path: str | Path = MODEL_DIR, *, max_chars: int = MAX_CHARS) -> None:
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise EmbedderError(
                "the 'static' prompt embedder needs the model2vec package: "
                "pip install 'linkage[embed]'"
            ) from exc
        folder = Path(path)
        if (
            not (folder / "model.safetensors").is_file()
            or not (folder / "tokenizer.json").is_file()
        ):
            raise EmbedderError(
                f"{folder}: no static embedder model here (need model.safetensors and "
                "tokenizer.json); reinstall linkage or rebuild it with scripts/distil_embedder.py"
            )
        self.path = folder
        self.max_chars = max_chars
        # A local path that exists is read directly: model2vec never calls the Hub for it.
        self._model: Any = StaticModel.from_pretrained(folder)
        # float16 on disk (half the size); float32 in memory, where averaging is much faster
        self._model.embedding = np.asarray(self._model.embedding, dtype=np.float32)

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def _embed(self, texts: list[str]) -> np.ndarray:
        cut = [t[: self.max_chars] for t in texts]
        return np.asarray(self._model.encode(cut, max_length=None, normalize=True), np.float32)


register_embedder("static", StaticEmbedder)
