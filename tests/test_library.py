"""Index once, answer many times: moments with times, links, and no re-embedding."""

import json
import shutil

import numpy as np
import pytest

import ytqa
from ytqa import ChunkSettings, Library
from conftest import shared, write_json_transcript


class CountingEmbedder(ytqa.Embedder):
    """The real model, counting how many texts it is asked to embed."""

    embedded = 0

    def embed_documents(self, texts, progress=None, batch_size=256):
        CountingEmbedder.embedded += len(texts)
        return super().embed_documents(texts, progress, batch_size)


@pytest.fixture
def counting(embedder):
    model = CountingEmbedder(embedder.spec)
    model._embeddings = embedder.load()  # share the loaded weights
    CountingEmbedder.embedded = 0
    return model


TALK = [
    ("Welcome everyone, today I will talk about caching in web applications.", 0, 6),
    ("First, some history of how browsers store pages.", 6, 5),
    ("Browsers kept copies of pages on disk since the nineties.", 11, 6),
    ("Now let me tell you about my cat, Professor Whiskers.", 40, 5),
    ("He sleeps on the keyboard whenever I try to write code.", 45, 6),
    ("Back to caching: the hardest part is invalidation.", 80, 5),
    ("When data changes, every cached copy must be thrown away or refreshed.", 85, 6),
    ("A time to live, or TTL, bounds how stale a copy can get.", 91, 6),
    ("Thanks for listening, and see you at the next conference.", 130, 5),
]


@pytest.fixture
def talk_file(tmp_path):
    return write_json_transcript(tmp_path / "talk.json", TALK)


def test_ask_returns_moments_with_time_text_score_and_link(library, talk_file):
    moments = library.ask("dQw4w9WgXcQ", "What is the hard part of caching?", k=3, transcript_file=talk_file)
    top = moments[0]
    assert top.start <= 80 < top.end
    assert "invalidation" in top.text
    assert top.url == f"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t={int(top.start)}s"
    assert 0 < top.score <= 1
    assert [m.score for m in moments] == sorted((m.score for m in moments), reverse=True)


def test_results_are_different_moments(library, talk_file):
    moments = library.ask("dQw4w9WgXcQ", "caching", k=5, transcript_file=talk_file)
    spans = sorted((m.start, m.end) for m in moments)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


@pytest.fixture
def recipe(tmp_path):
    """Filler every 4 s, and the one sentence that answers at 24 s."""
    lines = [(f"Filler sentence number {i} about nothing in particular.", i * 4.0, 4.0) for i in range(6)]
    lines.append(("The secret ingredient of the recipe is smoked paprika.", 24.0, 4.0))
    lines += [(f"More filler {i} to close the section.", 28.0 + i * 4, 4.0) for i in range(3)]
    return write_json_transcript(tmp_path / "recipe.json", lines)


def test_the_answer_starts_at_its_sentence_not_at_the_chunk_start(library, recipe):
    library.chunk_settings = ChunkSettings(window_seconds=60, stride_seconds=60)
    library.search_settings = ytqa.SearchSettings(lead_in=0)
    top = library.ask("dQw4w9WgXcQ", "What is the secret ingredient?", transcript_file=recipe)[0]
    index = library.open("dQw4w9WgXcQ")
    assert index.chunking.chunks[0].start == 0.0  # one chunk holds it all...
    assert top.start == pytest.approx(24.0)        # ...but the answer starts at its sentence
    assert top.sentence == "The secret ingredient of the recipe is smoked paprika."


def test_the_answer_keeps_a_few_seconds_of_lead_in_before_its_sentence(library, recipe):
    library.chunk_settings = ChunkSettings(window_seconds=60, stride_seconds=60)
    top = library.ask("dQw4w9WgXcQ", "What is the secret ingredient?", transcript_file=recipe)[0]
    # The sentences that began up to 9 s before it (at 20 s and 16 s), not the one at 12 s.
    assert top.start == pytest.approx(16.0)
    assert top.sentence == "The secret ingredient of the recipe is smoked paprika."


def test_a_second_visit_answers_without_re_embedding(tmp_path, counting, talk_file):
    first = Library(tmp_path, embedder=counting)
    first.index("dQw4w9WgXcQ", transcript_file=talk_file)
    assert CountingEmbedder.embedded > 0
    CountingEmbedder.embedded = 0
    again = Library(tmp_path, embedder=counting)  # a new process, in effect
    moments = again.ask("dQw4w9WgXcQ", "cat on the keyboard")
    assert CountingEmbedder.embedded == 0
    assert moments[0].start <= 45 < moments[0].end


def test_a_new_chunking_or_model_gets_its_own_index(tmp_path, counting, talk_file, embedder):
    Library(tmp_path, embedder=counting).index("dQw4w9WgXcQ", transcript_file=talk_file)
    Library(tmp_path, embedder=counting, chunking=ChunkSettings(window_seconds=20)).open("dQw4w9WgXcQ")
    copy = tmp_path / "my-model"
    shutil.copytree(embedder.spec.location, copy)
    Library(tmp_path, model=str(copy)).open("dQw4w9WgXcQ")
    folders = list((tmp_path / "videos" / "dQw4w9WgXcQ" / "indexes").iterdir())
    assert len(folders) == 3
    assert len({json.loads((f / "meta.json").read_text())["model_key"] for f in folders}) == 2


def test_asking_again_for_an_indexed_video_needs_no_transcript(tmp_path, counting, talk_file):
    Library(tmp_path, embedder=counting).index("dQw4w9WgXcQ", transcript_file=talk_file)
    assert Library(tmp_path, embedder=counting).ask("https://youtu.be/dQw4w9WgXcQ", "TTL")[0].start >= 80


def test_the_library_lists_what_is_stored_and_deletes(library, talk_file):
    library.index("dQw4w9WgXcQ", transcript_file=talk_file)
    [info] = library.videos()
    assert (info.video_id, info.indexed, info.source) == ("dQw4w9WgXcQ", True, "talk.json")
    assert info.chunks >= 1 and info.duration == 135
    library.delete("dQw4w9WgXcQ")
    assert library.videos() == []


def test_ask_all_searches_every_stored_video_and_names_the_video(library, talk_file, tmp_path):
    other = write_json_transcript(tmp_path / "other.json", [
        ("Sourdough bread needs a starter fed with flour and water.", 0, 6),
        ("Bake it at a high temperature in a covered pot.", 6, 6),
    ])
    library.index("dQw4w9WgXcQ", transcript_file=talk_file)
    library.index("nTgKbiWg-YY", transcript_file=other)
    moments = library.ask_all("how do I bake bread", k=3)
    assert moments[0].video_id == "nTgKbiWg-YY"
    assert {m.video_id for m in moments} == {"dQw4w9WgXcQ", "nTgKbiWg-YY"}


@pytest.mark.parametrize("question", ["", "   ", "🙂🙂🙂", "?!"])
def test_questions_without_words_are_refused_clearly(library, talk_file, question):
    library.index("dQw4w9WgXcQ", transcript_file=talk_file)
    with pytest.raises(ytqa.InvalidQuestion):
        library.ask("dQw4w9WgXcQ", question)


@pytest.mark.parametrize("question", ["x", "caching " * 2000])
def test_very_short_and_very_long_questions_still_get_answers(library, talk_file, question):
    library.index("dQw4w9WgXcQ", transcript_file=talk_file)
    assert library.ask("dQw4w9WgXcQ", question, k=2)


def test_a_keyword_question_is_rescued_by_bm25(library):
    """Real captions and a real keyword query: the embedding ranks the answer second,
    BM25's exact terms put it first."""
    path = shared("transcripts", "eMRtxsj29aQ.json")
    question = "peak reward sensitivity age"
    hybrid = library.ask("eMRtxsj29aQ", question, transcript_file=path, k=1)[0]
    dense_only = Library(library.data_dir, embedder=library.embedder,
                         search=ytqa.SearchSettings(lexical_weight=0)).ask("eMRtxsj29aQ", question, k=1)[0]
    gold = (181.0, 190.0)
    assert hybrid.start < gold[1] and gold[0] < hybrid.end
    assert not (dense_only.start < gold[1] and gold[0] < dense_only.end)


def test_real_talk_answers_a_real_question(library):
    path = shared("transcripts", "XpxTrDDcpPE.json")
    top = library.ask("XpxTrDDcpPE", "patma GitHub repository", transcript_file=path)[0]
    assert top.start < 271.42 and 232.3 < top.end


def test_ask_all_puts_the_relevant_video_first_even_for_its_second_moment(library, tmp_path):
    baking = write_json_transcript(tmp_path / "bake.json", [
        ("Sourdough bread needs a starter fed with flour and water.", 0, 6),
        ("Knead the dough and let it rise overnight.", 6, 6),
        ("Unrelated chatter about the weather follows now.", 100, 6),
        ("Bake the bread at a high temperature in a covered pot.", 200, 6),
    ])
    cats = write_json_transcript(tmp_path / "cats.json", [
        ("My cat sleeps on the keyboard.", 0, 5), ("Cats love boxes.", 100, 5), ("The vet visit went fine.", 200, 5),
    ])
    library.chunk_settings = ChunkSettings(window_seconds=20, stride_seconds=20)
    library.index("nTgKbiWg-YY", transcript_file=baking)
    library.index("dQw4w9WgXcQ", transcript_file=cats)
    moments = library.ask_all("how do I bake sourdough bread", k=2)
    assert [m.video_id for m in moments] == ["nTgKbiWg-YY", "nTgKbiWg-YY"]


def test_a_quick_index_answers_first_and_the_full_one_reuses_its_sentence_vectors(tmp_path, counting, talk_file):
    library = Library(tmp_path, embedder=counting)
    quick = library.index("dQw4w9WgXcQ", transcript_file=talk_file, quick=True)
    sentences, chunks = len(quick.chunking.sentences), len(quick.chunking.chunks)
    assert CountingEmbedder.embedded == sentences  # no chunk was embedded yet
    assert quick.ask("what is hard about caching?")[0].start <= 80
    CountingEmbedder.embedded = 0
    full = Library(tmp_path, embedder=counting).complete("dQw4w9WgXcQ")
    assert CountingEmbedder.embedded == chunks  # sentences were not embedded again
    assert full.key != quick.key
    assert np.allclose(full.sentence_vectors, quick.sentence_vectors)
    assert Library(tmp_path, embedder=counting).open("dQw4w9WgXcQ", quick=True).key == full.key


def test_the_full_index_from_reused_vectors_answers_like_one_built_directly(tmp_path, counting, talk_file):
    stepwise = Library(tmp_path / "a", embedder=counting)
    stepwise.index("dQw4w9WgXcQ", transcript_file=talk_file, quick=True)
    direct = Library(tmp_path / "b", embedder=counting)
    question = "who sleeps on the keyboard?"
    assert [(m.start, m.end) for m in stepwise.complete("dQw4w9WgXcQ").ask(question)] == [
        (m.start, m.end) for m in direct.ask("dQw4w9WgXcQ", question, transcript_file=talk_file)]


def test_two_videos_with_the_same_captions_each_get_their_own_index(library, talk_file):
    first = library.index("dQw4w9WgXcQ", transcript_file=talk_file)
    second = library.index("nTgKbiWg-YY", transcript_file=talk_file)
    assert (first.video_id, second.video_id) == ("dQw4w9WgXcQ", "nTgKbiWg-YY")
    assert (library.data_dir / "videos" / "nTgKbiWg-YY" / "indexes").is_dir()
