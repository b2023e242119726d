"""The store contract: the file store (FAISS) and the server store (PostgreSQL + pgvector)
keep transcripts and indexes, list and search the library, alike. Every test runs on both."""

import numpy as np
import pytest

from ytqa import ChunkSettings, Line, Transcript
from ytqa._builder import Recipe, build_index
from ytqa._store import Built
from fake_model import WordHashEmbedder

MODEL = WordHashEmbedder()
RECIPE = Recipe("fake", MODEL.key, ChunkSettings(window_seconds=20, stride_seconds=20))
OTHER_MODEL = Recipe("fake", "another-model", RECIPE.chunking)


def close(store) -> float:
    """How near a stored score is to the model's: the file store keeps float32, the server
    store half precision (``halfvec``: 3 significant digits, so within 2e-3 for unit vectors)."""
    return 1e-5 if type(store).__name__ == "FileStore" else 2e-3


def transcript(video_id: str, *texts: str, title: str | None = None) -> Transcript:
    lines = tuple(Line(text, 10.0 * i, 9.0) for i, text in enumerate(texts))
    return Transcript(video_id, lines, "English", "en", title=title)


TALK = transcript("dQw4w9WgXcQ", "Caching keeps copies of pages.", "Invalidation is the hard part.",
                  "My cat sleeps on the keyboard.", "Thanks for listening to the talk.", title="Caching talk")
BREAD = transcript("nTgKbiWg-YY", "Sourdough bread needs a starter.", "Bake the bread in a hot oven.",
                   title="Baking bread")
GARDEN = transcript("XpxTrDDcpPE", "Tomatoes grow in the garden.", "Water the tomatoes daily.",
                    title="Garden notes")


def put(store, t: Transcript, recipe: Recipe = RECIPE):
    store.save_transcript(t)
    built = build_index(t, MODEL, recipe)
    return store.put(recipe.info(t, built), built), built


def test_a_saved_transcript_is_read_back_as_it_was(store):
    store.save_transcript(TALK)
    assert store.transcript(TALK.video_id) == TALK
    assert store.transcript(BREAD.video_id) is None


def test_a_saved_transcript_is_replaced_by_the_next(store):
    store.save_transcript(TALK)
    newer = transcript(TALK.video_id, "A different track altogether.")
    store.save_transcript(newer)
    assert store.transcript(TALK.video_id) == newer


def test_an_index_never_put_is_not_there(store):
    store.save_transcript(TALK)
    assert store.get(RECIPE.key(TALK)) is None
    assert not store.has(RECIPE.key(TALK))


def test_an_index_put_is_got_back_whole(store):
    _, built = put(store, TALK)
    stored = store.get(RECIPE.key(TALK))
    assert stored.chunking == built.chunking
    assert stored.info.chunks == len(built.chunking.chunks) and stored.info.family == RECIPE.family
    query = MODEL.embed_query("hard part of invalidation")
    exact = built.chunk_vectors @ query
    found = stored.vectors.search(query, 2)
    assert [i for i, _ in found] == list(np.argsort(-exact)[:2])
    assert [s for _, s in found] == pytest.approx(sorted(exact, reverse=True)[:2], abs=close(store))
    assert stored.vectors.sentence_scores(query) == pytest.approx(built.sentence_vectors @ query, abs=close(store))
    assert np.allclose(stored.vectors.sentence_vectors(), built.sentence_vectors, atol=close(store) / 2)


def test_an_index_of_chunk_vectors_only_has_no_sentence_scores(store):
    recipe = Recipe("fake", MODEL.key, RECIPE.chunking, "chunks")
    put(store, TALK, recipe)
    stored = store.get(recipe.key(TALK))
    assert stored.vectors.sentence_scores(MODEL.embed_query("cat")) is None
    assert stored.vectors.sentence_vectors() is None


def test_the_first_writer_of_an_index_wins(store):
    first, built = put(store, TALK)
    other = Built(built.chunking, -built.chunk_vectors, built.sentence_vectors)
    again = store.put(RECIPE.info(TALK, other), other)
    query = MODEL.embed_query("cat keyboard")
    assert again.vectors.search(query, 1) == first.vectors.search(query, 1)
    assert store.get(RECIPE.key(TALK)).vectors.search(query, 1) == first.vectors.search(query, 1)


def test_removing_a_video_removes_its_transcript_indexes_and_vectors_only(store):
    put(store, TALK)
    put(store, BREAD)
    store.remove(TALK.video_id)
    assert store.transcript(TALK.video_id) is None and store.get(RECIPE.key(TALK)) is None
    assert [v.video_id for v in store.videos()] == [BREAD.video_id]
    hits = store.search(RECIPE.family, MODEL.embed_query("cat keyboard caching"), 10)
    assert {h.video_id for h in hits} == {BREAD.video_id}
    assert store.get(RECIPE.key(BREAD)) is not None


def test_the_library_lists_each_video_with_its_indexes(store):
    put(store, TALK)
    store.save_transcript(BREAD)  # fetched, not indexed yet
    talk, bread = store.videos()[::-1] if store.videos()[0].video_id == BREAD.video_id else store.videos()
    assert (talk.video_id, talk.title, talk.duration) == (TALK.video_id, "Caching talk", TALK.duration)
    assert [i.key for i in talk.indexes] == [RECIPE.key(TALK)] and talk.transcript == TALK.fingerprint()
    assert bread.indexes == ()


def test_the_library_is_listed_a_page_at_a_time_and_searched_by_title_or_id(store):
    for t in (TALK, BREAD, GARDEN):
        store.save_transcript(t)
    ids = sorted(t.video_id for t in (TALK, BREAD, GARDEN))
    assert [v.video_id for v in store.videos()] == ids
    assert [v.video_id for v in store.videos(offset=1, limit=1)] == ids[1:2]
    assert store.count() == 3
    assert [v.video_id for v in store.videos(search="BREAD")] == [BREAD.video_id]
    assert [v.video_id for v in store.videos(search="xpxtr")] == [GARDEN.video_id]
    assert store.count(search="notes") == 1 and store.count(search="100%_") == 0


def test_one_search_over_the_library_finds_the_nearest_chunks_of_any_video(store):
    for t in (TALK, BREAD, GARDEN):
        put(store, t)
    hits = store.search(RECIPE.family, MODEL.embed_query("bake sourdough bread"), 3)
    assert hits[0].video_id == BREAD.video_id
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_scores_of_a_library_search_are_the_models_similarity_in_every_video(store):
    built = {t.video_id: put(store, t)[1] for t in (TALK, BREAD, GARDEN)}
    query = MODEL.embed_query("water the garden and bake bread")
    for hit in store.search(RECIPE.family, query, 5):
        vector = built[hit.video_id].chunk_vectors[hit.position]
        assert hit.score == pytest.approx(float(vector @ query), abs=close(store))
        assert hit.key == RECIPE.key({t.video_id: t for t in (TALK, BREAD, GARDEN)}[hit.video_id])


def test_a_search_over_some_videos_finds_only_theirs(store):
    for t in (TALK, BREAD, GARDEN):
        put(store, t)
    hits = store.search(RECIPE.family, MODEL.embed_query("bake sourdough bread"), 5,
                        video_ids=[TALK.video_id, GARDEN.video_id])
    assert hits and {h.video_id for h in hits} <= {TALK.video_id, GARDEN.video_id}
    assert store.search(RECIPE.family, MODEL.embed_query("bread"), 5, video_ids=[]) == []


def test_a_library_search_keeps_to_one_models_vectors(store):
    put(store, TALK)
    put(store, BREAD, OTHER_MODEL)
    hits = store.search(RECIPE.family, MODEL.embed_query("bake sourdough bread"), 10)
    assert {h.video_id for h in hits} == {TALK.video_id}


def test_an_index_put_later_is_found_by_the_next_library_search(store):
    put(store, TALK)
    assert {h.video_id for h in store.search(RECIPE.family, MODEL.embed_query("bread"), 10)} == {TALK.video_id}
    put(store, BREAD)
    assert store.search(RECIPE.family, MODEL.embed_query("bake sourdough bread"), 1)[0].video_id == BREAD.video_id


def test_a_scratch_store_starts_empty_and_leaves_the_library_alone(store):
    put(store, TALK)
    with store.scratch() as scratch:
        assert scratch.videos() == []
        put(scratch, BREAD)
        assert [v.video_id for v in scratch.videos()] == [BREAD.video_id]
    assert [v.video_id for v in store.videos()] == [TALK.video_id]


def test_writes_of_one_video_wait_for_each_other(store):
    import threading
    import time

    order = []

    def second():
        with store.lock(TALK.video_id):
            order.append("second")

    with store.lock(TALK.video_id):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]


def test_removing_a_video_never_stored_says_so(store):
    put(store, TALK)
    assert store.remove(BREAD.video_id) is False
    assert store.remove(TALK.video_id) is True and store.remove(TALK.video_id) is False


def test_an_index_is_never_published_beside_another_transcript_or_none(store):
    store.save_transcript(TALK)
    built = build_index(TALK, MODEL, RECIPE)
    store.save_transcript(transcript(TALK.video_id, "A newer track replaced it meanwhile."))
    from ytqa import DeletedWhileIndexing

    with pytest.raises(DeletedWhileIndexing):
        store.put(RECIPE.info(TALK, built), built)
    assert not store.has(RECIPE.key(TALK)) and store.videos()[0].indexes == ()


def test_a_search_for_one_person_finds_only_the_videos_they_see(store):
    from ytqa._access import Person

    for t in (TALK, BREAD, GARDEN):
        put(store, t)
    store.hold(BREAD.video_id, "ana")  # ana's, private; the garden is nobody's; the talk is bob's, shared
    store.hold(TALK.video_id, "bob", shared=True)
    query = MODEL.embed_query("bake sourdough bread, water the tomatoes, caching pages")
    bob, ana = Person("bob"), Person("ana")
    assert {h.video_id for h in store.search(RECIPE.family, query, 10, visible_to=bob)} == {
        TALK.video_id, GARDEN.video_id}
    assert {h.video_id for h in store.search(RECIPE.family, query, 10, visible_to=ana)} == {
        TALK.video_id, BREAD.video_id, GARDEN.video_id}
    assert {h.video_id for h in store.search(RECIPE.family, query, 10, [BREAD.video_id, GARDEN.video_id],
                                             visible_to=bob)} == {GARDEN.video_id}
    assert store.search(RECIPE.family, query, 10, [BREAD.video_id], visible_to=bob) == []
