"""How retrieval is measured: hit, land, IoU and the whole-video line, as defined in the README."""

import json

import pytest

import ytqa
from ytqa._eval import Question, evaluate, iou, load_questions, metrics, split_video_id
from conftest import shared, write_json_transcript


def q(start, end, id="q", video="v"):
    return Question(id, video, "question?", start, end)


def test_iou_matches_a_hand_computed_example():
    # moment 100-140 s, gold 120-180 s: overlap 20 s, union 80 s
    assert iou(100, 140, 120, 180) == pytest.approx(0.25)
    assert iou(0, 10, 20, 30) == 0.0
    assert iou(20, 30, 20, 30) == 1.0


def test_metrics_match_a_hand_computed_example():
    questions = [q(120, 180, "a"), q(50, 60, "b"), q(300, 320, "c")]
    results = {
        "a": [(100, 140)],                # IoU 0.25, starts 20 s early: a hit that does not land
        "b": [(0, 10), (45, 65)],         # top misses; second is IoU 0.5, starts 5 s early: lands at 2
        "c": [],                          # no result counts 0
    }
    m = metrics(questions, results, durations={"v": 400})
    assert m["hit@1"] == pytest.approx(1 / 3, abs=1e-3) and m["hit@3"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["land@1"] == 0.0 and m["land@3"] == pytest.approx(1 / 3, abs=1e-3)
    assert m["miou"] == pytest.approx((0.25 + 0 + 0) / 3, abs=1e-3)
    assert m["r1@0.3"] == 0.0
    # the whole video (0-400 s): 60/400, 10/400, 20/400
    assert m["whole_video"]["miou"] == pytest.approx((60 + 10 + 20) / 400 / 3, abs=1e-3)


def test_a_click_lands_within_15_seconds_before_the_answer_and_never_after_it():
    gold = q(100, 130)
    lands = lambda start: metrics([gold], {"q": [(start, start + 30)]})["land@1"] == 1.0
    assert lands(85) and lands(100) and lands(129)
    assert not lands(84.9) and not lands(131)


def test_a_translated_track_is_named_by_its_video_and_language():
    assert split_video_id("EmKQsSDlaa4.es") == ("EmKQsSDlaa4", "es")
    assert split_video_id("tutorialvqa-12") == ("tutorialvqa-12", None)


def test_eval_reads_a_translated_track_and_any_transcript_name(library, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    lines = [("Hola a todos, hoy hablamos de la cocina.", 0, 5),
             ("El ingrediente secreto es el azafrán.", 5, 5), ("Gracias por ver.", 10, 5)]
    write_json_transcript(folder / "dQw4w9WgXcQ.es.json", lines)
    write_json_transcript(folder / "tutorialvqa-7.json", [("Click the layer menu.", 0, 4)])
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(row) for row in [
        {"id": "1", "video_id": "dQw4w9WgXcQ.es", "question": "azafrán", "answer_start": 5, "answer_end": 10},
        {"id": "2", "video_id": "tutorialvqa-7", "question": "layer menu", "answer_start": 0, "answer_end": 4},
    ]))
    report = evaluate(library, load_questions(questions), folder)
    assert report["metrics"]["hit@1"] == 1.0
    assert library.videos() == []  # the user's library is left alone


@pytest.mark.parametrize("row, says", [
    ({"id": 1, "video_id": "x", "question": "q", "answer_start": 5, "answer_end": 2}, "reversed"),
    ({"id": 1, "video_id": "x", "question": "q", "answer_start": "NaN", "answer_end": 2}, "finite"),
    ({"id": 1, "video_id": None, "question": "q", "answer_start": 1, "answer_end": 2}, "video_id"),
    ({"id": 1, "video_id": "../x", "question": "q", "answer_start": 1, "answer_end": 2}, "video_id"),
    ({"id": 1, "video_id": "x", "question": ["q"], "answer_start": 1, "answer_end": 2}, "question"),
])
def test_a_bad_question_line_is_named_with_its_field(tmp_path, row, says):
    path = tmp_path / "q.jsonl"
    path.write_text("\n" + json.dumps(row) + "\n")
    with pytest.raises(ytqa.YtqaError, match=rf"Line 2 .*{says}"):
        load_questions(path)


def test_an_empty_questions_file_is_refused(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text("\n")
    with pytest.raises(ytqa.YtqaError, match="no questions"):
        load_questions(path)
