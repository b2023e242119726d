"""Whose is what: a store as one person sees it, and what they may change.

A video is *held* by the people who added it (``Holding``); its transcript and indexes are
stored once, whoever added it first. The rules:

- a person sees the videos they hold, those a holder shares with everyone or with a group
  they are in (groups are named in YTQA_GROUPS), and those nobody holds (stored before people
  were named, or added with no person named): ``sees``, the one rule, which the stores follow
  (PostgreSQL in SQL);
- only a holder or an administrator (named in YTQA_ADMINS) may delete, re-index (give the
  video another transcript) or share it (with everyone, or with any group named in
  YTQA_GROUPS, a member or not); only an administrator may transfer it;
- adding a video someone else holds privately makes it the person's too, without embedding
  it again; adding one they already see changes nothing;
- a holder's delete takes the video out of their library: its data goes with the last holder
  (an administrator's delete removes it for everyone);
- a question over "all videos" covers what the person sees.

With no person named nothing here applies: the library is everyone's, as it always was.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ._config import current as current_config
from ._errors import (EveryonesAlready, InvalidGroups, InvalidPerson, NotAdministrator, NotStored, NotYours,
                      PrivateSubtitles, StoredVideoDamaged, StoreUnavailable, UnknownGroup)
from ._store import Holding, Store


#: What a store keeps so that people can share it (``Store``'s protocol).
_HOLDINGS = ("holdings", "hold", "release", "video_ids")


#: A group's name in YTQA_GROUPS.
GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}")


@dataclass(frozen=True)
class Person:
    name: str
    admin: bool = False
    #: The groups (of YTQA_GROUPS) they are in.
    groups: frozenset[str] = field(default_factory=frozenset)

    def sees(self, held: Sequence[Holding]) -> bool:
        """``sees``, for this person (what the file store filters its listings by)."""
        return sees(self, held)


def sees(person: Person, held: Sequence[Holding]) -> bool:
    """Whether ``person`` sees a video with these holdings (not an administrator's rights):
    nobody holds it, or they do, or a holder shares it with everyone or with one of their groups."""
    return not held or any(h.person == person.name or h.shared or (h.group is not None and h.group in person.groups)
                           for h in held)


def configured_groups(text: str | None = None) -> dict[str, frozenset[str]]:
    """The groups YTQA_GROUPS names (``text`` instead when given): NAME=person,person;NAME=...
    ``InvalidGroups`` naming the part that cannot be read."""
    text = current_config().groups if text is None else text
    groups: dict[str, frozenset[str]] = {}
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        name, equals, members = (piece.strip() for piece in part.partition("="))
        if not equals:
            raise InvalidGroups(part, "has no '=' between the group's name and its people")
        if not GROUP_NAME.fullmatch(name):
            raise InvalidGroups(part, "does not start with a group's name")
        if name in groups:
            raise InvalidGroups(part, f"names the group {name} a second time")
        groups[name] = frozenset(m.strip() for m in members.split(",") if m.strip())
    return groups


def person_named(name: str | None, admins: Sequence[str] | None = None,
                 groups: "dict[str, frozenset[str]] | None" = None) -> Person | None:
    """The person of that name (an administrator when ``admins``, by default YTQA_ADMINS, names
    them; in the ``groups``, by default YTQA_GROUPS's, that name them); None for no name.
    ``InvalidPerson`` for a name that cannot be one."""
    if name is None:
        return None
    if (not isinstance(name, str) or not name.strip() or len(name) > 200 or "," in name
            or not name.isprintable()):
        raise InvalidPerson(str(name))
    admins = current_config().admins if admins is None else admins
    groups = configured_groups() if groups is None else groups
    return Person(name, admin=name in admins, groups=frozenset(g for g, members in groups.items() if name in members))


class Access:
    """The rules above, for one person (None: everyone may do everything) over one store."""

    def __init__(self, store: Store, person: Person | None):
        if person is not None and not all(hasattr(store, name) for name in _HOLDINGS):
            raise StoreUnavailable(getattr(store, "location", type(store).__name__),
                                   f"it keeps no record of whose each video is (no {', '.join(_HOLDINGS)})",
                                   "Name no person (--user, YTQA_USER), or use the files or PostgreSQL store.")
        self.store, self.person = store, person

    @property
    def admin(self) -> bool:
        return self.person is None or self.person.admin

    def view(self) -> Store:
        """The store as the person sees it (the store itself with no person)."""
        return self.store if self.person is None else PersonalStore(self)

    def _is_stored(self, video_id: str, held: Sequence[Holding]) -> bool:
        return bool(held) or video_id in self.store.video_ids()

    def _holds(self, held: Sequence[Holding]) -> bool:
        return self.person is not None and any(h.person == self.person.name for h in held)

    def sees(self, held: Sequence[Holding]) -> bool:
        return self.admin or sees(self.person, held)

    def sees_video(self, video_id: str) -> bool:
        """Whether the person sees this video now (opening it by its id in an address needs it)."""
        return self.person is None or self.sees(self.store.holdings([video_id]))

    def _from_a_file(self, video_id: str) -> bool:
        """Its stored transcript was read from someone's subtitle file (not fetched from YouTube):
        theirs to share, not adopted by whoever names the video (a damaged one counts as theirs)."""
        try:
            transcript = self.store.transcript(video_id)
        except StoredVideoDamaged:
            return True
        return transcript is not None and transcript.source != "youtube"

    def sees_collection(self, owner: str | None, shared: bool) -> bool:
        """Whether the person sees a collection (playlist, channel) added by ``owner`` (None:
        everyone's), shared or not: the rule of videos, as if the owner held it."""
        return self.sees([] if owner is None else [Holding(f"collection:{owner}", owner, shared)])

    def may_change_collection(self, owner: str | None) -> bool:
        """Whether the person may delete, sync or share a collection ``owner`` added."""
        return self.admin or owner == self.person.name

    def _check(self, video_id: str, action: str) -> list[Holding]:
        """The video's holdings, when the person may ``action`` it; else ``NotYours``
        (``NotStored`` for a video they do not see: another's private video is not named)."""
        held = self.store.holdings([video_id])
        if self.admin or self._holds(held):
            return held
        if not self.sees(held) or not self._is_stored(video_id, held):
            raise NotStored(video_id, self.store.location)
        raise NotYours(video_id, self.person.name, action)

    @contextlib.contextmanager
    def using(self, video_id: str, replaces: "bool | Callable[[], bool]" = False):
        """Around adding, opening or asking a video: refused when it would re-index another's
        (``replaces``: another transcript is given, or a function saying whether it is), and
        the video is the person's afterwards when it was new, or another's private one."""
        if self.person is None:
            yield
            return
        held = self.store.holdings([video_id])
        stored = self._is_stored(video_id, held)
        if stored and not (self.admin or self._holds(held)) and (replaces() if callable(replaces) else replaces):
            raise NotYours(video_id, self.person.name, "re-index")
        if stored and held and not self.sees(held) and self._from_a_file(video_id):
            raise PrivateSubtitles(video_id, self.person.name)
        yield
        if not self._holds(held) and (not stored or not self.sees(held)):
            self.store.hold(video_id, self.person.name)

    def removes_data(self, video_id: str, held: Sequence[Holding] | None = None) -> bool:
        """Whether the person's delete removes the video's data for everyone (they are an
        administrator, or the only one who holds it), not only their hold on it."""
        held = self.store.holdings([video_id]) if held is None else held
        return self.admin or (self._holds(held) and all(h.person == self.person.name for h in held))

    def remove(self, video_id: str) -> bool:
        if not self.admin:
            held = self._check(video_id, "delete")
            if not self.removes_data(video_id, held):
                self.store.release(video_id, self.person.name)  # the others keep it
                return True
        return self.store.remove(video_id)

    def share(self, video_id: str, shared: bool = True, group: str | None = None) -> None:
        """The person's hold shared with everyone, with ``group`` (one YTQA_GROUPS names), or
        with no one (``shared`` False); an administrator's: every holder's."""
        if group is not None and group not in (known := configured_groups()):
            raise UnknownGroup(group, sorted(known))
        held = self._check(video_id, "share" if shared else "unshare")
        if not held:
            if not self._is_stored(video_id, held):
                raise NotStored(video_id, self.store.location)
            raise EveryonesAlready(video_id)
        mine = [h for h in held if self._holds([h])]
        for holding in mine or held:
            self.store.hold(video_id, holding.person, bool(shared) and group is None,
                            group if shared else None)

    def transfer(self, video_id: str, to: str) -> None:
        """The video becomes ``to``'s alone (shared if it was); for administrators."""
        if not self.admin:
            raise NotAdministrator(self.person.name, "transfer a video")
        receiver = person_named(to)
        held = self.store.holdings([video_id])
        if not self._is_stored(video_id, held):
            raise NotStored(video_id, self.store.location)
        everyone = any(h.shared for h in held)
        group = None if everyone else next((h.group for h in held if h.group is not None), None)
        self.store.hold(video_id, receiver.name, everyone, group)  # first: never nobody's
        for holding in held:
            if holding.person != receiver.name:
                self.store.release(video_id, holding.person)

    def holdings(self, video_ids: Sequence[str] | None = None) -> list[Holding]:
        """Who holds what, of the videos the person sees."""
        found = self.store.holdings(video_ids)
        if self.admin:
            return found
        by_video: dict[str, list[Holding]] = {}
        for holding in found:
            by_video.setdefault(holding.video_id, []).append(holding)
        return [h for h in found if self.sees(by_video[h.video_id])]


def _takes_viewer(search) -> bool:
    """Whether a store's ``search`` takes ``visible_to`` (ours do; ``Store`` does not ask it)."""
    try:
        return "visible_to" in inspect.signature(search).parameters
    except (TypeError, ValueError):
        return False


class PersonalStore:
    """A ``Store`` as one person sees it: listing and search cover what they see, a delete
    follows the rules; everything else is the store's."""

    def __init__(self, access: Access):
        self.__dict__["access"] = access
        self.__dict__["_store"] = access.store
        self.__dict__["_scoped"] = _takes_viewer(access.store.search)  # asked once, not every question

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._store, name, value)  # notice, set on the store itself

    def _seen_by(self) -> Person | None:
        return None if self.access.admin else self.access.person

    def videos(self, offset: int = 0, limit: int | None = None, search: str | None = None):
        return self._store.videos(offset, limit, search, visible_to=self._seen_by())

    def count(self, search: str | None = None) -> int:
        return self._store.count(search, visible_to=self._seen_by())

    def video_ids(self, visible_to: Person | None = None) -> list[str]:
        return self._store.video_ids(visible_to=self._seen_by())

    def holdings(self, video_ids: Sequence[str] | None = None) -> list[Holding]:
        return self.access.holdings(video_ids)

    def search(self, family: str, query, k: int, video_ids: Sequence[str] | None = None):
        if self.access.admin:
            return self._store.search(family, query, k, video_ids)
        if self._scoped:  # the rule applied in the search itself
            return self._store.search(family, query, k, video_ids, visible_to=self._seen_by())
        seen = set(self._store.video_ids(visible_to=self._seen_by()))  # a store of another make
        return self._store.search(family, query, k, sorted(seen if video_ids is None else seen & set(video_ids)))

    def remove(self, video_id: str) -> bool:
        return self.access.remove(video_id)
