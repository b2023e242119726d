"""Retrieval quality on questions with gold answer spans.

Three views of the top results, as a person and as the video answer-localization
literature see them:

- *hit@k*: one of the first k moments overlaps the gold span (the passage holds it).
- *land@k*: one of the first k moments starts no more than 15 s before the gold
  start and not after the gold end, so a click plays the answer within 15 s.
- *mIoU* and *r1@t*: the temporal overlap / union of the top moment with the gold
  span, averaged (a question with no result counts 0), and the share of questions
  whose top moment has IoU >= t. "The whole video" as the answer is the reference
  line: a method that cannot beat it is not cutting moments at all.

wait@1 is how far the top hit's start is from the answer's start (both directions
count); span@1 is the median length of top moments.

Evaluation never touches the user's library: videos are indexed in a scratch store of
the same kind (a temporary folder, or a temporary schema on the same PostgreSQL server)
that is removed afterwards (the model's export cache is shared, as it is read-only to us).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ._errors import YtqaError

#: A click "lands" when it plays the answer within this many seconds.
LAND_SECONDS = 15.0
IOU_CUTS = (0.3, 0.5, 0.7)
#: A transcript file's name: a YouTube id, or any name, with an optional
#: ``.<language>`` (``EmKQsSDlaa4.es``, ``tutorialvqa-12``).
_EVAL_ID = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_-]{0,99})(?:\.([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?))?")


@dataclass(frozen=True)
class Question:
    id: str
    video_id: str
    question: str
    answer_start: float
    answer_end: float


def load_questions(path: str | Path) -> list[Question]:
    questions = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YtqaError(f"The questions file {path} is not UTF-8 text (one JSON object a line).") from None
    except OSError as error:
        raise YtqaError(f"Cannot read the questions file {path}: {error.strerror or error}.") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"Line {number} of {path}"
        try:
            row = json.loads(line)
        except ValueError as error:
            raise YtqaError(f"{where} is not JSON: {error}.") from None
        if not isinstance(row, dict):
            raise YtqaError(f"{where} is not a question (a JSON object with id, video_id, question, "
                            "answer_start, answer_end).")
        for field in ("id", "video_id", "question", "answer_start", "answer_end"):
            if field not in row:
                raise YtqaError(f"{where} has no {field!r}.")
        for field in ("video_id", "question"):
            if not isinstance(row[field], str) or not row[field].strip():
                raise YtqaError(f"{where}: {field!r} must be non-empty text.")
            try:
                row[field].encode("utf-8")
            except UnicodeEncodeError:
                raise YtqaError(f"{where}: {field!r} has a lone surrogate escape (such as \\ud800), "
                                "which is not a character.") from None
        if not _EVAL_ID.fullmatch(row["video_id"]):
            raise YtqaError(f"{where}: video_id {row['video_id']!r} is not a transcript name "
                            "(letters, digits, '-' and '_', optionally '.<language>').")
        try:
            start, end = float(row["answer_start"]), float(row["answer_end"])
        except (TypeError, ValueError, OverflowError):
            raise YtqaError(f"{where}: answer_start and answer_end must be numbers of seconds.") from None
        if isinstance(row["answer_start"], bool) or not (math.isfinite(start) and math.isfinite(end)):
            raise YtqaError(f"{where}: answer_start and answer_end must be finite numbers of seconds.")
        if not 0 <= start < end:
            raise YtqaError(f"{where}: the gold span {start:g}-{end:g} s is empty or reversed.")
        questions.append(Question(str(row["id"]), row["video_id"], row["question"], start, end))
    if not questions:
        raise YtqaError(f"The questions file {path} has no questions.")
    return questions


def split_video_id(name: str) -> tuple[str, str | None]:
    """``EmKQsSDlaa4.es`` -> (``EmKQsSDlaa4``, ``es``): the video, and the track's language."""
    match = _EVAL_ID.fullmatch(name)
    if not match:
        raise YtqaError(f"{name!r} is not a transcript name.")
    return match.group(1), match.group(2)


def iou(start: float, end: float, gold_start: float, gold_end: float) -> float:
    """Temporal intersection over union of two spans (0 when either is empty)."""
    inter = max(0.0, min(end, gold_end) - max(start, gold_start))
    union = max(end, gold_end) - min(start, gold_start)
    return inter / union if union > 0 else 0.0


def overlaps(start: float, end: float, q: Question) -> bool:
    return start < q.answer_end and q.answer_start < end


def lands(start: float, q: Question) -> bool:
    """A click at ``start`` plays the answer within 15 s (and not after it ended)."""
    return q.answer_start - LAND_SECONDS <= start <= q.answer_end


def _share(count: float, n: int) -> float:
    return round(count / n, 3)


def metrics(questions: Iterable[Question], results: dict[str, list[tuple[float, float]]],
            durations: dict[str, float] | None = None) -> dict:
    """results: question id -> [(start, end), ...] best first; durations: video id -> seconds."""
    questions = list(questions)
    n = max(1, len(questions))
    hit = {1: 0, 3: 0, 5: 0}
    land = {1: 0, 3: 0}
    rr, ious, waits, spans, whole = [], [], [], [], []
    for q in questions:
        found = results.get(q.id, [])
        first_hit = next((i for i, (s, e) in enumerate(found[:5]) if overlaps(s, e, q)), None)
        for cut in hit:
            hit[cut] += first_hit is not None and first_hit < cut
        first_land = next((i for i, (s, _e) in enumerate(found[:3]) if lands(s, q)), None)
        for cut in land:
            land[cut] += first_land is not None and first_land < cut
        rr.append(1.0 / (first_hit + 1) if first_hit is not None else 0.0)
        if found:
            s, e = found[0]
            ious.append(iou(s, e, q.answer_start, q.answer_end))
            spans.append(e - s)
            if overlaps(s, e, q):
                waits.append(abs(q.answer_start - s))
        else:
            ious.append(0.0)
        if durations is not None and q.video_id in durations:
            whole.append(iou(0.0, durations[q.video_id], q.answer_start, q.answer_end))
    report = {
        "questions": len(questions),
        "hit@1": _share(hit[1], n),
        "hit@3": _share(hit[3], n),
        "hit@5": _share(hit[5], n),
        "land@1": _share(land[1], n),
        "land@3": _share(land[3], n),
        "mrr@5": _share(sum(rr), n),
        "miou": _share(sum(ious), n),
        **{f"r1@{cut}": _share(sum(x >= cut for x in ious), n) for cut in IOU_CUTS},
        "wait@1": round(statistics.median(waits), 1) if waits else None,
        "span@1": round(statistics.median(spans), 1) if spans else None,
        "gold_span": round(statistics.median(q.answer_end - q.answer_start for q in questions), 1)
        if questions else None,
    }
    if whole:
        report["whole_video"] = {
            "miou": _share(sum(whole), n),
            **{f"r1@{cut}": _share(sum(x >= cut for x in whole), n) for cut in IOU_CUTS},
        }
    return report


def load_eval_transcript(transcripts_dir: Path, name: str):
    """``<dir>/<name>.json`` (or .srt/.vtt) as a transcript named ``name``."""
    from ._files import load_transcript_file
    from ._lexical import LANGUAGE_NAMES

    base, language = split_video_id(name)
    for suffix in (".json", ".srt", ".vtt"):
        path = transcripts_dir / f"{name}{suffix}"
        if path.is_file():
            break
    else:
        raise YtqaError(f"No transcript for {name!r} in {transcripts_dir} (expected {name}.json).")
    transcript = load_transcript_file(path, name)
    if language:  # the file's name says which track it is
        from dataclasses import replace

        transcript = replace(transcript, language_code=language,
                             language=LANGUAGE_NAMES.get(language, language))
    return transcript


def evaluate(library, questions: list[Question], transcripts_dir: str | Path, k: int = 5,
             progress=None) -> dict:
    """Index each video from ``transcripts_dir/<video_id>.json`` and ask every question.

    ``library`` gives the model and settings; its stored videos are left alone.
    """
    from ._library import Library

    transcripts_dir = Path(transcripts_dir)
    if not transcripts_dir.is_dir():
        raise YtqaError(f"The transcripts folder {transcripts_dir} does not exist.")
    per_question = []
    spans: dict[str, list[tuple[float, float]]] = {}
    durations: dict[str, float] = {}
    indexes = {}
    with library.store.scratch() as store:
        scratch = Library(library.data_dir, embedder=library.embedder, chunking=library.chunk_settings,
                          search=library.search_settings, vectors=library.vectors, store=store,
                          strong=library.strong)
        for q in questions:
            if q.video_id not in indexes:
                if progress:
                    progress(q.video_id)
                transcript = load_eval_transcript(transcripts_dir, q.video_id)
                indexes[q.video_id] = scratch.index_transcript(transcript)
                durations[q.video_id] = transcript.duration
            moments = indexes[q.video_id].ask(q.question, k, library.search_settings, judge=library.judge)
            spans[q.id] = [(m.start, m.end) for m in moments]
            per_question.append({
                "id": q.id,
                "video_id": q.video_id,
                "gold": [q.answer_start, q.answer_end],
                "results": [{"start": round(m.start, 2), "end": round(m.end, 2),
                             "score": round(m.score, 4)} for m in moments],
            })
    return {"metrics": metrics(questions, spans, durations), "questions": per_question}
