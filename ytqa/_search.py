"""Questions to moments: dense and BM25 rankings fused, overlapping hits merged.

A chunk is found by meaning (the embedding) or by its rare words (BM25); reciprocal
rank fusion combines the two without tuning score scales. The answer then starts
at the sentence inside the chunk that matches best, so a person lands on the answer
rather than up to half a minute before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._chunking import Chunking
from ._errors import InvalidQuestion
from ._language import same_language
from ._lexical import LexicalIndex, terms
from ._links import embed_url, format_timestamp, watch_url
from ._moments import answer_after, is_procedure, restates, run_past, shape_moment
from ._transcript import Transcript

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class SearchSettings:
    """Query-time choices; changing them never needs a re-index."""

    candidates: int = 50
    rrf_k: float = 10.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.5
    #: BM25's weight when the question and the transcript are in different languages.
    #: None: off for a multilingual model (it connects the languages itself, and BM25's
    #: chance matches of names and cognates pull it off: dev2 cross-language hit@3 0.62
    #: with BM25, 0.67 without), full for an English one (those matches are all it has:
    #: 0.53 with, 0.49 without). See README, Retrieval quality.
    cross_lexical_weight: float | None = None
    sentence_weight: float = 1.0
    #: How a moment's edges are chosen: "answer" (a procedure gets a long moment, any
    #: other answer its passage; see ``_moments``) or "passage" (always the passage).
    boundaries: str = "answer"
    #: Seconds of context kept before the best sentence.
    lead_in: float = 9.0
    #: Start at the best sentence (else at the chunk's start); run at least this long.
    start_at_sentence: bool = True
    min_seconds: float = 30.0
    #: A procedure's lead-in and length: it is introduced before its best step, and long.
    procedure_lead_in: float = 10.0
    procedure_seconds: float = 75.0
    #: Weight of the following sentence when choosing the sentence a procedure's moment is
    #: cut around (a run of steps starts where the next sentence matches too) ...
    sentence_context: float = 0.5
    #: ... and any other answer's; None: the model's own weight (``ModelSpec.fact_context``),
    #: else ``sentence_context``. e5's sentence similarities are sharp enough that the
    #: next sentence pulled its facts' moments too early (README, Retrieval quality).
    fact_context: float | None = None
    #: The second stage, when a judge is given to ``search``: how many of the first
    #: stage's passages it reads, how many sentences either side of each it reads with
    #: it, and its weight against the first stage's rank (reciprocal ranks, ``rrf_k``).
    judge_candidates: int = 20
    judge_context: int = 1
    judge_weight: float = 1.0
    #: ``boundaries="curve"``: the similarity curve is smoothed over this many sentences
    #: either side; a moment grows while it stays above this share of the way from the
    #: video's median to the peak, within these lengths, with this lead-in.
    curve_smooth: int = 1
    curve_share: float = 0.5
    curve_min_seconds: float = 14.0
    curve_max_seconds: float = 45.0
    curve_lead_in: float = 3.0
    #: When the best sentence restates the question, the answer follows it: the sentence
    #: shown is the best one starting within this many seconds after it (0: off).
    restated_follow: float = 0.0
    #: A moment runs at least this many seconds past the sentence it shows (0: off).
    follow_seconds: float = 0.0


@dataclass(frozen=True)
class Moment:
    """One answer: a stretch of the video, the passage, and where to play it."""

    video_id: str
    start: float
    end: float
    text: str
    score: float
    #: The sentence of ``text`` that answers best (shown highlighted).
    sentence: str
    title: str | None = None
    #: The model's similarity of the question to ``sentence``: unlike ``score``, which
    #: ranks moments within one video, comparable across videos.
    similarity: float = 0.0
    #: The best similarity of the question to any sentence of the video (to any passage
    #: of an index without sentence vectors): low for a question the video cannot answer.
    best_in_video: float = 0.0
    #: Which model and index ranked it ("minilm quick index", "e5 multilingual index", ...).
    answered_by: str = ""
    #: Why it may miss, where only a model that cannot read the question's language answered.
    caveat: str = ""

    @property
    def url(self) -> str:
        return watch_url(self.video_id, self.start)

    @property
    def embed_url(self) -> str:
        return embed_url(self.video_id, self.start, autoplay=True)

    @property
    def timestamp(self) -> str:
        return format_timestamp(self.start)

    def to_json(self) -> dict:
        return {
            "video_id": self.video_id,
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "seconds": round(self.end - self.start, 2),
            "timestamp": self.timestamp,
            "text": self.text,
            "sentence": self.sentence,
            "score": round(self.score, 4),
            "url": self.url,
            **({"answered_by": self.answered_by} if self.answered_by else {}),
            **({"caveat": self.caveat} if self.caveat else {}),
        }


def check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InvalidQuestion("The question is empty: type what you want to find in the video.")
    question = " ".join(question.split())
    if not any(c.isalnum() for c in question):
        raise InvalidQuestion(
            "The question has no words to search for (only symbols or emoji): "
            "ask in words what you want to find."
        )
    # The model reads 256 word pieces at most; a pasted essay is cut, not refused.
    return question[:MAX_QUESTION_CHARS]


class VideoIndex:
    """A searchable video: its transcript, chunks, vectors and BM25 index.

    ``vectors`` is the store's handle on this index's vectors (``_store.IndexVectors``):
    every vector score comes from there.
    """

    def __init__(self, transcript: Transcript, chunking: Chunking, vectors, embedder=None,
                 key: str = "", multilingual: bool | None = None):
        self.transcript = transcript
        self.chunking = chunking
        self.vectors = vectors
        self.embedder = embedder
        self.key = key
        #: Whether the model connects languages itself (then BM25 stays out across languages);
        #: by default what the embedder's spec says, if there is one.
        if multilingual is None:
            multilingual = bool(getattr(getattr(embedder, "spec", None), "multilingual", False))
        self.multilingual = multilingual
        #: The next sentence's weight when choosing a fact's sentence, measured for this
        #: model (None: the search's ``sentence_context``).
        self.fact_context = getattr(getattr(embedder, "spec", None), "fact_context", None)
        #: Which stage of the progression it is, whether it is the video's best, and how
        #: its answers name it (set by ``_stages``).
        self.stage, self.best, self.family = "index", True, ""
        self.label = getattr(getattr(embedder, "spec", None), "name", "") or ""
        #: For a one-language model: answers a question in another language (``_across``).
        self.across = None
        self._lexical: LexicalIndex | None = None
        self._sentence_bounds = np.array(
            [i for c in chunking.chunks for i in (c.first_sentence, c.last_sentence)], dtype=np.intp
        )

    @property
    def video_id(self) -> str:
        return self.transcript.video_id

    @property
    def sentence_vectors(self) -> np.ndarray | None:
        return self.vectors.sentence_vectors()

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex(
                [c.text for c in self.chunking.chunks], self.transcript.language_code
            )
        return self._lexical

    def ask(self, question: str, k: int = 5, settings: SearchSettings = SearchSettings(),
            judge=None) -> list[Moment]:
        question = check_question(question)
        if self.across is not None and not same_language(question, self.transcript.language_code):
            return self.across(self, question, k, settings)
        query = self.embedder.embed_query(question)
        return self.search(question, query, k, settings, judge)

    def search(self, question: str, query: np.ndarray, k: int = 5,
               settings: SearchSettings = SearchSettings(), judge=None) -> list[Moment]:
        """The top ``k`` moments; with a ``_judge.Judge``, its second look reorders the
        first stage's top ``settings.judge_candidates``."""
        ranking = self.rank(question, query, settings)
        if judge is None or settings.judge_candidates <= 0:
            return self.moments(ranking, question, k, settings)
        ranking = rejudge(ranking, judge, question, settings)
        read = min(settings.judge_candidates, len(ranking.order))
        by = f"{self.label}, its top {read} passages judged by {judge.name}"
        return [replace(m, answered_by=by) for m in self.moments(ranking, question, k, settings)]

    def moments(self, ranking: "Ranking", question: str, k: int = 5,
                settings: SearchSettings = SearchSettings()) -> list[Moment]:
        """Moments from a ranking, best first, none overlapping another."""
        if ranking.sentence_scores is not None and len(ranking.sentence_scores):
            best_in_video = float(np.max(ranking.sentence_scores))
        else:
            best_in_video = max((float(score) for score in ranking.dense_of.values()), default=0.0)
        moments: list[Moment] = []
        taken: list[tuple[float, float]] = []
        sentences = self.chunking.sentences
        for index in ranking.order:
            chunk = self.chunking.chunks[index]
            # A chunk overlapping a moment already chosen is that same moment (measured:
            # clipping moments to fit beside each other instead lost a top-3 hit on dev).
            if any(chunk.start < e and s < chunk.end for s, e in taken):
                continue
            first, last, best = self._shape(ranking, index, question, settings)
            start, end = sentences[first].start, sentences[last - 1].end
            # So is a moment that, stretched to its edges, overlaps one.
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            moments.append(Moment(
                video_id=self.video_id,
                start=start,
                end=end,
                text=" ".join(x.text for x in sentences[first:last]),
                score=float(ranking.fused[index]),
                sentence=sentences[best].text,
                title=self.transcript.title,
                similarity=ranking.similarity(index, best),
                best_in_video=best_in_video,
                answered_by=self.label,
            ))
            if len(moments) == k:
                break
        return moments

    def _shape(self, ranking: "Ranking", index: int, question: str, settings: SearchSettings):
        """A chunk's moment: sentences [first, last), and the sentence it shows."""
        fact = settings.fact_context if settings.fact_context is not None else self.fact_context
        fact = settings.sentence_context if fact is None else fact
        best = ranking.best_sentence(index, fact)
        if fact != settings.sentence_context and settings.boundaries != "passage" \
                and is_procedure(question, self.chunking, best):
            best = ranking.best_sentence(index, settings.sentence_context)
        first, last = shape_moment(self.chunking, index, best, settings, question, ranking.sentence_scores)
        shown = best
        if settings.restated_follow and restates(question, self.chunking.sentences[best].text,
                                                 language := self.lexical.language):
            shown = answer_after(self.chunking, ranking.sentence_scores, best, settings.restated_follow,
                                 question, language)
            last = max(last, shown + 1)
        if settings.follow_seconds:
            last = run_past(self.chunking, last, shown, settings.follow_seconds)
        return first, last, shown

    def rank(self, question: str, query: np.ndarray, settings: SearchSettings = SearchSettings()) -> "Ranking":
        """Chunks best first: dense, BM25 and sentence rankings fused by reciprocal rank."""
        chunks = self.chunking.chunks
        n = len(chunks)
        fused = np.zeros(n, dtype="float64")
        dense = self.vectors.search(query, min(n, settings.candidates))
        dense_of = dict(dense)
        for rank, (index, _score) in enumerate(dense):
            fused[index] += settings.dense_weight / (settings.rrf_k + rank + 1)
        lexical_weight = settings.lexical_weight
        cross = settings.cross_lexical_weight
        if cross is None:
            cross = 0.0 if self.multilingual else lexical_weight
        if lexical_weight != cross and not same_language(question, self.transcript.language_code):
            lexical_weight = cross
        lexical = self.lexical.scores(question) if lexical_weight else np.zeros(0)
        if lexical.any():
            order = np.argsort(-lexical, kind="stable")[: settings.candidates]
            for rank, index in enumerate(order):
                if lexical[index] <= 0:
                    break
                fused[index] += lexical_weight / (settings.rrf_k + rank + 1)
        sentence_scores = self.vectors.sentence_scores(query)
        if sentence_scores is not None:
            # Each chunk's best sentence, in one vectorised pass over [first, last) pairs.
            padded = np.append(sentence_scores, -np.inf)
            best = np.maximum.reduceat(padded, self._sentence_bounds)[::2]
            order = np.argsort(-best, kind="stable")[: settings.candidates]
            for rank, index in enumerate(order):
                fused[index] += settings.sentence_weight / (settings.rrf_k + rank + 1)
        # On a 0-1 scale: 1 means first in every ranking.
        fused /= (settings.dense_weight + lexical_weight + settings.sentence_weight) / (
            settings.rrf_k + 1)
        ranked = np.argsort(-fused, kind="stable")
        ranked = ranked[fused[ranked] > 0].tolist()
        # Without sentence vectors, the best sentence is the one sharing most terms.
        question_terms = set(terms(question, self.lexical.language)) if sentence_scores is None else set()
        return Ranking(self, ranked, fused, sentence_scores, dense_of, question_terms,
                       settings.sentence_context)

    def _best_sentence(self, chunk_index: int, question_terms: set[str], sentence_scores,
                       context: float = 0.0) -> int:
        chunk = self.chunking.chunks[chunk_index]
        span = range(chunk.first_sentence, chunk.last_sentence)
        if sentence_scores is not None:
            last = len(sentence_scores) - 1
            return max(span, key=lambda i: sentence_scores[i] + context * sentence_scores[min(i + 1, last)])
        language = self.lexical.language

        def overlap(i: int) -> int:
            return len(question_terms & set(terms(self.chunking.sentences[i].text, language)))

        best = max(span, key=overlap)
        return best if overlap(best) else chunk.first_sentence


@dataclass
class Ranking:
    """One question's ranking of a video's chunks, and what shaping a moment needs."""

    index: VideoIndex
    order: list[int]
    fused: np.ndarray
    sentence_scores: np.ndarray | None
    dense_of: dict
    question_terms: set
    context: float

    def best_sentence(self, chunk_index: int, context: float | None = None) -> int:
        """The chunk's sentence that answers best; ``context``: the following sentence's
        weight (by default the procedure's, ``sentence_context``)."""
        return self.index._best_sentence(chunk_index, self.question_terms, self.sentence_scores,
                                         self.context if context is None else context)

    def similarity(self, chunk_index: int, sentence: int) -> float:
        if self.sentence_scores is not None:
            return float(self.sentence_scores[sentence])
        return float(self.dense_of.get(chunk_index, 0.0))


def judge_passage(chunking: Chunking, chunk_index: int, context: int) -> str:
    """A chunk's text with ``context`` sentences either side: what a judge reads."""
    chunk = chunking.chunks[chunk_index]
    first = max(0, chunk.first_sentence - context)
    last = min(len(chunking.sentences), chunk.last_sentence + context)
    return " ".join(s.text for s in chunking.sentences[first:last])


def rejudge(ranking: Ranking, judge, question: str, settings: SearchSettings) -> Ranking:
    """The ranking with its top candidates reordered by the judge's scores fused with
    their first-stage rank (reciprocal ranks); the rest follow in their order."""
    top = ranking.order[: settings.judge_candidates]
    if not top:
        return ranking
    chunking = ranking.index.chunking
    scores = np.asarray(judge.score(question, [judge_passage(chunking, i, settings.judge_context)
                                               for i in top]), dtype="float64")
    judged = np.empty(len(top))
    judged[np.argsort(-scores, kind="stable")] = np.arange(len(top))
    k, weight = settings.rrf_k, settings.judge_weight
    combined = (1.0 / (k + np.arange(len(top)) + 1) + weight / (k + judged + 1)) * (k + 1) / (1 + weight)
    order = [top[i] for i in np.argsort(-combined, kind="stable")]
    fused = ranking.fused.copy()
    fused[top] = combined
    rest = ranking.order[len(top):]
    if rest:  # below every candidate, in their first-stage order
        fused[rest] = np.minimum(fused[rest], combined.min() * 0.999)
    return replace(ranking, order=order + rest, fused=fused)
