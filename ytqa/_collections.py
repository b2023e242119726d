"""Playlists and channels: added, indexed one video after another, kept in sync.

Layout (plain JSON, written atomically under a lock)::

    data/collections/<key>.json     one added playlist or channel: its listing and
                                    each video's state (waiting, fetching, indexed,
                                    failed with the reason)

Indexing goes through :meth:`Library.index`, one video at a time, spacing transcript
requests (``delay`` seconds, YTQA_REQUEST_DELAY) and backing off when YouTube
refuses (blocks, bot checks, 429, PO tokens): a few waits that double, then the run
stops with what to do instead of asking again. Each video's state is saved as it
changes, so a run that is stopped, killed, or whose page is closed continues where
it left off; a video already indexed is never fetched or embedded again.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

from . import _errors as errors
from ._config import Config
from ._errors import InvalidLink
from ._files import shown_name
from ._transcript import clean_text, clean_title
from ._links import Link, parse_link
from ._store import RECORD_KEY
from ._ytdlp import Collection, YoutubeDLFactory, list_collection

FORMAT = 1
STATES = ("waiting", "fetching", "indexed", "failed")
#: Seconds between two transcript requests, unless --delay or YTQA_REQUEST_DELAY say otherwise.
DEFAULT_DELAY = 3.0
#: After a refusal, wait this long, then twice as long, ... ``RETRIES`` times, then stop.
BACKOFF = 20.0
RETRIES = 3
#: Refusals that more requests would only make worse: back off, then stop the run.
REFUSALS = (errors.YouTubeBlocked, errors.PoTokenRequired)


def request_delay(value: float | str | None = None, environ=None) -> float:
    """Seconds between transcript requests: ``value`` (--delay), else YTQA_REQUEST_DELAY, else 3."""
    source = "--delay"
    if value is None:
        settings = Config.from_env(environ)
        value, source = settings.request_delay, "YTQA_REQUEST_DELAY"
    if value is None:
        return DEFAULT_DELAY
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise errors.YtqaError(
            f"{source} must be a number of seconds, 0 or more (got {value!r}); the default is "
            f"{DEFAULT_DELAY:g}."
        )
    return seconds


def collection_key(collection: Collection) -> str:
    """The file name of a collection: its playlist or channel id (and tab)."""
    key = collection.id + (f"-{collection.tab}" if collection.tab else "")
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", key)[:120]


# --- what is stored --------------------------------------------------------------


@dataclass(frozen=True)
class SavedVideo:
    video_id: str
    title: str | None = None
    duration: float | None = None
    state: str = "waiting"
    #: Why it failed, in a few words ("captions are turned off").
    reason: str | None = None
    #: The full message: the cause and what to do.
    detail: str | None = None
    #: Failed for a passing reason: the next run tries again.
    retry: bool = False
    #: Where it failed: "listing" (private, members-only, ... before any request) or "fetch".
    failed_at: str | None = None
    #: Still in the playlist or channel at the last listing.
    listed: bool = True
    updated: float = 0.0

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict) -> "SavedVideo":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("title", "reason", "detail"):  # an edited file's text, through the gate
            known[name] = clean_title(known.get(name))
        video = cls(**known)
        if video.state not in STATES:
            video = replace(video, state="waiting")
        return video


@dataclass(frozen=True)
class SavedCollection:
    key: str
    kind: str
    id: str
    title: str
    #: The link as it was pasted, and the canonical one that is listed.
    source: str
    url: str
    videos: tuple[SavedVideo, ...] = ()
    channel: str | None = None
    tab: str | None = None
    #: Transcript languages asked for when it was added (empty: the best track).
    languages: tuple[str, ...] = ()
    added: float = 0.0
    updated: float = 0.0
    listed: float = 0.0
    #: The person who added it (None: everyone's), and whether they share it with everyone.
    owner: str | None = None
    shared: bool = False

    def count(self, state: str) -> int:
        return sum(1 for v in self.videos if v.state == state)

    @property
    def done(self) -> int:
        """Videos with a final state: indexed, or failed with the reason."""
        return self.count("indexed") + self.count("failed")

    @property
    def total(self) -> int:
        return len(self.videos)

    def video(self, video_id: str) -> SavedVideo | None:
        return next((v for v in self.videos if v.video_id == video_id), None)

    def summary(self) -> str:
        parts = [f"{self.count('indexed')} of {self.total} indexed"]
        for state in ("failed", "waiting", "fetching"):
            if self.count(state):
                parts.append(f"{self.count(state)} {state}")
        return ", ".join(parts)

    def to_json(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["format"] = FORMAT
        data["languages"] = list(self.languages)
        data["videos"] = [v.to_json() for v in self.videos]
        return data

    @classmethod
    def from_json(cls, data) -> "SavedCollection":
        """A collection as stored: ``ValueError`` naming the first field that is not what
        the file's schema says (a list where a text belongs, a key that is not a key...)."""
        checked = _schema().check(data)
        known = {k: v for k, v in checked.items() if k in cls.__dataclass_fields__}
        known["videos"] = tuple(SavedVideo.from_json(v) for v in checked["videos"])
        known["languages"] = tuple(checked["languages"])
        known["title"] = clean_text(checked["title"])
        known["channel"] = clean_title(checked["channel"])
        return cls(**known)


#: What a collection's key (its file name, without .json) may be: no separator, no
#: leading dot (lock files), so a key can only name a file inside ``data/collections``.
KEY = RECORD_KEY


@functools.lru_cache(maxsize=1)
def _schema():
    """A collection's schema (pydantic, imported on first read): strict, never converting."""
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    text = Field(None, max_length=10_000)
    seconds = Field(0.0, ge=0, allow_inf_nan=False)

    class VideoFile(BaseModel):
        model_config = ConfigDict(strict=True, extra="ignore")
        video_id: str = Field(pattern=r"^[A-Za-z0-9_-]{11}$")
        title: str | None = text
        duration: float | None = Field(None, ge=0, allow_inf_nan=False)
        state: str = Field("waiting", max_length=20)
        reason: str | None = text
        detail: str | None = text
        retry: bool = False
        failed_at: str | None = Field(None, max_length=20)
        listed: bool = True
        updated: float = seconds

    class CollectionFile(BaseModel):
        model_config = ConfigDict(strict=True, extra="ignore")
        format: int = Field(ge=FORMAT, le=FORMAT)
        key: str = Field(max_length=1000)  # checked against the file's own name
        kind: str = Field(pattern=r"^(playlist|channel)$")
        id: str = Field(max_length=200)
        title: str = Field(max_length=10_000)
        source: str = Field(max_length=10_000)
        url: str = Field(max_length=10_000)
        videos: list[VideoFile] = []
        channel: str | None = text
        tab: str | None = Field(None, max_length=40)
        languages: list[str] = []
        added: float = seconds
        updated: float = seconds
        listed: float = seconds
        owner: str | None = Field(None, min_length=1, max_length=200)
        shared: bool = False

    class Schema:
        @staticmethod
        def check(data) -> dict:
            try:
                return CollectionFile.model_validate(data).model_dump()
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "the file"
                raise ValueError(f"{where}: {first['msg'][:200]}") from None

    return Schema


class CollectionStore:
    """The added collections: the store's records of kind "collections" (one JSON file each
    under ``data/collections/`` on files, one row each on PostgreSQL).

    ``source`` is a store's ``Records`` or a library folder. Every key is checked by
    :data:`KEY`, never read from a record. A record that is not a collection (ill-typed, or
    naming another key than its own) is skipped and told to ``notice`` once, in one line
    naming it; the other collections go on working. ``sees`` keeps the collections a person
    may see (``Access.sees_collection``); by default all.
    """

    def __init__(self, source, notice: Callable[[str], None] | None = None,
                 sees: Callable[["SavedCollection"], bool] | None = None):
        from ._files_records import FileRecords, folder_of

        if isinstance(source, (str, os.PathLike)):
            source = FileRecords(folder_of(source, "collections"), "collections")
        self.records = source
        self.notice = notice
        self.sees = sees or (lambda saved: True)
        #: Records skipped so far, and why (each told to ``notice`` once).
        self.skipped: dict[str, str] = {}

    def _skip(self, where: str, why: str) -> None:
        if self.skipped.get(where) != why:
            self.skipped[where] = why
            if self.notice is not None:
                thing = "that file" if hasattr(self.records, "strays") else "that row"  # files name strays
                self.notice(f"warning: skipped {shown_name(where)}: {why}; fix or delete {thing} "
                            "(ytqa add LINK lists the playlist or channel again)")

    def _parsed(self, key: str, data) -> SavedCollection | None:
        where = self.records.where(key)
        try:
            saved = SavedCollection.from_json(data)
        except ValueError as error:
            return self._skip(where, clean_text(f"its field {error}"))
        if saved.key != key:
            return self._skip(where, clean_text(f"it names itself {saved.key!r:.80}, not {key!r} after its "
                                                "file name, so ytqa does not follow it"))
        return saved

    def load(self, key: str) -> SavedCollection | None:
        """The collection stored under ``key``; None when there is none or it is not one."""
        try:
            data = self.records.get(key)
        except errors.RecordDamaged as error:
            return self._skip(error.where, "it is not readable JSON")
        return None if data is None else self._parsed(key, data)

    def update(self, key: str, change: Callable[[SavedCollection | None], SavedCollection]) -> SavedCollection:
        """Read, change and write one collection with no other writer in between."""
        def stored(data):
            updated = change(None if data is None else self._parsed(key, data))
            if updated.key != key:
                raise errors.YtqaError(f"collection {key} cannot be saved as {updated.key!r:.80}")
            return updated.to_json()

        return SavedCollection.from_json(self.records.update(key, stored))

    def save(self, collection: SavedCollection) -> None:
        self.update(collection.key, lambda saved: collection)

    def all(self) -> list[SavedCollection]:
        for path in getattr(self.records, "strays", lambda: [])():
            self._skip(str(path), "its name is not a collection key (letters, digits, _ . @ -)")
        found = (self.load(key) for key in self.records.keys())
        return sorted((c for c in found if c is not None and self.sees(c)), key=lambda c: (c.added, c.key))

    def remove(self, key: str) -> None:
        self.records.remove(key)

    def find(self, name: str) -> SavedCollection:
        """A collection by its key, by a link to it, or by its title."""
        name = (name or "").strip()
        collections = self.all()
        for c in sorted(collections, key=lambda c: c.key != name):  # the key first, then the id
            if c.key == name or c.id == name:
                return c
        try:
            link = parse_link(name)
        except InvalidLink:
            link = None
        if link is not None and link.kind != "video":
            for c in collections:
                if _same(c, link):
                    return c
        matches = [c for c in collections if c.title.casefold() == name.casefold()]
        if len(matches) == 1:
            return matches[0]
        raise errors.UnknownCollection(name, [c.key for c in collections])


def _records_of(library):
    """The collections' records: the library's store's (shared by every process using it),
    else files in the library's folder (a store of a plug-in that keeps no records)."""
    store = library.store
    if hasattr(store, "records"):
        return store.records("collections")
    return library.data_dir


def _same(saved: SavedCollection, link: Link) -> bool:
    if link.kind != saved.kind or (link.kind == "channel" and link.tab != saved.tab):
        return False
    if link.id == saved.id:
        return True
    try:
        pasted = parse_link(saved.source)
    except InvalidLink:
        return False
    return pasted.kind == link.kind and pasted.id.casefold() == link.id.casefold()


def _merge(saved: SavedCollection | None, listing: Collection, source: str,
           languages: Sequence[str], now: float, key: str | None = None,
           owner: str | None = None) -> tuple[SavedCollection, list[str]]:
    """The stored collection updated with a fresh listing; the ids that are new."""
    before = {v.video_id: v for v in saved.videos} if saved else {}
    videos, new = [], []
    for item in listing.videos:
        known = before.pop(item.video_id, None)
        if known is None:
            new.append(item.video_id)
            known = SavedVideo(item.video_id, item.title, item.duration, updated=now)
        known = replace(known, title=item.title or known.title,
                        duration=item.duration or known.duration, listed=True)
        if not item.available and known.state != "indexed":
            name = known.title or item.video_id
            known = replace(known, state="failed", reason=item.unavailable, failed_at="listing",
                            retry=False, updated=now,
                            detail=f"{name} is {item.unavailable} on YouTube, so ytqa cannot "
                                   "fetch its captions.")
        elif item.available and known.state == "failed" and known.failed_at == "listing":
            known = replace(known, state="waiting", reason=None, detail=None, failed_at=None,
                            updated=now)  # it can be watched now (a stream that ended, ...)
        videos.append(known)
    videos += [replace(v, listed=False) for v in before.values()]  # gone from the list: kept
    merged = SavedCollection(
        key=saved.key if saved else key or collection_key(listing),
        kind=listing.kind,
        id=listing.id,
        title=listing.title,
        source=saved.source if saved else source.strip(),
        url=listing.url,
        videos=tuple(videos),
        channel=listing.channel,
        tab=listing.tab,
        languages=tuple(languages) if languages else (saved.languages if saved else ()),
        added=saved.added if saved else now,
        updated=now,
        listed=now,
        owner=saved.owner if saved else owner,
        shared=saved.shared if saved else False,
    )
    return merged, new


# --- indexing --------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """One change during a run: the collection as it now is, and the video that changed."""

    collection: SavedCollection
    video: SavedVideo
    #: What is happening beyond the state, e.g. a back-off wait.
    note: str | None = None

    @property
    def done(self) -> int:
        return self.collection.done

    @property
    def total(self) -> int:
        return self.collection.total


@dataclass(frozen=True)
class RunReport:
    collection: SavedCollection
    indexed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    #: Already indexed before this run: not fetched, not embedded.
    skipped: int = 0
    #: New in the listing (sync).
    new: tuple[str, ...] = ()


class Collections:
    """Add, index, sync and ask playlists and channels of one :class:`Library`.

    ``clock`` and ``sleep`` are injectable (tests pass a fake clock), and so is
    ``youtube_dl``: the factory of yt-dlp's YoutubeDL used for listings.
    """

    def __init__(
        self,
        library,
        delay: float | None = None,
        backoff: float = BACKOFF,
        retries: int = RETRIES,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        wall_clock: Callable[[], float] | None = None,
        youtube_dl: YoutubeDLFactory | None = None,
    ):
        self.library = library
        #: Whose is what (``Access``; None for a library without people: everyone's).
        self.access = getattr(library, "access", None)
        self.store = CollectionStore(_records_of(library), notice=getattr(library.store, "notice", None),
                                     sees=self._sees)
        self.delay = request_delay(delay)
        self.backoff = backoff
        self.retries = retries
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        self.now = wall_clock or time.time
        self.youtube_dl = youtube_dl
        self._last_request: float | None = None

    @property
    def _proxy(self):
        from ._youtube import ProxySettings

        return self.library.proxy if self.library.proxy is not None else ProxySettings.from_env()

    # --- listing -------------------------------------------------------------------

    def list(self, link: str | Link) -> Collection:
        """The videos of a playlist or channel link, as YouTube lists them now."""
        return list_collection(link, proxy=self._proxy, factory=self.youtube_dl,
                               cookies=getattr(self.library, "cookies", None))

    # --- whose is what ------------------------------------------------------------

    @property
    def person(self) -> str | None:
        person = self.access.person if self.access is not None else None
        return None if person is None else person.name

    def _sees(self, saved: SavedCollection) -> bool:
        return self.access is None or self.access.sees_collection(saved.owner, saved.shared)

    def _own(self, saved: SavedCollection, action: str) -> SavedCollection:
        """``saved``, when the person may ``action`` it (its owner, or an administrator)."""
        if self.access is not None and not self.access.may_change_collection(saved.owner):
            raise errors.CollectionNotYours(saved.title, saved.key, self.person, action)
        return saved

    def _key_for(self, listing: Collection) -> str:
        """The collection's key: its own, unless another person keeps it privately under that
        key (then one of the person's own: the same playlist, added twice, is two collections)."""
        key = collection_key(listing)
        known = self.store.load(key)
        if known is None or self._sees(known) or self.person is None:
            return key
        return f"{key[:110]}.{hashlib.sha256(self.person.encode()).hexdigest()[:8]}"

    def may_change(self, saved: SavedCollection) -> bool:
        """Whether the person may sync, index, share or remove it."""
        return self.access is None or self.access.may_change_collection(saved.owner)

    def visible(self, key: str) -> SavedCollection | None:
        """The collection of that key, if the person sees it."""
        saved = self.store.load(key)
        return saved if saved is not None and self._sees(saved) else None

    def known(self, listing: Collection) -> SavedCollection | None:
        """A listed playlist or channel as the person added it (or sees it), if they did."""
        return self.visible(self._key_for(listing))

    def share(self, name: str, shared: bool = True) -> SavedCollection:
        """The collection seen by everyone on the store, or again by its owner only."""
        saved = self._own(self.store.find(name), "share" if shared else "unshare")
        if saved.owner is None:
            raise errors.CollectionEveryones(saved.title, saved.key)
        return self.store.update(saved.key, lambda current: replace(current or saved, shared=shared))

    # --- adding --------------------------------------------------------------------

    def save(self, listing: Collection, source: str, languages: Sequence[str] = ()) -> SavedCollection:
        """Add a listed collection (or refresh a known one); nothing is indexed yet. It is the
        person's who adds it (everyone's with no person named)."""
        key = self._key_for(listing)
        known = self.store.load(key)
        if known is not None:
            self._own(known, "add again")

        def change(saved):
            return _merge(saved, listing, source, languages, self.now(), key, self.person)[0]

        return self.store.update(key, change)

    def add(self, link: str, languages: Sequence[str] = ()) -> SavedCollection:
        """List a playlist or channel and add it; :meth:`index` then indexes its videos."""
        return self.save(self.list(link), link, languages)

    def all(self) -> list[SavedCollection]:
        return self.store.all()

    def get(self, name: str) -> SavedCollection:
        return self.store.find(name)

    def remove(self, name: str) -> SavedCollection:
        """Forget a collection; its videos stay in the library."""
        saved = self._own(self.store.find(name), "remove")
        self.store.remove(saved.key)
        return saved

    def membership(self) -> dict[str, list[SavedCollection]]:
        """For each video id, the collections it belongs to."""
        found: dict[str, list[SavedCollection]] = {}
        for c in self.all():
            for v in c.videos:
                found.setdefault(v.video_id, []).append(c)
        return found

    # --- indexing ------------------------------------------------------------------

    def has_index(self, video_id: str) -> bool:
        transcript = self.library.stored_transcript(video_id)
        return transcript is not None and self.library.is_indexed(transcript)

    def _needs_request(self, video_id: str, languages: Sequence[str]) -> bool:
        transcript = self.library.stored_transcript(video_id)
        return transcript is None or bool(languages and transcript.language_code not in languages)

    def _set(self, key: str, video_id: str, **changes) -> SavedCollection:
        def change(saved):
            if saved is None:
                raise errors.UnknownCollection(key)
            videos = tuple(replace(v, updated=self.now(), **changes) if v.video_id == video_id else v
                           for v in saved.videos)
            return replace(saved, videos=videos, updated=self.now())

        return self.store.update(key, change)

    def _space(self) -> None:
        """Wait until ``delay`` seconds have passed since the last transcript request."""
        if self._last_request is None:
            return
        wait = self._last_request + self.delay - self.clock()
        if wait > 0:
            self.sleep(wait)

    def index(self, name: str, on_progress: Callable[[Progress], None] | None = None,
              retry_failed: bool = False) -> RunReport:
        """Index every video of a collection not indexed yet, one after another.

        A video that cannot be indexed (captions off, private, members-only,
        age-restricted, ...) is recorded as failed with the reason, and the run goes
        on. When YouTube refuses (a block, a bot check, too many requests), the run
        waits ``backoff`` seconds, then twice that, ``retries`` times, then stops with
        :class:`IndexingStopped`; the video stays waiting for the next run.
        ``retry_failed`` also tries again videos that failed when fetched.
        """
        notify = on_progress or (lambda progress: None)
        saved = self._own(self.store.find(name), "index")
        key = saved.key
        queue, skipped = [], 0
        for video in saved.videos:
            if video.state == "indexed":
                if self.has_index(video.video_id):
                    skipped += 1
                    continue
                saved = self._set(key, video.video_id, state="waiting")  # its index is gone
            elif video.state == "failed" and not (
                    video.retry or (retry_failed and video.failed_at == "fetch")):
                continue
            elif video.state == "fetching":  # a run killed mid-video
                saved = self._set(key, video.video_id, state="waiting")
            queue.append(video.video_id)
        indexed, failed = [], []
        for video_id in queue:
            outcome, saved = self._index_one(saved, video_id, notify)
            (indexed if outcome == "indexed" else failed).append(video_id)
        return RunReport(self.store.load(key) or saved, tuple(indexed), tuple(failed), skipped)

    def _index_one(self, saved: SavedCollection, video_id: str,
                   notify: Callable[[Progress], None]) -> tuple[str, SavedCollection]:
        key, languages = saved.key, list(saved.languages)
        needs_request = self._needs_request(video_id, languages)
        refusals = 0
        while True:
            if needs_request:
                self._space()
            try:
                saved = self._set(key, video_id, state="fetching")
                notify(Progress(saved, saved.video(video_id)))
                if needs_request:
                    self._last_request = self.clock()
                index = self.library.index(video_id, languages=languages)
            except REFUSALS as error:
                refusals += 1
                saved = self._set(key, video_id, state="waiting")
                if refusals > self.retries:
                    raise errors.IndexingStopped(
                        saved.title, key, error, refusals, saved.count("indexed"), saved.total,
                        with_proxy=bool(self._proxy and self._proxy.is_set)) from error
                wait = max(self.backoff * 2 ** (refusals - 1), self.delay)
                notify(Progress(saved, saved.video(video_id),
                                f"YouTube refused ({error.summary}); waiting {wait:g} s before "
                                f"trying again ({refusals} of {self.retries})"))
                self.sleep(wait)
                self._last_request = None  # the wait was longer than the spacing
            except errors.NoNetwork as error:
                saved = self._set(key, video_id, state="waiting")
                raise errors.IndexingStopped(saved.title, key, error, 1, saved.count("indexed"),
                                             saved.total) from error
            except (errors.TranscriptUnavailable, errors.EmptyTranscript) as error:
                saved = self._set(key, video_id, state="failed", reason=error.summary,
                                  detail=str(error), failed_at="fetch",
                                  retry=isinstance(error, errors.YouTubeRequestFailed))
                notify(Progress(saved, saved.video(video_id)))
                return "failed", saved
            except BaseException:
                # Stopped (Ctrl-C, a closed page): the video is not half done, it waits.
                self._set(key, video_id, state="waiting")
                raise
            else:
                title = saved.video(video_id).title or index.transcript.title
                saved = self._set(key, video_id, state="indexed", reason=None, detail=None,
                                  failed_at=None, retry=False, title=title)
                notify(Progress(saved, saved.video(video_id)))
                return "indexed", saved

    def sync(self, name: str, on_progress: Callable[[Progress], None] | None = None) -> RunReport:
        """List a collection again and index only the videos that are not indexed yet."""
        saved = self._own(self.store.find(name), "sync")
        listing = self.list(saved.url)
        new: list[str] = []

        def change(current):
            merged, found = _merge(current or saved, listing, saved.source, (), self.now())
            new.extend(found)
            return merged

        self.store.update(saved.key, change)
        report = self.index(saved.key, on_progress)
        return replace(report, new=tuple(new))

    # --- questions -----------------------------------------------------------------

    def ask(self, name: str, question: str, k: int = 5):
        """One question across the indexed videos of a collection, each moment titled."""
        saved = self.store.find(name)
        stored = {info.video_id for info in self.library.videos()}
        ids = [v.video_id for v in saved.videos if v.video_id in stored]
        if not ids:
            from ._search import check_question

            check_question(question)
            raise errors.NothingIndexed(saved.title, saved.key)
        return self.titled(self.library.ask_all(question, k, video_ids=ids))

    def titled(self, moments: Iterable):
        """Moments with the video's title from the listing where the transcript has none."""
        titles = {v.video_id: v.title for c in self.all() for v in c.videos if v.title}
        return [m if m.title else replace(m, title=titles.get(m.video_id)) for m in moments]
