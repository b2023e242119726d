"""Stored videos whose best index is missing, built behind the questions.

A video answered from a cheaper index than its best is added here (never the whole
library at once on start) as a build of kind ``best`` in the store's queue (``_queue``),
the server's own (no person: not counted against anyone's bound, and served in turn with
the people's builds). On PostgreSQL every process shares that queue: a video is built once
by whichever process claims it, and one that ended mid-build is taken over. At most
``limit`` videos wait at once. A front end that lives on (the app) runs it, with
``automatic`` (a worker started when a video is added, which also takes over what a process
that ended left half done); the CLI, which exits, does not.
"""

from __future__ import annotations

import threading
from typing import Callable

from ._errors import YtqaError
from ._queue import Build
from ._queue_worker import QueueWorker

KIND = "best"


class Upgrades:
    def __init__(self, build: Callable[[str], None], queue: Callable[[], object], limit: int = 500):
        """``build(video_id)`` builds a stored video's best index; ``queue()`` is the store's queue."""
        self._build, self._queue, self.limit = build, queue, limit
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        #: Start a worker thread when a video is added (the app sets it; off by default).
        self.automatic = False
        #: Videos whose build failed here, with why (not queued again by this process).
        self.failed: dict[str, str] = {}
        self.done: list[str] = []

    def add(self, video_id: str) -> bool:
        """Queue a video (once; refused beyond ``limit`` or after a failure): True if added."""
        if video_id in self.failed or len(self.pending()) >= self.limit:
            return False
        wanted = Build(kind=KIND, video_id=video_id, source={"stored": True})
        try:
            added = self._queue().add(wanted, bounded=False).id == wanted.id
        except (YtqaError, OSError):  # a store that cannot be written: answers go on, unimproved
            return False
        if added and self.automatic:
            self.start()
        return added

    def pending(self) -> list[str]:
        try:
            return [b.video_id for b in self._queue().builds(active_only=True) if b.kind == KIND]
        except (YtqaError, OSError):  # the queue cannot be read: none is known to be waiting
            return []

    def _run(self, build: Build, _progress) -> str:
        try:
            self._build(build.video_id)
        except (YtqaError, OSError) as error:
            self.failed[build.video_id] = str(error)
            raise
        self.done.append(build.video_id)
        return build.video_id

    def _worker_of(self, poll: float = 1.0) -> QueueWorker:
        return QueueWorker(self._queue(), {KIND: self._run}, poll=poll)

    def run_next(self) -> str | None:
        """Build the next video's best index here; its id, or None when none is claimed."""
        ended = self._worker_of().run_one()
        return None if ended is None else ended.video_id

    def start(self) -> threading.Thread:
        """A worker that runs until nothing is left to claim (started again by the next add)."""
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="ytqa-job-best-index", daemon=True)
                self._worker.start()
            return self._worker

    def _drain(self) -> None:
        worker = self._worker_of()
        while True:
            try:
                ran = worker.run_one()
            except Exception:  # the store away: the next add (or ``serve``) starts again
                ran = None
            if ran is None:
                with self._lock:
                    self._worker = None
                    return
