"""The file store's library-wide FAISS index: exact while small, an inverted file over videos
beyond, published on disk and kept up to date as videos come and go."""

import numpy as np
import pytest

from ytqa._files_store import FileStore
from ytqa._vectors import LibraryIndex

DIM = 32


def parts(videos=40, passages=30, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for v in range(videos):
        centre = rng.standard_normal(DIM)
        vectors = centre + 0.7 * rng.standard_normal((passages, DIM))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        out.append((f"v{v:010d}/index", f"v{v:010d}", vectors.astype("float32")))
    return out


def exact(parts_, query, k):
    scored = [(float(vec @ query), key, p) for key, _, vectors in parts_ for p, vec in enumerate(vectors)]
    return sorted(scored, reverse=True)[:k]


@pytest.mark.parametrize("flat_limit", [10**9, 100])
def test_the_library_index_finds_the_nearest_passages_of_any_video(flat_limit):
    data = parts()
    index = LibraryIndex.build(data, DIM, flat_limit=flat_limit)
    assert index.kind == ("flat" if flat_limit > 10**6 else "ivf")
    query = data[7][2][3]  # a passage of video 7 itself
    found = index.search(query, 5)
    assert (found[0][0].video_id, found[0][1]) == ("v0000000007", 3)
    assert found[0][2] == pytest.approx(1.0, abs=1e-5)
    truth = {(key, p) for _, key, p in exact(data, query, 5)}
    assert len({(m.key, p) for m, p, _ in found} & truth) >= 4


@pytest.mark.parametrize("flat_limit", [10**9, 100])
def test_a_library_index_search_over_some_videos_keeps_to_them(flat_limit):
    data = parts()
    index = LibraryIndex.build(data, DIM, flat_limit=flat_limit)
    wanted = {data[1][0], data[2][0]}
    found = index.search(data[7][2][3], 10, keys=wanted)
    assert found and {m.key for m, _, _ in found} <= wanted
    truth = exact([p for p in data if p[0] in wanted], data[7][2][3], 10)
    assert [round(s, 4) for _, _, s in found] == [round(s, 4) for s, _, _ in truth]


def test_the_library_index_is_read_back_from_its_files(tmp_path):
    data = parts()
    index = LibraryIndex.build(data, DIM, flat_limit=100)
    index.save(tmp_path)
    again = LibraryIndex.load(tmp_path)
    query = data[3][2][0]
    assert [(m.key, p) for m, p, _ in again.search(query, 5)] == [(m.key, p) for m, p, _ in index.search(query, 5)]
    assert np.allclose(again.vectors_of(data[5][0]), data[5][2])


def test_videos_indexed_after_the_library_index_was_built_are_searched_too(tmp_path):
    from ytqa import ChunkSettings, Line, Transcript
    from ytqa._builder import Recipe, build_index
    from fake_model import WordHashEmbedder

    model = WordHashEmbedder()
    recipe = Recipe("fake", model.key, ChunkSettings(window_seconds=10, stride_seconds=10))
    store = FileStore(tmp_path)

    def add(video_id, text):
        t = Transcript(video_id, (Line(text, 0, 5), Line("Filler words here.", 10, 5)), "English", "en")
        store.save_transcript(t)
        built = build_index(t, model, recipe)
        store.put(recipe.info(t, built), built)

    add("dQw4w9WgXcQ", "Cats sleep on keyboards.")
    add("nTgKbiWg-YY", "Sourdough bread needs a starter.")
    store.build_library(recipe.family)
    assert list((tmp_path / "library" / recipe.family).glob("v*/library.faiss"))
    add("XpxTrDDcpPE", "Tomatoes grow in the garden.")
    store.remove("dQw4w9WgXcQ")
    fresh = FileStore(tmp_path)  # another process, in effect
    for s in (store, fresh):
        found = {h.video_id for h in s.search(recipe.family, model.embed_query("tomatoes cats bread"), 10)}
        assert found == {"nTgKbiWg-YY", "XpxTrDDcpPE"}


def test_a_library_grown_past_its_index_gets_a_new_one_built_behind_the_questions(tmp_path, monkeypatch):
    import time

    from ytqa import ChunkSettings, Line, Transcript
    from ytqa import _files_store
    from ytqa._builder import Recipe, build_index
    from fake_model import WordHashEmbedder

    monkeypatch.setattr(_files_store, "COMPACT_MIN", 4)  # vectors outside the published index
    model = WordHashEmbedder()
    recipe = Recipe("fake", model.key, ChunkSettings(window_seconds=10, stride_seconds=10))
    store = FileStore(tmp_path)
    ids = ["dQw4w9WgXcQ", "nTgKbiWg-YY", "XpxTrDDcpPE"]
    for n, video_id in enumerate(ids):
        t = Transcript(video_id, (Line(f"Topic number {n} here.", 0, 5), Line("More words.", 10, 5)), "English", "en")
        store.save_transcript(t)
        built = build_index(t, model, recipe)
        store.put(recipe.info(t, built), built)
    query = model.embed_query("topic number")
    assert {h.video_id for h in store.search(recipe.family, query, 10)} == set(ids)  # answered at once...
    deadline = time.time() + 30
    while not list((tmp_path / "library" / recipe.family).glob("v*/library.faiss")):
        assert time.time() < deadline, "the library index was never built"
        time.sleep(0.05)
    time.sleep(0.2)
    assert {h.video_id for h in store.search(recipe.family, query, 10)} == set(ids)  # ...and after
    assert store._families[recipe.family].base is not None
