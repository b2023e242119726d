"""Ranking and moment shaping, specified with a stand-in model (tests/fake_model.py).

Ranking and shaping take a query vector, never a model: these tests embed with word
vectors and check the rules themselves.
"""

import pytest

from ytqa import ChunkSettings, Library, Line, SearchSettings, Transcript, VideoIndex
from ytqa._builder import Recipe, build_index
from ytqa._vectors import FaissIndexVectors
from ytqa._moments import restates
from fake_model import WordHashEmbedder

MODEL = WordHashEmbedder()
FILLER = ["Weather report for the northern valley.", "Traffic on the river bridge is slow.",
          "The market opens at nine on weekdays.", "Music from the local band plays now.",
          "A reminder about the library hours.", "Sports results from the weekend league."]


def video(lines, video_id="dQw4w9WgXcQ", window=20.0, language="en", multilingual=False):
    """A VideoIndex over (text, start, duration) lines, embedded with word vectors."""
    transcript = Transcript(video_id, tuple(Line(t, s, d) for t, s, d in lines), "English", language)
    built = build_index(transcript, MODEL, Recipe("fake", MODEL.key, ChunkSettings(window, window)))
    return VideoIndex(transcript, built.chunking, FaissIndexVectors.build(built.chunk_vectors,
                                                                          built.sentence_vectors),
                      multilingual=multilingual)


def every(seconds, texts, start=0.0):
    return [(text, start + i * seconds, seconds) for i, text in enumerate(texts)]


def ask(index, question, k=5, **settings):
    return index.search(question, MODEL.embed_query(question), k, SearchSettings(**settings))


def test_ranking_takes_a_query_vector_and_no_model():
    index = video(every(4, FILLER + ["The lighthouse keeper painted his boat orange."]))
    assert index.embedder is None
    assert "lighthouse" in ask(index, "lighthouse keeper boat")[0].sentence


def test_a_chunk_first_in_every_ranking_scores_one():
    index = video(every(10, FILLER[:3] + ["Zebra stripes confuse biting flies."] + FILLER[3:]))
    question = "zebra stripes biting flies"
    ranking = index.rank(question, MODEL.embed_query(question))
    best = ranking.order[0]
    assert "Zebra" in index.chunking.chunks[best].text
    assert ranking.fused[best] == pytest.approx(1.0)
    assert all(0 < ranking.fused[i] < 1 for i in ranking.order[1:])


def test_fused_scores_fall_with_rank():
    index = video(every(10, FILLER * 2))
    moments = ask(index, "market opens weekdays", k=5)
    assert [m.score for m in moments] == sorted((m.score for m in moments), reverse=True)


def test_bm25_alone_ranks_the_passage_with_the_questions_exact_words_first():
    lines = every(10, FILLER[:4] + ["Order part number XK-4471 from the catalogue."] + FILLER[4:])
    top = ask(video(lines), "XK-4471", k=1, dense_weight=0, sentence_weight=0)[0]
    assert "XK-4471" in top.text


def test_bm25_is_left_out_across_languages_when_the_model_is_multilingual():
    index = video(every(10, FILLER + ["The market sells fresh bread and cheese."]), multilingual=True)
    question = "¿Dónde venden pan fresco y queso en el mercado?"
    query = MODEL.embed_query(question)
    across = index.rank(question, query, SearchSettings())
    without = index.rank(question, query, SearchSettings(lexical_weight=0, cross_lexical_weight=0))
    assert across.order == without.order
    assert list(across.fused) == pytest.approx(list(without.fused))


def test_bm25_bridges_languages_with_shared_names_when_the_model_is_english_only():
    lines = every(10, FILLER[:3] + ["Then Guido van Rossum joined Dropbox in 2012."] + FILLER[3:])
    question = "¿Cuándo se unió Guido van Rossum a Dropbox?"
    query = MODEL.embed_query(question)
    across = video(lines).rank(question, query, SearchSettings())
    without = video(lines).rank(question, query, SearchSettings(lexical_weight=0, cross_lexical_weight=0))
    assert list(across.fused) != pytest.approx(list(without.fused))
    assert "Dropbox" in video(lines).chunking.chunks[across.order[0]].text


def test_the_best_sentence_of_a_chunk_is_the_one_nearest_the_question():
    index = video(every(4, ["Alpha gamma.", "Delta.", "Alpha gamma.", "Beta delta."]), window=60)
    question = "alpha gamma beta"
    ranking = index.rank(question, MODEL.embed_query(question))
    # Sentences 0 and 2 are the same words; 2 is followed by one that matches too (counted half).
    assert ranking.best_sentence(0) == 2
    no_context = index.rank(question, MODEL.embed_query(question), SearchSettings(sentence_context=0))
    assert no_context.best_sentence(0) in (0, 2)


def test_a_fact_starts_up_to_nine_seconds_before_its_sentence_and_lasts_at_least_30_seconds():
    lines = every(4, FILLER * 4)
    lines.insert(10, ("The treasure is buried under the old oak tree.", 40.0, 4.0))
    lines = [(t, s if s < 40 or t.startswith("The treasure") else s + 4, d) for t, s, d in lines]
    top = ask(video(lines, window=60), "Where is the treasure buried?", k=1)[0]
    assert top.sentence == "The treasure is buried under the old oak tree."
    assert top.start == pytest.approx(32.0)  # the line at 32 s, not the one at 28 s
    assert 30 <= top.end - top.start <= 64  # the passage it was found in (60 s windows), or 30 s


LEAD = "Alpha beta lead into it."  # leads into the answer, sharing some of its words
ANSWER_LINE = "Alpha beta gamma are the answer."


def lead_and_answer(**model):
    """Two minutes of talk with no step in it, a sentence leading into the answer, then the
    answer; ``model``: what the model's spec says of itself (``fact_context``)."""
    talk = [line for line in FILLER if "now" not in line]  # "now" narrates a step
    lines = every(4, talk * 6)
    lines[6], lines[7] = (LEAD, 24.0, 4.0), (ANSWER_LINE, 28.0, 4.0)
    index = video(lines, window=60)
    index.fact_context = model.get("fact_context")  # as VideoIndex reads it from the model's spec
    return index


def test_a_facts_moment_starts_at_its_own_sentence_when_the_next_one_weighs_nothing_for_facts():
    index = lead_and_answer()
    # By default the next sentence counts half: the lead-in, followed by the answer, wins.
    assert ask(index, "alpha beta gamma", k=1)[0].sentence == LEAD
    assert ask(index, "alpha beta gamma", k=1, fact_context=0)[0].sentence == ANSWER_LINE


def test_a_procedure_weighs_the_next_sentence_when_facts_do_not():
    top = ask(lead_and_answer(), "How do I alpha beta gamma?", k=1, fact_context=0)[0]
    assert top.sentence == LEAD  # a run of steps starts where the next sentence matches too
    assert top.end - top.start >= 75


def test_the_models_own_weight_for_facts_holds_unless_the_search_names_one():
    measured = lead_and_answer(fact_context=0.0)
    assert ask(measured, "alpha beta gamma", k=1)[0].sentence == ANSWER_LINE
    assert ask(measured, "alpha beta gamma", k=1, fact_context=0.5)[0].sentence == LEAD


def test_e5_carries_its_measured_weight_for_facts_and_minilm_the_procedures():
    from ytqa import resolve_model

    assert resolve_model("e5").fact_context == 0.25
    assert resolve_model("minilm").fact_context is None


def test_a_procedure_gets_a_longer_lead_in_and_a_moment_of_at_least_75_seconds():
    lines = every(4, FILLER * 6)
    lines[15] = ("Unscrew the cover of the battery box.", 60.0, 4.0)
    top = ask(video(lines, window=60), "How do I unscrew the battery box cover?", k=1)[0]
    assert "battery box" in top.sentence
    assert top.start == pytest.approx(52.0)  # 10 s of lead-in
    assert top.end - top.start >= 75


def test_moments_never_overlap():
    index = video(every(5, ["Cache invalidation is hard.", "Filler about nothing at all."] * 20), window=20)
    moments = ask(index, "cache invalidation", k=5)
    spans = sorted((m.start, m.end) for m in moments)
    assert len(moments) >= 2
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


# --- across videos ---------------------------------------------------------------


@pytest.fixture
def three_videos(tmp_path):
    library = Library(tmp_path / "data", embedder=WordHashEmbedder(),
                      chunking=ChunkSettings(window_seconds=20, stride_seconds=20))
    talks = {
        "dQw4w9WgXcQ": FILLER + ["Cats sleep on warm keyboards."],
        "nTgKbiWg-YY": FILLER[:2] + ["Bake sourdough bread in a hot oven.", "Sourdough needs a starter."],
        "XpxTrDDcpPE": FILLER[3:] + ["Tomatoes grow in a sunny garden."],
    }
    for video_id, texts in talks.items():
        library.index_transcript(Transcript(video_id, tuple(Line(t, 10.0 * i, 9.0) for i, t in enumerate(texts)),
                                            "English", "en"))
    return library


def test_one_question_over_the_library_puts_the_nearest_video_first(three_videos):
    moments = three_videos.ask_all("bake sourdough bread", k=3)
    assert moments[0].video_id == "nTgKbiWg-YY"
    assert [m.similarity for m in moments] == sorted((m.similarity for m in moments), reverse=True)


def test_a_moment_found_across_the_library_is_the_one_its_video_gives_alone(three_videos):
    question = "tomatoes in the garden"
    across = three_videos.ask_all(question, k=1)[0]
    alone = three_videos.open(across.video_id).search(question, MODEL.embed_query(question), 1,
                                                      three_videos.search_settings)[0]
    assert (across.video_id, across.start, across.end) == ("XpxTrDDcpPE", alone.start, alone.end)


def test_a_question_over_some_videos_only_answers_from_them(three_videos):
    moments = three_videos.ask_all("bake sourdough bread", k=5, video_ids=["dQw4w9WgXcQ", "XpxTrDDcpPE"])
    assert moments and {m.video_id for m in moments} <= {"dQw4w9WgXcQ", "XpxTrDDcpPE"}


# --- where the answer is, around the best sentence (issue 22, point 6 and 7) -----------


def test_a_sentence_that_asks_the_question_back_restates_it():
    question = "what does a lighthouse keeper do at night"
    assert restates(question, "So what does the lighthouse keeper do?")
    assert restates(question, "what does a keeper do at night")  # captions without punctuation
    assert not restates(question, "The lighthouse keeper works at night.")  # an answer in its words
    assert not restates(question, "Why do ships sink?")  # another question


def test_when_the_best_sentence_restates_the_question_the_sentence_after_that_answers_is_shown():
    lines = every(10, FILLER[:3] + ["What does a lighthouse keeper do at night on the coast?"] + FILLER[3:5]
                  + ["He tends the lamp all night for the coast."] + FILLER * 2)
    question = "What does a lighthouse keeper do at night on the coast?"
    plain = ask(video(lines, window=30), question, k=1)[0]
    top = ask(video(lines, window=30), question, k=1, restated_follow=60.0)[0]
    assert plain.sentence == question
    assert top.sentence == "He tends the lamp all night for the coast."
    assert top.start == plain.start and top.end >= 70.0  # the answer's line ends at 70 s


def test_a_moment_runs_on_past_the_sentence_it_shows():
    lines = every(5, FILLER * 2 + ["Zebra stripes confuse biting flies."] + FILLER * 3)
    top = ask(video(lines, window=20), "zebra stripes flies", k=1, follow_seconds=25.0, min_seconds=0)[0]
    assert top.end >= 65.0 + 25.0  # the zebra line ends at 65 s


def test_curve_bounds_cover_the_run_of_sentences_that_stay_near_the_question():
    lines = every(5, FILLER * 2 + ["Lava flows from the volcano.", "The volcano erupts lava and ash.",
                                   "Ash from the volcano covers the town."] + FILLER * 3)
    index = video(lines, window=60)
    top = ask(index, "volcano lava ash", k=1, boundaries="curve", curve_smooth=0, curve_min_seconds=0,
              curve_lead_in=0)[0]
    assert (top.start, top.end) == (60.0, 75.0)


def test_curve_bounds_stay_within_the_longest_moment_allowed():
    lines = every(5, FILLER * 2 + [f"The volcano erupts lava and ash, day {day}." for day in range(20)]
                  + FILLER * 2)
    top = ask(video(lines, window=60), "volcano lava ash", k=1, boundaries="curve", curve_max_seconds=45.0)[0]
    assert top.end - top.start <= 45.0
