"""The second-stage judge: one interface, a registry with aliases, and its rescoring of
the first stage's candidates (specified with the stand-in model, tests/fake_model.py)."""

import pytest

import ytqa

from ytqa import SearchSettings
from ytqa._judge import BiEncoderJudge, CrossEncoderJudge, Judge, JudgeUnavailable, \
    judge_names, make_judge
from ytqa._search import judge_passage, rejudge
from fake_model import WordHashEmbedder
from test_ranking import FILLER, MODEL, every, video


class Counting(Judge):
    """A judge that remembers what it was asked to read (scores: passage length)."""

    def __init__(self):
        self.read = []

    def score(self, question, passages):
        self.read.extend(passages)
        return [float(len(p)) for p in passages]


def test_the_bi_encoder_judge_scores_each_passage_by_its_nearness_to_the_question():
    judge = BiEncoderJudge(WordHashEmbedder())
    scores = judge.score("zebra stripes", ["Weather in the valley.", "Zebra stripes confuse flies.", ""])
    assert len(scores) == 3
    assert scores[1] == max(scores) and scores[1] > 0.5


def test_the_bi_encoder_judge_embeds_a_passage_it_has_read_before_only_once():
    model = WordHashEmbedder()
    judge = BiEncoderJudge(model)
    judge.score("zebra", ["Zebra stripes.", "Market hours."])
    judge.score("market", ["Market hours.", "Zebra stripes.", "Bridge traffic."])
    assert model.embedded == 3


def test_judges_are_made_by_name_or_alias():
    model = WordHashEmbedder()
    assert isinstance(make_judge("bi-encoder", embedder=model), BiEncoderJudge)
    assert isinstance(make_judge("embedder", embedder=model), BiEncoderJudge)
    assert isinstance(make_judge("ce", model="some/model"), CrossEncoderJudge)
    assert judge_names() == {"bi-encoder": ["embedder"], "cross-encoder": ["ce"]}


def test_an_unknown_judge_is_refused_with_the_names_to_choose_from():
    with pytest.raises(ytqa.UnknownPlugin, match="no judge named 'llm'.*bi-encoder, cross-encoder.*register_judge"):
        make_judge("llm")


def test_a_cross_encoder_that_cannot_be_fetched_says_so_and_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    judge = CrossEncoderJudge("ytqa-test/no-such-cross-encoder")
    with pytest.raises(JudgeUnavailable, match="Cannot load the judge model 'ytqa-test/no-such-cross-encoder'"
                                               ".*Connect to the internet once"):
        judge.score("a question", ["a passage"])


def test_the_judge_reads_only_the_first_stages_top_candidates_with_a_sentence_either_side():
    index = video(every(10, FILLER * 4), window=20)
    question = "market opens weekdays"
    ranking = index.rank(question, MODEL.embed_query(question))
    judge = Counting()
    rejudge(ranking, judge, question, SearchSettings(judge_candidates=3, judge_context=1))
    assert judge.read == [judge_passage(index.chunking, i, 1) for i in ranking.order[:3]]
    first = index.chunking.chunks[ranking.order[0]]
    sentences = index.chunking.sentences
    assert sentences[first.first_sentence - 1].text in judge.read[0] or first.first_sentence == 0
    assert len(judge.read[0].split(". ")) == first.last_sentence - first.first_sentence + 2 - (
        first.first_sentence == 0) - (first.last_sentence == len(sentences))


def test_a_passage_the_judge_prefers_moves_up_past_one_the_first_stage_preferred():
    lines = every(10, FILLER[:3] + ["The market opens at nine on weekdays."] + FILLER[3:]
                  + ["Zebra stripes confuse biting flies."] + FILLER)
    index = video(lines, window=20)
    question = "why do zebras have stripes"
    misled = MODEL.embed_query("market opens weekdays")  # a first stage that found the wrong passage
    dense_only = SearchSettings(lexical_weight=0, judge_candidates=50, judge_weight=3.0, judge_context=0)
    without = index.search(question, misled, 1, dense_only)[0]
    judged = index.search(question, misled, 1, dense_only, judge=BiEncoderJudge(MODEL))[0]
    assert "market" in without.sentence
    assert "Zebra" in judged.text


def test_after_the_judge_the_scores_still_fall_with_rank_and_no_chunk_is_lost():
    index = video(every(10, FILLER * 3), window=20)
    question = "river bridge traffic"
    ranking = index.rank(question, MODEL.embed_query(question))
    judged = rejudge(ranking, BiEncoderJudge(MODEL), question, SearchSettings(judge_candidates=4))
    assert sorted(judged.order) == sorted(ranking.order)
    scores = [judged.fused[i] for i in judged.order]
    assert scores == sorted(scores, reverse=True)
