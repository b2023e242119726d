"""What the app keeps beyond a page run (ytqa/web: jobs, history, model_box): jobs, histories, checks."""

import threading
import time

import pytest

import ytqa
from ytqa.web.history import Answer, History, markdown_export, new_token
from ytqa.web.jobs import Job, Jobs, TooManyJobs
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


def test_the_progress_label_names_the_stage_and_what_it_counts():
    job = Job(("open", "v", "m"))
    job.progress("chunking", 0, 1)
    assert job.label == "Cutting it into passages..."
    job.progress("embedding", 120, 800)  # an opening embeds the sentences (the quick index)
    assert job.label == "Embedding: 120 of 800 sentences" and 0.1 < job.fraction < 0.95


def test_jobs_beyond_the_workers_wait_in_line_with_their_place_shown():
    jobs = Jobs(workers=1)
    release = threading.Event()
    first = jobs.start(("open", "a", "m"), lambda progress: release.wait(5))
    while not first.begun:
        time.sleep(0.01)
    second = jobs.start(("open", "b", "m"), lambda progress: "b")
    third = jobs.start(("open", "c", "m"), lambda progress: "c")
    assert not second.begun and not third.begun
    assert second.label == "Waiting in line: next to start"
    assert third.label.startswith("Waiting in line: 1 before this one")
    release.set()
    while third.running:
        time.sleep(0.01)
    assert (first.state, second.result, third.result) == ("done", "b", "c")


def test_one_visitor_cannot_fill_the_line_and_is_told_so_in_words():
    jobs = Jobs(workers=1, per_visitor=2)
    release = threading.Event()
    for video in ("a", "b"):
        jobs.start(("open", video, "m"), lambda progress: release.wait(5), owner="visitor-1")
    with pytest.raises(TooManyJobs, match="opening 2 videos already"):
        jobs.start(("open", "c", "m"), lambda progress: "c", owner="visitor-1")
    other = jobs.start(("open", "c", "m"), lambda progress: "c", owner="visitor-2")  # others still may
    release.set()
    while other.running:
        time.sleep(0.01)
    assert other.result == "c"


def test_a_job_still_in_line_is_cancelled_at_once_when_its_video_is_deleted():
    jobs = Jobs(workers=1)
    release = threading.Event()
    jobs.start(("open", "a", "m"), lambda progress: release.wait(5))
    waiting = jobs.start(("open", "b", "m"), lambda progress: "b")
    assert jobs.cancel_for("b") and waiting.state == "abandoned"
    release.set()


def queued_jobs(tmp_path, runners, workers=1):
    """The app's jobs over a library folder's queue of builds (as a page brings it)."""
    from ytqa._files_store import FileStore

    jobs = Jobs(workers=workers)
    jobs.use_queue(FileStore(tmp_path / "data").build_queue(), runners)
    return jobs


def opening(video, owner="visitor-1"):
    return ytqa.Build(kind="open", video_id=video, model="m", person=owner, watched=True,
                      source={"youtube": {"languages": [], "prefer_generated": False}})


def wait_until_ended(jobs, key):
    deadline = time.monotonic() + 30
    while jobs.get(key).running and time.monotonic() < deadline:
        time.sleep(0.05)
    return jobs.get(key)


def held_open(release: threading.Event, done: int, total: int):
    """An opening's runner that reports embedding ``done`` of ``total`` sentences, then waits
    for ``release`` before it opens its video."""
    def run_open(build, progress):
        progress("embedding", done, total)
        release.wait(10)
        return build.video_id
    return run_open


def test_an_opening_through_the_stores_queue_shows_its_progress_and_opens_its_video(tmp_path):
    release = threading.Event()
    jobs = queued_jobs(tmp_path, {"open": held_open(release, 120, 800)})
    jobs.queued(("open", "a", "m"), opening("a"))
    deadline = time.monotonic() + 10
    while jobs.get(("open", "a", "m")).stage != "embedding" and time.monotonic() < deadline:
        time.sleep(0.05)
    shown = jobs.get(("open", "a", "m"))
    assert shown.running and shown.label == "Embedding: 120 of 800 sentences" and 0.1 < shown.fraction < 0.95
    release.set()
    ended = wait_until_ended(jobs, ("open", "a", "m"))
    assert (ended.state, ended.result) == ("done", "a")


def test_a_build_one_processs_page_queued_is_shown_and_joined_by_anothers(tmp_path):
    release = threading.Event()
    run_open = held_open(release, 7, 70)
    asking, other = queued_jobs(tmp_path, {"open": run_open}), queued_jobs(tmp_path, {"open": run_open})
    asking.queued(("open", "a", "m"), opening("a"))
    deadline = time.monotonic() + 10
    while other.get(("open", "a", "m")).stage != "embedding" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert other.get(("open", "a", "m")).label == "Embedding: 7 of 70 sentences"
    joined = other.queued(("open", "a", "m"), opening("a", "visitor-2"))
    assert joined.build.id == asking.get(("open", "a", "m")).build.id
    release.set()
    assert wait_until_ended(other, ("open", "a", "m")).result == "a"


def test_queued_openings_beyond_the_workers_wait_in_line_with_their_place_shown(tmp_path):
    release = threading.Event()
    jobs = queued_jobs(tmp_path, {"open": lambda build, progress: release.wait(10) and build.video_id})
    jobs.queued(("open", "a", "m"), opening("a", "visitor-1"))
    while not jobs.get(("open", "a", "m")).begun:
        time.sleep(0.05)
    second = jobs.queued(("open", "b", "m"), opening("b", "visitor-2"))
    third = jobs.queued(("open", "c", "m"), opening("c", "visitor-3"))
    assert second.label == "Waiting in line: next to start"
    assert third.label.startswith("Waiting in line: 1 before this one")
    release.set()
    assert wait_until_ended(jobs, ("open", "c", "m")).result == "c"


def test_one_visitor_cannot_fill_the_stores_queue_and_is_told_so_in_words(tmp_path):
    release = threading.Event()
    jobs = queued_jobs(tmp_path, {"open": lambda build, progress: release.wait(10) and build.video_id})
    for video in ("a", "b"):
        jobs.queued(("open", video, "m"), opening(video))
    with pytest.raises(TooManyJobs, match="You are opening 2 videos already"):
        jobs.queued(("open", "c", "m"), opening("c"))
    jobs.queued(("open", "c", "m"), opening("c", "visitor-2"))  # others still may
    release.set()


def test_the_bound_counts_a_visitors_openings_in_both_lines(tmp_path):
    release = threading.Event()
    jobs = queued_jobs(tmp_path, {"open": lambda build, progress: release.wait(10) and build.video_id})
    jobs.start(("open", "a", "m"), lambda progress: release.wait(10), owner="visitor-1")  # a subtitle file's
    jobs.queued(("open", "b", "m"), opening("b"))
    with pytest.raises(TooManyJobs, match="You are opening 2 videos already"):
        jobs.queued(("open", "c", "m"), opening("c"))
    with pytest.raises(TooManyJobs, match="You are opening 2 videos already"):
        jobs.start(("open", "d", "m"), lambda progress: "d", owner="visitor-1")
    release.set()


def test_a_process_busy_with_its_own_line_claims_no_queued_build_so_another_process_takes_it(tmp_path):
    from ytqa._files_store import FileStore

    release = threading.Event()
    jobs = queued_jobs(tmp_path, {"open": lambda build, progress: build.video_id}, workers=1)
    subtitle_file = jobs.start(("open", "a", "m"), lambda progress: release.wait(10), owner="visitor-1")
    while not subtitle_file.begun:
        time.sleep(0.01)
    jobs.queued(("open", "b", "m"), opening("b", owner="visitor-2"))
    time.sleep(1.5)  # this process's queue workers had their chance to claim it
    assert jobs.get(("open", "b", "m")).state == "running" and not jobs.get(("open", "b", "m")).begun
    other_process = ytqa.QueueWorker(FileStore(tmp_path / "data").build_queue(), {"open": lambda b, p: "there"})
    assert other_process.run_one().result == "there"
    release.set()


def test_a_process_building_a_queued_build_starts_no_job_of_its_own_line_beside_it(tmp_path):
    release, began = threading.Event(), threading.Event()

    def run_open(build, progress):
        began.set()
        return release.wait(10) and build.video_id

    jobs = queued_jobs(tmp_path, {"open": run_open}, workers=1)
    jobs.queued(("open", "a", "m"), opening("a"))
    assert began.wait(10)
    subtitle_file = jobs.start(("open", "b", "m"), lambda progress: "b", owner="visitor-2")
    time.sleep(0.5)
    assert not subtitle_file.begun and subtitle_file.label == "Waiting in line: next to start"
    release.set()
    while subtitle_file.running:
        time.sleep(0.01)
    assert subtitle_file.result == "b" and wait_until_ended(jobs, ("open", "a", "m")).result == "a"


def test_a_queued_failure_keeps_its_kind_so_the_page_offers_a_subtitle_file(tmp_path):
    def run_open(build, progress):
        raise ytqa.TranscriptsDisabled(build.video_id)

    jobs = queued_jobs(tmp_path, {"open": run_open})
    jobs.queued(("open", "a", "m"), opening("a"))
    ended = wait_until_ended(jobs, ("open", "a", "m"))
    assert ended.state == "failed" and isinstance(ended.error, ytqa.TranscriptUnavailable)
    assert str(ended.error) == str(ytqa.TranscriptsDisabled("a"))


def test_a_queued_opening_is_cancelled_when_its_video_is_deleted(tmp_path):
    def run_open(build, progress):
        for step in range(200):
            progress("embedding", step, 200)
            time.sleep(0.05)
        return build.video_id

    jobs = queued_jobs(tmp_path, {"open": run_open})
    jobs.queued(("open", "a", "m"), opening("a"))
    while jobs.get(("open", "a", "m")).stage != "embedding":
        time.sleep(0.05)
    assert jobs.cancel_for("a")
    ended = jobs.get(("open", "a", "m"))
    assert ended.state == "abandoned" and ended.cancelled


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


def test_two_tabs_with_one_history_token_each_append_their_question(tmp_path):
    token = new_token()
    first_tab, second_tab = History(tmp_path, token), History(tmp_path, token)  # both read it empty
    first_tab.add(Answer("Who won a Nobel Prize?", "tkm0TNFzIeg"))
    second_tab.add(Answer("How do you teach it?", "tkm0TNFzIeg"))
    first_tab.answers("tkm0TNFzIeg")[0].refreshed = True
    first_tab.save()  # a refreshed answer is written over its stored self, nothing else replaced
    stored = History(tmp_path, token).answers("tkm0TNFzIeg")
    assert [(a.question, a.refreshed) for a in stored] == [("Who won a Nobel Prize?", True),
                                                         ("How do you teach it?", False)]


def test_the_full_builds_progress_is_a_share_not_a_count_of_mixed_things():
    job = Job(("full", "v", "m"))
    job.progress("embedding", 61, 244)
    assert job.label == "Embedding: 25%"
