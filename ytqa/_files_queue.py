"""The file store's queue of builds: ``queue.json`` in the data folder, for the processes of
one machine.

    {"format": 1, "builds": [<Build as JSON>, ...]}

Every change is read-modify-write under the queue's lock file and written atomically, so
two processes never claim one build. A file that cannot be read as that shape is damage:
named (``QueueDamaged``), never taken as an empty queue.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from . import _storage as storage
from ._errors import QueueDamaged, TooManyBuilds
from ._queue import ENDED, KEEP_ENDED, MAX_ATTEMPTS, Bounds, Build, claimed, next_claim, stopped_note, who

FORMAT = 1


class FileQueue:
    def __init__(self, root: str | Path, bounds: Bounds | None = None):
        self.root = Path(root)
        self.path = self.root / "queue.json"
        self._lock_path = self.root / ".queue.lock"
        self.bounds = bounds or Bounds.from_config()

    # --- the file ----------------------------------------------------------------

    def _read(self) -> list[Build]:
        if storage.kind_of(self.path) is None:
            return []
        try:
            data = storage.read_json(self.path)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("not a queue of this version")
            return [Build.from_json(item) for item in data["builds"]]
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise QueueDamaged(str(self.path), str(error)[:200]) from None

    def _write(self, builds: list[Build]) -> None:
        ended = [b for b in builds if b.state in ENDED]
        if len(ended) > KEEP_ENDED:  # the oldest ended builds are forgotten
            gone = {b.id for b in sorted(ended, key=lambda b: b.created)[: len(ended) - KEEP_ENDED]}
            builds = [b for b in builds if b.id not in gone]
        storage.write_atomic(self.path, json.dumps({"format": FORMAT, "builds": [b.to_json() for b in builds]}))

    @contextlib.contextmanager
    def _changing(self):
        """The builds, under the lock; the list as left by the block is written back."""
        with storage.locked(self._lock_path, what="the queue of builds", wait=30):
            builds = self._read()
            before = list(builds)
            yield builds
            if builds != before:
                self._write(builds)

    # --- the queue -----------------------------------------------------------------

    def add(self, build: Build, bounded: bool = True, held: int = 0) -> Build:
        with self._changing() as builds:
            for i, old in enumerate(builds):
                if old.active and old.key == build.key:
                    builds[i] = replace(old, seen=time.time())
                    return builds[i]
            mine = sum(b.active and who(b.person) == who(build.person) for b in builds)
            if bounded and build.person is not None and mine + held >= self.bounds.queued:
                raise TooManyBuilds(self.bounds.queued)
            builds.append(build)
            return build

    def claim(self, worker: str, kinds: Sequence[str] | None = None) -> Build | None:
        with self._changing() as builds:
            now = time.time()
            while True:
                build = next_claim(builds, now, self.bounds.running, kinds)
                if build is None:
                    return None
                i = builds.index(build)
                if build.stale(now, self.bounds.abandon_after):
                    builds[i] = replace(build, state="cancelled" if build.cancelled else "abandoned")
                elif build.attempts >= MAX_ATTEMPTS:
                    builds[i] = replace(build, state="failed", error=stopped_note(build.attempts))
                else:
                    builds[i] = claimed(build, worker, now, self.bounds.lease)
                    return builds[i]

    def renew(self, build_id: str, worker: str, stage: str | None = None, done: int = 0,
              total: int = 0) -> str | None:
        with self._changing() as builds:
            i = _index(builds, build_id)
            build = builds[i] if i is not None else None
            if build is None or build.state != "running" or build.claimed_by != worker:
                return "lost"
            now = time.time()
            if build.stale(now, self.bounds.abandon_after):
                builds[i] = replace(build, state="cancelled" if build.cancelled else "abandoned")
                return builds[i].state
            progress = {} if stage is None else {"stage": stage, "done": done, "total": total}
            builds[i] = replace(build, lease_until=now + self.bounds.lease, **progress)
            return None

    def finish(self, build_id: str, worker: str, state: str, result: str | None = None,
               error: str | None = None, error_kind: str | None = None) -> bool:
        with self._changing() as builds:
            i = _index(builds, build_id)
            if i is None or builds[i].claimed_by != worker or builds[i].state != "running":
                return False
            builds[i] = replace(builds[i], state=state, result=result, error=error, error_kind=error_kind)
            return True

    def get(self, build_id: str) -> Build | None:
        builds = self._locked_read()
        i = _index(builds, build_id)
        return builds[i] if i is not None else None

    def find(self, key: str) -> Build | None:
        same = [b for b in self._locked_read() if b.key == key]
        return max(same, key=lambda b: (b.active, b.created), default=None)

    def watch(self, build_id: str) -> None:
        with self._changing() as builds:
            i = _index(builds, build_id)
            if i is not None and builds[i].active:
                builds[i] = replace(builds[i], seen=time.time())

    def cancel(self, video_id: str) -> list[Build]:
        running = []
        with self._changing() as builds:
            for i, build in enumerate(builds):
                if build.active and build.video_id == video_id:
                    if build.state == "waiting":
                        builds[i] = replace(build, state="cancelled", cancelled=True)
                    else:
                        running.append(build)
                        builds[i] = replace(build, cancelled=True)
        return running

    def builds(self, active_only: bool = False) -> list[Build]:
        return [b for b in self._locked_read() if b.active or not active_only]

    def _locked_read(self) -> list[Build]:
        """What the queue holds now: read without the lock (every write is an atomic rename), so
        a folder that cannot be written can still be read."""
        return self._read()

    def close(self) -> None:
        pass


def _index(builds: list[Build], build_id: str) -> int | None:
    return next((i for i, b in enumerate(builds) if b.id == build_id), None)

