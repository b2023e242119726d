"""Stored videos whose best index is missing, built behind the questions one at a time.

A video answered from a cheaper index than its best is added here (never the whole
library at once on start). One worker builds them in turn: bounded work, a queue of at
most ``limit`` videos, each built once. The core keeps the queue; a front end that lives
on (the app) runs it, with ``automatic`` (a worker started when one is added) or by
calling ``run_next`` from its own background jobs; the CLI, which exits, does not.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

from ._errors import YtqaError


class Upgrades:
    def __init__(self, build: Callable[[str], None], limit: int = 500):
        self._build, self.limit = build, limit
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        #: Start a worker thread when a video is added (the app sets it; off by default).
        self.automatic = False
        #: Videos whose build failed, with why (not tried again in this process).
        self.failed: dict[str, str] = {}
        self.done: list[str] = []

    def add(self, video_id: str) -> bool:
        """Queue a video (once; refused beyond ``limit`` or after a failure): True if added."""
        with self._lock:
            if video_id in self._queue or video_id in self.failed or len(self._queue) >= self.limit:
                return False
            self._queue.append(video_id)
        if self.automatic:
            self.start()
        return True

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._queue)

    def run_next(self) -> str | None:
        """Build the next video's best index here; its id, or None when none is queued."""
        with self._lock:
            if not self._queue:
                return None
            video_id = self._queue[0]
        try:
            self._build(video_id)
            self.done.append(video_id)
        except (YtqaError, OSError) as error:
            self.failed[video_id] = str(error)
        finally:
            with self._lock:
                if self._queue and self._queue[0] == video_id:
                    self._queue.popleft()
        return video_id

    def start(self) -> threading.Thread:
        """The one worker: runs until the queue is empty (started again by the next add)."""
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="ytqa-best-index", daemon=True)
                self._worker.start()
            return self._worker

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None  # an add after this starts a new one
                    return
            self.run_next()
