"""The progression of a video's indexes: the cheapest one that can answer first, then better ones.

A *stage* is one index: which vectors it embeds (``mode``) with which model. The stages go
cheapest first and the last is the video's best. Today there are two: the quick index
(sentence vectors only, about a fifth of the work) and the full one (chunk and sentence
vectors), which reuses the quick one's sentence vectors. A stage with a stronger model is
one more ``Stage`` at the end of the list.

An index is built once: looked up by its key (open in memory, else stored), else built
under the video's lock (a second process waiting there finds it done) and published whole
by the store.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from ._builder import Recipe, build_index
from ._chunking import ChunkSettings
from ._config import current as current_config
from ._errors import DeletedWhileIndexing, StoredVideoDamaged
from ._open_indexes import OpenIndexes
from ._search import VideoIndex
from ._store import VECTOR_MODES, Built, IndexInfo, Store, StoredVideo, index_key
from ._transcript import Transcript

Progress = Callable[[str, int, int], None]


class LazyModel:
    """An embedding model made on first use, so listing and deleting never need it.

    ``given``: the model, or a function that makes (or shares) one; None: ytqa's
    ``Embedder`` for ``name`` and ``backend``, its exports kept in ``cache_dir``."""

    def __init__(self, given=None, name: str | None = None, backend: str | None = None,
                 cache_dir: str | os.PathLike | None = None):
        self._model = given
        self.name, self.backend, self.cache_dir = name, backend, cache_dir
        self._lock = threading.Lock()

    def get(self):
        with self._lock:  # the app's warm-up thread and its page may both ask
            if self._model is None:
                from ._embeddings import Embedder

                self._model = Embedder(self.name, self.backend, cache_dir=self.cache_dir)
            elif callable(self._model):
                self._model = self._model()
        return self._model

    @property
    def made(self) -> bool:
        return self._model is not None and not callable(self._model)

    def owner(self) -> Callable[[IndexInfo], bool]:
        """Whether a stored index was made by this model, judged without making it."""
        from ._embeddings import resolve_model

        name = resolve_model(self.name).name
        backend = self.backend or current_config().backend
        return lambda info: info.model == name and (backend is None or info.model_key.endswith("-" + backend))


@dataclass(frozen=True)
class Stage:
    """One index of the progression: the vectors it embeds, with which model."""

    mode: str
    model: LazyModel


def quick_then_full(vectors: str, model: LazyModel) -> list[Stage]:
    """The quick index (sentence vectors only) where it can answer before the full one."""
    if vectors not in VECTOR_MODES:
        raise ValueError(f"vectors must be one of {', '.join(VECTOR_MODES)}")
    return [Stage("sentences", model), Stage(vectors, model)] if vectors == "chunks+sentences" else [Stage(vectors, model)]


class Progression:
    """Which index of a video to open, build or list, stage after stage."""

    def __init__(self, store: Store, stages: Sequence[Stage], chunking: ChunkSettings,
                 opened: OpenIndexes | None = None):
        self.store, self.stages, self.chunking = store, list(stages), chunking
        self.opened = opened if opened is not None else OpenIndexes()

    @property
    def best(self) -> Stage:
        return self.stages[-1]

    def recipe(self, stage: Stage | None = None, mode: str | None = None) -> Recipe:
        """How the index of ``stage`` (the best by default) is made; ``mode`` overrides its vectors."""
        stage = stage or self.best
        model = stage.model.get()
        return Recipe(model.spec.name, model.key, self.chunking, mode or stage.mode)

    def key(self, transcript: Transcript, stage: Stage | None = None) -> str:
        return self.recipe(stage).key(transcript)

    def open(self, transcript: Transcript, progress: Progress, quick: bool, adopt: bool) -> VideoIndex:
        """The best index, or with ``quick`` the best one built so far (the first stage's when
        none is, built now). ``adopt``: the transcript is new and becomes the stored one; else it
        is the stored one, and must still be when its index is built (a delete stays a delete)."""
        key = self.key(transcript)
        loaded = self.opened.get(key)
        if loaded is not None and not adopt:
            return self.opened[key]
        loaded = loaded or self._get(key, transcript, self.best)
        if loaded is None and quick:
            for stage in reversed(self.stages[1:-1]):  # a middle stage already built answers
                middle = self.key(transcript, stage)
                found = self.opened.get(middle) or self._get(middle, transcript, stage)
                if found is not None:
                    return self._opened(stage, transcript, progress, adopt, found)
            return self._opened(self.stages[0], transcript, progress, adopt)
        return self._opened(self.best, transcript, progress, adopt, loaded)

    def _opened(self, stage: Stage, transcript: Transcript, progress: Progress, adopt: bool = False,
                loaded: VideoIndex | None = None) -> VideoIndex:
        """The index of that stage: in memory, stored, or built now (once, under the video's lock)."""
        key = self.key(transcript, stage)
        loaded = loaded or self.opened.get(key) or self._get(key, transcript, stage)
        if loaded is None or (adopt and self._current(transcript) != transcript):
            with self.store.lock(transcript.video_id):
                current = self._current(transcript)
                if not adopt and current != transcript:
                    if current is None:
                        raise DeletedWhileIndexing(transcript.video_id)
                    return self.open(current, progress, stage is not self.best, adopt=False)
                # Another process may have finished it while we waited for the lock.
                loaded = loaded or self._get(key, transcript, stage)
                built = None
                if loaded is None:
                    # Cut and embedded before anything is stored: a transcript with nothing to
                    # search is refused here, and the stored one stays as it was.
                    built = self._build(transcript, progress, stage)
                new = adopt and current != transcript
                if new and built is None:
                    self.store.save_transcript(transcript)
                if built is not None:  # a new transcript is stored with its index, or not at all
                    loaded = self._publish(transcript, progress, stage, built, new)
        self.opened[key] = loaded
        return loaded

    def _current(self, transcript: Transcript) -> Transcript | None:
        """The video's stored transcript now (a damaged one counts as none)."""
        try:
            return self.store.transcript(transcript.video_id)
        except StoredVideoDamaged:
            return None

    def _get(self, key: str, transcript: Transcript, stage: Stage) -> VideoIndex | None:
        stored = self.store.get(key)
        if stored is None:
            return None
        return VideoIndex(transcript, stored.chunking, stored.vectors, stage.model.get(), key=key)

    def _build(self, transcript: Transcript, progress: Progress, stage: Stage) -> Built:
        """Cut and embed; the sentence vectors of an earlier stage of the same model are reused."""
        known = None
        for earlier in reversed(self.stages[: self.stages.index(stage)]):
            if earlier.model is stage.model:
                key = self.key(transcript, earlier)
                found = self.opened.get(key) or self._get(key, transcript, earlier)
                if found is not None:
                    known = Built(found.chunking, None, found.sentence_vectors)
                    break
        return build_index(transcript, stage.model.get(), self.recipe(stage), progress, known)

    def _publish(self, transcript: Transcript, progress: Progress, stage: Stage, built: Built,
                 new: bool = False) -> VideoIndex:
        progress("saving", 0, 1)
        stored = self.store.put(self.recipe(stage).info(transcript, built), built, transcript if new else None)
        progress("saving", 1, 1)
        return VideoIndex(transcript, stored.chunking, stored.vectors, stage.model.get(), key=stored.info.key)

    def is_built(self, transcript: Transcript) -> bool:
        """Whether the best index of this transcript is built."""
        key = self.key(transcript)
        return key in self.opened or self.store.has(key)

    def built(self, video_id: str) -> VideoIndex | None:
        """A stored video's best index built so far, never built here."""
        try:
            transcript = self.store.transcript(video_id)
        except StoredVideoDamaged:
            return None
        if transcript is None:
            return None
        for stage in reversed(self.stages):
            key = self.key(transcript, stage)
            if key not in self.opened:
                loaded = self._get(key, transcript, stage)
                if loaded is None:
                    continue
                self.opened[key] = loaded
            return self.opened[key]
        return None

    def stored_key(self, video: StoredVideo, mode: str, stage: Stage | None = None) -> str:
        """The key of that stage's model's index of a stored video, with vectors ``mode``."""
        model = (stage or self.best).model.get()
        return index_key(video.video_id, video.transcript, model.key, self.chunking.key(), mode)

    def stored_info(self, video: StoredVideo) -> IndexInfo | None:
        """The index the progression would open for a stored video, judged without a model
        that is not made yet."""
        for stage in reversed(self.stages):
            if stage.model.made:
                info = video.index(self.stored_key(video, stage.mode, stage))
            else:
                owns = stage.model.owner()
                info = next((i for i in video.indexes if owns(i) and i.chunking == self.chunking.key()
                             and i.transcript == video.transcript and i.mode == stage.mode), None)
            if info is not None:
                return info
        return None
