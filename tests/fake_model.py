"""A stand-in for the embedding model: a text's vector is the sum of its words' vectors.

Each word (lower-cased, a plural's s dropped) gets a fixed random direction from a hash
of it, so texts that share words are near and texts that share none are nearly
orthogonal. That is enough to specify ranking and moment rules without the real model.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

DIM = 64
_WORD = re.compile(r"\w+")
_IGNORED = {"the", "a", "an", "of", "to", "is", "and", "in", "on", "it", "what", "how", "do", "i", "at"}


@dataclass(frozen=True)
class Spec:
    name: str = "fake"


def word_vector(word: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(word.encode()))
    vector = rng.standard_normal(DIM)
    return vector / np.linalg.norm(vector)


def words(text: str) -> list[str]:
    found = [w.lower() for w in _WORD.findall(text)]
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in found if w.lower() not in _IGNORED]


class WordHashEmbedder:
    """What the library asks of a model, answered deterministically and at once."""

    spec = Spec()
    key = "fake-words-v1"
    normalize = True
    max_tokens = 256

    def __init__(self):
        self.embedded = 0

    def load(self):
        return self

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, text: str) -> np.ndarray:
        vector = sum((word_vector(w) for w in words(text)), np.zeros(DIM))
        norm = np.linalg.norm(vector)
        return (vector / norm if norm else vector).astype("float32")

    def embed_documents(self, texts, progress=None, batch_size=256):
        self.embedded += len(texts)
        if progress:
            progress(len(texts), len(texts))
        if not texts:
            return np.zeros((0, DIM), dtype="float32")
        return np.vstack([self.embed(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed(text)
