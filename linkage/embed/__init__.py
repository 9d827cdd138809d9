"""Offline prompt embedders: an :class:`Embedder` interface, a registry and the
shipped ``static`` model (see :mod:`linkage.embed.static`).

>>> from linkage.embed import get_embedder
>>> emb = get_embedder("static")
>>> v = emb.embed(["Write a Python function that sorts a list", "What should I cook tonight?"])
>>> v.shape == (2, emb.dim), str(v.dtype)
(True, 'float32')
"""

from linkage.embed.base import (
    Embedder,
    EmbedderError,
    available_embedders,
    get_embedder,
    register_embedder,
)
from linkage.embed.static import MODEL_DIR, StaticEmbedder

__all__ = [
    "MODEL_DIR",
    "Embedder",
    "EmbedderError",
    "StaticEmbedder",
    "available_embedders",
    "get_embedder",
    "register_embedder",
]
