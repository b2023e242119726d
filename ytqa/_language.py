"""Which language a question is in (py3langid, loaded once, on first use).

Used to fuse rankings accordingly: BM25 matches words, so it helps only when the
question and the transcript share a language; across languages it adds noise and
the embedding model alone can connect them.
"""

from __future__ import annotations

import threading

#: The languages a question is told apart in. Restricting the classifier to widely
#: used languages keeps short English questions from being read as Latin or Hausa.
LANGUAGES = ("en es fr de it pt nl ru uk pl cs ja zh ko hi ar tr vi id sv da no fi el he "
             "hu ro th fa bn ta ur ms").split()
#: Below this probability the guess is too weak to overrule the transcript's language
#: ("pytest fixture decorador", "minimum viable process" are not reliably anything).
CONFIDENCE = 0.5

_lock = threading.Lock()
_identifier = None


def _classifier():
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(LANGUAGES)
            _identifier = identifier
    return _identifier


def base(code: str | None) -> str:
    return (code or "und").split("-")[0].split("_")[0].lower()


def question_language(question: str, transcript_language: str) -> str:
    """The question's language code; the transcript's when the guess is not confident."""
    expected = base(transcript_language)
    language, probability = _classifier().classify(question)
    if language != expected and probability < CONFIDENCE:
        return expected
    return language


def same_language(question: str, transcript_language: str) -> bool:
    if base(transcript_language) == "und":
        return True  # nothing to compare with: let BM25 try
    return question_language(question, transcript_language) == base(transcript_language)


def preload() -> None:
    _classifier()
