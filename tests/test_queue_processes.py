"""The store's queue shared by real processes on one embedded PostgreSQL: each build runs
exactly once, a killed process's build is taken over once its lease runs out, and claims
are fair between people across processes.

Each child process runs ``QueueWorker`` over the store with one kind of build, ``log``:
it writes "start" and "end" lines to a log file (appended, one line a write) and reports
progress every 0.1 s for ``seconds``; it stops once the queue has been empty for a moment."""

import os
import signal
import subprocess
import sys
import time

from conftest import ROOT

from ytqa._postgres import PostgresStore
from ytqa._queue import Bounds, Build

CHILD = r"""
import os, sys, time
from ytqa._store import open_store
from ytqa._queue_worker import QueueWorker

url, log, name = sys.argv[1:4]

def run(build, progress):
    with open(log, "a") as out:
        out.write(f"start {build.video_id} {name}\n")
    steps = int(build.source["seconds"] * 10)
    for step in range(steps):
        progress("embedding", step, steps)
        time.sleep(0.1)
    with open(log, "a") as out:
        out.write(f"end {build.video_id} {name}\n")
    return build.video_id

queue = open_store(url).build_queue()
worker = QueueWorker(queue, {"log": run}, name=name)
idle = time.monotonic()
while time.monotonic() - idle < float(os.environ.get("IDLE", "3")):
    if worker.run_one() is not None:
        idle = time.monotonic()
    else:
        time.sleep(0.1)
"""


def child(url, log, name, lease=2, running=2, idle=3):
    env = dict(os.environ, YTQA_QUEUE_LEASE=str(lease), YTQA_RUNNING_PER_PERSON=str(running), IDLE=str(idle))
    return subprocess.Popen([sys.executable, "-c", CHILD, url, str(log), name], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def queue_at(url, **bounds):
    store = PostgresStore(url)
    queue = store.build_queue()
    queue.bounds = Bounds(**{"queued": 100, "running": 2, "lease": 2.0, **bounds})
    return store, queue


def add(queue, video, person, seconds):
    return queue.add(Build(kind="log", video_id=video, person=person, source={"seconds": seconds}))


def lines(log):
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def finish(*children):
    for process in children:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]


def test_two_processes_run_each_build_of_one_queue_exactly_once(postgres_database, tmp_path):
    store, queue = queue_at(postgres_database)
    for n in range(12):
        add(queue, f"vid{n}", ["ann", "bob", "cy"][n % 3], 0.3)
    log = tmp_path / "log"
    finish(child(postgres_database, log, "one"), child(postgres_database, log, "two"))
    starts = sorted(video for what, video, _ in lines(log) if what == "start")
    ends = [(video, who) for what, video, who in lines(log) if what == "end"]
    assert starts == sorted(f"vid{n}" for n in range(12))
    assert sorted(video for video, _ in ends) == starts
    assert {who for _, who in ends} == {"one", "two"}  # both shared the work
    assert {b.state for b in queue.builds()} == {"done"}
    store.close()


def test_a_killed_process_build_is_taken_over_by_another_once_its_lease_runs_out(postgres_database, tmp_path):
    store, queue = queue_at(postgres_database)
    build = add(queue, "vid1", "ann", 3.0)
    log = tmp_path / "log"
    first = child(postgres_database, log, "first", lease=2)
    deadline = time.monotonic() + 60
    while not lines(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    finish(child(postgres_database, log, "second", lease=2))
    assert lines(log) == [["start", "vid1", "first"], ["start", "vid1", "second"], ["end", "vid1", "second"]]
    ended = queue.get(build.id)
    assert (ended.state, ended.attempts, ended.result) == ("done", 2, "vid1")
    assert time.monotonic() - killed_at >= 3.0  # not before the lease ran out (and the 3 s build)
    store.close()


def test_one_persons_long_list_does_not_starve_anothers_single_video_across_processes(postgres_database, tmp_path):
    store, queue = queue_at(postgres_database)
    for n in range(8):
        add(queue, f"ann{n}", "ann", 0.3)
    add(queue, "bob0", "bob", 0.3)
    log = tmp_path / "log"
    finish(child(postgres_database, log, "one", running=1), child(postgres_database, log, "two", running=1))
    starts = [video for what, video, _ in lines(log) if what == "start"]
    assert sorted(starts) == sorted([f"ann{n}" for n in range(8)] + ["bob0"])
    assert "bob0" in starts[:2]  # claimed second at the latest, not ninth
    store.close()
