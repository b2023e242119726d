"""The open-index cache: the most recently used indexes stay in memory, within a count and
a byte budget; a deleted video's indexes are closed and stop counting against it."""

import numpy as np

import ytqa
from ytqa._open_indexes import OpenIndexes, Recent, index_bytes
from ytqa._search import VideoIndex
from fake_model import WordHashEmbedder


def test_the_least_recently_used_entry_goes_first():
    cache = Recent(2)
    cache["a"], cache["b"] = 1, 2
    cache["a"]
    cache["c"] = 3
    assert list(cache) == ["a", "c"]


def test_a_removed_entry_no_longer_counts_against_the_budget():
    cache = Recent(64, budget=100, weigh=lambda value: value)
    cache["a"], cache["b"] = 60, 30
    cache.pop("a")
    del cache["b"]
    assert cache.weight == 0
    cache["c"], cache["d"] = 50, 50
    assert list(cache) == ["c", "d"]


def index_of(video_id: str, lines: int) -> VideoIndex:
    transcript = ytqa.Transcript(video_id, tuple(ytqa.Line(f"Line {i} about caches and queues.", i * 4.0, 4.0)
                                                 for i in range(lines)), "English", "en")
    chunking = ytqa.chunk_transcript(transcript, ytqa.ChunkSettings())
    vectors = np.zeros((len(chunking.chunks), 64), dtype="float32")
    holder = type("Vectors", (), {"nbytes": vectors.nbytes})()
    return VideoIndex(transcript, chunking, holder, WordHashEmbedder(), key=f"{video_id}/x")


def test_an_index_weighs_its_vectors_and_its_texts():
    small, large = index_of("dQw4w9WgXcQ", 5), index_of("nTgKbiWg-YY", 50)
    assert index_bytes(small) > small.vectors.nbytes > 0
    assert index_bytes(large) > 5 * index_bytes(small)


def test_forgetting_a_video_closes_its_indexes_only():
    opened = OpenIndexes()
    opened["dQw4w9WgXcQ/a"] = index_of("dQw4w9WgXcQ", 5)
    opened["dQw4w9WgXcQ/b"] = index_of("dQw4w9WgXcQ", 6)
    opened["nTgKbiWg-YY/a"] = index_of("nTgKbiWg-YY", 5)
    kept = index_bytes(opened["nTgKbiWg-YY/a"])
    opened.forget_video("dQw4w9WgXcQ")
    assert list(opened) == ["nTgKbiWg-YY/a"] and opened.weight == kept
