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
from ._errors import DeletedWhileIndexing, StoredVideoDamaged, YtqaError
from ._open_indexes import OpenIndexes
from ._search import VideoIndex
from ._store import VECTOR_MODES, Built, IndexInfo, Store, StoredVideo, index_key
from ._transcript import Transcript
from ._upgrades import Upgrades

Progress = Callable[[str, int, int], None]


class LazyModel:
    """An embedding model made on first use, so listing and deleting never need it.

    ``given``: the model, or a function that makes (or shares) one; None: ytqa's
    ``Embedder`` for ``name`` and ``backend``, its exports kept in ``cache_dir``."""

    def __init__(self, given=None, name: str | None = None, backend: str | None = None,
                 cache_dir: str | os.PathLike | None = None):
        self._model = given
        self._int8 = None  # its quantised copy (``quantised``), made on first use
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

    def quantised(self):
        """The same model quantised to int8 (ONNX) where it runs on ONNX: a first answer from
        it costs half the CPU; any other model as it is. Made once, beside the model."""
        from ._embeddings import Embedder

        model = self.get()
        if not isinstance(model, Embedder) or model.backend != "onnx":
            return model
        with self._lock:
            if self._int8 is None:
                self._int8 = Embedder(model.spec, "onnx-int8", cache_dir=model.cache_dir)
        return self._int8

    def owner(self, quantised: bool = False) -> Callable[[IndexInfo], bool]:
        """Whether a stored index was made by this model (``quantised``: its int8 copy, where it
        runs on ONNX), judged without making it."""
        from ._embeddings import resolve_model

        name = resolve_model(self.name).name
        backend = self.backend or current_config().backend
        if quantised and backend in (None, "onnx"):
            backend = "onnx-int8"
        return lambda info: info.model == name and (backend is None or info.model_key.endswith("-" + backend))


@dataclass(frozen=True)
class Stage:
    """One index of the progression: the vectors it embeds, with which model."""

    mode: str
    model: LazyModel
    #: How an answer names it ("quick index", "full index", "multilingual index").
    label: str = "index"
    #: Embedded by the model quantised to int8 (a first answer that a better index soon replaces).
    quantised: bool = False

    def embedder(self):
        return self.model.quantised() if self.quantised else self.model.get()


def quick_then_full(vectors: str, model: LazyModel, label: str = "full index",
                    quantised: bool = False) -> list[Stage]:
    """The quick index (sentence vectors only) where it can answer before the full one;
    ``quantised``: the quick index embedded by the model in int8 (the full one then embeds
    its sentences again, exactly)."""
    if vectors not in VECTOR_MODES:
        raise ValueError(f"vectors must be one of {', '.join(VECTOR_MODES)}")
    if vectors != "chunks+sentences":
        return [Stage(vectors, model, label)]
    return [Stage("sentences", model, "quick index", quantised), Stage(vectors, model, label)]


def progressive(vectors: str, cheap: LazyModel, strong: LazyModel | None = None) -> list[Stage]:
    """The cheap model's quick and full indexes, then (with ``strong``) the strong model's
    index, the best. (A strong sentence-only stage between them was measured and left out:
    on dev2 cross-language it ranks worse than MiniLM, hit@1 0.27 against 0.36.) With a
    strong model the quick index is embedded in int8: half the CPU to a first answer, at the
    quick index's quality within one or two questions a set (README, Retrieval quality),
    and the two better indexes replace it within seconds and a minute."""
    stages = quick_then_full(vectors, cheap, quantised=strong is not None)
    return stages + [Stage(vectors, strong, "multilingual index")] if strong is not None else stages


class Progression:
    """Which index of a video to open, build or list, stage after stage."""

    def __init__(self, store: Store, stages: Sequence[Stage], chunking: ChunkSettings,
                 opened: OpenIndexes | None = None):
        self.store, self.stages, self.chunking = store, list(stages), chunking
        self.opened = opened if opened is not None else OpenIndexes()
        #: Why the strong model's stages were dropped (None: they were not).
        self.unavailable: str | None = None
        #: Answers a question in another language from an index of a one-language model
        #: (``_across``); set by the library.
        self.across = None
        #: Stored videos whose best index is missing, built one at a time (``_upgrades``).
        self.upgrades = Upgrades(self._upgrade, lambda: self.store.build_queue())

    @property
    def best(self) -> Stage:
        return self.stages[-1]

    def recipe(self, stage: Stage | None = None, mode: str | None = None) -> Recipe:
        """How the index of ``stage`` (the best by default) is made; ``mode`` overrides its vectors."""
        self.drop_unloadable()
        stage = stage or self.best
        model = stage.embedder()
        return Recipe(model.spec.name, model.key, self.chunking, mode or stage.mode)

    def key(self, transcript: Transcript, stage: Stage | None = None) -> str:
        return self.recipe(stage).key(transcript)

    def open(self, transcript: Transcript, progress: Progress, quick: bool, adopt: bool) -> VideoIndex:
        """The best index, or with ``quick`` the best one built so far (the first stage's when
        none is, built now). ``adopt``: the transcript is new and becomes the stored one; else it
        is the stored one, and must still be when its index is built (a delete stays a delete)."""
        if quick and not self.best.model.made:  # a quick open never waits for a model to load
            return self._quick(transcript, progress, adopt)
        self.drop_unloadable()
        key = self.key(transcript)
        loaded = self.opened.get(key)
        if loaded is not None and not adopt:
            return self.opened[key]
        loaded = loaded or self._get(key, transcript, self.best)
        if loaded is None and quick:
            return self._quick(transcript, progress, adopt)
        if loaded is None and self.cheap is not self.best:
            # The cheap model's full index first: it answers (other processes too) while the best is built.
            cheap = self._opened(self.cheap, transcript, progress, adopt)
            adopt = adopt and cheap.transcript != transcript
        return self._opened(self.best, transcript, progress, adopt, loaded)

    def _quick(self, transcript: Transcript, progress: Progress, adopt: bool) -> VideoIndex:
        """A middle stage already built (of a model made by now), else the first stage's index."""
        for stage in reversed(self.stages[1:-1]):
            if not stage.model.made:
                continue
            middle = self.key(transcript, stage)
            found = self.opened.get(middle) or self._get(middle, transcript, stage)
            if found is not None:
                return self._opened(stage, transcript, progress, adopt, found)
        return self._opened(self.stages[0], transcript, progress, adopt)

    def _upgrade(self, video_id: str) -> None:
        """Build a stored video's best index (the upgrades' worker calls this)."""
        transcript = self._current_of(video_id)
        if transcript is not None and not self.is_built(transcript):
            self.open(transcript, lambda *_: None, quick=False, adopt=False)

    def _current_of(self, video_id: str) -> Transcript | None:
        try:
            return self.store.transcript(video_id)
        except StoredVideoDamaged:
            return None

    def searches(self, question: str) -> list[tuple[str, object]]:
        """Per model, best first: its index family and the question embedded by it."""
        self.drop_unloadable()
        found = []
        for model in dict.fromkeys(s.model for s in reversed(self.stages)):
            recipe = self.recipe(next(s for s in reversed(self.stages) if s.model is model))
            found.append((recipe.family, model.get().embed_query(question)))
        return found

    def drop_unloadable(self) -> str | None:
        """Drop the stages of a second model that cannot be made (once), keeping why in
        ``unavailable``: the cheap model's stages answer alone, and say so."""
        for stage in list(self.stages):
            if stage.model is self.stages[0].model or stage not in self.stages:
                continue
            try:
                stage.model.get()
            except (YtqaError, ImportError, OSError) as error:
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                self.unavailable = f"{stage.model.name or 'the strong model'} could not be loaded ({first[:200]})"
                self.stages = [s for s in self.stages if s.model is not stage.model]
        return self.unavailable

    def open_stage(self, transcript: Transcript, stage: Stage, progress: Progress | None = None) -> VideoIndex:
        """That stage's index of the stored transcript: open, stored, or built now."""
        return self._opened(stage, transcript, progress or (lambda *_: None))

    @property
    def cheap(self) -> Stage:
        """The cheap model's last (full) index."""
        return [s for s in self.stages if s.model is self.stages[0].model][-1]

    def open_cheap(self, transcript: Transcript, progress: Progress, quick: bool, adopt: bool) -> VideoIndex:
        """The cheap model's full index (its quick one with ``quick``), as :meth:`open` opens the best."""
        return self._opened(self.stages[0] if quick else self.cheap, transcript, progress, adopt)

    def answering(self, transcript: Transcript, progress: Progress) -> VideoIndex:
        """The best index built so far (the best is being built elsewhere, or later), else
        the cheap model's last index, built now: what ``ask`` and ``eval`` answer from."""
        self.drop_unloadable()
        for stage in reversed(self.stages):
            key = self.key(transcript, stage)
            found = self.opened.get(key) or self._get(key, transcript, stage)
            if found is not None:
                self.opened[key] = found
                if stage is not self.best:
                    self.upgrades.add(transcript.video_id)
                return found
        self.upgrades.add(transcript.video_id)
        return self._opened(self.cheap, transcript, progress)

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
        return self._index(transcript, stage, stored, key)

    def _index(self, transcript: Transcript, stage: Stage, stored, key: str) -> VideoIndex:
        """A stage's index, named for its answers (model and stage), with its helper across languages."""
        model = stage.embedder()
        index = VideoIndex(transcript, stored.chunking, stored.vectors, model, key=key)
        index.stage, index.best, index.family = stage.label, stage is self.best, self.recipe(stage).family
        index.label = f"{getattr(getattr(model, 'spec', None), 'name', 'model')} {stage.label}"
        if self.across is not None and not index.multilingual:
            index.across = self.across
        return index

    def _build(self, transcript: Transcript, progress: Progress, stage: Stage) -> Built:
        """Cut and embed; the sentence vectors of an earlier stage of the same model are reused."""
        known = None
        for earlier in reversed(self.stages[: self.stages.index(stage)]):
            if earlier.model is stage.model and earlier.quantised == stage.quantised:
                key = self.key(transcript, earlier)
                found = self.opened.get(key) or self._get(key, transcript, earlier)
                if found is not None:
                    known = Built(found.chunking, None, found.sentence_vectors)
                    break
        return build_index(transcript, stage.embedder(), self.recipe(stage), progress, known)

    def _publish(self, transcript: Transcript, progress: Progress, stage: Stage, built: Built,
                 new: bool = False) -> VideoIndex:
        progress("saving", 0, 1)
        stored = self.store.put(self.recipe(stage).info(transcript, built), built, transcript if new else None)
        progress("saving", 1, 1)
        return self._index(transcript, stage, stored, stored.info.key)

    def is_built(self, transcript: Transcript) -> bool:
        """Whether the best index of this transcript is built."""
        key = self.key(transcript)
        return key in self.opened or self.store.has(key)

    def built(self, video_id: str) -> VideoIndex | None:
        """A stored video's best index built so far, never built here (one short of the best
        queues the video's best index in ``upgrades``)."""
        transcript = self._current_of(video_id)
        if transcript is None:
            return None
        for stage in reversed(self.stages):
            key = self.key(transcript, stage)
            if key not in self.opened:
                loaded = self._get(key, transcript, stage)
                if loaded is None:
                    continue
                self.opened[key] = loaded
            if stage is not self.best:
                self.upgrades.add(video_id)
            return self.opened[key]
        return None

    def stored_key(self, video: StoredVideo, mode: str, stage: Stage | None = None) -> str:
        """The key of that stage's model's index of a stored video, with vectors ``mode``."""
        model = (stage or self.best).embedder()
        return index_key(video.video_id, video.transcript, model.key, self.chunking.key(), mode)

    def is_best(self, info: IndexInfo | None) -> bool:
        """Whether a stored index is the best stage's (a video is ready when it has one)."""
        model = self.best.model
        owns = (lambda i: i.model_key == model.get().key) if model.made else model.owner()
        return info is not None and info.mode == self.best.mode and owns(info)

    def stored_info(self, video: StoredVideo) -> IndexInfo | None:
        """The index the progression would open for a stored video, judged without a model
        that is not made yet."""
        for stage in reversed(self.stages):
            if stage.model.made:
                info = video.index(self.stored_key(video, stage.mode, stage))
            else:
                owns = stage.model.owner(stage.quantised)
                info = next((i for i in video.indexes if owns(i) and i.chunking == self.chunking.key()
                             and i.transcript == video.transcript and i.mode == stage.mode), None)
            if info is not None:
                return info
        return None
