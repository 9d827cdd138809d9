"""The prompt corpora shipped with the package (``linkage/data/prompts``).

Neutral ground: ``graph`` names prompt-cluster capabilities after them and
``simulate`` draws prompt text from them; neither imports the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

__all__ = ["CORPORA", "Corpus", "load_corpus"]

CORPORA = {
    "coding": "coding_humaneval.jsonl",
    "reasoning": "reasoning_gsm8k.jsonl",
    "agentic": "agentic_bfcl.jsonl",
    "everyday": "everyday_selfinstruct.jsonl",
}
"""Corpus name -> shipped file (see ``linkage/data/prompts/NOTICE`` for sources and licences)."""


@dataclass(frozen=True)
class Corpus:
    """Prompt texts of one corpus as a numpy object array."""

    name: str
    texts: np.ndarray


@cache
def load_corpus(name: str) -> Corpus:
    """Load a shipped prompt corpus: ``coding``, ``reasoning``, ``agentic`` or ``everyday``."""
    ref = resources.files("linkage") / "data" / "prompts" / CORPORA[name]
    texts = [
        json.loads(line)["text"]
        for line in ref.read_text(encoding="utf-8").split("\n")
        if line.strip()
    ]
    return Corpus(name, np.array(texts, dtype=object))
