"""The default store: a folder of plain files, FAISS for the vectors, no server.

Layout (all JSON is plain data; nothing is ever unpickled)::

    data/videos/<video id>/transcript.json     the transcript last used
    data/videos/<video id>/indexes/<name>/      one per transcript x model x chunking
        meta.json  chunks.json  vectors.faiss  sentences.npy
    data/catalog.json                           what the library lists (rebuilt from the folders)
    data/library/<family>/<version>/            the library-wide index of chunk vectors

An index folder appears only when complete (built aside, renamed into place), and
its meta.json holds checksums of the other files, so a truncated or tampered index
is noticed and rebuilt rather than trusted. The catalog and the library index are
derived from the folders: missing or stale, they are brought up to date, never trusted
over them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import _storage as storage
from ._chunking import Chunking
from ._files_people import PeopleFile
from ._files_records import FileRecords, folder_of
from ._errors import DeleteIncomplete, DeletedWhileIndexing, StoreDamaged, StoredVideoDamaged, StoreUnavailable, VideoBusy
from ._store import (
    INDEX_FORMAT,
    Built,
    Hit,
    Holding,
    IndexInfo,
    StoredIndex,
    StoredVideo,
    family_of,
    held_once,
    Viewer,
    split_key,
)
from ._transcript import Transcript
from ._vectors import INDEX_FILE, SENTENCES_FILE, FaissIndexVectors, LibraryIndex, chunk_vectors_from

#: A folder name a video can have: YouTube's 11-character ids, and the transcript names
#: evaluation uses (``EmKQsSDlaa4.es``, ``tutorialvqa-12``); never a path.
VIDEO_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
CATALOG_FORMAT = 1
_VERSION = re.compile(r"v[0-9]{1,24}-[0-9]{1,10}")
#: The library index is rebuilt once this many vectors are outside it (and a tenth of it).
COMPACT_MIN = 20_000
#: ... or once a quarter of its rows belong to indexes no longer current.
STALE_SHARE = 0.25
#: Among a video's indexes of one family, which one the library searches.
_MODE_PREFERENCE = {"chunks+sentences": 0, "chunks": 1, "sentences": 2}


#: The only files an index folder holds: a meta.json naming anything else is damaged.
INDEX_FILES = frozenset({"chunks.json", INDEX_FILE, SENTENCES_FILE})
#: The largest stored transcript or index file read back (bigger is damage, not data).
TRANSCRIPT_LIMIT = 256 << 20
INDEX_FILE_LIMIT = 2 << 30
#: How long a delete waits for a video another process is indexing before refusing.
DELETE_WAIT = 2.0


def _read_index(folder: Path, only: Sequence[str] | None = None) -> tuple[dict, dict[str, bytes]]:
    """meta.json and the bytes of the files it lists (or of ``only`` those), each read once
    and checked against its checksum; ``ValueError``/``OSError`` naming what is wrong.

    A file it lists that cannot be read means the index is damaged or being deleted:
    never an index with fewer vectors."""
    meta = json.loads(storage.read_limited(Path(folder) / "meta.json", 1 << 20).decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
        raise ValueError("its meta.json is not an index of this format")
    listed = meta.get("files")
    if not isinstance(listed, dict) or not {"chunks.json", INDEX_FILE} <= set(listed) <= INDEX_FILES \
            or not all(isinstance(digest, str) for digest in listed.values()):
        raise ValueError("its meta.json lists files an index does not have")
    files = {}
    for name in (listed if only is None else only):
        data = storage.read_limited(Path(folder) / name, INDEX_FILE_LIMIT)
        if hashlib.sha256(data).hexdigest() != listed[name]:
            raise ValueError(f"its {name} does not match its checksum")
        files[name] = data
    return meta, files


def verified(folder: Path) -> dict | None:
    """The index's meta.json when every file it lists has its checksum, else None."""
    try:
        return _read_index(folder)[0]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _info(meta: dict, video_id: str, name: str) -> IndexInfo:
    """meta.json as an IndexInfo, checked against where it lies: ``ValueError`` when it
    describes another index (a copied or swapped folder) or has wrong types."""
    data = dict(meta)
    expected = f"{video_id}/{name}"
    if data.setdefault("key", expected) != expected:
        raise ValueError("its meta.json describes another index")
    if data.setdefault("video_id", video_id) != video_id:
        raise ValueError("its meta.json describes another video's index")
    data.setdefault("family", family_of(str(meta.get("model_key")), str(meta.get("chunking"))))
    info = IndexInfo.from_json(data)
    if not name.startswith(info.transcript + "-"):
        raise ValueError("its meta.json describes another transcript")
    return info


def _read_transcript(path: Path, video_id: str) -> Transcript | None:
    """The transcript stored at ``path`` for ``video_id``: None when there is none,
    ``StoredVideoDamaged`` when it cannot be used (never another video's)."""
    kind = storage.kind_of(path)
    if kind is None:
        return None
    if kind == "missing parent":
        raise StoredVideoDamaged(video_id, "its folder is not a folder")
    if kind != "file":
        raise StoredVideoDamaged(video_id, f"transcript.json is a {kind}, not a file")
    try:
        data = json.loads(storage.read_limited(path, TRANSCRIPT_LIMIT).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise StoredVideoDamaged(video_id, f"transcript.json cannot be read: {error}") from None
    except (ValueError, RecursionError):
        raise StoredVideoDamaged(video_id, "transcript.json is not valid JSON (cut short or overwritten)") from None
    try:
        transcript = Transcript.from_json(data)
    except ValueError as error:
        raise StoredVideoDamaged(video_id, f"transcript.json: {error}") from None
    if transcript.video_id != video_id:
        raise StoredVideoDamaged(video_id, f"transcript.json holds another video's transcript "
                                           f"({transcript.video_id[:40]!r}), copied or swapped in")
    return transcript


def _damaged_entry(video_id: str, reason: str, stamp) -> dict:
    return {"video": {"video_id": video_id, "title": None, "duration": 0.0, "language": "",
                      "language_code": "", "kind": "damaged", "source": "", "transcript": ""},
            "damaged": reason, "stamp": stamp, "indexes": {}}


def _valid_entry(video_id: str, entry) -> bool:
    """Whether a catalog entry has the shape the catalog writes (else it is scanned again)."""
    try:
        video = entry["video"]
        texts = ("language", "language_code", "kind", "source", "transcript")
        duration = video["duration"]
        if not (VIDEO_ID.fullmatch(video_id) and video["video_id"] == video_id
                and all(isinstance(video[n], str) for n in texts)
                and (video["title"] is None or isinstance(video["title"], str))
                and isinstance(duration, (int, float)) and not isinstance(duration, bool)
                and 0 <= duration <= 1e7
                and (entry.get("damaged") is None or isinstance(entry["damaged"], str))
                and (entry.get("stamp") is None or (isinstance(entry["stamp"], list)
                                                    and all(isinstance(x, int) for x in entry["stamp"])))
                and isinstance(entry.get("indexes", {}), dict)):
            return False
        for name, data in entry.get("indexes", {}).items():
            if split_key(f"{video_id}/{name}") and IndexInfo.from_json(data).key != f"{video_id}/{name}":
                return False
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


def _video_entry(transcript: Transcript) -> dict:
    return {
        "video_id": transcript.video_id, "title": transcript.title, "duration": transcript.duration,
        "language": transcript.language, "language_code": transcript.language_code,
        "kind": transcript.kind, "source": transcript.source, "transcript": transcript.fingerprint(),
    }


def _stamp(path: Path) -> list[int] | None:
    try:
        stat = os.lstat(path)
    except OSError:
        return None
    return [stat.st_mtime_ns, stat.st_size]


class _Catalog:
    """``catalog.json``: each video's listing and its indexes, so listing reads one file.

    Kept under a lock, read-modify-write; each entry carries its transcript file's
    stamp, so a transcript changed or damaged behind our back is read again.
    """

    def __init__(self, root: Path):
        self.root = root
        self.path = root / "catalog.json"
        self._cache: tuple | None = None  # (stamp, entries)
        self._empty: set[str] = set()
        self._listed: tuple | None = None
        self._batch: dict | None = None
        self._mutex = threading.RLock()

    def _lock(self):
        return storage.locked(self.root / ".catalog.lock")

    def _read(self) -> dict:
        stamp = _stamp(self.path)
        if self._cache is not None and stamp is not None and self._cache[0] == stamp:
            return self._cache[1]
        data = storage.read_json(self.path)
        entries = data.get("videos") if isinstance(data, dict) and data.get("format") == CATALOG_FORMAT else None
        if not isinstance(entries, dict):
            entries = None
        else:  # an entry of the wrong shape is dropped, so the folder is scanned again
            entries = {k: e for k, e in entries.items() if _valid_entry(k, e)}
        if entries is not None and stamp is not None:
            self._cache = (stamp, entries)
        return entries if entries is not None else {}

    def _write(self, entries: dict) -> None:
        storage.write_atomic(self.path, json.dumps({"format": CATALOG_FORMAT, "videos": entries},
                                                   ensure_ascii=False, separators=(",", ":")))
        self._cache = (_stamp(self.path), entries)

    def entries(self) -> dict:
        """Every video, reconciled with the folders (new folders scanned, gone ones dropped)."""
        with self._mutex:
            entries = self._read()
            folders = self._folders()
            if set(entries) | (self._empty & folders) == folders:
                return entries
            with self._lock():
                entries = dict(self._read())
                folders = self._folders()
                for gone in set(entries) - folders:
                    del entries[gone]
                for video_id in sorted(folders - set(entries)):
                    entry = self._scan(video_id)
                    if entry is None:
                        self._empty.add(video_id)  # a folder with no transcript (yet)
                    else:
                        entries[video_id] = entry
                if set(entries) != set(self._read()) or not self.path.exists():
                    self._write(entries)
                return entries

    def _folders(self) -> set[str]:
        """The video folders there are; listed again only when the folder of folders changed."""
        stamp = _stamp(self.root / "videos")
        if stamp is not None and self._listed is not None and self._listed[0] == stamp:
            return self._listed[1]
        try:
            names = os.listdir(self.root / "videos")
        except OSError:
            return set()
        if any(n.startswith(".trash-") for n in names):
            storage.clean_trash(self.root / "videos")  # deletes that stopped half-way
        folders = {n for n in names if VIDEO_ID.fullmatch(n)}
        if stamp is not None and time.time_ns() - stamp[0] > 2_000_000_000:
            # A change within the clock's resolution could leave the stamp as it was: only
            # a listing older than that is kept.
            self._listed = (stamp, folders)
        return folders

    def _scan(self, video_id: str) -> dict | None:
        """The folder's entry, read from its files; a damaged one is an entry too (listed as
        damaged, so it can be seen and deleted); None for a folder with nothing in it yet."""
        folder = self.root / "videos" / video_id
        kind = storage.kind_of(folder)
        if kind is None:
            return None
        if kind != "folder":
            return _damaged_entry(video_id, f"its folder is a {kind}", None)
        path = folder / "transcript.json"
        try:
            transcript = _read_transcript(path, video_id)
        except StoredVideoDamaged as error:
            return _damaged_entry(video_id, error.reason, _stamp(path))
        indexes = {}
        found = False
        if storage.kind_of(folder / "indexes") == "folder":
            for index_folder in sorted((folder / "indexes").glob("[!.]*")):
                found = True
                meta = storage.read_json(index_folder / "meta.json")
                if isinstance(meta, dict) and meta.get("format") == INDEX_FORMAT:
                    try:
                        indexes[index_folder.name] = _info(meta, video_id, index_folder.name).to_json()
                    except (KeyError, TypeError, ValueError):
                        continue
        if transcript is None:
            return _damaged_entry(video_id, "its transcript.json is missing", None) if found else None
        return {"video": _video_entry(transcript), "stamp": _stamp(path), "indexes": indexes}

    @contextlib.contextmanager
    def batch(self):
        """Many updates, one write: the catalog stays locked meanwhile (an import of many videos)."""
        with self._mutex:
            self.entries()  # reconciled with the folders first (that may take the lock itself)
            with self._lock():
                self._batch = dict(self._read())
                try:
                    yield
                    self._write(self._batch)
                finally:
                    self._batch = None

    def update(self, video_id: str, change) -> None:
        """Apply ``change(entry or None) -> entry or None`` under the catalog's lock."""
        if self._batch is not None:
            with self._mutex:
                entry = change(self._batch.get(video_id))
                if entry is None:
                    self._batch.pop(video_id, None)
                else:
                    self._batch[video_id] = entry
            return
        with self._mutex, self._lock():
            entries = dict(self._read())
            if not self.path.exists() and self._folders():
                entries = {}  # a library from before the catalog: scanned once
                for vid in self._folders():
                    entry = self._scan(vid)
                    if entry is not None:
                        entries[vid] = entry
            entry = change(entries.get(video_id))
            self._empty.discard(video_id)
            if entry is None:
                entries.pop(video_id, None)
            else:
                entries[video_id] = entry
            self._write(entries)

    def version(self):
        """Changes whenever the catalog file does."""
        return self._cache[0] if self._cache is not None else None

    def rescan(self, video_id: str) -> None:
        self.update(video_id, lambda _old: self._scan(video_id))


@dataclass
class _FamilyState:
    """One family's library index in memory: the published part and what came after it."""

    catalog: object = -1
    version: str | None = None
    base: LibraryIndex | None = None
    delta: LibraryIndex | None = None
    live: dict = field(default_factory=dict)  # key -> (video id, chunks)
    loaded: dict = field(default_factory=dict)  # key -> chunk vectors outside the base


class FileStore:
    """``Store`` over a folder: FAISS files, JSON, atomic renames, file locks."""

    def __init__(self, root: str | os.PathLike, lock_wait: float = storage.LOCK_WAIT, notice=None):
        """``lock_wait``: how long to wait for a video another process is writing before
        giving up (saying who holds it); ``notice``: told what is waited for meanwhile."""
        self.root = Path(root)
        self.location = str(self.root)
        for path in (self.root, self.root / "videos"):
            kind = storage.kind_of(path)
            if kind not in (None, "folder", "link") or (kind == "link" and not path.is_dir()):
                raise StoreUnavailable(str(path), f"it is a {'file' if kind == 'file' else kind}, not a folder",
                                       "Give the library's folder with --data-dir (or YTQA_DATA_DIR), "
                                       "or move that file out of the way.")
        self.lock_wait = lock_wait
        self.notice = notice
        self._catalog = _Catalog(self.root)
        self._people = PeopleFile(self.root)
        self._held = threading.local()
        self._families: dict[str, _FamilyState] = {}
        self._family_mutex = threading.Lock()
        self._building: set[str] = set()
        self._fresh: dict[str, tuple] = {}

    def close(self) -> None:
        self._families.clear()

    def build_queue(self):
        """The queue of background builds (``_files_queue``): one per store object."""
        if getattr(self, "_queue", None) is None:
            from ._files_queue import FileQueue

            self._queue = FileQueue(self.root)
        return self._queue

    def batch(self):
        """``with store.batch():`` many videos saved and indexed, the catalog written once."""
        return self._catalog.batch()

    @contextlib.contextmanager
    def scratch(self):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="ytqa-scratch-") as folder:
            yield FileStore(folder)

    def records(self, kind: str) -> FileRecords:
        """The records of that kind, one JSON file each (``collections/``, ``app/histories/``)."""
        return FileRecords(folder_of(self.root, kind), kind)

    # --- paths and locks -----------------------------------------------------

    def _video_dir(self, video_id: str) -> Path:
        if not isinstance(video_id, str) or not VIDEO_ID.fullmatch(video_id):
            raise ValueError(f"not a video id: {video_id!r:.60}")
        return self.root / "videos" / video_id

    def folder(self, key: str) -> Path:
        """Where the index of ``key`` lives (or would)."""
        video_id, name = split_key(key)
        return self._video_dir(video_id) / "indexes" / name

    def lock(self, video_id: str, wait: float | None = None, busy=None):
        """The video's lock: a file under ``locks/``, outside the video's folder, so a delete
        (which moves that folder away) never takes the lock with it."""
        return self._lock(video_id, self.lock_wait if wait is None else wait, busy)

    def _lock(self, video_id: str, wait: float, busy=None):
        self._video_dir(video_id)  # a video id, never a path
        return held_once(self._held, video_id, lambda: storage.locked(
            self.root / "locks" / f"{video_id}.lock", what=video_id, wait=wait,
            notice=self.notice, busy=busy, doing=f"writing {video_id}"))

    def _writable_folder(self, video_id: str) -> Path:
        """The video's folder, ready to write into: what is not ours there (a file or a
        link where a folder goes, a folder where a file goes) is put aside first, and a
        link is never written through."""
        folder = self._video_dir(video_id)
        if storage.kind_of(folder) not in (None, "folder"):
            storage.remove_folder(folder)
        for name, want in (("transcript.json", "file"), ("indexes", "folder")):
            if storage.kind_of(folder / name) not in (None, want):
                storage.remove_folder(folder / name)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- transcripts ---------------------------------------------------------

    def transcript(self, video_id: str) -> Transcript | None:
        folder = self._video_dir(video_id)
        kind = storage.kind_of(folder)
        if kind is None:
            return None
        if kind != "folder":
            raise StoredVideoDamaged(video_id, f"its folder is a {kind}")
        transcript = _read_transcript(folder / "transcript.json", video_id)
        if transcript is None and storage.kind_of(folder / "indexes") == "folder" \
                and any(not n.startswith(".") for n in os.listdir(folder / "indexes")):
            raise StoredVideoDamaged(video_id, "its transcript.json is missing")  # its indexes are there
        return transcript

    def save_transcript(self, transcript: Transcript) -> None:
        video_id = transcript.video_id
        with self.lock(video_id):
            path = self._writable_folder(video_id) / "transcript.json"
            storage.write_atomic(path, transcript.dumps())
            self._catalog.rescan(video_id)

    # --- indexes -------------------------------------------------------------

    def has(self, key: str) -> bool:
        return verified(self.folder(key)) is not None

    def _load(self, key: str) -> StoredIndex:
        video_id, name = split_key(key)
        meta, files = _read_index(self.folder(key))
        info = _info(meta, video_id, name)
        chunking = Chunking.from_json(json.loads(files["chunks.json"].decode("utf-8")))
        if (len(chunking.chunks), len(chunking.sentences)) != (info.chunks, info.sentences):
            raise ValueError("its chunks are not the ones its meta.json counts")
        if (SENTENCES_FILE in files) != (info.mode != "chunks"):
            raise ValueError("its sentence vectors are missing" if info.mode != "chunks"
                             else "it has sentence vectors it should not")
        return StoredIndex(info, chunking, FaissIndexVectors.from_files(files, info.chunks, info.sentences))

    def get(self, key: str) -> StoredIndex | None:
        folder = self.folder(key)
        if storage.kind_of(folder) is None:
            return None
        video_id, _ = split_key(key)
        try:
            return self._load(key)
        except Exception:
            pass
        # Damaged, or being deleted: looked at again under the video's lock (a writer may
        # have been mid-way); still unusable, it is moved aside and rebuilt from the transcript.
        with self.lock(video_id):
            if storage.kind_of(folder) is None:
                return None
            try:
                return self._load(key)
            except Exception:
                storage.remove_folder(folder)
        self._catalog.rescan(video_id)
        return None

    def put(self, info: IndexInfo, built: Built, transcript: Transcript | None = None) -> StoredIndex:
        folder = self.folder(info.key)
        vectors = FaissIndexVectors.build(built.chunk_vectors, built.sentence_vectors)
        with self.lock(info.video_id):
            if transcript is not None:  # the video's new transcript, then its index (each atomic)
                self.save_transcript(transcript)
            try:
                current = self.transcript(info.video_id)
            except StoredVideoDamaged:
                current = None
            if current is None or current.fingerprint() != info.transcript:
                # Deleted (or replaced) since it was read: an index is kept only beside its
                # transcript, so a delete stays deleted.
                raise DeletedWhileIndexing(info.video_id)
            if self.has(info.key):  # another process finished it first
                stored = self.get(info.key)
                if stored is not None:
                    return stored
            self._writable_folder(info.video_id)
            folder.parent.mkdir(parents=True, exist_ok=True)
            storage.remove_leftovers(folder.parent)  # from a process killed mid-build
            storage.remove_leftovers(folder.parent.parent)
            tmp = folder.parent / f".building-{os.getpid()}-{os.urandom(3).hex()}-{folder.name}"
            tmp.mkdir()
            try:
                storage.write_atomic(tmp / "chunks.json",
                                     json.dumps(built.chunking.to_json(), ensure_ascii=False))
                names = ["chunks.json"] + vectors.save(tmp)
                meta = {**info.to_json(), "files": {n: storage.sha256_file(tmp / n) for n in names}}
                storage.write_atomic(tmp / "meta.json", json.dumps(meta, indent=1))
                if storage.kind_of(folder) is not None:  # a damaged one the loader could not use
                    storage.remove_folder(folder)
                storage.publish_folder(tmp, folder)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)

            def change(entry):
                entry = dict(entry) if entry and not entry.get("damaged") else self._catalog._scan(info.video_id)
                if entry is None:
                    return None
                entry["indexes"] = {**entry.get("indexes", {}), folder.name: info.to_json()}
                return entry

            self._catalog.update(info.video_id, change)
        return StoredIndex(info, built.chunking, vectors)

    # --- the library ---------------------------------------------------------

    def _entries(self) -> dict:
        return self._catalog.entries()

    def _listed(self, entry: dict) -> StoredVideo | None:
        video_id = entry["video"]["video_id"]  # checked against its key when the catalog was read
        path = self.root / "videos" / video_id / "transcript.json"
        if _stamp(path) != entry.get("stamp"):
            self._catalog.rescan(video_id)
            entry = self._entries().get(video_id)
            if entry is None:
                return None
        video = entry["video"]
        if entry.get("damaged"):
            return StoredVideo(video_id=video_id, title=None, duration=0.0, language="", language_code="",
                               kind="damaged", source="", transcript="", damaged=entry["damaged"])
        indexes = []
        for name, data in entry.get("indexes", {}).items():
            if storage.kind_of(path.parent / "indexes" / name / "meta.json") == "file":
                try:
                    indexes.append(IndexInfo.from_json(data))
                except (KeyError, TypeError, ValueError):
                    continue
        return StoredVideo(
            video_id=video_id, title=video.get("title"), duration=float(video["duration"]),
            language=video["language"], language_code=video["language_code"], kind=video["kind"],
            source=video["source"], transcript=video["transcript"], indexes=tuple(indexes),
        )

    def _matching(self, search: str | None, visible_to: Viewer | None = None) -> list[dict]:
        entries = self._entries()
        rows = [entries[v] for v in sorted(entries)]
        if visible_to is not None:
            held = self._people.by_video()
            rows = [e for e in rows if visible_to.sees(held.get(e["video"]["video_id"], ()))]
        if search:
            needle = search.casefold()
            rows = [e for e in rows if needle in e["video"]["video_id"].casefold()
                    or needle in (e["video"].get("title") or "").casefold()]
        return rows

    def videos(self, offset: int = 0, limit: int | None = None, search: str | None = None,
               visible_to: Viewer | None = None) -> list[StoredVideo]:
        rows = self._matching(search, visible_to)
        rows = rows[offset:] if limit is None else rows[offset : offset + limit]
        return [v for v in (self._listed(e) for e in rows) if v is not None]

    def count(self, search: str | None = None, visible_to: Viewer | None = None) -> int:
        return len(self._matching(search, visible_to))

    def video_ids(self, visible_to: Viewer | None = None) -> list[str]:
        return [e["video"]["video_id"] for e in self._matching(None, visible_to)]

    # --- who holds what ------------------------------------------------------

    def holdings(self, video_ids: Sequence[str] | None = None) -> list[Holding]:
        return self._people.holdings(video_ids)

    def hold(self, video_id: str, person: str, shared: bool | None = None, group: str | None = None) -> None:
        self._video_dir(video_id)  # a video id, never a path
        self._people.hold(video_id, person, shared, group)

    def release(self, video_id: str, person: str) -> None:
        self._people.release(video_id, person)

    def remove(self, video_id: str) -> bool:
        folder = self._video_dir(video_id)
        storage.clean_trash(self.root / "videos")  # deletes that stopped half-way before

        def stored() -> bool:
            return storage.kind_of(folder) is not None or video_id in self._catalog._read()

        if not stored() and storage.kind_of(self.root / "locks" / f"{video_id}.lock") is None:
            return False  # never stored, and nobody is indexing it (that takes the lock file)

        def busy(holder, _waited, _stopped):
            return VideoBusy(video_id, holder)

        with self.lock(video_id, wait=DELETE_WAIT, busy=busy):
            if not stored():
                return False
            problems = storage.remove_folder(folder) if storage.kind_of(folder) is not None else []
            self._catalog.update(video_id, lambda _entry: None)
            self._people.release(video_id)
        if problems:
            more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
            raise DeleteIncomplete(video_id, problems[0] + more, "permission denied or in use")
        return True

    # --- one search over the library -----------------------------------------

    def _live(self, family: str) -> dict[str, tuple[str, int]]:
        """Each video's current index of the family: key -> (video id, chunks)."""
        live = {}
        for video_id, entry in self._entries().items():
            current = entry["video"]["transcript"]
            best = None
            for data in entry.get("indexes", {}).values():
                if data.get("family") != family or data.get("transcript") != current:
                    continue
                rank = _MODE_PREFERENCE.get(data.get("vectors"), 9)
                if best is None or rank < best[0]:
                    best = (rank, data)
            if best is not None:
                live[best[1]["key"]] = (video_id, int(best[1]["chunks"]))
        return live

    def _library_folder(self, family: str) -> Path:
        return self.root / "library" / family

    def _published(self, family: str) -> str | None:
        data = storage.read_json(self._library_folder(family) / "current.json")
        version = data.get("version") if isinstance(data, dict) else None
        # A name this store writes (v<time>-<pid>), never a path: anything else is damage.
        return version if isinstance(version, str) and _VERSION.fullmatch(version) else None

    def _vectors_of(self, key: str, chunks: int) -> np.ndarray | None:
        try:
            _, files = _read_index(self.folder(key), only=[INDEX_FILE])
            return chunk_vectors_from(files[INDEX_FILE], chunks)
        except Exception:
            return None

    def _state(self, family: str) -> _FamilyState:
        """The family's library index, brought up to date with the catalog."""
        state = self._families.setdefault(family, _FamilyState())
        self._entries()
        stamp = self._catalog.version()
        version = self._published(family)
        if state.catalog == stamp and state.version == version:
            return state
        fresh = self._fresh.pop(family, None)
        if fresh is not None and fresh[0] == version and version != state.version:
            state.base, state.version = fresh[1], version  # built here, in the background
        if version != state.version:
            state.base, state.version = None, None
            if version is not None:
                try:
                    state.base = LibraryIndex.load(self._library_folder(family) / version)
                    state.version = version
                except Exception:
                    state.base = None  # damaged or half-removed: rebuilt below
        live = self._live(family)
        in_base = state.base.keys() if state.base is not None else set()
        outside = {key: value for key, value in live.items() if key not in in_base}
        state.loaded = {key: state.loaded[key] for key in outside if key in state.loaded}
        for key, (video_id, chunks) in outside.items():
            if key not in state.loaded:
                vectors = self._vectors_of(key, chunks)
                if vectors is not None:
                    state.loaded[key] = vectors
        state.live = live
        base_size = state.base.size if state.base is not None else 0
        waiting = sum(len(v) for v in state.loaded.values())
        stale = sum(m.count for m in state.base.members if m.key not in live) if state.base else 0
        parts = [(key, live[key][0], vectors) for key, vectors in state.loaded.items()]
        dim = next((v.shape[1] for v in state.loaded.values()), 0)
        state.delta = LibraryIndex.build(parts, dim, flat_limit=1 << 62) if parts else None
        state.catalog = stamp
        due = (waiting >= COMPACT_MIN and waiting >= 0.1 * base_size) or (
            base_size and stale > STALE_SHARE * base_size)
        if due and family not in self._building:
            # Rebuilt behind the questions, which the published part and the rest answer meanwhile.
            self._building.add(family)
            threading.Thread(target=self._build_behind, args=(family,), daemon=True, name="ytqa-job-library-index").start()
        return state

    def _build_behind(self, family: str) -> None:
        try:
            index = self.build_library(family, _FamilyState())
            if index is not None:
                self._fresh[family] = (self._published(family), index)
        except Exception:
            pass  # the next search tries again; until then the questions are answered as before
        finally:
            self._building.discard(family)

    def build_library(self, family: str, state: _FamilyState | None = None) -> LibraryIndex | None:
        """Rebuild the family's library index from every current index, and publish it."""
        state = state or self._families.setdefault(family, _FamilyState())
        folder = self._library_folder(family)
        folder.mkdir(parents=True, exist_ok=True)
        with storage.locked(folder / ".lock"):
            live = self._live(family)
            base = state.base
            sizes = [count for _, count in live.values()]

            def parts():
                for key, (video_id, chunks) in live.items():
                    if base is not None and key in base.keys():
                        vectors = base.vectors_of(key)
                    else:
                        vectors = state.loaded.get(key)
                        if vectors is None:
                            vectors = self._vectors_of(key, chunks)
                    if vectors is not None:
                        yield key, video_id, vectors

            first = next(iter(live), None)
            if first is None:
                return None
            probe = self._vectors_of(first, live[first][1]) if base is None or first not in base.keys() \
                else base.vectors_of(first)
            dim = probe.shape[1] if probe is not None else 0
            index = LibraryIndex.build(parts(), dim, total=sum(sizes), count=len(live))
            version = f"v{time.time_ns()}-{os.getpid()}"
            storage.remove_leftovers(folder)
            tmp = folder / f".building-{os.getpid()}-{os.urandom(3).hex()}-{version}"
            tmp.mkdir()
            try:
                index.save(tmp)
                storage.publish_folder(tmp, folder / version)
                storage.write_atomic(folder / "current.json", json.dumps({"version": version}))
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
            for old in folder.glob("v*"):
                if old.name != version:
                    storage.remove_folder(old)
            state.base, state.version, state.delta, state.loaded, state.live = index, version, None, {}, live
            return index

    def search(self, family: str, query: np.ndarray, k: int,
               video_ids: Sequence[str] | None = None, visible_to: Viewer | None = None) -> list[Hit]:
        """``visible_to``: only the videos that person sees (``_access.sees``); this store reads
        its one file of holdings for it, so here (one computer's library) the cost grows with
        the library, as the catalog's does."""
        with self._family_mutex:
            state = self._state(family)
        chosen = None if video_ids is None else set(video_ids)
        held = None if visible_to is None else self._people.by_video()
        if chosen is None and held is None:
            wanted = set(state.live)
        else:
            wanted = {key for key, (video_id, _) in state.live.items()
                      if (chosen is None or video_id in chosen)
                      and (held is None or visible_to.sees(held.get(video_id, ())))}
        found = []
        for part in (state.base, state.delta):
            if part is None:
                continue
            keys = wanted & part.keys()
            if not keys:
                continue
            found += part.search(query, k, None if keys == part.keys() else keys)
        found.sort(key=lambda hit: -hit[2])
        return [Hit(m.video_id, m.key, position, score) for m, position, score in found[:k]]
