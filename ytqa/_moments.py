"""Where a moment starts and ends, chosen per question after retrieval.

Retrieval finds a chunk and, inside it, the sentence that answers best (the anchor).
The passage it came from was cut before the question was known, so its edges say
nothing about the answer. Here the edges are chosen for the question:

- *What kind of answer is wanted.* A procedure ("how do I...", "how to...", "what are
  the steps...") is answered by a run of steps; a fact, a reason or an anecdote by a
  few sentences. The narration says so too: instructions are dense in cue words
  ("first", "next", "then", "click", "apply", "make sure"). Either signal makes the
  answer a procedure.
- *Where it starts.* At the anchor, keeping the sentences that begin shortly before it
  (the lead-in: a little for a fact, more for a procedure, which is introduced before
  the step that matched best).
- *Where it ends.* At the first sentence end past the answer's expected length: about
  25 s for a fact, 75 s for a procedure (the gold spans of the dev sets: medians 23-30 s
  for questions on talks, 48-72 s for how-to videos; the sweep in the README).

``boundaries="passage"`` keeps the earlier rule (the retrieved passage, at least 30 s),
for comparison.
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
    if settings.boundaries == "passage":
        lead_in, length = settings.lead_in, settings.min_seconds
        first = best if settings.start_at_sentence else chunk.first_sentence
        last = max(best + 1, chunk.last_sentence)
    else:
        procedure = is_procedure(question, chunking, best)
        lead_in = settings.procedure_lead_in if procedure else settings.lead_in
        length = settings.procedure_seconds if procedure else settings.fact_seconds
        first, last = best, best + 1
    while first > 0 and sentences[best].start - sentences[first - 1].start <= lead_in:
        first -= 1
    while last < len(sentences) and sentences[last - 1].end - sentences[first].start < length:
        last += 1
    return first, last
