"""Where a moment starts and ends, chosen per question after retrieval.

Retrieval finds a chunk and, inside it, the sentence that answers best (the anchor).
What kind of answer the question wants decides the moment's edges:

- *A procedure* ("how do I...", "how to...", "what are the steps..."; or narration
  dense in instruction cues: "first", "next", "then", "click", "apply", "make sure")
  is answered by a run of steps, longer than any passage: the moment starts a little
  before the anchor (a procedure is introduced before the step that matched best) and
  runs to the first sentence end past ``procedure_seconds`` (75 s; gold spans of how-to
  answers in the dev sets have medians of 48-72 s).
- *A fact, a reason or an anecdote* is the retrieved passage itself, from a few
  seconds before its best sentence to the passage's end (at least ``min_seconds``).
  Shorter moments were measured too (25-35 s from the anchor): they overlap the answer
  less often (hit@1 0.03-0.05 lower on dev and dev2) for no gain in IoU, because the
  passage that ranked first is itself evidence of where the answer ends.

``boundaries="passage"`` uses the passage rule for every question, for comparison.
``boundaries="curve"`` cuts a fact's moment from the model's per-sentence similarity
curve instead: from the anchor (its peak) it grows either way while the smoothed curve
stays above a share of the way from the video's median to the peak, within the lengths
of dev's gold answers (``curve_span``); a procedure keeps its long moment.
"""

from __future__ import annotations

import re

import numpy as np

from ._chunking import Chunking
from ._lexical import terms

# "How do I / how can you / how to / how should we ...", "what are the steps", and the
# same in the other languages whose stemmers we ship.
_PROCEDURE_QUESTION = re.compile(
    r"\b(how (do|can|should|would|could|does one) (i|you|we|one|someone|people)\b|how to\b"
    r"|steps?\b (to|for|of)\b|procedure|walk (me )?through|show (me )?how"
    r"|c[oó]mo (se )?(puedo|hago|hacer|debo)|pasos para|comment (faire|puis|peut-on)"
    r"|[ée]tapes pour|wie (kann|mache|macht) man|schritte)",
    re.I,
)
# Words that narrate instructions (English tutorials and how-to videos).
_STEP_CUE = re.compile(
    r"\b(first(ly)?|second(ly)?|next|then|step|steps|now|after that|finally|once|make sure"
    r"|you('ll| will)? (want|need) to|click|press|select|place|put|apply|hold|go to|drag"
    r"|choose|open)\b",
    re.I,
)
#: Step cues per 100 words in the minute after the anchor that mark a procedure.
STEP_CUE_DENSITY = 3.0
_CUE_WINDOW = 60.0


def is_procedure(question: str, chunking: Chunking, anchor: int) -> bool:
    """Does the question ask for, or the narration at the anchor give, a procedure?"""
    if _PROCEDURE_QUESTION.search(question):
        return True
    words = cues = 0
    start = chunking.sentences[anchor].start
    for sentence in chunking.sentences[anchor:]:
        if sentence.start - start > _CUE_WINDOW:
            break
        words += len(sentence.text.split())
        cues += len(_STEP_CUE.findall(sentence.text))
    return words > 0 and 100.0 * cues / words >= STEP_CUE_DENSITY


def curve_span(chunking: Chunking, scores: np.ndarray, best: int, settings) -> tuple[int, int]:
    """Sentences [first, last) around ``best`` where the smoothed similarity stays high."""
    sentences = chunking.sentences
    radius = settings.curve_smooth
    smooth = np.convolve(np.pad(scores, radius, mode="edge"), np.ones(2 * radius + 1) / (2 * radius + 1),
                         mode="valid")
    floor = float(np.median(scores))
    line = floor + settings.curve_share * (float(smooth[best]) - floor)
    first, last = best, best + 1

    def length(a: int, b: int) -> float:
        return sentences[b - 1].end - sentences[a].start

    while True:
        left = first > 0 and length(first - 1, last) <= settings.curve_max_seconds and smooth[first - 1] >= line
        right = last < len(sentences) and length(first, last + 1) <= settings.curve_max_seconds \
            and smooth[last] >= line
        if not (left or right):
            break
        if left and (not right or smooth[first - 1] >= smooth[last]):
            first -= 1
        else:
            last += 1
    while last < len(sentences) and length(first, last) < settings.curve_min_seconds:
        last += 1
    return first, last


def shape_moment(chunking: Chunking, chunk_index: int, best: int, settings,
                 question: str = "", scores: np.ndarray | None = None) -> tuple[int, int]:
    """The moment around sentence ``best`` of chunk ``chunk_index``: sentences [first, last).

    ``scores``: the question's similarity to every sentence (for ``boundaries="curve"``)."""
    sentences = chunking.sentences
    chunk = chunking.chunks[chunk_index]
    procedure = settings.boundaries != "passage" and is_procedure(question, chunking, best)
    if settings.boundaries == "curve" and not procedure and scores is not None:
        first, last = curve_span(chunking, scores, best, settings)
        while first > 0 and sentences[best].start - sentences[first - 1].start <= settings.curve_lead_in:
            first -= 1
        return first, last
    if procedure:
        lead_in, length = settings.procedure_lead_in, settings.procedure_seconds
        first, last = best, best + 1
    else:
        lead_in, length = settings.lead_in, settings.min_seconds
        first = best if settings.start_at_sentence else chunk.first_sentence
        last = max(best + 1, chunk.last_sentence)
    while first > 0 and sentences[best].start - sentences[first - 1].start <= lead_in:
        first -= 1
    while last < len(sentences) and sentences[last - 1].end - sentences[first].start < length:
        last += 1
    return first, last


#: A sentence restates the question when it is put as a question (a question mark, or an
#: interrogative first word for captions without punctuation) and holds at least this
#: share of the question's terms. Term overlap alone also matched the answers themselves
#: (lecturers answer in the question's words): on dev it moved the shown sentence off
#: the answer for 6 of 48 questions.
RESTATE_SHARE = 0.5
_ASKING = re.compile(r"^\W*(?:so |and |but |now |okay |ok )?(what|why|how|when|where|who|which|is|are|can|"
                     r"does|do|should|qu[eé]|por qu[eé]|c[oó]mo|pourquoi|comment|warum|wie|was)\b", re.I)


def restates(question: str, sentence: str, language: str = "en") -> bool:
    """Does the sentence ask the question back (a speaker reading it out, or posing it)?"""
    if not (sentence.rstrip().endswith("?") or _ASKING.match(sentence)):
        return False
    asked = set(terms(question, language))
    return bool(asked) and len(asked & set(terms(sentence, language))) >= RESTATE_SHARE * len(asked)


def answer_after(chunking: Chunking, scores: np.ndarray | None, anchor: int, seconds: float,
                 question: str, language: str = "en") -> int:
    """Where a restated question is answered: of the sentences starting within ``seconds``
    after the anchor, the most similar one that does not restate it (without scores, the
    first that does not); the anchor itself when there is none."""
    sentences = chunking.sentences
    until = sentences[anchor].end + seconds
    after = [i for i in range(anchor + 1, len(sentences)) if sentences[i].start <= until
             and not restates(question, sentences[i].text, language)]
    if not after:
        return anchor
    return after[0] if scores is None else max(after, key=lambda i: scores[i])


def run_past(chunking: Chunking, last: int, sentence: int, seconds: float) -> int:
    """``last`` moved on so the moment runs at least ``seconds`` past ``sentence``'s end."""
    sentences = chunking.sentences
    last = max(last, sentence + 1)
    while last < len(sentences) and sentences[last - 1].end < sentences[sentence].end + seconds:
        last += 1
    return last
