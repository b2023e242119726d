"""The store's queue of background builds, on both stores: joining, the bounds per person,
the fair order of claims, leases taken over, cancelling and abandoning, and a process's
workers running builds from it."""

import time

import pytest

from ytqa._errors import TooManyBuilds
from ytqa._queue import Bounds, Build, place_in_line as place
from ytqa._queue_worker import QueueWorker


def queue_of(store, **bounds):
    queue = store.build_queue()
    queue.bounds = Bounds(**{"queued": 50, "running": 2, "lease": 30.0, **bounds})
    return queue


def build(video, person="ann", kind="full", **extra):
    return Build(kind=kind, video_id=video, model="minilm", source={"stored": True}, person=person, **extra)


def test_a_second_request_for_the_same_build_joins_the_first(store):
    queue = queue_of(store)
    first = queue.add(build("vid1"))
    again = queue.add(build("vid1", person="bob"))
    assert again.id == first.id
    assert [b.video_id for b in queue.builds(active_only=True)] == ["vid1"]


def test_a_build_is_plain_data_any_process_reads_back(store):
    queue = queue_of(store)
    asked = queue.add(Build(kind="open", video_id="vid1", model="minilm", person="ann",
                            source={"youtube": "vid1", "languages": ["de", "en"], "prefer_generated": False}))
    stored = queue.get(asked.id)
    assert stored.source == {"youtube": "vid1", "languages": ["de", "en"], "prefer_generated": False}
    assert (stored.kind, stored.video_id, stored.model, stored.person, stored.state) == (
        "open", "vid1", "minilm", "ann", "waiting")
    assert abs(stored.created - time.time()) < 60


def test_one_person_may_queue_only_so_many_builds_and_is_told_so_in_words(store):
    queue = queue_of(store, queued=2)
    queue.add(build("vid1"))
    queue.add(build("vid2"))
    with pytest.raises(TooManyBuilds, match="You are opening 2 videos already"):
        queue.add(build("vid3"))
    queue.add(build("vid3", person="bob"))  # another person's bound is their own
    queue.add(build("vid4", person=None))  # the server's own builds (best indexes) are not bounded


def test_the_next_claim_goes_to_the_person_with_fewest_running_so_a_long_playlist_does_not_starve_one_video(store):
    queue = queue_of(store, running=2)
    for n in range(6):
        queue.add(build(f"ann{n}", person="ann"))
    queue.add(build("bob0", person="bob"))
    claims = [queue.claim("worker-1").video_id, queue.claim("worker-2").video_id]
    assert claims == ["ann0", "bob0"]
    assert queue.claim("worker-3").video_id == "ann1"


def test_one_worker_taking_builds_in_turn_serves_people_round_robin(store):
    queue = queue_of(store, running=1)
    for n in range(4):
        queue.add(build(f"ann{n}", person="ann"))
    queue.add(build("bob0", person="bob"))
    order = []
    while (claimed := queue.claim("only")) is not None:
        order.append(claimed.video_id)
        queue.finish(claimed.id, "only", "done")
    assert order == ["ann0", "bob0", "ann1", "ann2", "ann3"]


def test_no_person_runs_more_builds_at_once_than_the_bound(store):
    queue = queue_of(store, running=2)
    for n in range(4):
        queue.add(build(f"ann{n}"))
    first, second = queue.claim("w1"), queue.claim("w2")
    assert queue.claim("w3") is None  # ann is at her bound: her third waits
    queue.finish(first.id, "w1", "done")
    assert queue.claim("w3").video_id == "ann2"
    assert second.state == "running"


def test_claims_alternate_between_people_who_have_none_running(store):
    queue = queue_of(store, running=5)
    for n in range(3):
        queue.add(build(f"ann{n}", person="ann"))
    for n in range(3):
        queue.add(build(f"bob{n}", person="bob"))
    order = [queue.claim(f"w{n}").video_id for n in range(6)]
    assert order == ["ann0", "bob0", "ann1", "bob1", "ann2", "bob2"]


def test_the_place_in_line_follows_the_fair_order(store):
    queue = queue_of(store, running=1)
    anns = [queue.add(build(f"ann{n}", person="ann")) for n in range(3)]
    bob = queue.add(build("bob0", person="bob"))
    assert place(queue, anns[0]) == 0
    assert place(queue, bob) == 1  # ann's second and third come after bob's one
    assert place(queue, anns[2]) == 3


def test_a_process_claims_only_the_kinds_it_can_run(store):
    queue = queue_of(store)
    queue.add(build("vid1", kind="open"))
    queue.add(build("vid2", kind="best", person=None))
    assert queue.claim("one", kinds=["best"]).video_id == "vid2"
    assert queue.claim("one", kinds=["best"]) is None
    assert queue.claim("two", kinds=["open", "best"]).video_id == "vid1"


def test_a_build_claimed_by_one_process_is_not_claimed_by_another_while_its_lease_lives(store):
    queue = queue_of(store)
    queue.add(build("vid1"))
    assert queue.claim("one").claimed_by == "one"
    assert queue.claim("two") is None


def test_a_claim_whose_lease_ran_out_is_taken_over_and_the_first_claimant_is_told_to_stop(store):
    queue = queue_of(store, lease=0.5)
    queue.add(build("vid1"))
    first = queue.claim("crashed")
    time.sleep(0.8)
    taken = queue.claim("other")
    assert (taken.id, taken.claimed_by, taken.attempts) == (first.id, "other", 2)
    assert queue.renew(first.id, "crashed") == "lost"
    assert queue.finish(first.id, "crashed", "done") is False
    assert queue.finish(taken.id, "other", "done", result="vid1") is True
    assert queue.get(first.id).state == "done"


def test_a_renewed_lease_keeps_the_claim_and_records_the_progress_for_every_page(store):
    queue = queue_of(store, lease=0.6)
    queue.add(build("vid1"))
    claimed = queue.claim("one")
    for _ in range(3):
        time.sleep(0.3)
        assert queue.renew(claimed.id, "one", "embedding", 40, 100) is None
    assert queue.claim("two") is None
    seen = queue.get(claimed.id)
    assert (seen.stage, seen.done, seen.total, seen.state) == ("embedding", 40, 100, "running")


def test_cancelling_a_video_takes_its_waiting_builds_out_of_the_line_and_stops_its_running_one(store):
    queue = queue_of(store)
    running = queue.add(build("vid1", kind="full"))
    queue.claim("one")
    waiting = queue.add(build("vid1", kind="best"))
    assert [b.id for b in queue.cancel("vid1")] == [running.id]
    assert queue.get(waiting.id).state == "cancelled"
    assert queue.claim("two") is None
    assert queue.renew(running.id, "one") == "cancelled"
    assert queue.get(running.id).state == "cancelled"


def test_a_watched_build_no_page_shows_is_abandoned(store):
    queue = queue_of(store)
    queue.bounds = Bounds(queued=5, running=2, lease=30.0, abandon_after=0.3)
    watched = queue.add(build("vid1", kind="open", watched=True))
    unwatched = queue.add(build("vid2", kind="best", person=None))
    time.sleep(0.5)
    assert queue.claim("one").id == unwatched.id  # the opening nobody watches is dropped, not run
    assert queue.get(watched.id).state == "abandoned"


def test_watching_a_build_keeps_it(store):
    queue = queue_of(store)
    queue.bounds = Bounds(queued=5, running=2, lease=30.0, abandon_after=0.5)
    watched = queue.add(build("vid1", kind="open", watched=True))
    for _ in range(3):
        time.sleep(0.25)
        queue.watch(watched.id)
    assert queue.claim("one").id == watched.id


def test_a_worker_runs_a_build_with_its_progress_and_records_its_result(store):
    queue = queue_of(store)
    seen = []

    def full(job, progress):
        progress("embedding", 5, 10)
        seen.append(queue.get(job.id).stage)
        return job.video_id

    queue.add(build("vid1"))
    ended = QueueWorker(queue, {"full": full}).run_one()
    assert (ended.state, ended.result, seen) == ("done", "vid1", ["embedding"])


def test_a_failed_build_keeps_its_error_in_words_for_any_page(store):
    from ytqa import TranscriptsDisabled

    queue = queue_of(store)

    def full(job, progress):
        raise TranscriptsDisabled(job.video_id)

    queue.add(build("vid1"))
    ended = QueueWorker(queue, {"full": full}).run_one()
    assert ended.state == "failed" and ended.error_kind == "TranscriptsDisabled"
    assert "vid1" in ended.error


def test_a_running_build_stops_at_its_next_progress_once_cancelled(store):
    queue = queue_of(store)
    steps = []

    def full(job, progress):
        for n in range(50):
            if n == 2:
                queue.cancel(job.video_id)
            progress("embedding", n, 50)
            steps.append(n)
            time.sleep(0.05)

    queue.add(build("vid1"))
    ended = QueueWorker(queue, {"full": full}).run_one()
    assert ended.state == "cancelled"
    assert len(steps) < 50
