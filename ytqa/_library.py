"""The library: a thin facade over its parts.

    transcript sources (_sources)  stored copy, subtitle file, YouTube
    index builder (_builder)       chunks, vectors, pooling, in memory; the key policy
    store (_store)                 transcripts and indexes: files + FAISS, or PostgreSQL + pgvector
    ranking and moments (_search)  a query vector in, moments out, for one video
    this module                    which index to open or build, and one question over many videos

An index is built once: looked up by its key, else built under the video's lock (a
second process waiting there finds it done) and published whole by the store.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ._builder import Recipe, build_index, quiet
from ._chunking import ChunkSettings
from ._config import current as current_config
from ._config import is_server_url
from ._errors import DeletedWhileIndexing, NotIndexed, NotStored, StoredVideoDamaged
from ._links import video_id as parse_video_id
from ._search import Moment, SearchSettings, VideoIndex, check_question
from ._sources import TranscriptSources
from ._store import VECTOR_MODES, Built, Store, StoredVideo, open_store
from ._transcript import Track, Transcript, clean_title

Progress = Callable[[str, int, int], None]
#: Indexes kept open in memory, the most recently used (a big library is never all in memory):
#: at most this many, and at most this many bytes of vectors and texts.
OPEN_INDEXES = 64
OPEN_BYTES = 256 << 20


class _Recent(OrderedDict):
    """A dict that forgets its least recently used entries beyond ``size`` of them, or
    beyond ``budget`` in all as ``weigh`` weighs them (the newest entry always stays)."""

    def __init__(self, size: int, budget: float = float("inf"), weigh: Callable[[object], float] = lambda _: 0):
        super().__init__()
        self.size = size
        self.budget = budget
        self.weigh = weigh
        self._weights: dict = {}

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        self._weights[key] = self.weigh(value)
        while len(self) > 1 and (len(self) > self.size or self.weight > self.budget):
            self.popitem(last=False)

    def __delitem__(self, key):
        super().__delitem__(key)
        self._weights.pop(key, None)

    def popitem(self, last: bool = True):
        key, value = super().popitem(last=last)
        self._weights.pop(key, None)
        return key, value

    @property
    def weight(self) -> float:
        return sum(self._weights.values())


def _index_bytes(index) -> int:
    """About what an open index holds in memory: its vectors and its texts."""
    vectors = getattr(index.vectors, "nbytes", 0)
    texts = sum(len(c.text) for c in index.chunking.chunks) + sum(len(s.text) for s in index.chunking.sentences)
    return int(vectors) + 2 * texts + 100 * len(index.transcript.lines)


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
    #: Why its stored transcript cannot be used (None: it can): shown, and it can be deleted.
    damaged: str | None = None


class Library:
    def __init__(
        self,
        data_dir: str | os.PathLike = "data",
        model: str | None = None,
        backend: str | None = None,
        chunking: ChunkSettings = ChunkSettings(),
        search: SearchSettings = SearchSettings(),
        proxy=None,
        vectors: str = "chunks+sentences",
        embedder=None,
        store: str | Store | None = None,
        notice: Callable[[str], None] | None = None,
        cookies: str | None = None,
    ):
        """``data_dir``: the library folder, or a postgresql:// URL; ``store`` overrides it.

        ``embedder``: the model to use, or a function that returns it, called on first use.
        ``notice``: told (one line) when a video is waited for because another process writes it.
        ``cookies``: a Netscape cookies.txt sent to YouTube (else YTQA_COOKIES).
        """
        location = store if store is not None else data_dir
        if isinstance(location, (str, os.PathLike)):
            self.store: Store = open_store(location)
        else:
            self.store = location
        if notice is not None:
            self.store.notice = notice
        server = is_server_url(data_dir if store is None else store)
        self.data_dir = Path(current_config().data_dir if server or not isinstance(data_dir, (str, os.PathLike))
                             else data_dir)
        self.chunk_settings = chunking
        self.search_settings = search
        self.proxy = proxy
        if vectors not in VECTOR_MODES:
            raise ValueError(f"vectors must be one of {', '.join(VECTOR_MODES)}")
        #: What is embedded: chunks, their sentences, or both.
        self.vectors = vectors
        self._model, self._backend = model, backend
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self.cookies = cookies if cookies is not None else current_config().cookies
        self.sources = TranscriptSources(self.store, proxy, self.cookies)
        self._open: _Recent = _Recent(OPEN_INDEXES, OPEN_BYTES, _index_bytes)

    @property
    def embedder(self):
        """The model, made on first use: listing and deleting never need it."""
        with self._embedder_lock:  # the app's warm-up thread and its page may both ask
            if self._embedder is None:
                from ._embeddings import Embedder

                self._embedder = Embedder(self._model, self._backend, cache_dir=self.data_dir / "models")
            elif callable(self._embedder):  # a function that makes (or shares) one
                self._embedder = self._embedder()
        return self._embedder

    def warm_up(self) -> None:
        """Load the model and the index libraries now, so the first video is not kept waiting."""
        from ._language import preload as preload_language
        from ._vectors import preload

        self.embedder.load()
        self.embedder.embed_query("warm up")
        preload()
        preload_language()

    # --- keys --------------------------------------------------------------

    def _recipe(self, vectors: str | None = None) -> Recipe:
        return Recipe(self.embedder.spec.name, self.embedder.key, self.chunk_settings, vectors or self.vectors)

    def index_key(self, transcript: Transcript, vectors: str | None = None) -> str:
        return self._recipe(vectors).key(transcript)

    def _quick_mode(self) -> str | None:
        """The cheaper index that can answer first: sentence vectors only."""
        return "sentences" if self.vectors == "chunks+sentences" else None

    # --- transcripts -------------------------------------------------------

    def stored_transcript(self, video_id: str) -> Transcript | None:
        """The stored transcript, or None when there is none or it is damaged."""
        try:
            return self.store.transcript(video_id)
        except StoredVideoDamaged:
            return None

    def _stored(self, video_id: str) -> Transcript:
        """The stored transcript; ``NotIndexed`` without one, ``StoredVideoDamaged`` (with the
        remedy) when it is there but unusable."""
        transcript = self.store.transcript(video_id)
        if transcript is None:
            raise NotIndexed(video_id)
        return transcript

    def save_transcript(self, transcript: Transcript) -> None:
        self.store.save_transcript(transcript)

    def transcript(
        self,
        video: str,
        transcript_file: str | os.PathLike | None = None,
        languages: Sequence[str] = (),
        refresh: bool = False,
        prefer_generated: bool = False,
    ) -> Transcript:
        """The stored transcript when it fits, else read from a file or fetched from YouTube (and kept)."""
        return self.sources.get(parse_video_id(video), transcript_file, languages, refresh, prefer_generated)

    def transcript_from_upload(self, video: str, data: bytes, name: str) -> Transcript:
        """The uploaded subtitles read; kept once :meth:`index_transcript` has cut them."""
        return self.sources.upload(parse_video_id(video), data, name, keep=False)

    def tracks(self, video: str) -> list[Track]:
        return self.sources.tracks(parse_video_id(video))

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

        A new transcript (a file, or fetched) replaces the stored one only once it is cut
        into passages and embedded: one that is rejected leaves the stored one and its
        indexes as they were. A damaged stored transcript is fetched again.

        ``quick`` returns a first index that embeds sentences only (about a fifth of
        the work); call :meth:`complete` afterwards, in the background, for the full one.
        """
        progress = progress or quiet
        video_id = parse_video_id(video)
        if transcript_file is None and not languages:
            stored = self.stored_transcript(video_id)
            if stored is not None:
                return self._index(stored, progress, quick, adopt=False)
        progress("fetching", 0, 1)
        transcript = self.sources.get(video_id, transcript_file, languages,
                                      prefer_generated=prefer_generated, keep=False)
        progress("fetching", 1, 1)
        return self._index(transcript, progress, quick, adopt=True)

    def open(self, video: str, quick: bool = False) -> VideoIndex:
        """The index of a stored video, built from its stored transcript if needed.

        With ``quick``, a quick index is enough when the full one is not built yet.
        """
        return self._index(self._stored(parse_video_id(video)), quiet, quick, adopt=False)

    def complete(self, video: str) -> VideoIndex:
        """Build the full index of a video opened quickly (its sentence vectors are reused)."""
        return self.open(video, quick=False)

    def is_indexed(self, transcript: Transcript) -> bool:
        key = self.index_key(transcript)
        return key in self._open or self.store.has(key)

    def index_transcript(self, transcript: Transcript, progress: Progress | None = None,
                         quick: bool = False) -> VideoIndex:
        """Index this transcript and make it the video's stored one (kept only once it is
        known to cut into passages, so a rejected one replaces nothing)."""
        return self._index(transcript, progress or quiet, quick, adopt=True)

    def _index(self, transcript: Transcript, progress: Progress, quick: bool, adopt: bool) -> VideoIndex:
        """``adopt``: the transcript is new and becomes the stored one; else it is the stored
        one, and must still be when its index is built (a delete meanwhile stays a delete)."""
        key = self.index_key(transcript)
        loaded = self._open.get(key)
        if loaded is not None and not adopt:
            return self._open[key]
        loaded = loaded or self._get(key, transcript)
        mode = self.vectors
        if loaded is None and quick and self._quick_mode():
            mode = self._quick_mode()
        return self._opened(mode, transcript, progress, adopt, loaded if mode == self.vectors else None)

    def _opened(self, mode: str, transcript: Transcript, progress: Progress, adopt: bool = False,
                loaded: VideoIndex | None = None) -> VideoIndex:
        """The index of that mode: in memory, stored, or built now (once, under the video's lock)."""
        key = self.index_key(transcript, mode)
        loaded = loaded or self._open.get(key) or self._get(key, transcript)
        if loaded is None or (adopt and self._current(transcript) != transcript):
            with self.store.lock(transcript.video_id):
                current = self._current(transcript)
                if not adopt and current != transcript:
                    if current is None:
                        raise DeletedWhileIndexing(transcript.video_id)
                    return self._index(current, progress, mode != self.vectors, adopt=False)
                # Another process may have finished it while we waited for the lock.
                loaded = loaded or self._get(key, transcript)
                built = None
                if loaded is None:
                    # Cut and embedded before anything is stored: a transcript with nothing to
                    # search is refused here, and the stored one stays as it was.
                    built = self._build(transcript, progress, mode)
                new = adopt and current != transcript
                if new and built is None:
                    self.store.save_transcript(transcript)
                if built is not None:  # a new transcript is stored with its index, or not at all
                    loaded = self._publish(transcript, progress, mode, built, new)
        self._open[key] = loaded
        return loaded

    def _current(self, transcript: Transcript) -> Transcript | None:
        """The video's stored transcript now (a damaged one counts as none)."""
        return self.stored_transcript(transcript.video_id)

    def _get(self, key: str, transcript: Transcript) -> VideoIndex | None:
        stored = self.store.get(key)
        if stored is None:
            return None
        return VideoIndex(transcript, stored.chunking, stored.vectors, self.embedder, key=key)

    def _build(self, transcript: Transcript, progress: Progress, mode: str) -> Built:
        known = None
        if mode == "chunks+sentences" and self._quick_mode():
            quick_key = self.index_key(transcript, self._quick_mode())
            quick = self._open.get(quick_key) or self._get(quick_key, transcript)
            if quick is not None:
                known = Built(quick.chunking, None, quick.sentence_vectors)
        return build_index(transcript, self.embedder, self._recipe(mode), progress, known)

    def _publish(self, transcript: Transcript, progress: Progress, mode: str, built: Built,
                 new: bool = False) -> VideoIndex:
        recipe = self._recipe(mode)
        progress("saving", 0, 1)
        stored = self.store.put(recipe.info(transcript, built), built, transcript if new else None)
        progress("saving", 1, 1)
        return VideoIndex(transcript, stored.chunking, stored.vectors, self.embedder, key=stored.info.key)

    def _open_built(self, video_id: str) -> VideoIndex | None:
        """A stored video's index as it is (the full one, else the quick one), never built here."""
        transcript = self.stored_transcript(video_id)
        if transcript is None:
            return None
        for mode in dict.fromkeys([self.vectors, self._quick_mode() or self.vectors]):
            key = self.index_key(transcript, mode)
            if key not in self._open:
                loaded = self._get(key, transcript)
                if loaded is None:
                    continue
                self._open[key] = loaded
            return self._open[key]
        return None

    # --- questions ---------------------------------------------------------

    def ask(self, video: str, question: str, k: int = 5, transcript_file=None,
            languages: Sequence[str] = ()) -> list[Moment]:
        question = check_question(question)
        if transcript_file is not None or languages:
            index = self.index(video, transcript_file=transcript_file, languages=languages)
        else:
            stored = self.store.transcript(parse_video_id(video))  # a damaged one is named, never fetched over
            index = self._index(stored, quiet, False, adopt=False) if stored is not None else self.index(video)
        return index.ask(question, k, self.search_settings)

    def ask_all(self, question: str, k: int = 5, video_ids: Iterable[str] | None = None) -> list[Moment]:
        """One question across every stored video (or those of ``video_ids``), best moments first."""
        question = check_question(question)
        return self.search_all(question, self.embedder.embed_query(question), k, video_ids)

    def search_all(self, question: str, query, k: int = 5,
                   video_ids: Iterable[str] | None = None) -> list[Moment]:
        """One vector search over the chosen videos finds the candidates; the best ``k``
        videos are then ranked as each would be alone, and the model's similarity orders
        their moments: comparable across videos, unlike each video's fused score."""
        wanted = None if video_ids is None else sorted({parse_video_id(v) for v in video_ids})
        hits = self.store.search(self._recipe().family, query, max(self.search_settings.candidates, k),
                                 wanted)
        candidates = list(dict.fromkeys(hit.video_id for hit in hits))[:k]
        found: list[Moment] = []
        for video_id in candidates:
            index = self._open_built(video_id)
            if index is not None:
                found += index.search(question, query, k, self.search_settings)
        found.sort(key=lambda moment: -moment.similarity)
        return found[:k]

    # --- the library -------------------------------------------------------

    def _listed(self, video: StoredVideo) -> VideoInfo:
        chosen = None if video.damaged else self._index_info(video)
        return VideoInfo(
            video_id=video.video_id,
            title=clean_title(video.title),  # a catalog or row stored before titles were cleaned
            duration=video.duration,
            language=video.language,
            language_code=video.language_code,
            kind=video.kind,
            source=video.source,
            chunks=chosen.chunks if chosen else 0,
            indexed=chosen is not None,
            damaged=video.damaged,
        )

    def _index_info(self, video: StoredVideo):
        """The index this library would open for the video, judged without the model."""
        if self._embedder is not None and not callable(self._embedder):
            keys = [self.index_key_of(video, mode) for mode in (self.vectors, self._quick_mode()) if mode]
            return next((info for key in keys if (info := video.index(key)) is not None), None)
        from ._embeddings import resolve_model

        name = resolve_model(self._model).name
        backend = self._backend or current_config().backend
        modes = [m for m in (self.vectors, self._quick_mode()) if m]
        candidates = [info for info in video.indexes
                      if info.model == name and info.chunking == self.chunk_settings.key()
                      and info.transcript == video.transcript and info.mode in modes
                      and (backend is None or info.model_key.endswith("-" + backend))]
        candidates.sort(key=lambda info: modes.index(info.mode))
        return candidates[0] if candidates else None

    def index_key_of(self, video: StoredVideo, mode: str) -> str:
        from ._store import index_key

        return index_key(video.video_id, video.transcript, self.embedder.key, self.chunk_settings.key(), mode)

    def videos(self, offset: int = 0, limit: int | None = None, search: str | None = None) -> list[VideoInfo]:
        """Stored videos in id order; a page of them with ``offset``/``limit``, those whose
        title or id contains ``search``. Needs no model."""
        return [self._listed(v) for v in self.store.videos(offset, limit, search)]

    def count(self, search: str | None = None) -> int:
        return self.store.count(search)

    def not_searched(self, video_ids: Iterable[str] | None = None) -> list[str]:
        """The stored videos a question over the library skips (of ``video_ids``, or all):
        not indexed with this model yet, or damaged. Searching never builds their indexes."""
        wanted = None if video_ids is None else {parse_video_id(v) for v in video_ids}
        return [v.video_id for v in self.videos() if not v.indexed and (wanted is None or v.video_id in wanted)]

    def delete(self, video: str) -> None:
        """Remove the video, its transcript and indexes. ``NotStored`` when there was none;
        ``VideoBusy`` at once (nothing removed) while it is being indexed."""
        video_id = parse_video_id(video)
        if not self.store.remove(video_id):
            raise NotStored(video_id, self.store.location)
        for key in [k for k, v in list(self._open.items()) if v.video_id == video_id]:
            self._open.pop(key, None)
