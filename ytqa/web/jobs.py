"""Work that outlives the page that asked for it (opening a video): keyed by what it makes
(video and model), so a rerun or a reload finds it and a second request joins it; run by a
few workers (the rest wait, their place shown; each visitor has a bound); abandoned when no
page has watched it for a while (a closed tab stops costing the server).

Openings from YouTube and full indexes are builds in the store's queue (``ytqa.Build``):
any process of the server runs them and any page shows them (``QueuedJob``), fair between
people. What only this process can do (preparing its model, a subtitle file it received)
runs from its own line (``Job``)."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import ytqa
from ytqa import TooManyBuilds, YtqaError

from .words import in_words

STAGES = {"waiting": "Waiting to start", "fetching": "Fetching the transcript",
          "chunking": "Cutting it into passages", "embedding": "Embedding",
          "saving": "Saving the index", "preparing": "Preparing the model for its first use"}
#: Where each stage starts and ends on the progress bar (embedding is the slow part).
_SPAN = {"waiting": (0.0, 0.0), "fetching": (0.0, 0.05), "chunking": (0.05, 0.1),
         "embedding": (0.1, 0.95), "saving": (0.95, 1.0), "preparing": (0.0, 1.0)}
#: Seconds a job may go unwatched (no page showing its progress) before it is dropped.
ABANDON_AFTER = 120.0
#: Jobs built at once: a few, sized to the CPUs (each build uses several cores itself);
#: the rest wait in line, their place shown.
WORKERS = max(1, min(4, (os.cpu_count() or 2) // 2))
#: Jobs one visitor may have running or waiting at once, so no one fills the line.
PER_VISITOR = 2


class Abandoned(Exception):
    """Raised inside a job's progress when no page has watched it for too long."""


#: One visitor has as many videos opening as one visitor may (the same words for both lines).
TooManyJobs = TooManyBuilds
#: The kinds of build that go through the store's queue.
QUEUED = ("open", "full", "collection")
#: Seconds between a page's "still watching" writes to the store's queue.
WATCH_EVERY = 5.0


class Shown:
    """How a job looks on the page: its words and its place on the progress bar."""

    key: tuple
    stage: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        low, high = _SPAN.get(self.stage, (0.0, 1.0))
        part = self.done / self.total if self.total else 0.0
        return min(1.0, max(0.0, low + (high - low) * part))

    @property
    def label(self) -> str:
        if not self.begun:
            return (f"Waiting in line: {self.ahead} before this one (the server builds a few videos "
                    "at a time)" if self.ahead else "Waiting in line: next to start")
        words = STAGES.get(self.stage, self.stage)
        if self.stage == "embedding" and self.total:
            if self.key[:1] == ("open",):  # an opening's quick index: its sentences
                return f"{words}: {self.done:,} of {self.total:,} sentences"
            return f"{words}: {self.done / self.total:.0%}"  # passages, and sentences not embedded yet
        if self.stage == "preparing" and self.total:
            return f"{words}: {self.done:,} of about {self.total:,} MB written."
        return words + "..."


@dataclass
class Job(Shown):
    key: tuple
    stage: str = "waiting"
    done: int = 0
    total: int = 0
    state: str = "running"  # running (waiting in line until begun), done, failed, abandoned
    result: Any = None
    error: YtqaError | None = None
    started: float = field(default_factory=time.monotonic)
    created: float = field(default_factory=time.time)
    seen: float = field(default_factory=time.monotonic)
    abandon_after: float = ABANDON_AFTER
    cancelled: bool = False
    owner: str | None = None  # the visitor who asked for it (a bound per visitor)
    begun: bool = False  # taken from the line by a worker
    ahead: int = 0  # jobs before it in the line, while it waits

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def stale(self) -> bool:
        return self.cancelled or time.monotonic() - self.seen > self.abandon_after

    def watch(self) -> "Job":
        """A page shows this job: keep it alive."""
        self.seen = time.monotonic()
        return self

    def progress(self, stage: str, done: int, total: int) -> None:
        if self.stale:
            raise Abandoned()
        self.begun = True
        self.stage, self.done, self.total = stage, done, total


class QueuedJob(Shown):
    """A build of the store's queue as a page shows it (read from the store when looked up)."""

    def __init__(self, jobs: "Jobs", build: ytqa.Build, key: tuple):
        self.jobs, self.build, self.key = jobs, build, key
        self.stage, self.done, self.total = build.stage, build.done, build.total

    @property
    def state(self) -> str:
        """running (waiting in line until claimed), done, failed, abandoned (cancelled too)."""
        return {"waiting": "running", "cancelled": "abandoned"}.get(self.build.state, self.build.state)

    @property
    def running(self) -> bool:
        return self.build.active

    @property
    def begun(self) -> bool:
        return self.build.state != "waiting"

    @property
    def ahead(self) -> int:
        return ytqa.place_in_line(self.jobs.queue, self.build) if self.build.state == "waiting" else 0

    @property
    def cancelled(self) -> bool:
        return self.build.cancelled

    @property
    def result(self) -> str | None:
        return self.build.result

    @property
    def error(self) -> YtqaError | None:
        """The failure in the words the build ended with, as its kind of error (so a page can
        offer its remedy: a subtitle file for a transcript YouTube would not give)."""
        if self.build.error is None:
            return None
        kind = getattr(ytqa, self.build.error_kind or "", None)
        kind = kind if isinstance(kind, type) and issubclass(kind, YtqaError) else YtqaError
        error = kind.__new__(kind)
        Exception.__init__(error, self.build.error)
        return error

    def watch(self) -> "QueuedJob":
        """A page shows this job: keep it alive (written to the store every few seconds)."""
        self.jobs.watched(self.build)
        return self


class Jobs:
    """Background jobs by key, run by a few workers from one line (the rest wait their turn);
    a finished job stays until forgotten."""

    def __init__(self, abandon_after: float = ABANDON_AFTER, keep: int = 200, workers: int = WORKERS,
                 per_visitor: int = PER_VISITOR):
        self.abandon_after, self.keep = abandon_after, keep
        self.workers, self.per_visitor = workers, per_visitor
        self._jobs: dict[tuple, Job] = {}
        self._line: deque[tuple[Job, Callable, str]] = deque()
        self._threads = 0
        self._lock = threading.Condition()
        #: The process's build slots: its own line and its queue workers together run at
        #: most ``workers`` builds at once.
        self.slots = threading.BoundedSemaphore(workers)
        #: The store's queue and this process's workers for it (``use_queue``); None: this line only.
        self.queue = None
        self.worker: ytqa.QueueWorker | None = None
        self._watched: dict[str, float] = {}

    def use_queue(self, queue, runners: dict, words: Callable[[Exception], Exception] | None = None) -> None:
        """Openings and full indexes go through the store's ``queue`` (once: the first page's
        library brings it); this process runs its share with ``runners`` by kind."""
        with self._lock:
            if self.queue is not None:
                return
            self.queue = queue
            self.per_visitor = queue.bounds.queued  # one bound over both lines
            self.worker = ytqa.QueueWorker(queue, runners, threads=self.workers, words=words,
                                             idle_exit=1.0, slots=self.slots)

    def queued(self, key: tuple, build: ytqa.Build, bounded: bool = True) -> QueuedJob:
        """Put ``build`` in the store's queue, or join the one already making the same;
        ``TooManyJobs`` when its person has as many waiting or running as one may (``bounded``)."""
        found = self.queue.add(build, bounded=bounded and build.person is not None, held=self._here(build.person))
        self.worker.start().wake()
        return QueuedJob(self, found, key)

    def _here(self, owner: str | None) -> int:
        """The visitor's jobs running or waiting in this process's own line."""
        return 0 if owner is None else sum(j.running and j.owner == owner for j in list(self._jobs.values()))

    def _queued(self, owner: str) -> int:
        """The visitor's builds waiting or running in the store's queue."""
        if self.queue is None:
            return 0
        return sum(b.person == owner for b in self.queue.builds(active_only=True))

    def watched(self, build: ytqa.Build) -> None:
        now = time.monotonic()
        if now - self._watched.get(build.id, 0.0) >= WATCH_EVERY:
            self._watched[build.id] = now
            self.queue.watch(build.id)

    def start(self, key: tuple, work: Callable[[Callable[[str, int, int], None]], Any],
              where: str = "the library's folder", owner: str | None = None) -> Job:
        """Put ``work(progress)`` in the line, or join the job already there for ``key``;
        ``TooManyJobs`` when ``owner`` has as many jobs running or waiting as one may."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.running:
                return job.watch()
            if owner is not None and self._here(owner) + self._queued(owner) >= self.per_visitor:
                raise TooManyJobs(self.per_visitor)
            job = self._jobs[key] = Job(key, abandon_after=self.abandon_after, owner=owner)
            finished = [k for k, j in self._jobs.items() if not j.running]
            for old in finished[: max(0, len(self._jobs) - self.keep)]:
                del self._jobs[old]
            self._line.append((job, work, where))
            self._number_the_line()
            if self._threads < self.workers:
                self._threads += 1
                threading.Thread(target=self._worker, daemon=True, name=f"ytqa-job-worker-{self._threads}").start()
            self._lock.notify()
        return job

    def _number_the_line(self) -> None:
        for ahead, (job, _, _) in enumerate(self._line):
            job.ahead = ahead

    def _worker(self) -> None:
        """Runs the line's jobs one after another; ends when the line stays empty a moment."""
        while True:
            with self._lock:
                if not self._line:
                    self._lock.wait(1.0)
                if not self._line:
                    self._threads -= 1
                    return
            with self.slots:  # a build slot, shared with this process's queue workers
                with self._lock:
                    if not self._line:
                        continue
                    job, work, where = self._line.popleft()
                    self._number_the_line()
                    job.begun = True
                if job.stale:
                    job.state = "abandoned"
                else:
                    _run(job, work, where)

    def get(self, key: tuple) -> Job | QueuedJob | None:
        """This process's own job for ``key`` (a subtitle file's opening), else the queue's build."""
        here = self._jobs.get(key)
        if here is not None and (here.running or self.queue is None):
            return here
        if self.queue is not None and key[:1] in [(kind,) for kind in QUEUED]:
            build = self.queue.find(":".join(key))
            if build is not None and (build.state == "waiting" or (build.active and build.lease_until < time.time())):
                self.worker.start()  # this process takes its share (the process running it may have ended)
            if build is not None and (here is None or build.created > here.created):
                return QueuedJob(self, build, key)
        return here

    def running_for(self, video_id: str) -> list[Job]:
        return [j for j in list(self._jobs.values()) if j.running and video_id in j.key]

    def cancel_for(self, video_id: str) -> bool:
        """Stop the video's jobs before it is deleted; False when one is past stopping (it is
        fetching or saving, and would store the video again): then try again in a moment."""
        return self._cancel_queued(video_id) and self._cancel_here(video_id)

    def _cancel_queued(self, video_id: str) -> bool:
        if self.queue is None:
            return True
        builds = [b for b in self.queue.builds(active_only=True) if b.video_id == video_id]
        if any(b.state == "running" and b.stage in ("waiting", "fetching", "saving") for b in builds):
            return False
        running = self.queue.cancel(video_id)
        deadline = time.monotonic() + 10
        while running and time.monotonic() < deadline:
            time.sleep(0.1)  # the next progress of each is its chance to stop
            running = [b for b in running if _active(self.queue.get(b.id))]
        return not running

    def _cancel_here(self, video_id: str) -> bool:
        with self._lock:
            jobs = self.running_for(video_id)
            for job in [j for j in jobs if not j.begun]:  # still in line: it leaves the line
                job.cancelled, job.state = True, "abandoned"
                self._line = deque(entry for entry in self._line if entry[0] is not job)
            self._number_the_line()
        jobs = [job for job in jobs if job.running]
        if any(job.stage in ("waiting", "fetching", "saving") for job in jobs):
            return False
        for job in jobs:
            job.cancelled = True
        deadline = time.monotonic() + 10
        while any(job.running for job in jobs) and time.monotonic() < deadline:
            time.sleep(0.05)  # the next batch of vectors is the next chance to stop
        return not any(job.running for job in jobs)

    def forget(self, key: tuple) -> None:
        with self._lock:
            self._jobs.pop(key, None)


def _active(build: ytqa.Build | None) -> bool:
    return build is not None and build.active


def _run(job: Job, work: Callable, where: str) -> None:
    try:
        job.result = work(job.progress)
        job.state = "done"
    except Abandoned:
        job.state = "abandoned"
    except Exception as error:  # the page shows every failure in words, never a traceback
        job.error = in_words(error, where)
        job.state = "failed"
