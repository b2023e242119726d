"""A second look at the first stage's candidates: a judge scores (question, passage) pairs.

The first stage (dense, sentence and BM25 rankings fused) ranks every passage of a
video cheaply. A judge reads only its top ``N`` candidates, each with its neighbouring
sentences, and scores how well each answers the question; its cost grows with ``N``,
not with the video's length. ``_search.rejudge`` folds its scores back into the ranking.

One base class with one abstract method (``Judge.score``), and a registry of judges by
name with aliases, as for embedding models:

- ``bi-encoder`` (alias ``embedder``): any of our embedding models, for example the
  multilingual e5, embeds the question and the passages; the score is their cosine.
- ``cross-encoder`` (alias ``ce``): a sentence-transformers ``CrossEncoder`` for any
  Hugging Face Hub id or local folder, which reads question and passage together (for
  users online: the weights come from the Hub on first use).
- ``chat`` (alias ``chat-model``): the chat model that answers in words reads the
  question and the numbered passages and names those that answer it, best first (one call
  a question); the passages it does not name keep the first stage's order.

A front end names its judge with one setting (``judge_from_setting``): ``e5`` or
``bi-encoder:e5``, ``cross-encoder:HUB_ID``, ``chat`` (the chat model set to answer in
words) or ``chat:PROVIDER:MODEL``; ``none`` for no judge.

Judges are made by ``make_judge(name, **options)``; ``register`` adds one. The registry
is a plain dict here (name -> factory, alias -> name).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Sequence

import numpy as np

from ._errors import YtqaError
from ._registry import Registry
from ._vectors import inner_products


class Judge(ABC):
    """Scores how well each passage answers the question: higher is better."""

    #: Shown where the answer says who judged it.
    name: str = "judge"

    @abstractmethod
    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One score per passage, in the passages' order (a float array)."""


class BiEncoderJudge(Judge):
    """An embedding model as a judge: its similarity of the question to each passage (the
    inner product of their vectors, as in the model's index: cosine for e5 and MiniLM).

    ``embedder`` is anything with ``embed_query`` and ``embed_documents`` (an
    ``Embedder``); it applies its own query and passage prefixes. Passage vectors are
    kept by text for the judge's life, so asking again about the same video embeds
    only candidates it has not seen.
    """

    def __init__(self, embedder, remember: int = 20000):
        self.embedder = embedder
        self.name = getattr(getattr(embedder, "spec", None), "name", "bi-encoder")
        self._known: dict[str, np.ndarray] = {}
        self._remember = remember

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        passages = list(passages)
        if not passages:
            return np.zeros(0, dtype="float32")
        todo = [p for p in dict.fromkeys(passages) if p not in self._known]
        if todo:
            if len(self._known) + len(todo) > self._remember:
                self._known.clear()
            self._known.update(zip(todo, self.embedder.embed_documents(todo)))
        vectors = np.vstack([self._known[p] for p in passages])
        return inner_products(vectors, self.embedder.embed_query(question))


class CrossEncoderJudge(Judge):
    """A sentence-transformers ``CrossEncoder`` (a Hub id or a local folder) as a judge.

    The model is loaded on first use; a model that cannot be fetched or read raises
    ``JudgeUnavailable`` naming it and what to do.
    """

    def __init__(self, model: str, max_length: int = 512):
        self.model_name = model
        self.name = model
        self.max_length = max_length
        self._model = None

    def _load(self):
        if self._model is None:
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as error:
                raise JudgeUnavailable(self.model_name, f"a library is missing ({error.name})",
                                       "Install sentence-transformers to use a cross-encoder judge.") from None
            try:
                self._model = CrossEncoder(self.model_name, max_length=self.max_length, device="cpu")
            except Exception as error:  # hub, network and file errors: many types, one message
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise JudgeUnavailable(
                    self.model_name, f"the cross-encoder could not be loaded ({first[:200]})",
                    "Connect to the internet once so it can be downloaded from the Hugging Face Hub, "
                    "or name a local folder holding a sentence-transformers CrossEncoder; "
                    "or leave the judge off.") from None
        return self._model

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        passages = list(passages)
        if not passages:
            return np.zeros(0, dtype="float32")
        scores = self._load().predict([(question, p) for p in passages], show_progress_bar=False)
        return np.asarray(scores, dtype="float32").reshape(len(passages))


class ChatJudge(Judge):
    """A chat model as a judge (an ``_answer.Answerer``): the passages it names as answering
    score by their place in its list, best highest; those it does not name score 0, so they
    keep their first-stage order below the named ones once fused."""

    def __init__(self, answerer):
        self.answerer = answerer
        self.name = f"the chat model {answerer.name}"

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        passages = list(passages)
        scores = np.zeros(len(passages), dtype="float32")
        for place, position in enumerate(self.answerer.rank(question, passages)):
            scores[position] = len(passages) - place
        return scores


class JudgeUnavailable(YtqaError):
    def __init__(self, name: str, detail: str, remedy: str):
        self.name = name
        super().__init__(f"Cannot load the judge model {name!r}: {detail}. {remedy}")


#: The judges, by name or alias: ``register_judge(name, factory, aliases=...)`` adds one,
#: ``factory(**options)`` making it.
JUDGES: Registry[Callable[..., Judge]] = Registry("judge", "ytqa.register_judge")
register_judge = JUDGES.register


def judge_names() -> dict[str, list[str]]:
    """Each registered judge's name and its aliases."""
    return {name: JUDGES.aliases(name) for name in JUDGES.names()}


def make_judge(name: str, **options) -> Judge:
    """The judge called ``name`` (or one of its aliases), made with ``options``;
    ``UnknownPlugin`` naming the judges there are for any other name."""
    return JUDGES.get(name)(**options)


register_judge("bi-encoder", BiEncoderJudge, aliases=("embedder",))
register_judge("cross-encoder", CrossEncoderJudge, aliases=("ce",))
register_judge("chat", ChatJudge, aliases=("chat-model", "llm"))

_OFF = ("", "none", "off", "0")


def judge_from_setting(setting: str | None, embedder: Callable[[str], object],
                       answerer: Callable[[str | None], object]) -> Judge | None:
    """The judge one setting names (None for none): ``e5`` / ``bi-encoder:e5`` (an embedding
    model, made by ``embedder(name)``), ``cross-encoder:ID``, ``chat`` / ``chat:PROVIDER:MODEL``
    (``answerer(model or None)`` makes the chat model's ``Answerer``), or a registered judge's
    name, with its argument after the colon. ``JudgeUnavailable`` names what is missing."""
    if setting is None or setting.strip().lower() in _OFF:
        return None
    name, _, argument = setting.strip().partition(":")
    canonical = JUDGES.name_of(name)
    if canonical is None:  # a model's name alone: that model as a bi-encoder judge
        return BiEncoderJudge(embedder(setting.strip()))
    if canonical == "bi-encoder":
        return BiEncoderJudge(embedder(argument or "e5"))
    if canonical == "chat":
        made = answerer(argument or None)
        if made is None:
            raise JudgeUnavailable("chat", "no chat model is set", "Give one as --judge chat:PROVIDER:MODEL, "
                                   "or set YTQA_CHAT_MODEL (such as ollama:llama3.2).")
        return ChatJudge(made)
    if canonical == "cross-encoder" and not argument:
        raise JudgeUnavailable("cross-encoder", "no model is named", "Name one: cross-encoder:HUB_ID_OR_FOLDER "
                               "(such as cross-encoder:cross-encoder/ms-marco-MiniLM-L6-v2).")
    factory = JUDGES.get(canonical)
    return factory(argument) if argument else factory()
