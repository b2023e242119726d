"""The local library: transcripts and indexes under one data directory.

Layout (all JSON is plain data; nothing is ever unpickled)::

    data/videos/<video id>/transcript.json     the transcript last used
    data/videos/<video id>/indexes/<key>/      one per transcript x model x chunking
        meta.json  chunks.json  vectors.faiss  sentences.npy

An index folder appears only when complete (built aside, renamed into place), and
its meta.json holds checksums of the other files, so a truncated or tampered index
is noticed and rebuilt rather than trusted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from . import _storage as storage
from ._chunking import Chunking, ChunkSettings, chunk_transcript
from ._embeddings import Embedder
from ._errors import NotIndexed
from ._files import load_transcript_file, parse_subtitles
from ._links import video_id as parse_video_id
from ._search import Moment, SearchSettings, VideoIndex, check_question
from ._transcript import Track, Transcript
from ._youtube import ProxySettings, YouTube

INDEX_FORMAT = 1
#: chunks: one vector a chunk; chunks+sentences: also one a sentence (answers start at
#: the best sentence, and sentence matches rank chunks); sentences: sentence vectors
#: only, a chunk's vector pooled from its sentences (no long inputs to embed: faster).
VECTOR_MODES = ("chunks+sentences", "sentences", "chunks")
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class VideoInfo:
    """What the library sidebar shows for one stored video."""

    video_id: str
    title: str | None
    duration: float
    language: str
    language_code: str
    kind: str
    source: str
    chunks: int
    indexed: bool


def _quiet(stage: str, done: int, total: int) -> None:
    pass


class Library:
    def __init__(
        self,
        data_dir: str | os.PathLike = "data",
        model: str | None = None,
        backend: str | None = None,
        chunking: ChunkSettings = ChunkSettings(),
        search: SearchSettings = SearchSettings(),
        proxy: ProxySettings | None = None,
        vectors: str = "chunks+sentences",
        embedder: Embedder | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.chunk_settings = chunking
        self.search_settings = search
        self.proxy = proxy
        if vectors not in VECTOR_MODES:
            raise ValueError(f"vectors must be one of {', '.join(VECTOR_MODES)}")
        #: What is embedded: chunks, their sentences, or both.
        self.vectors = vectors
        if embedder is None:
            embedder = Embedder(model, backend, cache_dir=self.data_dir / "models")
        self.embedder = embedder
        #: Indexes in memory, by (video id, index key): two videos may have the same captions.
        self._open: dict[tuple[str, str], VideoIndex] = {}

    def warm_up(self) -> None:
        """Load the model and the index libraries now, so the first video is not kept waiting."""
        from ._index import preload
        from ._language import preload as preload_language

        self.embedder.load()
        self.embedder.embed_query("warm up")
        preload()
        preload_language()

    # --- paths -------------------------------------------------------------

    def _video_dir(self, video_id: str) -> Path:
        return self.data_dir / "videos" / video_id

    def _lock(self, video_id: str):
        return storage.locked(self._video_dir(video_id) / ".lock")

    def index_key(self, transcript: Transcript, vectors: str | None = None) -> str:
        mode = {"chunks": "", "chunks+sentences": "-sv", "sentences": "-so"}[vectors or self.vectors]
        return (f"{transcript.fingerprint()}-{self.embedder.key}-"
                f"{self.chunk_settings.key()}{mode}-f{INDEX_FORMAT}")

    def _quick_mode(self) -> str | None:
        """The cheaper index that can answer first: sentence vectors only."""
        return "sentences" if self.vectors == "chunks+sentences" else None

    # --- transcripts -------------------------------------------------------

    def stored_transcript(self, video_id: str) -> Transcript | None:
        data = storage.read_json(self._video_dir(video_id) / "transcript.json")
        if not isinstance(data, dict):
            return None
        try:
            return Transcript.from_json(data)
        except (KeyError, TypeError, ValueError):
            return None

    def save_transcript(self, transcript: Transcript) -> None:
        path = self._video_dir(transcript.video_id) / "transcript.json"
        storage.write_atomic(path, transcript.dumps())

    def transcript(
        self,
        video: str,
        transcript_file: str | os.PathLike | None = None,
        languages: Sequence[str] = (),
        refresh: bool = False,
        prefer_generated: bool = False,
    ) -> Transcript:
        """The stored transcript when it fits, else read from a file or fetched from YouTube."""
        video_id = parse_video_id(video)
        if transcript_file is not None:
            transcript = load_transcript_file(transcript_file, video_id)
            self.save_transcript(transcript)
            return transcript
        stored = None if refresh else self.stored_transcript(video_id)
        if stored is not None and (not languages or stored.language_code in languages) and (
                not prefer_generated or stored.is_generated):
            return stored
        transcript = YouTube(self.proxy).fetch(video_id, languages, prefer_generated)
        self.save_transcript(transcript)
        return transcript

    def transcript_from_upload(self, video: str, data: bytes, name: str) -> Transcript:
        transcript = parse_subtitles(data, name, parse_video_id(video))
        self.save_transcript(transcript)
        return transcript

    def tracks(self, video: str) -> list[Track]:
        return YouTube(self.proxy).tracks(parse_video_id(video))

    # --- indexes -----------------------------------------------------------

    def index(
        self,
        video: str,
        transcript_file: str | os.PathLike | None = None,
        languages: Sequence[str] = (),
        progress: Progress | None = None,
        prefer_generated: bool = False,
        quick: bool = False,
    ) -> VideoIndex:
        """A searchable index of the video: loaded if built before, else built once.

        ``quick`` returns a first index that embeds sentences only (about a fifth of
        the work); call :meth:`complete` afterwards, in the background, for the full one.
        """
        progress = progress or _quiet
        video_id = parse_video_id(video)
        if transcript_file is None and not languages:
            stored = self.stored_transcript(video_id)
            if stored is not None:
                return self.index_transcript(stored, progress, quick=quick)
        progress("fetching", 0, 1)
        transcript = self.transcript(video_id, transcript_file, languages,
                                     prefer_generated=prefer_generated)
        progress("fetching", 1, 1)
        return self.index_transcript(transcript, progress, quick=quick)

    def open(self, video: str, quick: bool = False) -> VideoIndex:
        """The index of a stored video, built from its stored transcript if needed.

        With ``quick``, a quick index is enough when the full one is not built yet.
        """
        video_id = parse_video_id(video)
        transcript = self.stored_transcript(video_id)
        if transcript is None:
            raise NotIndexed(video_id)
        return self.index_transcript(transcript, quick=quick)

    def complete(self, video: str) -> VideoIndex:
        """Build the full index of a video opened quickly (its sentence vectors are reused)."""
        return self.open(video, quick=False)

    def is_indexed(self, transcript: Transcript) -> bool:
        key = self.index_key(transcript)
        if (transcript.video_id, key) in self._open:
            return True
        return self._verified(self._video_dir(transcript.video_id) / "indexes" / key) is not None

    def index_transcript(self, transcript: Transcript, progress: Progress | None = None,
                         quick: bool = False) -> VideoIndex:
        progress = progress or _quiet
        key = self.index_key(transcript)
        if (transcript.video_id, key) in self._open:
            return self._open[transcript.video_id, key]
        stored = self.stored_transcript(transcript.video_id)
        if stored != transcript:
            self.save_transcript(transcript)  # the library lists what it has indexed
        folder = self._video_dir(transcript.video_id) / "indexes" / key
        loaded = self._load(folder, transcript)
        if loaded is None and quick and self._quick_mode():
            return self._quick(transcript, progress)
        if loaded is None:
            with self._lock(transcript.video_id):
                # Another process may have finished it while we waited for the lock.
                loaded = self._load(folder, transcript, locked=True)
                if loaded is None:
                    loaded = self._build(folder, transcript, progress, self.vectors)
        self._open[transcript.video_id, key] = loaded
        return loaded

    def _quick(self, transcript: Transcript, progress: Progress) -> VideoIndex:
        mode = self._quick_mode()
        key = self.index_key(transcript, mode)
        if (transcript.video_id, key) not in self._open:
            folder = self._video_dir(transcript.video_id) / "indexes" / key
            loaded = self._load(folder, transcript)
            if loaded is None:
                with self._lock(transcript.video_id):
                    loaded = self._load(folder, transcript, locked=True)
                    if loaded is None:
                        loaded = self._build(folder, transcript, progress, mode)
            self._open[transcript.video_id, key] = loaded
        return self._open[transcript.video_id, key]

    def _verified(self, folder: Path) -> dict | None:
        meta = storage.read_json(folder / "meta.json")
        if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
            return None
        try:
            for name, digest in meta["files"].items():
                if storage.sha256_file(folder / name) != digest:
                    return None
        except (OSError, KeyError, AttributeError, TypeError):
            return None
        return meta

    def _load(self, folder: Path, transcript: Transcript, locked: bool = False) -> VideoIndex | None:
        if not folder.exists():
            return None
        meta = self._verified(folder)
        try:
            if meta is None:
                raise ValueError("incomplete or corrupted")
            import numpy as np

            from ._index import INDEX_FILE, VectorIndex

            chunking = Chunking.from_json(json.loads((folder / "chunks.json").read_text("utf-8")))
            vectors = VectorIndex.load(folder / INDEX_FILE, len(chunking.chunks))
            sentence_vectors = None
            if (folder / "sentences.npy").exists():
                sentence_vectors = np.load(folder / "sentences.npy", allow_pickle=False)
                if sentence_vectors.shape[0] != len(chunking.sentences):
                    raise ValueError("sentence vectors do not match the sentences")
        except Exception:
            # Damaged beyond use: move it aside so it is rebuilt from the transcript.
            if locked:
                storage.remove_folder(folder)
            else:
                with self._lock(transcript.video_id):
                    if folder.exists() and self._verified(folder) == meta:
                        storage.remove_folder(folder)
            return None
        return VideoIndex(transcript, chunking, vectors, self.embedder, sentence_vectors, folder.name)

    def _open_quick_on_disk(self, transcript: Transcript) -> VideoIndex | None:
        mode = self._quick_mode()
        if mode is None:
            return None
        key = self.index_key(transcript, mode)
        return self._open.get((transcript.video_id, key)) or self._load(
            self._video_dir(transcript.video_id) / "indexes" / key, transcript, locked=True)

    def _build(self, folder: Path, transcript: Transcript, progress: Progress,
               vectors_mode: str) -> VideoIndex:
        import numpy as np

        from ._index import INDEX_FILE, VectorIndex

        progress("chunking", 0, 1)
        chunking = chunk_transcript(
            transcript,
            self.chunk_settings,
            count_tokens=self.embedder.count_tokens,
            model_max_tokens=self.embedder.max_tokens,
        )
        progress("chunking", 1, 1)
        reuse = self._open_quick_on_disk(transcript) if vectors_mode == "chunks+sentences" else None
        known = None
        if reuse is not None and reuse.chunking == chunking and reuse.sentence_vectors is not None:
            known = reuse.sentence_vectors  # embedded by the quick index already
        texts = [c.text for c in chunking.chunks] if vectors_mode != "sentences" else []
        if vectors_mode != "chunks" and known is None:
            texts += [s.text for s in chunking.sentences]
        vectors = self.embedder.embed_documents(
            texts, progress=lambda done, total: progress("embedding", done, total)
        )
        if known is not None:
            vectors = np.vstack([vectors, known]) if len(vectors) else known
        if vectors_mode == "sentences":
            sentence_vectors = vectors
            chunk_vectors = np.vstack([
                vectors[c.first_sentence : c.last_sentence].mean(axis=0) for c in chunking.chunks
            ])
            if self.embedder.normalize:
                chunk_vectors /= np.maximum(np.linalg.norm(chunk_vectors, axis=1, keepdims=True), 1e-12)
        else:
            chunk_vectors = vectors[: len(chunking.chunks)]
            sentence_vectors = vectors[len(chunking.chunks) :] if vectors_mode != "chunks" else None
        progress("saving", 0, 1)
        index = VectorIndex.build(chunk_vectors)
        folder.parent.mkdir(parents=True, exist_ok=True)
        storage.remove_leftovers(folder.parent)  # from a process killed mid-build
        storage.remove_leftovers(folder.parent.parent)
        tmp = folder.parent / f".building-{os.getpid()}-{os.urandom(3).hex()}-{folder.name}"
        tmp.mkdir()
        try:
            storage.write_atomic(tmp / "chunks.json", json.dumps(chunking.to_json(), ensure_ascii=False))
            index.save(tmp / INDEX_FILE)
            names = ["chunks.json", INDEX_FILE]
            if sentence_vectors is not None:
                with open(tmp / "sentences.npy", "wb") as handle:
                    np.save(handle, sentence_vectors, allow_pickle=False)
                    handle.flush()
                    os.fsync(handle.fileno())
                names.append("sentences.npy")
            meta = {
                "format": INDEX_FORMAT,
                "video_id": transcript.video_id,
                "transcript": transcript.fingerprint(),
                "model": self.embedder.spec.name,
                "model_key": self.embedder.key,
                "chunking": self.chunk_settings.key(),
                "vectors": vectors_mode,
                "chunks": len(chunking.chunks),
                "sentences": len(chunking.sentences),
                "created": time.time(),
                "files": {name: storage.sha256_file(tmp / name) for name in names},
            }
            storage.write_atomic(tmp / "meta.json", json.dumps(meta, indent=1))
            if folder.exists():  # a damaged one the loader could not use
                storage.remove_folder(folder)
            storage.publish_folder(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        progress("saving", 1, 1)
        return VideoIndex(transcript, chunking, index, self.embedder, sentence_vectors, folder.name)

    # --- questions ---------------------------------------------------------

    def ask(self, video: str, question: str, k: int = 5, transcript_file=None,
            languages: Sequence[str] = ()) -> list[Moment]:
        question = check_question(question)
        if transcript_file is not None or languages:
            index = self.index(video, transcript_file=transcript_file, languages=languages)
        else:
            index = self.index(video)  # the stored transcript if there is one, else fetched
        return index.ask(question, k, self.search_settings)

    def ask_all(self, question: str, k: int = 5, video_ids: Iterable[str] | None = None) -> list[Moment]:
        """One question across every stored video (or those of ``video_ids``), best moments first."""
        question = check_question(question)
        wanted = None if video_ids is None else set(video_ids)
        query = self.embedder.embed_query(question)
        found: list[Moment] = []
        for info in self.videos():
            if wanted is not None and info.video_id not in wanted:
                continue
            found += self.open(info.video_id).search(question, query, k, self.search_settings)
        # Each video's fused scores rank its own moments; across videos, the model's
        # similarity is the common scale.
        found.sort(key=lambda moment: -moment.similarity)
        return found[:k]

    # --- the library -------------------------------------------------------

    def videos(self) -> list[VideoInfo]:
        root = self.data_dir / "videos"
        if not root.is_dir():
            return []
        infos = []
        for folder in sorted(root.iterdir()):
            if not re.fullmatch(r"[A-Za-z0-9_-]{11}", folder.name):
                continue
            transcript = self.stored_transcript(folder.name)
            if transcript is None:
                continue
            meta = self._verified(folder / "indexes" / self.index_key(transcript))
            if meta is None and self._quick_mode():
                meta = self._verified(folder / "indexes" / self.index_key(transcript, self._quick_mode()))
            meta = meta or {}
            infos.append(VideoInfo(
                video_id=transcript.video_id,
                title=transcript.title,
                duration=transcript.duration,
                language=transcript.language,
                language_code=transcript.language_code,
                kind=transcript.kind,
                source=transcript.source,
                chunks=int(meta.get("chunks", 0)),
                indexed=bool(meta),
            ))
        return infos

    def delete(self, video: str) -> None:
        video_id = parse_video_id(video)
        self._open = {k: v for k, v in self._open.items() if v.video_id != video_id}
        folder = self._video_dir(video_id)
        if folder.exists():
            with self._lock(video_id):
                storage.remove_folder(folder)
