"""One question over many videos: the store's one vector search per model finds the
candidate videos, each ranks its own moments as it would alone, and the model's similarity
orders them all (comparable across videos, unlike each video's fused score).

A library part-way through its upgrade has videos whose best index is the strong model's
and videos with only the cheap model's. Each video answers from its best index built: the
strong model's family is searched first, then the cheap one's for the videos it did not
cover. The two models' similarities are on different scales (e5's crowd between 0.8 and
0.9, MiniLM's spread from 0.1 to 0.8), so the two lists are merged by rank, each
ordered by its own model's similarity: the first of each, then the second of each, the
strong model's first."""

from __future__ import annotations

from typing import Callable, Sequence

from ._search import Moment, SearchSettings, VideoIndex
from ._store import Store


def search_videos(store: Store, searches: Sequence[tuple[str, object]],
                  opened: Callable[[str], VideoIndex | None], question: str, k: int, settings: SearchSettings,
                  video_ids: Sequence[str] | None = None) -> list[Moment]:
    """The best ``k`` moments of the videos of ``video_ids`` (None: all). ``searches``: per
    model, best first, its index family and the question's vector; ``opened`` gives a
    video's best index built, or None (never building one)."""
    lists: list[list[Moment]] = []
    answered: set[str] = set()
    for family, query in searches:
        hits = store.search(family, query, max(settings.candidates, k), video_ids)
        found: list[Moment] = []
        for video_id in list(dict.fromkeys(hit.video_id for hit in hits if hit.video_id not in answered))[:k]:
            index = opened(video_id)
            if index is None or index.family != family:
                continue  # its best index is another model's: that search answers it
            answered.add(video_id)
            found += index.search(question, query, k, settings)
        lists.append(sorted(found, key=lambda moment: -moment.similarity))
    merged = sorted(((rank, order, m) for order, found in enumerate(lists) for rank, m in enumerate(found)),
                    key=lambda item: item[:2])
    return [m for _, _, m in merged[:k]]
