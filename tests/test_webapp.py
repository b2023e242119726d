"""What the app keeps beyond a page run (ytqa/web: jobs, history, model_box): jobs, histories, checks."""

import threading
import time

import pytest

import ytqa
from ytqa.web.history import Answer, History, markdown_export, new_token
from ytqa.web.jobs import Job, Jobs
from ytqa.web.model_box import check_model_choice


def test_a_second_start_of_a_running_job_joins_it():
    jobs = Jobs()
    release = threading.Event()
    runs = []

    def work(progress):
        runs.append(1)
        release.wait(5)
        return "done"

    first = jobs.start(("open", "v", "m"), work)
    second = jobs.start(("open", "v", "m"), work)
    release.set()
    while first.running:
        time.sleep(0.01)
    assert second is first and runs == [1] and first.result == "done"


def test_a_job_no_page_watches_is_dropped_at_its_next_progress():
    jobs = Jobs(abandon_after=0.05)

    def work(progress):
        for i in range(100):
            progress("embedding", i, 100)
            time.sleep(0.01)
        return "finished"

    job = jobs.start(("open", "v", "m"), work)
    while job.running:
        time.sleep(0.01)
    assert job.state == "abandoned" and job.result is None


def test_a_failure_is_kept_as_a_message_in_words_without_the_servers_path(tmp_path):
    jobs = Jobs()

    def work(progress):
        raise OSError(30, "Read-only file system", str(tmp_path / "secret"))

    job = jobs.start(("open", "v", "m"), work)
    while job.running:
        time.sleep(0.01)
    assert job.state == "failed" and "read-only" in str(job.error) and str(tmp_path) not in str(job.error)


def test_the_progress_label_names_the_stage_and_counts_the_passages():
    job = Job(("open", "v", "m"))
    job.progress("chunking", 0, 1)
    assert job.label == "Cutting it into passages..."
    job.progress("embedding", 120, 800)
    assert job.label == "Embedding passages: 120 of 800" and 0.1 < job.fraction < 0.95


def test_a_history_is_kept_per_scope_and_read_back(tmp_path):
    token = new_token()
    history = History(tmp_path, token)
    moment = ytqa.Moment("tkm0TNFzIeg", 74.0, 110.0, "Richard Feynman won a Nobel Prize.", 1.0,
                         "Richard Feynman won a Nobel Prize.")
    history.add(Answer("Who won a Nobel Prize?", "tkm0TNFzIeg", [moment]))
    again = History(tmp_path, token)
    assert [a.question for a in again.answers("tkm0TNFzIeg")] == ["Who won a Nobel Prize?"]
    assert again.answers("tkm0TNFzIeg")[0].moments == [moment]
    assert again.answers("eMRtxsj29aQ") == []


def test_a_history_token_is_never_a_path(tmp_path):
    with pytest.raises(ValueError):
        History(tmp_path, "../../etc/passwd-xxxxxxxxxxxx")


def test_the_markdown_export_links_each_moment_at_its_second_and_keeps_text_inert():
    moment = ytqa.Moment("tkm0TNFzIeg", 74.0, 110.0, "text", 1.0, "[click](javascript:x) **bold**")
    exported = markdown_export("Answers about a talk", [Answer("Who?", "tkm0TNFzIeg", [moment])])
    assert "- [1:14–1:50](https://www.youtube.com/watch?v=tkm0TNFzIeg&t=74s): " in exported
    assert "](javascript" not in exported and "**bold**" not in exported


@pytest.mark.parametrize("typed", ["~/.ssh", "/etc", "../data", "./models/x", "C:\\models"])
def test_a_typed_model_that_is_a_path_is_refused_without_repeating_it(typed):
    with pytest.raises(ytqa.ModelUnavailable) as caught:
        check_model_choice(typed, ytqa.KNOWN_MODELS)
    assert typed not in str(caught.value)


def test_known_names_and_hub_ids_are_accepted():
    assert check_model_choice("minilm", ytqa.KNOWN_MODELS) == "minilm"
    assert check_model_choice("sentence-transformers/all-mpnet-base-v2", ytqa.KNOWN_MODELS) == \
        "sentence-transformers/all-mpnet-base-v2"


def test_a_folder_the_servers_owner_offers_can_be_typed_by_its_name(tmp_path, monkeypatch):
    offered = tmp_path / "our-tuned-model"
    offered.mkdir()
    monkeypatch.setenv("YTQA_MODEL_FOLDERS", str(offered))
    assert check_model_choice("our-tuned-model", ytqa.KNOWN_MODELS) == str(offered.resolve())
    with pytest.raises(ytqa.ModelUnavailable):
        check_model_choice(str(tmp_path), ytqa.KNOWN_MODELS)  # its parent is not offered
