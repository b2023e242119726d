"""The queue of background builds, kept in the store so any process can run them.

A build is plain data: what to make (``kind``: an opening's quick index, a video's full or
best index, a collection's sync; the video or collection; the model), where its transcript
comes from (``source``: the stored one, or YouTube with languages), who asked (``person``:
the signed-in name or YTQA_USER, else the page's history token; None: the server itself)
and when. Its progress, its end and why it failed are in the queue too, so any process's
page shows them.

Each store keeps one (``FileQueue``: a JSON file under a file lock, the processes of one
machine; ``PostgresQueue``: a table claimed with ``FOR UPDATE SKIP LOCKED``, any number of
machines). A process *claims* a build for a lease it renews while working; a claim whose
lease ran out (its process ended) is taken over by the next claim; a build claimed by one
process is never run by another at the same time (the old claimant's renewal fails and it
stops).

Fair use: a person may have ``queued`` builds waiting or running (``TooManyBuilds`` beyond,
in words) and ``running`` of them running at once; the next claim goes to the person with
the fewest builds running, then to the one served longest ago (round-robin), then to the
oldest build, so one person's long playlist does not starve another's single video.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Iterable, Protocol, Sequence

from ._config import Config, current
from ._errors import BadSetting

#: A build's states: waiting (in line), running (claimed), and how it ended.
ACTIVE = ("waiting", "running")
ENDED = ("done", "failed", "abandoned", "cancelled")
#: Builds one person may have waiting or running; running at once; a claim's lease (seconds).
QUEUED_PER_PERSON = 2
RUNNING_PER_PERSON = 2
LEASE = 60.0
#: A build whose process ended this many times is failed rather than claimed again.
MAX_ATTEMPTS = 3
#: Seconds a watched build may go unwatched (no page showing it) before it is dropped.
ABANDON_AFTER = 120.0
#: Ended builds kept for the pages that waited on them (the oldest are forgotten).
KEEP_ENDED = 200


def key_of(parts: Sequence[str]) -> str:
    return ":".join(parts)


@dataclass(frozen=True)
class Build:
    """One build in the queue, as plain data."""

    kind: str
    video_id: str
    model: str = ""
    source: dict = field(default_factory=dict)
    person: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.time)
    #: Dropped when no page has watched it for ``ABANDON_AFTER`` (an opening); else runs regardless.
    watched: bool = False
    state: str = "waiting"
    claimed_by: str | None = None
    lease_until: float = 0.0
    attempts: int = 0
    #: When it was last claimed (a person's latest claim puts them behind others in the line).
    claimed_at: float = 0.0
    seen: float = field(default_factory=time.time)
    cancelled: bool = False
    stage: str = "waiting"
    done: int = 0
    total: int = 0
    result: str | None = None
    error: str | None = None
    #: The error's class name, so a page can offer its remedy (a subtitle file for a refused transcript).
    error_kind: str | None = None

    @property
    def key(self) -> str:
        """What it makes (for whom, where a signed-in person's opening makes the video theirs):
        a second request for the same joins it."""
        return key_of((self.kind, self.video_id, self.model) + ((self.source["as"],) if self.source.get("as") else ()))

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Build":
        names = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in names})

    def stale(self, now: float, abandon_after: float = ABANDON_AFTER) -> bool:
        """Cancelled, or watched and not seen for too long."""
        return self.cancelled or (self.watched and now - self.seen > abandon_after)


@dataclass(frozen=True)
class Bounds:
    queued: int = QUEUED_PER_PERSON
    running: int = RUNNING_PER_PERSON
    lease: float = LEASE
    abandon_after: float = ABANDON_AFTER

    @classmethod
    def from_config(cls, config: Config | None = None) -> "Bounds":
        """The bounds YTQA_QUEUED_PER_PERSON, YTQA_RUNNING_PER_PERSON and YTQA_QUEUE_LEASE set."""
        config = config or current()
        return cls(queued=_whole(config.queued_per_person, "YTQA_QUEUED_PER_PERSON", QUEUED_PER_PERSON),
                   running=_whole(config.running_per_person, "YTQA_RUNNING_PER_PERSON", RUNNING_PER_PERSON),
                   lease=float(_whole(config.queue_lease, "YTQA_QUEUE_LEASE", int(LEASE))))


def _whole(value: str | None, variable: str, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise BadSetting(variable, value, "a whole number of at least 1")
    return number


def who(person: str | None) -> str:
    """The person a build counts for ("" for the server's own builds)."""
    return person or ""


def running_counts(builds: Iterable[Build], now: float) -> dict[str, int]:
    """Builds running under a live lease, by person."""
    counts: dict[str, int] = {}
    for build in builds:
        if build.state == "running" and build.lease_until > now:
            counts[who(build.person)] = counts.get(who(build.person), 0) + 1
    return counts


def last_served(builds: Iterable[Build]) -> dict[str, float]:
    """When each person's latest build was claimed."""
    served: dict[str, float] = {}
    for build in builds:
        served[who(build.person)] = max(served.get(who(build.person), 0.0), build.claimed_at)
    return served


def claimable(build: Build, now: float) -> bool:
    """Waiting, or claimed by a process whose lease ran out."""
    return build.state == "waiting" or (build.state == "running" and build.lease_until <= now)


def _order(counts: dict, served: dict, running: int):
    """Fewest running first (a person at the bound last), then the person served longest ago,
    then the oldest build."""
    def key(build: Build):
        person = who(build.person)
        return (counts.get(person, 0) >= running, counts.get(person, 0), served.get(person, 0.0),
                build.created, build.id)
    return key


def line(builds: Sequence[Build], now: float, running: int = RUNNING_PER_PERSON) -> list[Build]:
    """The claimable builds in the order claims would take them now (each taken as if claimed
    in turn), for the place in line a page shows."""
    counts, served = running_counts(builds, now), last_served(builds)
    left = [b for b in builds if claimable(b, now)]
    order: list[Build] = []
    while left:
        best = min(left, key=_order(counts, served, running))
        order.append(best)
        left.remove(best)
        counts[who(best.person)] = counts.get(who(best.person), 0) + 1
        served[who(best.person)] = now + len(order)
    return order


def next_claim(builds: Sequence[Build], now: float, running: int = RUNNING_PER_PERSON,
               kinds: Sequence[str] | None = None) -> Build | None:
    """The build the next claim takes (of ``kinds``, or any): None when none waits or every
    waiting person is at the bound."""
    counts, served = running_counts(builds, now), last_served(builds)
    ready = [b for b in builds if claimable(b, now) and counts.get(who(b.person), 0) < running
             and (kinds is None or b.kind in kinds)]
    return min(ready, key=_order(counts, served, running)) if ready else None


def stopped_note(attempts: int) -> str:
    return (f"The build stopped {attempts} times before it ended (the process running it ended), "
            "so it was not tried again. Ask for it again.")


def claimed(build: Build, worker: str, now: float, lease: float) -> Build:
    return replace(build, state="running", claimed_by=worker, lease_until=now + lease, claimed_at=now,
                   attempts=build.attempts + 1, stage="waiting" if build.state == "waiting" else build.stage)


class BuildQueue(Protocol):
    """The queue every store keeps (``FileQueue``, ``PostgresQueue``)."""

    bounds: Bounds

    def add(self, build: Build, bounded: bool = True, held: int = 0) -> Build:
        """Queue ``build``, or return the active one making the same (its ``key``), watched
        again; ``TooManyBuilds`` when its person has ``bounds.queued`` active builds (``bounded``),
        counting ``held`` more they have outside the queue (a process's own line)."""

    def claim(self, worker: str, kinds: Sequence[str] | None = None) -> Build | None:
        """The next build (of ``kinds``: those this process can run) in the fair order,
        claimed by ``worker`` for a lease; None when none."""

    def renew(self, build_id: str, worker: str, stage: str | None = None, done: int = 0,
              total: int = 0) -> str | None:
        """Extend ``worker``'s lease and record its progress; None to go on, else why to stop
        (``lost``: another process has it, ``cancelled``, ``abandoned``)."""

    def finish(self, build_id: str, worker: str, state: str, result: str | None = None,
               error: str | None = None, error_kind: str | None = None) -> bool:
        """Record how ``worker``'s build ended; False when it is no longer that worker's."""

    def get(self, build_id: str) -> Build | None: ...

    def find(self, key: str) -> Build | None:
        """The build making ``key``: the active one, else the last that ended."""

    def watch(self, build_id: str) -> None:
        """A page shows it: keep it alive."""

    def cancel(self, video_id: str) -> list[Build]:
        """Stop the video's builds (before it is deleted): waiting ones leave the line,
        running ones are told to stop at their next renewal; the running ones, as they were."""

    def builds(self, active_only: bool = False) -> list[Build]: ...

    def close(self) -> None: ...


def place_in_line(queue: BuildQueue, build: Build) -> int:
    """How many builds a waiting one has before it in the line (its place shown)."""
    now = time.time()
    order = line(queue.builds(active_only=True), now, queue.bounds.running)
    ids = [b.id for b in order]
    return ids.index(build.id) if build.id in ids else 0
