"""A question in another language than the video, asked before the strong model's index
exists: the strong (multilingual) model answers it at once, or the answer says why not.

The cheap model (MiniLM) reads English only; a question in English over a Spanish track
misses about two times in three with it. So an index of a one-language model hands such a
question here (``VideoIndex.across``), and:

- a short video (at most ``SHORT_VIDEO_SENTENCES`` sentences, about a quarter of an hour):
  the strong model's index is built now, ahead of its turn (a few seconds: it is the
  video's best index, so nothing is embedded twice) and answers;
- a longer one: the strong model judges the cheap index's top ``JUDGED`` passages, each
  with a sentence either side (``_judge.BiEncoderJudge``): a cost that grows with
  ``JUDGED``, not with the video;
- no strong model (none set, or it cannot be loaded): the cheap model answers, and every
  moment carries a caveat saying it may miss and why.

Measured on dev2's 45 cross-language questions (hit@1 / hit@3 / land@1; README,
Retrieval quality): MiniLM alone 0.36 / 0.53 / 0.29; these rules 0.38 / 0.62 / 0.36 (the
best index: 0.38 / 0.67 / 0.36). The strong model's sentence vectors alone (a sentence-only
index, 0.27 / 0.58 / 0.22) or its chunk vectors alone (0.36 / 0.60 / 0.31) do worse.
"""

from __future__ import annotations

from dataclasses import replace

from ._judge import BiEncoderJudge
from ._search import Moment, SearchSettings, VideoIndex

#: Up to about a quarter of an hour of speech: e5 embeds its index in about 10 s of CPU.
SHORT_VIDEO_SENTENCES = 200
#: How many of the cheap index's passages the strong model judges on a longer video.
JUDGED = 10


class AcrossLanguages:
    """Answers a question in another language from an index of a one-language model."""

    def __init__(self, progression):
        self.progression = progression
        #: A video of at most this many sentences is embedded whole by the strong model.
        self.short = SHORT_VIDEO_SENTENCES
        self._judge: BiEncoderJudge | None = None

    def __call__(self, index: VideoIndex, question: str, k: int, settings: SearchSettings) -> list[Moment]:
        reason = self.progression.drop_unloadable()
        first = self.progression.stages[0].model
        strong = [s for s in self.progression.stages if s.model is not first]
        if not strong:
            return self._alone(index, question, k, settings, reason)
        if len(index.chunking.sentences) <= self.short:
            return self.progression.open_stage(index.transcript, strong[-1]).ask(question, k, settings)
        model = strong[-1].model.get()
        if self._judge is None or self._judge.embedder is not model:
            self._judge = BiEncoderJudge(model)
        judged = replace(settings, judge_candidates=JUDGED, judge_context=1)
        moments = index.search(question, index.embedder.embed_query(question), k, judged, self._judge)
        by = f"{self._judge.name} judging the {index.label}'s top {JUDGED} passages"
        return [replace(m, answered_by=by) for m in moments]

    @staticmethod
    def _alone(index: VideoIndex, question: str, k: int, settings: SearchSettings,
               reason: str | None) -> list[Moment]:
        moments = index.search(question, index.embedder.embed_query(question), k, settings)
        why = (f"the multilingual model is not used: {reason}" if reason else
               "no multilingual model is set (set YTQA_STRONG_MODEL=e5, or ask with --model e5)")
        caveat = (f"The question is in another language than the video ({index.transcript.language}) and "
                  f"only {index.label.split(' ')[0] or 'a one-language model'}, which matches within one "
                  f"language, could answer: these moments may miss the answer; {why}.")
        return [replace(m, caveat=caveat) for m in moments]
