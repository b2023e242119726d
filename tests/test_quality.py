"""The default settings find the right moment on real questions (the retrieval goal).

One run over the shared dev set: 48 real questions with gold answer spans over 8 real
videos. The model's vectors are deterministic, so these figures only move when the
method does; a change that makes answers worse fails here before it ships.
"""

import pytest

import ytqa
from ytqa._eval import evaluate, load_questions
from conftest import shared


@pytest.fixture(scope="module")
def dev_set_figures(embedder, tmp_path_factory):
    questions = load_questions(shared("eval", "dev_questions.jsonl"))
    library = ytqa.Library(tmp_path_factory.mktemp("quality"), embedder=embedder)
    return evaluate(library, questions, shared("transcripts"))["metrics"]


def test_the_right_moment_is_first_for_two_questions_in_three(dev_set_figures):
    assert dev_set_figures["hit@1"] >= 0.65


def test_the_right_moment_is_in_the_top_three_for_85_percent_of_questions(dev_set_figures):
    assert dev_set_figures["hit@3"] >= 0.85


def test_answers_start_near_the_answer_and_stay_short(dev_set_figures):
    assert dev_set_figures["wait@1"] <= 10.0
    assert dev_set_figures["span@1"] <= 60.0
