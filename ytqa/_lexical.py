"""BM25 over chunks: finds the names, numbers and rare terms a small embedding model misses."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER_LANGUAGES = {
    "en": "english", "es": "spanish", "fr": "french", "it": "italian", "de": "german",
    "pt": "portuguese", "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian",
    "ru": "russian", "fi": "finnish", "tr": "turkish", "ro": "romanian", "hu": "hungarian",
}
_STOPWORD_LISTS = {
    "en": "STOPWORDS_EN_PLUS", "es": "STOPWORDS_SPANISH", "fr": "STOPWORDS_FRENCH",
    "it": "STOPWORDS_ITALIAN", "de": "STOPWORDS_GERMAN", "pt": "STOPWORDS_PORTUGUESE",
    "nl": "STOPWORDS_DUTCH", "ru": "STOPWORDS_RUSSIAN",
}
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "it": "Italian", "de": "German",
    "pt": "Portuguese", "nl": "Dutch", "ru": "Russian",
}
# Question phrasing carries no topic: "what does the speaker say about X" is about X.
_QUESTION_WORDS = {
    "speaker", "talk", "video", "say", "says", "said", "mention", "mentions", "mentioned",
    "explain", "explains", "explained", "describe", "describes", "according", "discuss",
    "discusses", "host", "guest", "presenter", "tell", "tells", "does", "did", "point",
    "example", "give", "gives", "part",
}


@lru_cache(maxsize=None)
def _stopwords(language: str) -> frozenset[str]:
    from bm25s import stopwords

    words = set(getattr(stopwords, _STOPWORD_LISTS["en"]))
    base = language.split("-")[0].lower()
    if base in _STOPWORD_LISTS:
        words |= set(getattr(stopwords, _STOPWORD_LISTS[base]))
    return frozenset(_fold(w) for w in words) | frozenset(_QUESTION_WORDS)


@lru_cache(maxsize=None)
def _stemmer(language: str):
    try:
        import Stemmer
    except ImportError:  # stemming helps, but BM25 works without it
        return None
    name = _STEMMER_LANGUAGES.get(language.split("-")[0].lower(), "english")
    return Stemmer.Stemmer(name)


@lru_cache(maxsize=1 << 16)
def _fold(word: str) -> str:
    """Lower-case and drop accents, so 'Mélenchon' and 'melenchon' meet."""
    word = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in word if not unicodedata.combining(c))


def guess_language(texts: list[str]) -> str:
    """The language whose common words the text uses most (for files with no language tag)."""
    from bm25s import stopwords

    sample = [_fold(w) for text in texts[:400] for w in _WORD.findall(text)]
    best, best_hits = "en", 0
    for code, name in _STOPWORD_LISTS.items():
        words = frozenset(_fold(w) for w in getattr(stopwords, name))
        hits = sum(w in words for w in sample)
        if hits > best_hits * 1.1:
            best, best_hits = code, hits
    return best


def terms(text: str, language: str = "en") -> list[str]:
    stop = _stopwords(language)
    stemmer = _stemmer(language)
    words = [_fold(w) for w in _WORD.findall(text)]
    words = [w for w in words if w not in stop and (len(w) > 1 or w.isdigit())]
    return stemmer.stemWords(words) if stemmer else words


class LexicalIndex:
    def __init__(self, texts: list[str], language: str = "und"):
        import bm25s

        if language.split("-")[0].lower() not in _STEMMER_LANGUAGES:
            language = guess_language(texts)
        self.language = language
        corpus = [terms(text, language) or ["\u2205"] for text in texts]
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        self._known = set(self._bm25.vocab_dict)

    def scores(self, question: str):
        """BM25 score of every chunk for the question (numpy array)."""
        import numpy as np

        query = [t for t in terms(question, self.language) if t in self._known]
        if not query:
            return np.zeros(self._bm25.scores["num_docs"], dtype="float32")
        return self._bm25.get_scores(query)
