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
from ._store import (
    INDEX_FORMAT,
    Built,
    Hit,
    IndexInfo,
    StoredIndex,
    StoredVideo,
    family_of,
    split_key,
)
from ._transcript import Transcript
from ._vectors import INDEX_FILE, FaissIndexVectors, LibraryIndex, read_chunk_vectors

#: A folder name a video can have: YouTube's 11-character ids, and the transcript names
#: evaluation uses (``EmKQsSDlaa4.es``, ``tutorialvqa-12``); never a path.
VIDEO_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
CATALOG_FORMAT = 1
#: The library index is rebuilt once this many vectors are outside it (and a tenth of it).
COMPACT_MIN = 20_000
#: ... or once a quarter of its rows belong to indexes no longer current.
STALE_SHARE = 0.25
#: Among a video's indexes of one family, which one the library searches.
_MODE_PREFERENCE = {"chunks+sentences": 0, "chunks": 1, "sentences": 2}


def verified(folder: Path) -> dict | None:
    """The index's meta.json when every file it lists has its checksum, else None."""
    meta = storage.read_json(Path(folder) / "meta.json")
    if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
        return None
    try:
        for name, digest in meta["files"].items():
            if storage.sha256_file(Path(folder) / name) != digest:
                return None
    except (OSError, KeyError, AttributeError, TypeError):
        return None
    return meta


def _info(meta: dict, video_id: str, name: str) -> IndexInfo:
    """meta.json as an IndexInfo (indexes written before the store kept key and family too)."""
    data = dict(meta)
    data.setdefault("key", f"{video_id}/{name}")
    data.setdefault("family", family_of(str(meta["model_key"]), str(meta["chunking"])))
    data["video_id"] = video_id
    return IndexInfo.from_json(data)


def _video_entry(transcript: Transcript) -> dict:
    return {
        "video_id": transcript.video_id, "title": transcript.title, "duration": transcript.duration,
        "language": transcript.language, "language_code": transcript.language_code,
        "kind": transcript.kind, "source": transcript.source, "transcript": transcript.fingerprint(),
    }


def _stamp(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
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
        folders = {n for n in names if VIDEO_ID.fullmatch(n)}
        if stamp is not None and time.time_ns() - stamp[0] > 2_000_000_000:
            # A change within the clock's resolution could leave the stamp as it was: only
            # a listing older than that is kept.
            self._listed = (stamp, folders)
        return folders

    def _scan(self, video_id: str) -> dict | None:
        folder = self.root / "videos" / video_id
        transcript = _read_transcript(folder / "transcript.json")
        if transcript is None:
            return None
        indexes = {}
        for index_folder in sorted((folder / "indexes").glob("[!.]*")):
            meta = storage.read_json(index_folder / "meta.json")
            if isinstance(meta, dict) and meta.get("format") == INDEX_FORMAT:
                try:
                    indexes[index_folder.name] = _info(meta, video_id, index_folder.name).to_json()
                except (KeyError, TypeError, ValueError):
                    continue
        return {"video": _video_entry(transcript), "stamp": _stamp(folder / "transcript.json"),
                "indexes": indexes}

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


def _read_transcript(path: Path) -> Transcript | None:
    data = storage.read_json(path)
    if not isinstance(data, dict):
        return None
    try:
        return Transcript.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


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

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.location = str(self.root)
        self._catalog = _Catalog(self.root)
        self._held = threading.local()
        self._families: dict[str, _FamilyState] = {}
        self._family_mutex = threading.Lock()
        self._building: set[str] = set()
        self._fresh: dict[str, tuple] = {}

    def close(self) -> None:
        self._families.clear()

    def batch(self):
        """``with store.batch():`` many videos saved and indexed, the catalog written once."""
        return self._catalog.batch()

    @contextlib.contextmanager
    def scratch(self):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="ytqa-scratch-") as folder:
            yield FileStore(folder)

    # --- paths and locks -----------------------------------------------------

    def _video_dir(self, video_id: str) -> Path:
        if not VIDEO_ID.fullmatch(video_id):
            raise ValueError(f"not a video id: {video_id!r}")
        return self.root / "videos" / video_id

    def folder(self, key: str) -> Path:
        """Where the index of ``key`` lives (or would)."""
        video_id, name = split_key(key)
        return self._video_dir(video_id) / "indexes" / name

    @contextlib.contextmanager
    def lock(self, video_id: str):
        held = getattr(self._held, "ids", None)
        if held is None:
            held = self._held.ids = set()
        if video_id in held:  # this thread holds it already
            yield
            return
        with storage.locked(self._video_dir(video_id) / ".lock"):
            held.add(video_id)
            try:
                yield
            finally:
                held.discard(video_id)

    # --- transcripts ---------------------------------------------------------

    def transcript(self, video_id: str) -> Transcript | None:
        return _read_transcript(self._video_dir(video_id) / "transcript.json")

    def save_transcript(self, transcript: Transcript) -> None:
        path = self._video_dir(transcript.video_id) / "transcript.json"
        storage.write_atomic(path, transcript.dumps())

        def change(entry):
            entry = dict(entry or {"indexes": {}})
            entry["video"] = _video_entry(transcript)
            entry["stamp"] = _stamp(path)
            return entry

        self._catalog.update(transcript.video_id, change)

    # --- indexes -------------------------------------------------------------

    def has(self, key: str) -> bool:
        return verified(self.folder(key)) is not None

    def get(self, key: str) -> StoredIndex | None:
        folder = self.folder(key)
        if not folder.exists():
            return None
        video_id, name = split_key(key)
        meta = verified(folder)
        try:
            if meta is None:
                raise ValueError("incomplete or corrupted")
            info = _info(meta, video_id, name)
            chunking = Chunking.from_json(json.loads((folder / "chunks.json").read_text("utf-8")))
            vectors = FaissIndexVectors.load(folder, len(chunking.chunks), len(chunking.sentences))
        except Exception:
            # Damaged beyond use: move it aside so it is rebuilt from the transcript.
            with self.lock(video_id):
                if folder.exists() and verified(folder) == meta:
                    storage.remove_folder(folder)
            self._catalog.rescan(video_id)
            return None
        return StoredIndex(info, chunking, vectors)

    def put(self, info: IndexInfo, built: Built) -> StoredIndex:
        folder = self.folder(info.key)
        vectors = FaissIndexVectors.build(built.chunk_vectors, built.sentence_vectors)
        with self.lock(info.video_id):
            if self.has(info.key):  # another process finished it first
                stored = self.get(info.key)
                if stored is not None:
                    return stored
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
                if folder.exists():  # a damaged one the loader could not use
                    storage.remove_folder(folder)
                storage.publish_folder(tmp, folder)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)

            def change(entry):
                entry = dict(entry) if entry else self._catalog._scan(info.video_id)
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
        video = entry["video"]
        path = self.root / "videos" / video["video_id"] / "transcript.json"
        if _stamp(path) != entry.get("stamp"):
            self._catalog.rescan(video["video_id"])
            entry = self._entries().get(video["video_id"])
            if entry is None:
                return None
            video = entry["video"]
        indexes = []
        for name, data in entry.get("indexes", {}).items():
            if (path.parent / "indexes" / name / "meta.json").exists():
                try:
                    indexes.append(IndexInfo.from_json(data))
                except (KeyError, TypeError, ValueError):
                    continue
        return StoredVideo(
            video_id=video["video_id"], title=video.get("title"), duration=float(video["duration"]),
            language=video["language"], language_code=video["language_code"], kind=video["kind"],
            source=video["source"], transcript=video["transcript"], indexes=tuple(indexes),
        )

    def _matching(self, search: str | None) -> list[dict]:
        entries = self._entries()
        rows = [entries[v] for v in sorted(entries)]
        if search:
            needle = search.casefold()
            rows = [e for e in rows if needle in e["video"]["video_id"].casefold()
                    or needle in (e["video"].get("title") or "").casefold()]
        return rows

    def videos(self, offset: int = 0, limit: int | None = None, search: str | None = None) -> list[StoredVideo]:
        rows = self._matching(search)
        rows = rows[offset:] if limit is None else rows[offset : offset + limit]
        return [v for v in (self._listed(e) for e in rows) if v is not None]

    def count(self, search: str | None = None) -> int:
        return len(self._matching(search))

    def remove(self, video_id: str) -> None:
        folder = self._video_dir(video_id)
        if folder.exists():
            with self.lock(video_id):
                storage.remove_folder(folder)
        self._catalog.update(video_id, lambda _entry: None)

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
        return data.get("version") if isinstance(data, dict) else None

    def _vectors_of(self, key: str, chunks: int) -> np.ndarray | None:
        folder = self.folder(key)
        meta = storage.read_json(folder / "meta.json")
        try:
            if storage.sha256_file(folder / INDEX_FILE) != meta["files"][INDEX_FILE]:
                return None
            return read_chunk_vectors(folder, chunks)
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
            threading.Thread(target=self._build_behind, args=(family,), daemon=True).start()
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
               video_ids: Sequence[str] | None = None) -> list[Hit]:
        with self._family_mutex:
            state = self._state(family)
        wanted = None
        if video_ids is not None:
            chosen = set(video_ids)
            wanted = {key for key, (video_id, _) in state.live.items() if video_id in chosen}
        else:
            wanted = set(state.live)
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
