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
"""

from __future__ import annotations

import re

from ._chunking import Chunking

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


def shape_moment(chunking: Chunking, chunk_index: int, best: int, settings,
                 question: str = "") -> tuple[int, int]:
    """The moment around sentence ``best`` of chunk ``chunk_index``: sentences [first, last)."""
    sentences = chunking.sentences
    chunk = chunking.chunks[chunk_index]
    if settings.boundaries == "answer" and is_procedure(question, chunking, best):
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
