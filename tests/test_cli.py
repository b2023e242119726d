"""The ytqa command: what a person types and what they see."""

import json
import subprocess
import sys

import pytest

from ytqa.cli import main
from conftest import ROOT, shared, write_json_transcript

ID = "dQw4w9WgXcQ"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_id_prints_each_video_id(capsys):
    code, out, _ = run(capsys, "id", f"https://youtu.be/{ID}?t=3", f"youtube.com/shorts/{ID}")
    assert code == 0
    assert out.split() == [ID, ID]


def test_id_of_a_bad_link_exits_non_zero_with_the_reason(capsys):
    code, out, err = run(capsys, "id", "https://vimeo.com/1234")
    assert code == 1
    assert err.startswith("error: Not a YouTube video link") and "vimeo.com is not a YouTube address" in err
    assert "Traceback" not in err


def test_the_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "ytqa", "id", "not a link"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.fixture
def talk(tmp_path):
    return write_json_transcript(tmp_path / "talk.json", [
        ("Welcome, today we talk about caching.", 0, 5),
        ("The hardest part of caching is invalidation.", 65, 5),
        ("Thanks for coming.", 130, 4),
    ])


def test_ask_json_gives_moments_with_links(capsys, tmp_path, talk):
    code, out, _ = run(capsys, "ask", ID, "what is hard about caching", "--transcript", talk,
                       "--data-dir", tmp_path / "d", "-k", 2, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["video_id"] == ID and data["question"] == "what is hard about caching"
    top = data["results"][0]
    assert set(top) >= {"start", "end", "seconds", "text", "sentence", "score", "url"}
    assert top["seconds"] == pytest.approx(top["end"] - top["start"], abs=0.02)
    assert "invalidation" in top["text"]
    assert top["url"] == f"https://www.youtube.com/watch?v={ID}&t={int(top['start'])}s"


def test_index_then_ask_in_plain_text(capsys, tmp_path, talk):
    code, out, _ = run(capsys, "index", ID, "--transcript", talk, "--data-dir", tmp_path)
    assert code == 0 and out.startswith(f"{ID}: ") and "chunks" in out
    code, out, _ = run(capsys, "ask", f"https://www.youtube.com/watch?v={ID}", "invalidation", "--data-dir", tmp_path)
    assert code == 0
    assert out.startswith("1. 1:") and f"https://www.youtube.com/watch?v={ID}&t=" in out


def test_ask_with_a_missing_transcript_file_says_which(capsys, tmp_path):
    code, _, err = run(capsys, "ask", ID, "anything", "--transcript", tmp_path / "gone.srt", "--data-dir", tmp_path)
    assert code == 1 and "gone.srt" in err and "no such file" in err


def test_ask_an_unknown_video_offline_explains_what_to_do(capsys, tmp_path, monkeypatch):
    import responses
    with responses.RequestsMock():  # any request is refused: no network here
        code, _, err = run(capsys, "ask", ID, "anything", "--data-dir", tmp_path)
    assert code == 1 and "Traceback" not in err
    assert "--transcript" in err


def test_eval_prints_every_metric(capsys, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "video_id": "tkm0TNFzIeg",
                                     "question": "Richard Feynman Nobel Prize",
                                     "answer_start": 78.0, "answer_end": 88.0}) + "\n")
    code, out, _ = run(capsys, "eval", questions, "--transcripts", shared("transcripts"),
                       "--data-dir", tmp_path / "d", "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report["metrics"]) >= {"hit@1", "hit@3", "hit@5", "land@1", "land@3", "mrr@5", "miou",
                                       "r1@0.3", "r1@0.5", "r1@0.7", "wait@1", "span@1", "whole_video"}
    assert report["metrics"]["hit@1"] == 1.0
    assert report["questions"][0]["id"] == "q1" and report["questions"][0]["results"]


def test_eval_of_a_malformed_questions_file_names_the_line(capsys, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "q1"}\n')
    code, _, err = run(capsys, "eval", questions, "--transcripts", tmp_path, "--data-dir", tmp_path)
    assert code == 1 and "Line 1" in err


def test_ask_prints_each_moments_start_end_and_length(capsys, tmp_path, talk):
    code, out, _ = run(capsys, "ask", ID, "what is hard about caching", "--transcript", talk,
                       "--data-dir", tmp_path / "d", "-k", 1)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("1. ") and "-" in first.split()[1] and first.split()[2].startswith("(")


def test_ask_in_a_terminal_that_reports_no_columns_still_prints_answers(tmp_path, talk):
    """`script` gives the command a real terminal of 0 columns, as some CI consoles do."""
    import os
    import shlex

    command = " ".join(shlex.quote(str(a)) for a in [
        sys.executable, "-m", "ytqa", "ask", ID, "what is hard about caching", "--transcript", talk,
        "--data-dir", tmp_path / "d", "-k", "1"])
    done = subprocess.run(["script", "-qec", f"stty cols 0 rows 0; {command}", "/dev/null"],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), timeout=300)
    assert done.returncode == 0, done.stdout
    assert "1. " in done.stdout and "Traceback" not in done.stdout


def test_ask_with_a_chat_judge_says_the_chat_model_judged_the_top_passages(capsys, tmp_path, talk, monkeypatch):
    from chat_server import ChatServer
    from test_judge import completion

    server = ChatServer(lambda request: completion("1"))
    try:
        monkeypatch.setenv("YTQA_CHAT_BASE_URL", server.url + "/v1")
        monkeypatch.setenv("YTQA_CHAT_API_KEY", "sk-test")
        code, out, err = run(capsys, "ask", ID, "what is hard about caching", "--transcript", talk,
                             "--data-dir", tmp_path / "d", "--judge", "chat:openai:test-model")
    finally:
        server.close()
    assert code == 0, err
    assert "judged by the chat model openai:test-model" in out
    assert "what is hard about caching" in server.requests[0]["messages"][1]["content"]


def test_ask_with_a_chat_judge_that_is_not_running_says_so_and_how_to_fix_it(capsys, tmp_path, talk, monkeypatch):
    from chat_server import closed_port

    monkeypatch.setenv("YTQA_CHAT_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    code, out, err = run(capsys, "ask", ID, "what is hard about caching", "--transcript", talk,
                         "--data-dir", tmp_path / "d", "--judge", "chat:openai:test-model")
    assert code == 1 and "Traceback" not in err
    assert err.startswith("error: ") and "YTQA_CHAT_BASE_URL" in err


def test_ask_with_a_chat_judge_and_no_chat_model_says_how_to_set_one(capsys, tmp_path, talk, monkeypatch):
    monkeypatch.delenv("YTQA_CHAT_MODEL", raising=False)
    code, out, err = run(capsys, "ask", ID, "what is hard about caching", "--transcript", talk,
                         "--data-dir", tmp_path / "d", "--judge", "chat")
    assert code == 1 and "no chat model is set" in err and "YTQA_CHAT_MODEL" in err
