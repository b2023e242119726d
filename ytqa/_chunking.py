"""Caption lines to searchable chunks that keep their time.

Chunks are runs of whole caption lines (cut at caption boundaries, preferring a
line that ends a sentence), about ``window_seconds`` long, a new one every
``stride_seconds`` so any moment sits well inside some chunk, and never more
tokens than the model reads: all-MiniLM-L6-v2 silently drops word pieces past 256.

Inside each chunk we also keep its sentences with their own start times
(interpolated over the words of a line), so an answer can start at the sentence
that answers, not at the chunk's edge.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

from ._errors import EmptyTranscript
from ._transcript import Line, Transcript

TokenCounter = Callable[[str], int]

_NOISE_TAG = re.compile(r"\[[^\]]{0,40}\]|\((?:music|applause|laughter|laughs|inaudible)\)|♪+", re.I)
_SPEAKER_MARK = re.compile(r"(^|\s)(?:>>+|&gt;&gt;|-\s(?=[A-Z]))\s*")
_SENTENCE_END = re.compile(r"[.!?…。？！][\"')\]]*$")
_ABBREVIATION = re.compile(
    r"^(?:mr|mrs|ms|dr|prof|sr|jr|st|vs|etc|e\.g|i\.e|no|vol|fig|approx|[A-Za-z])\.$", re.I
)


def _ends_sentence(word: str) -> bool:
    return bool(_SENTENCE_END.search(word)) and not _ABBREVIATION.match(word)


@dataclass(frozen=True)
class ChunkSettings:
    """How a transcript is cut. Part of the index key: change it, and we re-embed."""

    window_seconds: float = 60.0
    stride_seconds: float = 20.0
    #: Upper bound in model tokens; the model's own max_seq_length caps it further.
    max_tokens: int = 256

    def key(self) -> str:
        return f"w{self.window_seconds:g}-s{self.stride_seconds:g}-t{self.max_tokens}"


@dataclass(frozen=True)
class Sentence:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Chunk:
    text: str
    start: float
    end: float
    #: Indices into the sentence list: [first_sentence, last_sentence).
    first_sentence: int
    last_sentence: int


@dataclass(frozen=True)
class Chunking:
    """A transcript cut for search: sentences, and chunks that group them."""

    sentences: tuple[Sentence, ...]
    chunks: tuple[Chunk, ...]

    def sentences_of(self, chunk: Chunk) -> tuple[Sentence, ...]:
        return self.sentences[chunk.first_sentence : chunk.last_sentence]

    def to_json(self) -> dict:
        return {
            "sentences": [[s.text, s.start, s.end] for s in self.sentences],
            "chunks": [[c.text, c.start, c.end, c.first_sentence, c.last_sentence] for c in self.chunks],
        }

    @classmethod
    def from_json(cls, data: dict) -> "Chunking":
        return cls(
            sentences=tuple(Sentence(str(t), float(s), float(e)) for t, s, e in data["sentences"]),
            chunks=tuple(
                Chunk(str(t), float(s), float(e), int(a), int(b)) for t, s, e, a, b in data["chunks"]
            ),
        )


def clean_lines(lines: Sequence[Line]) -> list[Line]:
    """Remove caption noise: tags like [Music], >> speaker marks, rolling repeats, empty lines.

    Auto-generated captions roll: each line repeats the tail of the one before. We
    drop the repeated words, and end each line where the next begins so spans do
    not overlap.
    """
    cleaned: list[Line] = []
    previous: list[str] = []  # the last 40 words kept, compared as _compared
    for line in sorted(lines, key=lambda l: l.start):
        text = _NOISE_TAG.sub(" ", line.text)
        text = _SPEAKER_MARK.sub(r"\1", text)
        words = text.split()
        if not words:
            continue
        compared = [_compared(w) for w in words]
        overlap = _rolling_overlap(previous, compared)
        if overlap == len(words):
            continue  # a pure repeat of what was just said
        words = words[overlap:]
        cleaned.append(Line(" ".join(words), line.start, line.duration))
        previous = (previous + compared[overlap:])[-40:]
    for i in range(len(cleaned) - 1):
        here, after = cleaned[i], cleaned[i + 1]
        if here.end > after.start > here.start:
            cleaned[i] = Line(here.text, here.start, after.start - here.start)
    return cleaned


def _compared(word: str) -> str:
    """A word as rolling captions are compared: case and edge punctuation aside."""
    return word.lower().strip(".,!?;:\"'")


def _rolling_overlap(prev: list[str], cur: list[str]) -> int:
    """How many leading words of ``cur`` repeat the end of ``prev`` (both ``_compared``)."""
    if not prev:
        return 0
    for size in range(min(len(prev), len(cur)), 0, -1):
        if prev[-size:] == cur[:size] and (size >= 3 or size == len(cur)):
            return size
    return 0


def _split_sentences(lines: Sequence[Line], count_tokens: TokenCounter, max_tokens: int) -> list[tuple[Sentence, int]]:
    """Sentences with interpolated start times, each tagged with the line it starts in.

    A sentence ends at . ! ? or, for unpunctuated auto-captions, at a pause of over
    a second or after about 25 words.
    """
    words: list[tuple[str, float, float, int]] = []  # word, start, end, line index
    for index, line in enumerate(lines):
        parts = line.text.split()
        step = line.duration / len(parts) if parts else 0.0
        for k, word in enumerate(parts):
            words.append((word, line.start + k * step, line.start + (k + 1) * step, index))
    sentences: list[tuple[Sentence, int]] = []
    current: list[tuple[str, float, float, int]] = []

    def close():
        if current:
            text = " ".join(w for w, *_ in current)
            # Overlapping captions: a sentence ends with its latest word, never before it starts.
            sentences.append((Sentence(text, current[0][1], max(w[2] for w in current)), current[0][3]))
            current.clear()

    limit_words = 25
    for position, word in enumerate(words):
        current.append(word)
        nxt = words[position + 1] if position + 1 < len(words) else None
        pause = nxt is not None and nxt[1] - word[2] > 1.0
        if _ends_sentence(word[0]) or pause or len(current) >= limit_words * 2:
            close()
        elif len(current) >= limit_words and nxt is not None and nxt[3] != word[3]:
            close()  # long unpunctuated run: cut at the next caption boundary
    close()
    # A sentence longer than the model reads (a 1 MB line) is cut into pieces.
    bounded: list[tuple[Sentence, int]] = []
    for sentence, line_index in sentences:
        if count_tokens(sentence.text) <= max_tokens:
            bounded.append((sentence, line_index))
        else:
            bounded += [(piece, line_index) for piece in _cut(sentence, count_tokens, max_tokens)]
    return bounded


def _cut(sentence: Sentence, count_tokens: TokenCounter, max_tokens: int) -> list[Sentence]:
    """A sentence too long for the model, in pieces that fit (times shared out by words)."""
    parts = sentence.text.split()
    span = sentence.end - sentence.start
    block = max(1, max_tokens // 2)
    stack = [(a, min(len(parts), a + block)) for a in range(0, len(parts), block)][::-1]
    pieces = []
    while stack:  # halve until every piece fits
        a, b = stack.pop()
        if b - a > 1 and count_tokens(" ".join(parts[a:b])) > max_tokens:
            middle = (a + b) // 2
            stack.extend([(middle, b), (a, middle)])
        else:
            pieces.append((a, b))
    return [Sentence(" ".join(parts[a:b]), sentence.start + span * a / len(parts),
                     sentence.start + span * b / len(parts)) for a, b in pieces]


def chunk_transcript(
    transcript: Transcript,
    settings: ChunkSettings = ChunkSettings(),
    count_tokens: TokenCounter | None = None,
    model_max_tokens: int | None = None,
) -> Chunking:
    """Cut a transcript into overlapping, time-stamped chunks sized in model tokens."""
    count = _remembered(count_tokens or _approximate_tokens)
    max_tokens = settings.max_tokens
    if model_max_tokens:
        max_tokens = min(max_tokens, model_max_tokens)
    budget = max(8, max_tokens - 2)  # [CLS] and [SEP]
    lines = clean_lines(transcript.lines)
    tagged = _split_sentences(lines, count, budget)
    if not tagged:
        raise EmptyTranscript(transcript.video_id)
    sentences = tuple(s for s, _ in tagged)
    line_of = [line for _, line in tagged]
    tokens = [count(s.text) for s in sentences]

    # Chunks may begin only where a caption line begins.
    is_boundary = {0} | {k for k in range(1, len(sentences)) if line_of[k] != line_of[k - 1]}

    chunks: list[Chunk] = []
    first = 0
    while True:
        last = _chunk_end(sentences, tokens, is_boundary, first, settings, budget)
        chunk_sentences = sentences[first:last]
        chunks.append(Chunk(
            text=" ".join(s.text for s in chunk_sentences),
            start=chunk_sentences[0].start,
            end=max(s.end for s in chunk_sentences),  # overlapping captions: the latest end
            first_sentence=first,
            last_sentence=last,
        ))
        if last >= len(sentences):
            break
        # Next chunk: the first caption boundary past start + stride; at the latest,
        # where this chunk ends, so no sentence is ever left out.
        target = sentences[first].start + settings.stride_seconds
        first = next(
            (k for k in range(first + 1, last) if k in is_boundary and sentences[k].start >= target),
            last,
        )
    return Chunking(sentences=sentences, chunks=tuple(chunks))


def _chunk_end(sentences, tokens: list[int], is_boundary: set[int], first: int, settings: ChunkSettings,
               budget: int) -> int:
    """Where the chunk that starts at sentence ``first`` ends (exclusive): as far as the window
    and the token budget allow, then back to a caption boundary, best one that closes a sentence."""
    last = first + 1
    used = tokens[first]
    while last < len(sentences):
        if sentences[last].end - sentences[first].start > settings.window_seconds:
            break
        if used + tokens[last] > budget:
            break
        used += tokens[last]
        last += 1
    if last < len(sentences):
        ends = [k for k in range(first + 1, last + 1) if k in is_boundary]
        good = [k for k in ends if _SENTENCE_END.search(sentences[k - 1].text)
                and sentences[k - 1].end - sentences[first].start >= settings.window_seconds * 0.5]
        if good or ends:
            last = (good or ends)[-1]
    return last


def _remembered(count: TokenCounter) -> TokenCounter:
    """``count``, each text counted once (every sentence is counted to bound it, then to size chunks)."""
    known: dict[str, int] = {}

    def counted(text: str) -> int:
        if text not in known:
            known[text] = count(text)
        return known[text]

    return counted


def _approximate_tokens(text: str) -> int:
    """About 1.3 word pieces a word: used only when no tokenizer is at hand."""
    return int(len(text.split()) * 1.3) + 1
