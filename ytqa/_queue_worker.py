"""A process's share of the store's queue: a few threads that claim builds and run them.

Each kind of build has a *runner* (``runner(build, progress) -> result``), given by the
front end that runs them (the app: an opening's quick index, a full or best index, a
collection's sync). While a build runs, its lease is renewed every third of the lease (and
its progress written, at most once a second) by a heartbeat, so a long step (a transcript
being fetched) keeps its claim; when a renewal says stop (cancelled, abandoned, or taken
over by another process after this one stalled past its lease), the next ``progress``
call raises ``Stopped`` and the build ends there.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from typing import Any, Callable, Mapping

from ._queue import Build, BuildQueue

Runner = Callable[[Build, Callable[[str, int, int], None]], Any]
#: Seconds between progress writes to the queue (the pages poll it).
PROGRESS_EVERY = 1.0


class Stopped(Exception):
    """Raised inside a build's progress when the queue says it must stop."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Claim:
    """One claimed build: its progress, its heartbeat, why it must stop."""

    def __init__(self, queue: BuildQueue, build: Build, worker: str):
        self.queue, self.build, self.worker = queue, build, worker
        self.latest: tuple[str, int, int] | None = None
        self.reason: str | None = None
        self._pushed = 0.0
        self._ended = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._beat, daemon=True, name=f"ytqa-job-lease-{build.id[:8]}").start()

    def _renew(self) -> None:
        with self._lock:
            if self.reason is not None:
                return
            try:
                self.reason = self.queue.renew(self.build.id, self.worker, *(self.latest or (None, 0, 0)))
            except Exception:  # the store away a moment: the next beat tries again
                return
            self._pushed = time.monotonic()

    def _beat(self) -> None:
        while not self._ended.wait(self.queue.bounds.lease / 3):
            self._renew()

    def progress(self, stage: str, done: int, total: int) -> None:
        self.latest = (stage, done, total)
        if time.monotonic() - self._pushed >= PROGRESS_EVERY:
            self._renew()
        if self.reason is not None:
            raise Stopped(self.reason)

    def end(self) -> None:
        self._ended.set()


class QueueWorker:
    """``threads`` workers of this process, running the queue's builds with ``runners``."""

    def __init__(self, queue: BuildQueue, runners: Mapping[str, Runner], threads: int = 1,
                 name: str | None = None, poll: float = 1.0,
                 words: Callable[[Exception], Exception] | None = None, idle_exit: float | None = None,
                 slots: threading.Semaphore | None = None):
        """Claims only the kinds it has a runner for; ``words`` turns a failure into the
        front end's message (its text is what every page shows); ``idle_exit``: a thread
        that found nothing to claim for this long ends (``start`` starts it again);
        ``slots``: the process's build slots, shared with its other work (a thread claims
        only while one is free, so another process claims the build instead)."""
        self.queue, self.runners, self.threads, self.poll = queue, dict(runners), threads, poll
        self.slots = slots
        self.idle_exit = idle_exit
        self.words = words or (lambda error: error)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._started: list[threading.Thread] = []
        self._mutex = threading.Lock()

    def start(self) -> "QueueWorker":
        """Start the threads (once); they run until ``stop``, waiting ``poll`` seconds when idle."""
        with self._mutex:
            while len(self._started) < self.threads:
                number = len(self._started) + 1
                thread = threading.Thread(target=self._loop, args=(f"{self.name}/{number}",), daemon=True,
                                          name=f"ytqa-job-worker-{number}")
                self._started.append(thread)
                thread.start()
        return self

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self, worker: str) -> None:
        idle_since = time.monotonic()
        while not self._stop.is_set():
            try:
                ran = self.run_one(worker)
            except Exception:  # the store away: try again at the next poll
                ran = None
            if ran is not None:
                idle_since = time.monotonic()
            elif self._idle_out(idle_since):
                return
            else:
                self._wake.wait(self.poll)
                self._wake.clear()

    def _idle_out(self, idle_since: float) -> bool:
        """Whether this thread ends now, idle too long (not when woken meanwhile)."""
        if self.idle_exit is None or time.monotonic() - idle_since < self.idle_exit:
            return False
        with self._mutex:
            if self._wake.is_set():
                return False
            self._started.remove(threading.current_thread())
            return True

    def run_one(self, worker: str | None = None) -> Build | None:
        """Claim the next build and run it here; the build as it ended, None when none was claimed."""
        worker = worker or f"{self.name}/0"
        if self.slots is not None and not self.slots.acquire(blocking=False):
            return None  # this process is building as much as it may: claim nothing
        try:
            build = self.queue.claim(worker, kinds=list(self.runners))
            return None if build is None else self._run(build, worker)
        finally:
            if self.slots is not None:
                self.slots.release()

    def _run(self, build: Build, worker: str) -> Build | None:
        claim = _Claim(self.queue, build, worker)
        try:
            result = self.runners[build.kind](build, claim.progress)
            self.queue.finish(build.id, worker, "done", result=None if result is None else str(result))
        except Stopped:
            pass  # the queue has its state already (cancelled, abandoned, or another's now)
        except Exception as error:  # every failure is the build's end, in words, never this thread's
            said = self.words(error)
            self.queue.finish(build.id, worker, "failed", error=str(said) or type(said).__name__,
                              error_kind=type(said).__name__)
        finally:
            claim.end()
        return self.queue.get(build.id)
