"""What a library store is: plain types at its edges and the two protocols every store keeps.

A *store* keeps transcripts and built indexes, lists the library and searches it as one:
``FileStore`` (FAISS files under a folder, the default) and ``PostgresStore`` (a
PostgreSQL server with pgvector, shared by many processes and machines). Each index
is addressed only by its key, which names the video, its transcript, the model and
how it was cut (``index_key``), so two indexes never mix.

Every vector goes through a store: an index's ``vectors`` (its chunk and sentence
vectors, searched for one video) and the store's ``search`` (chunk vectors of many
videos, searched at once). Nothing outside the stores computes ``vectors @ query``.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from ._chunking import Chunking
from ._registry import Registry
from ._transcript import Transcript

if TYPE_CHECKING:
    import numpy as np

#: Bumped when the stored form of an index changes: older indexes are rebuilt.
INDEX_FORMAT = 1
#: chunks: one vector a chunk; chunks+sentences: also one a sentence (answers start at
#: the best sentence, and sentence matches rank chunks); sentences: sentence vectors
#: only, a chunk's vector pooled from its sentences (no long inputs to embed: faster).
VECTOR_MODES = ("chunks+sentences", "sentences", "chunks")
_MODE_TAGS = {"chunks": "", "chunks+sentences": "-sv", "sentences": "-so"}


def family_of(model_key: str, chunking_key: str) -> str:
    """Indexes whose chunk vectors are comparable: one model, one way of cutting."""
    return f"{model_key}-{chunking_key}-f{INDEX_FORMAT}"


def index_key(video_id: str, fingerprint: str, model_key: str, chunking_key: str, mode: str) -> str:
    """``<video id>/<transcript>-<model>-<chunking><mode>-f<format>``: one index, never another's."""
    return f"{video_id}/{fingerprint}-{model_key}-{chunking_key}{_MODE_TAGS[mode]}-f{INDEX_FORMAT}"


def split_key(key: str) -> tuple[str, str]:
    """(video id, the rest): the rest names the index among the video's own."""
    if not isinstance(key, str):
        raise ValueError(f"not an index key: {key!r:.60}")
    video_id, _, name = key.partition("/")
    if not video_id or not name or "/" in name or name.startswith(".") or "\0" in key:
        raise ValueError(f"not an index key: {key!r}")
    return video_id, name


@dataclass(frozen=True)
class IndexInfo:
    """What is known about a stored index without opening it."""

    key: str
    video_id: str
    family: str
    mode: str
    model: str
    model_key: str
    chunking: str
    transcript: str
    chunks: int
    sentences: int
    created: float = 0.0

    def to_json(self) -> dict:
        return {
            "format": INDEX_FORMAT, "key": self.key, "video_id": self.video_id, "family": self.family,
            "vectors": self.mode, "model": self.model, "model_key": self.model_key,
            "chunking": self.chunking, "transcript": self.transcript, "chunks": self.chunks,
            "sentences": self.sentences, "created": self.created,
        }

    @classmethod
    def from_json(cls, data: dict) -> "IndexInfo":
        """As stored; ``ValueError`` naming the field when one has the wrong type (damage)."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")

        def text(name: str) -> str:
            value = data.get(name)
            if not isinstance(value, str):
                raise ValueError(f"its {name} is not a text")
            return value

        def count(name: str) -> int:
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"its {name} is not a count")
            return value

        created = data.get("created", 0.0)
        if isinstance(created, bool) or not isinstance(created, (int, float)) or created != created:
            raise ValueError("its created is not a time")
        mode = text("vectors")
        if mode not in VECTOR_MODES:
            raise ValueError(f"its vectors {mode!r:.40} is not one of {', '.join(VECTOR_MODES)}")
        info = cls(
            key=text("key"), video_id=text("video_id"), family=text("family"), mode=mode,
            model=text("model"), model_key=text("model_key"), chunking=text("chunking"),
            transcript=text("transcript"), chunks=count("chunks"), sentences=count("sentences"),
            created=float(created),
        )
        if split_key(info.key)[0] != info.video_id:
            raise ValueError("its key names another video")
        return info


@dataclass(frozen=True)
class Built:
    """An index as the builder makes it, before any store has it."""

    chunking: Chunking
    chunk_vectors: "np.ndarray"
    sentence_vectors: "np.ndarray | None"


@dataclass(frozen=True)
class StoredVideo:
    """One video of the library, as listing shows it (no transcript lines, no vectors)."""

    video_id: str
    title: str | None
    duration: float
    language: str
    language_code: str
    kind: str
    source: str
    #: The fingerprint of the transcript stored now.
    transcript: str
    indexes: tuple[IndexInfo, ...] = field(default=())
    #: Why the stored transcript cannot be used (None: it can). A damaged video is still
    #: listed, so it can be seen and deleted; asking it says what is wrong.
    damaged: str | None = None

    def index(self, key: str) -> IndexInfo | None:
        return next((info for info in self.indexes if info.key == key), None)


@dataclass(frozen=True)
class Holding:
    """One person's hold on a stored video: it is in their library, private or shared.

    A video nobody holds (stored before people were named, or with no person named) is
    everyone's; one that is held is seen by its holders, by everyone once one of them shares
    it, and by a group's members once one shares it with the group (``group``: one of those
    named in YTQA_GROUPS). Who sees what is ``_access.sees``. Many people can hold one video:
    its transcript and indexes are stored once."""

    video_id: str
    person: str
    shared: bool = False
    #: The group the holder shares it with (None: none); never set with ``shared``.
    group: str | None = None


class Viewer(Protocol):
    """Who a listing is for (``_access.Person``): their name, the groups they are in, and
    whether they see a video with these holdings (``_access.sees``, the one rule)."""

    name: str
    groups: frozenset[str]

    def sees(self, held: Sequence[Holding]) -> bool: ...


@dataclass(frozen=True)
class Hit:
    """One chunk found by a search over many videos."""

    video_id: str
    key: str
    position: int
    score: float


class IndexVectors(Protocol):
    """One index's vectors: its chunks searched, its sentences scored."""

    @property
    def size(self) -> int: ...

    def search(self, query: "np.ndarray", k: int) -> list[tuple[int, float]]:
        """The k nearest chunks as (chunk number, inner product), best first."""

    def sentence_scores(self, query: "np.ndarray") -> "np.ndarray | None":
        """Every sentence's inner product with the query, in sentence order (None: no sentence vectors)."""

    def sentence_vectors(self) -> "np.ndarray | None":
        """The sentence vectors themselves (the full index reuses the quick one's)."""


@dataclass(frozen=True)
class StoredIndex:
    info: IndexInfo
    chunking: Chunking
    vectors: IndexVectors


class Store(Protocol):
    """Transcripts, indexes and the library's listing, in one place."""

    location: str
    #: Called with a line for the user while a lock is waited for (None: silent).
    notice: "Callable[[str], None] | None"

    def transcript(self, video_id: str) -> Transcript | None:
        """The stored transcript, None when there is none; ``StoredVideoDamaged`` when it is
        there but unusable (unreadable, wrong types, another video's)."""

    def save_transcript(self, transcript: Transcript) -> None: ...

    def get(self, key: str) -> StoredIndex | None:
        """The index of that key, verified, or None (a damaged one is removed)."""

    def has(self, key: str) -> bool: ...

    def put(self, info: IndexInfo, built: Built, transcript: "Transcript | None" = None) -> StoredIndex:
        """Publish an index whole, or not at all; if another writer got there first, theirs.
        With ``transcript``: the video's new transcript is stored with it (on a server, in
        the same transaction), so a video never has a transcript whose index failed."""

    def lock(self, video_id: str, wait: float | None = None) -> AbstractContextManager:
        """Exclusive between processes (and machines, for a server) for one video's writes.

        Waits at most ``wait`` seconds (the store's bound by default), telling ``notice``
        who holds it, then raises ``LockTimeout``; a video being deleted is never locked
        away from under its holder."""

    def videos(self, offset: int = 0, limit: int | None = None, search: str | None = None) -> list[StoredVideo]:
        """Stored videos in id order; ``search`` keeps those whose title or id contains it."""

    def count(self, search: str | None = None) -> int: ...

    def remove(self, video_id: str) -> bool:
        """Remove the video with its indexes, vectors and holdings; False when nothing was stored.
        Refused (``VideoBusy``) at once while another process is indexing it."""

    def search(self, family: str, query: "np.ndarray", k: int,
               video_ids: Sequence[str] | None = None) -> list[Hit]:
        """The k nearest chunks over every video's current index of ``family`` (or those of
        ``video_ids``), best first: one search, scores comparable across videos. A store may
        also take ``visible_to`` (a ``Viewer``): only the videos that person sees, the rule
        applied in the search itself (both of ours do; without it a person's question lists
        what they see and passes it as ``video_ids``)."""

    def holdings(self, video_ids: Sequence[str] | None = None) -> list[Holding]:
        """Who holds which video (of ``video_ids``, or all), by video id then person."""

    def hold(self, video_id: str, person: str, shared: bool | None = None, group: str | None = None) -> None:
        """``person`` holds the video (``shared`` None: shared as they did, private if new; else
        shared with everyone or not, and with ``group`` or none)."""

    def release(self, video_id: str, person: str) -> None:
        """``person`` no longer holds the video (its data stays: see ``remove``)."""

    def video_ids(self, visible_to: "Viewer | None" = None) -> list[str]:
        """Every stored video's id (those ``visible_to`` that person sees, by ``_access.sees``),
        in id order. ``videos`` and ``count`` take ``visible_to`` too."""

    def scratch(self) -> AbstractContextManager["Store"]:
        """An empty store of the same kind, removed afterwards (evaluation uses one)."""

    def records(self, kind: str) -> "Records":
        """The store's small records of one kind ("collections", "histories"): the shared
        state beside the videos, so every process using the store sees the same."""

    def build_queue(self):
        """The store's queue of background builds (``_queue.BuildQueue``), shared by its processes."""

    def close(self) -> None: ...


class Records(Protocol):
    """Plain-JSON records of one kind, by key (letters, digits, ``_ . @ -``; see ``valid_key``).

    ``update`` reads, changes and writes one record with no other writer in between, in
    this process or any other (a lock file and an atomic write on files, a row lock in one
    transaction on PostgreSQL). A record that cannot be read (not JSON) is damage: ``get``
    raises ``RecordDamaged`` naming it, ``update`` hands ``change`` None (the change writes
    over it), and the other records are untouched."""

    kind: str

    def get(self, key: str) -> "object | None":
        """The record, None when there is none."""

    def update(self, key: str, change: "Callable[[object | None], object | None]") -> "object | None":
        """``change(the record or None)`` stored whole (None: the record is removed); returns it."""

    def keys(self) -> list[str]:
        """Every record's key, sorted."""

    def remove(self, key: str) -> None: ...

    def where(self, key: str) -> str:
        """The record, named for messages: its file, or its row."""


#: What a record's key may be: no separator, no leading dot (lock files), at most 120 characters.
RECORD_KEY = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,119}")


def valid_key(key) -> bool:
    return isinstance(key, str) and RECORD_KEY.fullmatch(key) is not None


#: The kinds of store, by name and URL scheme: a location with a registered scheme opens that
#: store, any other location is a folder. Each is named as "module:class", imported only when
#: a location asks for it, so this factory never imports the stores (they import this module).
#: A store is a class (or function) that takes its location and keeps ``Store``'s protocol.
STORES: "Registry[Callable[[str], Store]]" = Registry("store", "ytqa.register_store")
STORES.register("files", "ytqa._files_store:FileStore", aliases=("folder",))
STORES.register("postgresql", "ytqa._postgres:PostgresStore", aliases=("postgres",),
                schemes=("postgresql", "postgres"))


def register_store(name: str, store: "Callable[[str], Store]", schemes: Sequence[str] = (),
                   aliases: Sequence[str] = ()) -> None:
    """Make ``store`` (a class, or a function, that takes a location and returns a ``Store``)
    known as ``name``: a location ``<scheme>://...`` of one of ``schemes`` then opens it."""
    STORES.register(name, store, aliases, schemes)


def is_store_url(location) -> bool:
    """Whether ``location`` is the URL of a registered store (not a folder)."""
    return isinstance(location, str) and STORES.for_url(location) is not None


def open_store(location: str | os.PathLike) -> Store:
    """A folder (FAISS files), a postgresql:// URL (a shared server), or the URL of a store
    registered for its scheme."""
    if isinstance(location, str) and (store := STORES.for_url(location)) is not None:
        return store(location)
    return STORES.get("files")(location)


@contextlib.contextmanager
def held_once(held: threading.local, video_id: str, acquire):
    """A video's lock taken through ``acquire()`` (a context manager) unless this thread
    holds it already: the bookkeeping that makes every store's ``lock`` re-entrant."""
    ids = getattr(held, "ids", None)
    if ids is None:
        ids = held.ids = set()
    if video_id in ids:
        yield
        return
    with acquire():
        ids.add(video_id)
        try:
            yield
        finally:
            ids.discard(video_id)
