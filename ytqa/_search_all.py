"""One question over many videos: the store's one vector search finds the candidate videos,
each ranks its own moments as it would alone, and the model's similarity orders them all
(comparable across videos, unlike each video's fused score)."""

from __future__ import annotations

from typing import Callable, Sequence

from ._search import Moment, SearchSettings, VideoIndex
from ._store import Store


def search_videos(store: Store, family: str, opened: Callable[[str], VideoIndex | None], question: str, query,
                  k: int, settings: SearchSettings, video_ids: Sequence[str] | None = None) -> list[Moment]:
    """The best ``k`` moments of the videos of ``video_ids`` (None: all) whose indexes are of
    ``family``; ``opened`` gives a video's index as built, or None (never building one)."""
    hits = store.search(family, query, max(settings.candidates, k), video_ids)
    found: list[Moment] = []
    for video_id in list(dict.fromkeys(hit.video_id for hit in hits))[:k]:
        index = opened(video_id)
        if index is not None:
            found += index.search(question, query, k, settings)
    return sorted(found, key=lambda moment: -moment.similarity)[:k]
