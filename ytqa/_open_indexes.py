"""The indexes a library keeps open in memory: the most recently used, within a budget.

A big library is never all in memory: at most ``OPEN_INDEXES`` indexes stay open, and at
most ``OPEN_BYTES`` of their vectors and texts; the least recently used are forgotten
(they stay stored, and are opened again when asked).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

OPEN_INDEXES = 64
OPEN_BYTES = 256 << 20


class Recent(OrderedDict):
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

    def pop(self, key, *default):
        value = super().pop(key, *default)
        self._weights.pop(key, None)
        return value

    def popitem(self, last: bool = True):
        key, value = super().popitem(last=last)
        self._weights.pop(key, None)
        return key, value

    @property
    def weight(self) -> float:
        return sum(self._weights.values())


def index_bytes(index) -> int:
    """About what an open index holds in memory: its vectors and its texts."""
    vectors = getattr(index.vectors, "nbytes", 0)
    texts = sum(len(c.text) for c in index.chunking.chunks) + sum(len(s.text) for s in index.chunking.sentences)
    return int(vectors) + 2 * texts + 100 * len(index.transcript.lines)


class OpenIndexes(Recent):
    """Open indexes by key, within ``OPEN_INDEXES`` and ``OPEN_BYTES`` (read when made)."""

    def __init__(self):
        super().__init__(OPEN_INDEXES, OPEN_BYTES, index_bytes)

    def forget_video(self, video_id: str) -> None:
        """Close every open index of that video (it was deleted)."""
        for key in [k for k, v in list(self.items()) if v.video_id == video_id]:
            self.pop(key, None)
