"""Retrieval quality on questions with gold answer spans.

A result *hits* when its span overlaps the gold span. wait@1 is how far, in seconds,
the top hit's start is from the answer's start: the wait before the answer begins, or
the part of it a person misses when they land late (both count).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ._errors import YtqaError


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
    except OSError as error:
        raise YtqaError(f"Cannot read the questions file {path}: {error.strerror or error}.") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(
                str(row["id"]), str(row["video_id"]), str(row["question"]),
                float(row["answer_start"]), float(row["answer_end"]),
            ))
        except (ValueError, KeyError, TypeError) as error:
            raise YtqaError(
                f"Line {number} of {path} is not a question (needs id, video_id, question, "
                f"answer_start, answer_end): {error}."
            ) from None
    return questions


def _overlaps(start: float, end: float, q: Question) -> bool:
    return start < q.answer_end and q.answer_start < end


def _iou(start: float, end: float, q: Question) -> float:
    inter = max(0.0, min(end, q.answer_end) - max(start, q.answer_start))
    union = max(end, q.answer_end) - min(start, q.answer_start)
    return inter / union if union > 0 else 0.0


def metrics(questions: Iterable[Question], results: dict[str, list[tuple[float, float]]]) -> dict:
    """results: question id -> [(start, end), ...] best first."""
    questions = list(questions)
    hit = {1: 0, 3: 0, 5: 0}
    rr, ious, waits, spans = [], [], [], []
    for q in questions:
        spans_q = results.get(q.id, [])
        first_hit = next((i for i, (s, e) in enumerate(spans_q[:5]) if _overlaps(s, e, q)), None)
        for cut in hit:
            if first_hit is not None and first_hit < cut:
                hit[cut] += 1
        rr.append(1.0 / (first_hit + 1) if first_hit is not None else 0.0)
        if spans_q:
            s, e = spans_q[0]
            ious.append(_iou(s, e, q))
            spans.append(e - s)
            if _overlaps(s, e, q):
                waits.append(abs(q.answer_start - s))
    n = max(1, len(questions))
    return {
        "questions": len(questions),
        "hit@1": round(hit[1] / n, 3),
        "hit@3": round(hit[3] / n, 3),
        "hit@5": round(hit[5] / n, 3),
        "mrr@5": round(sum(rr) / n, 3),
        "iou@1": round(sum(ious) / n, 3),
        "wait@1": round(statistics.median(waits), 1) if waits else None,
        "span@1": round(statistics.median(spans), 1) if spans else None,
    }


def evaluate(library, questions: list[Question], transcripts_dir: str | Path, k: int = 5,
             progress=None) -> dict:
    """Index each video from ``transcripts_dir/<video_id>.json`` and ask every question."""
    transcripts_dir = Path(transcripts_dir)
    per_question = []
    spans: dict[str, list[tuple[float, float]]] = {}
    indexes = {}
    for q in questions:
        if q.video_id not in indexes:
            path = transcripts_dir / f"{q.video_id}.json"
            if progress:
                progress(q.video_id)
            transcript = library.transcript(q.video_id, transcript_file=path)
            indexes[q.video_id] = library.index_transcript(transcript)
        moments = indexes[q.video_id].ask(q.question, k, library.search_settings)
        spans[q.id] = [(m.start, m.end) for m in moments]
        per_question.append({
            "id": q.id,
            "results": [{"start": round(m.start, 2), "end": round(m.end, 2), "score": round(m.score, 4)}
                        for m in moments],
        })
    return {"metrics": metrics(questions, spans), "questions": per_question}
