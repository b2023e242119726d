"""The library: a thin facade that wires its parts together.

    transcript sources (_sources)   stored copy, subtitle file, YouTube
    store (_store)                  transcripts and indexes: files + FAISS, or PostgreSQL + pgvector
    progression (_stages)           which index of a video to open, build or list: quick, then full
    open indexes (_open_indexes)    the most recently used indexes, kept in memory within a budget
    ranking and moments (_search)   a query vector in, moments out, for one video
    many videos (_search_all)       one question over many videos, best moments first
    this module                     the library's listing, and the calls the front ends make
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ._builder import quiet
from ._chunking import ChunkSettings
from ._config import current as current_config
from ._errors import NotIndexed, NotStored, StoredVideoDamaged
from ._links import video_id as parse_video_id
from ._search import Moment, SearchSettings, VideoIndex, check_question
from ._search_all import search_videos
from ._sources import TranscriptSources
from ._access import Access, person_named
from ._across import AcrossLanguages
from ._stages import LazyModel, Progression, progressive
from ._store import Store, StoredVideo, is_store_url, open_store
from ._transcript import Track, Transcript, clean_title

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
    #: Why its stored transcript cannot be used (None: it can): shown, and it can be deleted.
    damaged: str | None = None
    #: Its best index (the strong model's, where there is one) is built.
    ready: bool = False


def _listed(video: StoredVideo, progression: Progression) -> VideoInfo:
    chosen = None if video.damaged else progression.stored_info(video)
    # A title stored before titles were cleaned is cleaned on the way out.
    return VideoInfo(video.video_id, clean_title(video.title), video.duration, video.language, video.language_code,
                     video.kind, video.source, chunks=chosen.chunks if chosen else 0,
                     indexed=chosen is not None, damaged=video.damaged, ready=progression.is_best(chosen))


def _warm_up(embedder, first) -> None:
    """The model, the first answer's model where it is its quantised copy, and the index libraries."""
    from ._language import preload as preload_language
    from ._vectors import preload

    embedder.load()
    embedder.embed_query("warm up")
    if first.quantised:
        first.embedder().embed_query("warm up")
    preload()
    preload_language()


_behind = threading.Lock()
_started_behind: list[str] = []


def _load_behind() -> None:
    """LangChain's vector store and the language classifier load on threads of their own,
    once a process, while this one reads the index and loads the model (onnxruntime and
    the classifier's decompression let go of the GIL, so a new process's first question
    takes less wall time on two cores). A failure is reported where the part is used."""
    from ._language import preload as preload_language
    from ._vectors import preload

    with _behind:
        if _started_behind:
            return
        _started_behind.append("started")
    for work in (preload, preload_language):
        threading.Thread(target=_quietly, args=(work,), daemon=True, name=f"ytqa-{work.__module__}").start()


def _quietly(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:
        pass


def acting_as(library: "Library", user: str | None) -> "Library":
    """``library`` as ``user`` sees it (None: as it is), sharing its model, store and open indexes:
    a server whose visitors sign in keeps one library and hands each visitor this view of it."""
    if user is None:
        return library
    twin = copy.copy(library)
    twin.access = Access(library.access.store, person_named(user))
    twin.store = twin.access.view()
    return twin


def default_strong(model: str | None = None) -> str | None:
    """The front ends' strong model (YTQA_STRONG_MODEL, e5 by default) for a library of
    ``model``: none where another model than the default was chosen, or it is that one."""
    from ._embeddings import DEFAULT_MODEL, resolve_model

    strong = current_config().strong_model
    chosen = resolve_model(model).name
    if strong is None or chosen != resolve_model(DEFAULT_MODEL).name or resolve_model(strong).name == chosen:
        return None
    return strong


def _lazy(model, backend: str | None, folder: Path) -> LazyModel | None:
    """A model given as a name, a model, a function making one, or a ``LazyModel`` (None: none)."""
    if model is None or isinstance(model, LazyModel):
        return model
    return LazyModel(None if isinstance(model, str) else model, model if isinstance(model, str) else None,
                     backend, folder)


def _made_judge(library: "Library", setting: str):
    """The judge a setting names; an embedding model as judge is the library's own where it is
    that one (loaded once), a chat model is asked for a short reply (a list of numbers)."""
    from ._answer import JUDGE_MAX_TOKENS, Answerer
    from ._embeddings import resolve_model
    from ._judge import judge_from_setting

    def model(name: str):
        wanted = resolve_model(name).name
        for lazy in (library.strong, library.model):
            if lazy is not None and lazy.name is not None and resolve_model(lazy.name).name == wanted:
                return lazy.get()
        return LazyModel(None, name, library.model.backend, library.data_dir / "models").get()

    return judge_from_setting(setting, model, lambda chat: Answerer.from_config(
        current_config(), chat, max_tokens=JUDGE_MAX_TOKENS))


def _data_dir(data_dir, store) -> Path:
    """Where model exports and the app's files go: the folder given, else the configured one."""
    server = is_store_url(data_dir if store is None else store)
    return Path(current_config().data_dir if server or not isinstance(data_dir, (str, os.PathLike)) else data_dir)


class Library:
    def __init__(self, data_dir: str | os.PathLike = "data", model: str | None = None, backend: str | None = None,
                 chunking: ChunkSettings = ChunkSettings(), search: SearchSettings = SearchSettings(), proxy=None,
                 vectors: str = "chunks+sentences", embedder=None, store: str | Store | None = None,
                 notice: Callable[[str], None] | None = None, cookies: str | None = None, strong=None,
                 user: str | None = None, judge=None):
        """``data_dir``: the library folder or a store's URL (``store`` overrides it); ``embedder``: the
        model, or a function making it on first use; ``strong``: a stronger model whose index is built
        behind and takes over once saved (a name, model, function or ``LazyModel``); ``notice``: told
        when a video is waited for while another process writes it; ``user``: the person it acts as
        (None: all is everyone's); ``judge``: a second look at each question's top passages."""
        location = store if store is not None else data_dir
        self.store: Store = open_store(location) if isinstance(location, (str, os.PathLike)) else location
        if notice is not None:
            self.store.notice = notice
        self.access = Access(self.store, person_named(user))  # whose is what (_access)
        self.store = self.access.view()
        self.data_dir = _data_dir(data_dir, store)
        self.vectors = vectors  # what is embedded: chunks, their sentences, or both
        self.chunk_settings, self.search_settings, self.proxy = chunking, search, proxy
        #: The model, made on first use: listing and deleting never need it.
        self.model = LazyModel(embedder, model, backend, self.data_dir / "models")
        self.strong = _lazy(strong, backend, self.data_dir / "models")
        self.progression = Progression(self.store, progressive(vectors, self.model, self.strong), chunking)
        self.progression.across = AcrossLanguages(self.progression)
        self.cookies = cookies or current_config().cookies  # a Netscape cookies.txt for YouTube
        self.sources = TranscriptSources(self.store, proxy, self.cookies)
        self._judge = judge

    @property
    def embedder(self):
        return self.model.get()

    @property
    def judge(self):  # made from its setting on first use (None: none)
        self._judge = _made_judge(self, self._judge) if isinstance(self._judge, str) else self._judge
        return self._judge

    def warm_up(self) -> None:
        """Load the model and the index libraries now, so the first video is not kept waiting."""
        _warm_up(self.embedder, self.progression.stages[0])

    def index_key(self, transcript: Transcript, vectors: str | None = None) -> str:
        return self.progression.recipe(mode=vectors).key(transcript)

    def index_key_of(self, video: StoredVideo, mode: str) -> str:
        return self.progression.stored_key(video, mode)

    def stored_transcript(self, video_id: str) -> Transcript | None:
        """The stored transcript, or None when there is none or it is damaged."""
        try:
            return self.store.transcript(video_id)
        except StoredVideoDamaged:
            return None

    def save_transcript(self, transcript: Transcript) -> None:
        self.store.save_transcript(transcript)

    def transcript(self, video: str, transcript_file: str | os.PathLike | None = None, languages: Sequence[str] = (),
                   refresh: bool = False, prefer_generated: bool = False) -> Transcript:
        """The stored transcript when it fits, else read from a file or fetched from YouTube (and kept)."""
        return self.sources.get(parse_video_id(video), transcript_file, languages, refresh, prefer_generated)

    def transcript_from_upload(self, video: str, data: bytes, name: str) -> Transcript:
        """The uploaded subtitles read; kept once :meth:`index_transcript` has cut them."""
        return self.sources.upload(parse_video_id(video), data, name, keep=False)

    def tracks(self, video: str) -> list[Track]:
        return self.sources.tracks(parse_video_id(video))

    def index(self, video: str, transcript_file: str | os.PathLike | None = None, languages: Sequence[str] = (),
              progress: Progress | None = None, prefer_generated: bool = False, quick: bool = False,
              cheap: bool = False) -> VideoIndex:
        """The video's best index, loaded or built once (a new transcript replaces the stored one once
        embedded; a damaged one is fetched again). ``quick``: sentences only; ``cheap``: the cheap model's."""
        progress = progress or quiet
        video_id = parse_video_id(video)
        open_ = self.progression.open_cheap if cheap else self.progression.open
        with self.access.using(video_id, replaces=transcript_file is not None or bool(languages)):
            if transcript_file is None and not languages and (stored := self.stored_transcript(video_id)) is not None:
                return open_(stored, progress, quick, adopt=False)
            progress("fetching", 0, 1)
            transcript = self.sources.get(video_id, transcript_file, languages, prefer_generated=prefer_generated,
                                          keep=False)
            progress("fetching", 1, 1)
            return open_(transcript, progress, quick, adopt=True)

    def open(self, video: str, quick: bool = False) -> VideoIndex:
        """The index of a stored video, built from its stored transcript if needed (``NotIndexed``
        without one). With ``quick``, a quick index is enough when the full one is not built yet."""
        video_id = parse_video_id(video)
        if (transcript := self.store.transcript(video_id)) is None:
            raise NotIndexed(video_id)
        with self.access.using(video_id):
            return self.progression.open(transcript, quiet, quick, adopt=False)

    def complete(self, video: str) -> VideoIndex:
        return self.open(video, quick=False)  # the best index of a video opened quickly

    def is_indexed(self, transcript: Transcript) -> bool:
        return self.progression.is_built(transcript)

    def index_transcript(self, transcript: Transcript, progress: Progress | None = None,
                         quick: bool = False) -> VideoIndex:
        """Index this transcript and make it the video's stored one (kept only once it is
        known to cut into passages, so a rejected one replaces nothing)."""
        with self.access.using(transcript.video_id, replaces=lambda: self.stored_transcript(transcript.video_id)
                               != transcript):  # another transcript: a re-index
            return self.progression.open(transcript, progress or quiet, quick, adopt=True)

    def ask(self, video: str, question: str, k: int = 5, transcript_file=None,
            languages: Sequence[str] = ()) -> list[Moment]:
        question = check_question(question)
        # A damaged stored transcript is named, never fetched over.
        stored = None if transcript_file is not None or languages else self.store.transcript(parse_video_id(video))
        _load_behind() if stored is not None else None
        with self.access.using(parse_video_id(video)):
            index = (self.progression.answering(stored, quiet) if stored is not None
                     else self.index(video, transcript_file=transcript_file, languages=languages, cheap=True))
        return index.ask(question, k, self.search_settings, judge=self.judge)

    def ask_all(self, question: str, k: int = 5, video_ids: Iterable[str] | None = None) -> list[Moment]:
        """One question across every stored video (or those of ``video_ids``), best moments first."""
        question = check_question(question)
        _load_behind()
        wanted = None if video_ids is None else sorted({parse_video_id(v) for v in video_ids})
        return search_videos(self.store, self.progression.searches(question), self.progression.built, question,
                             k, self.search_settings, wanted)

    def videos(self, offset: int = 0, limit: int | None = None, search: str | None = None) -> list[VideoInfo]:
        """Stored videos in id order; a page of them with ``offset``/``limit``, those whose
        title or id contains ``search``. Needs no model."""
        return [_listed(v, self.progression) for v in self.store.videos(offset, limit, search)]

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
        self.progression.opened.forget_video(video_id)
