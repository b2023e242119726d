"""Work that outlives the page that asked for it (opening a video): one thread per job,
keyed by what it makes (video and model), so a rerun or a reload finds it and a second
request joins it; abandoned when no page has watched it for a while (a closed tab stops
costing the server)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ytqa import YtqaError

from .words import in_words

STAGES = {"waiting": "Waiting to start", "fetching": "Fetching the transcript",
          "chunking": "Cutting it into passages", "embedding": "Embedding passages",
          "saving": "Saving the index"}
#: Where each stage starts and ends on the progress bar (embedding is the slow part).
_SPAN = {"waiting": (0.0, 0.0), "fetching": (0.0, 0.05), "chunking": (0.05, 0.1),
         "embedding": (0.1, 0.95), "saving": (0.95, 1.0)}
#: Seconds a job may go unwatched (no page showing its progress) before it is dropped.
ABANDON_AFTER = 120.0


class Abandoned(Exception):
    """Raised inside a job's progress when no page has watched it for too long."""


@dataclass
class Job:
    key: tuple
    stage: str = "waiting"
    done: int = 0
    total: int = 0
    state: str = "running"  # running, done, failed, abandoned
    result: Any = None
    error: YtqaError | None = None
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)
    abandon_after: float = ABANDON_AFTER
    cancelled: bool = False

    @property
    def running(self) -> bool:
        return self.state == "running"

    def watch(self) -> "Job":
        """A page shows this job: keep it alive."""
        self.seen = time.monotonic()
        return self

    def progress(self, stage: str, done: int, total: int) -> None:
        if self.cancelled or time.monotonic() - self.seen > self.abandon_after:
            raise Abandoned()
        self.stage, self.done, self.total = stage, done, total

    @property
    def fraction(self) -> float:
        low, high = _SPAN.get(self.stage, (0.0, 1.0))
        part = self.done / self.total if self.total else 0.0
        return min(1.0, max(0.0, low + (high - low) * part))

    @property
    def label(self) -> str:
        words = STAGES.get(self.stage, self.stage)
        if self.stage == "embedding" and self.total:
            return f"{words}: {self.done:,} of {self.total:,}"
        return words + "..."


class Jobs:
    """Background jobs by key; one thread each; a finished job stays until forgotten."""

    def __init__(self, abandon_after: float = ABANDON_AFTER, keep: int = 200):
        self.abandon_after = abandon_after
        self.keep = keep
        self._jobs: dict[tuple, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: tuple, work: Callable[[Callable[[str, int, int], None]], Any],
              where: str = "the library's folder") -> Job:
        """Run ``work(progress)`` in the background, or join the job already running for ``key``."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.running:
                return job.watch()
            job = self._jobs[key] = Job(key, abandon_after=self.abandon_after)
            finished = [k for k, j in self._jobs.items() if not j.running]
            for old in finished[: max(0, len(self._jobs) - self.keep)]:
                del self._jobs[old]

        def run() -> None:
            try:
                job.result = work(job.progress)
                job.state = "done"
            except Abandoned:
                job.state = "abandoned"
            except Exception as error:  # the page shows every failure in words, never a traceback
                job.error = in_words(error, where)
                job.state = "failed"

        threading.Thread(target=run, daemon=True, name=f"ytqa-job-{key}").start()
        return job

    def get(self, key: tuple) -> Job | None:
        return self._jobs.get(key)

    def running_for(self, video_id: str) -> list[Job]:
        return [j for j in list(self._jobs.values()) if j.running and video_id in j.key]

    def cancel_for(self, video_id: str) -> bool:
        """Stop the video's jobs before it is deleted; False when one is past stopping (it is
        fetching or saving, and would store the video again): then try again in a moment."""
        jobs = self.running_for(video_id)
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
