"""Who holds which video, for the file store: ``people.json`` beside the catalog.

    {"format": 1, "videos": {"<video id>": {"<person>": {"shared": false, "group": "physics"}}}}

(``group`` only when the holder shares it with a group; files written before groups have none.)

Read-modify-write under its own lock file, written atomically. A file that cannot be read
as that shape is damage: it is named (``StoreDamaged``), never taken as "nobody holds
anything", which would show every private video to everyone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

from . import _storage as storage
from ._errors import StoreDamaged
from ._store import Holding

FORMAT = 1


def _valid(data) -> bool:
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("videos"), dict):
        return False
    return all(isinstance(video, str) and isinstance(people, dict) and all(
        isinstance(person, str) and isinstance(state, dict) and isinstance(state.get("shared"), bool)
        and isinstance(state.get("group", ""), str) for person, state in people.items()) for video, people in data["videos"].items())


class PeopleFile:
    def __init__(self, root: Path):
        self.path = root / "people.json"
        self._lock_path = root / ".people.lock"

    def _read(self) -> dict:
        if storage.kind_of(self.path) is None:
            return {}
        data = storage.read_json(self.path)
        if not _valid(data):
            raise StoreDamaged(str(self.path), "it is not a list of who holds which video",
                               "Restore it from a backup; removing it makes every video everyone's.")
        return data["videos"]

    def holdings(self, video_ids: Sequence[str] | None = None) -> list[Holding]:
        videos = self._read()
        wanted = sorted(videos) if video_ids is None else sorted(set(video_ids) & set(videos))
        return [Holding(video, person, videos[video][person]["shared"], videos[video][person].get("group"))
                for video in wanted for person in sorted(videos[video])]

    def by_video(self) -> dict[str, list[Holding]]:
        found: dict[str, list[Holding]] = {}
        for holding in self.holdings():
            found.setdefault(holding.video_id, []).append(holding)
        return found

    def change(self, video_id: str, edit: Callable[[dict], None]) -> None:
        """``edit(the video's people)`` under the lock; a video nobody holds any more is dropped."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with storage.locked(self._lock_path, what="the list of who holds which video"):
            videos = dict(self._read())
            people = dict(videos.get(video_id, {}))
            edit(people)
            if people:
                videos[video_id] = people
            else:
                videos.pop(video_id, None)
            storage.write_atomic(self.path, json.dumps({"format": FORMAT, "videos": videos},
                                                       ensure_ascii=False, separators=(",", ":")))

    def hold(self, video_id: str, person: str, shared: bool | None = None, group: str | None = None) -> None:
        def edit(people: dict) -> None:
            state = dict(people.get(person, {"shared": False}))
            if shared is not None:
                state = {"shared": bool(shared)} | ({"group": group} if group is not None else {})
            people[person] = state

        self.change(video_id, edit)

    def release(self, video_id: str, person: str | None = None) -> None:
        """``person`` lets go of the video (None: everyone does)."""
        if video_id in self._read():
            self.change(video_id, lambda people: people.clear() if person is None else people.pop(person, None))
