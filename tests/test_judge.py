"""The second-stage judge: one interface, a registry with aliases, and its rescoring of
the first stage's candidates (specified with the stand-in model, tests/fake_model.py)."""

import pytest

import ytqa

from ytqa import SearchSettings
from ytqa._answer import Answerer, parse_ranking
from ytqa._judge import BiEncoderJudge, ChatJudge, CrossEncoderJudge, Judge, JudgeUnavailable, \
    judge_from_setting, judge_names, make_judge
from ytqa._search import judge_passage, rejudge
from chat_server import Reply, closed_port
from test_answers import server  # noqa: F401 (a fixture: chat servers on 127.0.0.1)
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
    assert isinstance(make_judge("llm", answerer=Answerer("openai:m")), ChatJudge)
    assert judge_names() == {"bi-encoder": ["embedder"], "cross-encoder": ["ce"], "chat": ["chat-model", "llm"]}


def test_an_unknown_judge_is_refused_with_the_names_to_choose_from():
    with pytest.raises(ytqa.UnknownPlugin, match="no judge named 'oracle'.*bi-encoder, cross-encoder.*register_judge"):
        make_judge("oracle")


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


# --- a chat model as the judge, through its provider's real client --------------------------


def completion(text: str) -> Reply:
    return Reply(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": "test-model",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


def chat_judge(url: str) -> ChatJudge:
    return ChatJudge(Answerer("openai:test-model", base_url=url + "/v1", api_key="sk-test"))


PASSAGES = ["The weather in the valley.", "Zebra stripes confuse biting flies.", "Market hours are nine to five."]


def test_the_chat_judge_sends_every_passage_once_as_data_and_scores_the_named_ones_in_order(server):
    running = server(lambda request: completion("3, 2"))
    scores = chat_judge(running.url).score("when does the market open", PASSAGES)
    assert scores[2] > scores[1] > scores[0] == 0
    sent = running.requests[0]["messages"][1]["content"]
    assert all(sent.count(p) == 1 for p in PASSAGES) and "when does the market open" in sent


def test_a_chat_judge_naming_no_passage_leaves_the_first_stages_order(server):
    index = video(every(10, FILLER * 3), window=20)
    question = "river bridge traffic"
    ranking = index.rank(question, MODEL.embed_query(question))
    for reply in ("0", "None of them answer it.", "Passage 99"):
        running = server(lambda request, reply=reply: completion(reply))
        judged = rejudge(ranking, chat_judge(running.url), question, SearchSettings(judge_candidates=4))
        assert judged.order == ranking.order


def test_the_passage_a_chat_judge_names_moves_first(server):
    lines = every(10, FILLER[:3] + ["The market opens at nine on weekdays."] + FILLER[3:]
                  + ["Zebra stripes confuse biting flies."] + FILLER)
    index = video(lines, window=20)

    def pick_the_zebra(request):  # the model reads the passages and names the one about zebras
        text = request["messages"][1]["content"]
        numbers = [line.split(":")[0].split()[-1] for line in text.splitlines()
                   if line.startswith("Passage ") and "Zebra" in line]
        return completion(", ".join(numbers) or "0")

    running = server(pick_the_zebra)
    question = "why do zebras have stripes"
    misled = MODEL.embed_query("market opens weekdays")
    settings = SearchSettings(lexical_weight=0, judge_candidates=50, judge_weight=3.0, judge_context=0)
    assert "market" in index.search(question, misled, 1, settings)[0].sentence
    assert "Zebra" in index.search(question, misled, 1, settings, judge=chat_judge(running.url))[0].text


def test_a_chat_judge_whose_server_is_not_running_says_so_in_words():
    judge = chat_judge(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ytqa.AnswerUnavailable, match="YTQA_CHAT_BASE_URL"):
        judge.score("a question", PASSAGES)


def test_a_judges_reply_names_each_passage_once_and_only_those_there_are():
    assert parse_ranking("2, 2, 7, 1", 3) == [1, 0]
    assert parse_ranking("Passage 3 answers it best, then passage 1.", 3) == [2, 0]
    assert parse_ranking("0", 3) == [] and parse_ranking("", 3) == []
    assert parse_ranking("99999999999999999999", 3) == []


# --- one setting names the judge --------------------------------------------------------------


def no_chat_model(model):
    return None


def test_a_judge_setting_of_none_is_no_judge():
    for setting in (None, "", "none", "Off"):
        assert judge_from_setting(setting, WordHashEmbedder, no_chat_model) is None


def test_a_models_name_as_the_judge_setting_makes_that_model_the_judge():
    asked = []

    def embedder(name):
        asked.append(name)
        return WordHashEmbedder()

    assert isinstance(judge_from_setting("e5", embedder, no_chat_model), BiEncoderJudge)
    assert isinstance(judge_from_setting("bi-encoder:minilm", embedder, no_chat_model), BiEncoderJudge)
    assert asked == ["e5", "minilm"]


def test_a_cross_encoder_setting_names_its_model_or_is_told_to():
    judge = judge_from_setting("ce:some/cross-encoder", WordHashEmbedder, no_chat_model)
    assert isinstance(judge, CrossEncoderJudge) and judge.model_name == "some/cross-encoder"
    with pytest.raises(JudgeUnavailable, match="no model is named.*cross-encoder:HUB_ID"):
        judge_from_setting("cross-encoder", WordHashEmbedder, no_chat_model)


def test_a_chat_judge_without_a_chat_model_says_how_to_set_one():
    with pytest.raises(JudgeUnavailable, match="no chat model is set.*YTQA_CHAT_MODEL"):
        judge_from_setting("chat", WordHashEmbedder, no_chat_model)
    made = judge_from_setting("chat:openai:gpt-4o-mini", WordHashEmbedder, lambda model: Answerer(model))
    assert isinstance(made, ChatJudge) and made.answerer.name == "openai:gpt-4o-mini"


def test_a_chat_judge_asks_for_a_short_reply(server, monkeypatch, tmp_path):
    running = server(lambda request: completion("1"))
    monkeypatch.setenv("YTQA_CHAT_BASE_URL", running.url + "/v1")
    library = ytqa.Library(tmp_path, embedder=WordHashEmbedder(), judge="chat:openai:test-model")
    library.judge.score("a question", PASSAGES)
    assert running.requests[0]["max_completion_tokens"] <= 64
