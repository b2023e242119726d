"""Transcript to index, in memory: chunks, vectors, pooling. No files, no database.

What an index holds is decided by its *recipe* (model, chunking, which vectors), and
the recipe with the transcript names it: ``key``. The store then keeps what is built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._chunking import ChunkSettings, chunk_transcript
from ._store import VECTOR_MODES, Built, IndexInfo, family_of, index_key
from ._transcript import Transcript

Progress = Callable[[str, int, int], None]


def quiet(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class Recipe:
    """How an index is made: the model's key, the chunking and which vectors are embedded."""

    model: str
    model_key: str
    chunking: ChunkSettings
    mode: str = "chunks+sentences"

    def __post_init__(self):
        if self.mode not in VECTOR_MODES:
            raise ValueError(f"vectors must be one of {', '.join(VECTOR_MODES)}")

    @property
    def family(self) -> str:
        return family_of(self.model_key, self.chunking.key())

    def key(self, transcript: Transcript) -> str:
        return index_key(transcript.video_id, transcript.fingerprint(), self.model_key,
                         self.chunking.key(), self.mode)

    def info(self, transcript: Transcript, built: Built) -> IndexInfo:
        return IndexInfo(
            key=self.key(transcript), video_id=transcript.video_id, family=self.family,
            mode=self.mode, model=self.model, model_key=self.model_key,
            chunking=self.chunking.key(), transcript=transcript.fingerprint(),
            chunks=len(built.chunking.chunks), sentences=len(built.chunking.sentences),
            created=time.time(),
        )


def build_index(transcript: Transcript, embedder, recipe: Recipe, progress: Progress = quiet,
                known_sentences: Built | None = None) -> Built:
    """Cut and embed. ``known_sentences``: an index of the same chunking whose sentence
    vectors are reused (the quick index, when the full one follows it)."""
    progress("chunking", 0, 1)
    chunking = chunk_transcript(
        transcript,
        recipe.chunking,
        count_tokens=embedder.count_tokens,
        model_max_tokens=embedder.max_tokens,
    )
    progress("chunking", 1, 1)
    known = None
    if (known_sentences is not None and known_sentences.chunking == chunking
            and known_sentences.sentence_vectors is not None and recipe.mode == "chunks+sentences"):
        known = known_sentences.sentence_vectors  # embedded by the quick index already
    mode = recipe.mode
    texts = [c.text for c in chunking.chunks] if mode != "sentences" else []
    if mode != "chunks" and known is None:
        texts += [s.text for s in chunking.sentences]
    vectors = embedder.embed_documents(
        texts, progress=lambda done, total: progress("embedding", done, total)
    )
    if known is not None:
        vectors = np.vstack([vectors, known]) if len(vectors) else known
    if mode == "sentences":
        sentence_vectors = vectors
        chunk_vectors = pool(vectors, chunking, embedder.normalize)
    else:
        chunk_vectors = vectors[: len(chunking.chunks)]
        sentence_vectors = vectors[len(chunking.chunks) :] if mode != "chunks" else None
    return Built(chunking, chunk_vectors, sentence_vectors)


def pool(sentence_vectors: np.ndarray, chunking, normalize: bool) -> np.ndarray:
    """A chunk's vector as the mean of its sentences' (normalised again for cosine models)."""
    chunk_vectors = np.vstack([
        sentence_vectors[c.first_sentence : c.last_sentence].mean(axis=0) for c in chunking.chunks
    ])
    if normalize:
        chunk_vectors /= np.maximum(np.linalg.norm(chunk_vectors, axis=1, keepdims=True), 1e-12)
    return chunk_vectors
