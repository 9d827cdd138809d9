"""The embedder interface and its registry.

An :class:`Embedder` turns prompt texts into fixed-size float32 vectors whose
cosine similarity says how alike two prompts are. Implementations register a
factory under a short name (:func:`register_embedder`); detection picks one by
the name in :class:`linkage.settings.DetectSettings`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from linkage.errors import LinkageError

__all__ = [
    "Embedder",
    "EmbedderError",
    "available_embedders",
    "get_embedder",
    "register_embedder",
]


class EmbedderError(LinkageError):
    """An embedder that is unknown, cannot be loaded, or was given bad input."""


class Embedder(ABC):
    """Prompt texts in, one L2-normalised float32 row per text out."""

    name: str = ""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of every embedding."""

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embed a non-empty list of strings: an ``(len(texts), dim)`` array."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``: a C-contiguous ``(len(texts), dim)`` float32 array of unit rows.

        The same texts always give the same rows (no randomness). An empty text
        gives a zero row.
        """
        items = list(texts)
        for i, t in enumerate(items):
            if not isinstance(t, str):
                raise EmbedderError(
                    f"{self.name or type(self).__name__}: text {i} is {type(t).__name__}, "
                    "not str; pass prompt texts only"
                )
        if not items:
            return np.zeros((0, self.dim), np.float32)
        out = np.ascontiguousarray(self._embed(items), dtype=np.float32)
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norm, out=out, where=norm > 0)
        return out


_REGISTRY: dict[str, Callable[[], Embedder]] = {}


def register_embedder(name: str, factory: Callable[[], Embedder]) -> None:
    """Make ``factory`` available as ``get_embedder(name)`` (replaces an earlier one)."""
    if not name or not name.isidentifier():
        raise EmbedderError(f"embedder name {name!r} must be a short identifier like 'static'")
    _REGISTRY[name] = factory
    _load.cache_clear()


def available_embedders() -> list[str]:
    """Names that :func:`get_embedder` accepts."""
    return sorted(_REGISTRY)


def get_embedder(name: str = "static") -> Embedder:
    """The embedder registered as ``name``, loaded once per process."""
    if name not in _REGISTRY:
        raise EmbedderError(
            f"unknown embedder {name!r}; available: {available_embedders()} "
            "(register others with linkage.embed.register_embedder)"
        )
    return _load(name)


@cache
def _load(name: str) -> Embedder:
    return _REGISTRY[name]()
