"""Each visitor's questions and answers, by video (or collection, or the whole library),
kept in the store's records ("histories": ``app/histories/<key>.json`` in a library folder,
rows of ytqa_records on PostgreSQL), and exported as Markdown with timestamp links.

A signed-in person's are kept under their name (so they follow them to a new browser and
survive signing out); without sign-in, under a token the page carries in its address (so a
reload keeps them; visitors never see each other's)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from ytqa import MAX_QUESTION_CHARS, Moment, WrittenAnswer, format_timestamp, watch_url

from ytqa import FileRecords, YtqaError

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Answers kept per video and videos per history (the oldest are dropped).
MAX_ANSWERS = 50
MAX_VIDEOS = 200


def new_token() -> str:
    return secrets.token_urlsafe(18)


def valid_token(token) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


def person_key(person: str) -> str:
    """A signed-in person's history key: a digest of their name, never a token (a token has
    no dot), so no address can name it."""
    return "person." + hashlib.sha256(person.encode("utf-8")).hexdigest()[:40]


def moment_json(moment: Moment) -> dict:
    return {**moment.to_json(), "title": moment.title, "similarity": round(float(moment.similarity), 4)}


def moment_from_json(data: dict) -> Moment:
    return Moment(str(data["video_id"]), float(data["start"]), float(data["end"]), str(data["text"]),
                  float(data["score"]), str(data["sentence"]), data.get("title"),
                  float(data.get("similarity", 0.0)), answered_by=str(data.get("answered_by", "")),
                  caveat=str(data.get("caveat", "")))


@dataclass
class Answer:
    """One question and what came back; ``scope`` is a video id, "all" or "collection:<key>"."""

    question: str
    scope: str
    moments: list[Moment] = field(default_factory=list)
    error: str | None = None
    #: Answered from the quick index while the full one is built: refreshed when it is done.
    refining: bool = False
    refreshed: bool = False
    asked: float = field(default_factory=time.time)
    #: The moments match only weakly, by the model's own measure (``ytqa.weak_match``).
    weak: bool = False
    #: The question's and the transcript's languages, where they differ (else None), and
    #: whether the model that answered connects languages itself.
    languages: tuple[str, str] | None = None
    multilingual: bool = False
    #: The answer in words a chat model wrote from these moments (``WrittenAnswer``'s
    #: fields), or why it wrote none (in the app's words).
    written: dict | None = None
    words_error: str | None = None

    def to_json(self) -> dict:
        return {"question": self.question, "scope": self.scope, "error": self.error,
                "refining": self.refining, "refreshed": self.refreshed, "asked": self.asked,
                "moments": [moment_json(m) for m in self.moments], "weak": self.weak,
                "languages": list(self.languages) if self.languages else None, "multilingual": self.multilingual,
                "written": self.written, "words_error": self.words_error}

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        languages = data.get("languages")
        return cls(str(data["question"]), str(data["scope"]),
                   [moment_from_json(m) for m in data.get("moments", [])], data.get("error"),
                   bool(data.get("refining")), bool(data.get("refreshed")), float(data.get("asked", 0)),
                   bool(data.get("weak")), (str(languages[0]), str(languages[1])) if languages else None,
                   bool(data.get("multilingual")), data.get("written") if isinstance(data.get("written"), dict) else None,
                   data.get("words_error"))

    @property
    def words(self) -> WrittenAnswer | None:
        """The answer in words, as the chat model's result (None if none was written)."""
        if not self.written:
            return None
        fields = {name: tuple(value) if isinstance(value, list) else value
                  for name, value in self.written.items() if name in WrittenAnswer.__dataclass_fields__}
        try:
            return WrittenAnswer(**fields)
        except TypeError:
            return None  # a damaged entry: its moments are still shown


class History:
    """One visitor's answers, by scope, newest last: the record ``token`` (or, for a signed-in
    ``person``, theirs) of ``source``, a store's ``Records`` or a folder.

    Two tabs may share it: each change is merged into what is stored, as one ``update`` of
    the record, a question at a time (one tab's answer never replaces the other's). A store
    that cannot be written keeps the answers for this page only (``saved`` says so).
    """

    def __init__(self, source, token: str, person: str | None = None):
        if not valid_token(token):
            raise ValueError("not a history token")
        self.records = source if hasattr(source, "update") else FileRecords(Path(source), "histories")
        self.token, self.person = token, person
        self.key = person_key(person) if person is not None else token
        self.saved = True
        self.scopes: dict[str, list[Answer]] = self._read()

    @staticmethod
    def _parsed(data) -> dict[str, list[Answer]]:
        scopes: dict[str, list[Answer]] = {}
        if isinstance(data, dict):
            for scope, answers in data.items():
                try:
                    scopes[str(scope)] = [Answer.from_json(a) for a in answers]
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue  # a damaged entry is dropped, the rest kept
        return scopes

    def _read(self) -> dict[str, list[Answer]]:
        try:
            return self._parsed(self.records.get(self.key))
        except (OSError, YtqaError):  # unreadable (written anew by the next change), or unreachable
            return {}

    def answers(self, scope: str) -> list[Answer]:
        return self.scopes.get(scope, [])

    def add(self, answer: Answer) -> None:
        def append(scopes: dict[str, list[Answer]]) -> None:
            answers = scopes.setdefault(answer.scope, [])
            answers.append(answer)
            del answers[:-MAX_ANSWERS]
            scopes[answer.scope] = scopes.pop(answer.scope)  # most recent scope last
            while len(scopes) > MAX_VIDEOS:
                scopes.pop(next(iter(scopes)))
        self._change(append)

    def clear(self, scope: str) -> None:
        self._change(lambda scopes: scopes.pop(scope, None))

    def save(self) -> None:
        """This page's answers, changed in place (refreshed), written over their stored selves."""
        mine = {answer_id(a): a for answers in self.scopes.values() for a in answers}

        def update(scopes: dict[str, list[Answer]]) -> None:
            for answers in scopes.values():
                answers[:] = [mine.get(answer_id(a), a) for a in answers]
        self._change(update)

    def _change(self, change) -> None:
        """Read what is stored (another tab may have added to it), change it, write it back."""
        changed: list[dict[str, list[Answer]]] = []

        def stored(data):
            scopes = self._parsed(data)
            change(scopes)
            changed.append(scopes)
            return {scope: [a.to_json() for a in answers] for scope, answers in scopes.items()}

        try:
            self.records.update(self.key, stored)
            self.scopes, self.saved = changed[-1], True
        except (OSError, YtqaError):
            change(self.scopes)  # kept for this page only
            self.saved = False


#: The names of the languages a question is told apart in (ytqa's language check).
LANGUAGE_NAMES = dict(zip(
    "en es fr de it pt nl ru uk pl cs ja zh ko hi ar tr vi id sv da no fi el he hu ro th fa bn ta ur ms".split(),
    "English Spanish French German Italian Portuguese Dutch Russian Ukrainian Polish Czech Japanese Chinese "
    "Korean Hindi Arabic Turkish Vietnamese Indonesian Swedish Danish Norwegian Finnish Greek Hebrew "
    "Hungarian Romanian Thai Persian Bengali Tamil Urdu Malay".split()))
#: Sentences end at these marks (and a closing quote or bracket after them).
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…。？！])|(?<=[.!?…。？！][\"')\]]))\s+")


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, f"another language ({code})")


def notes(answer: Answer) -> list[str]:
    """What an answer says about itself above its moments, in words: a question longer than
    is read, a question in another language than the video's, a weak match."""
    said = []
    if len(answer.question) > MAX_QUESTION_CHARS:
        said.append(f"Only the first {MAX_QUESTION_CHARS:,} characters of this question were read "
                    f"(it has {len(answer.question):,}): ask the rest as another question.")
    if answer.languages and not answer.multilingual and answer.moments:
        asked, spoken = (language_name(code) for code in answer.languages)
        said.append(f"This question seems to be in {asked}, the video in {spoken}: the model that answered "
                    "matches words within one language, so these moments may miss. Choose the multilingual "
                    f"e5 (multilingual-e5-small) under Embedding model in the sidebar, ask in {spoken}, or, "
                    "for a video from YouTube, choose its YouTube translation under Transcript language.")
    elif answer.weak and answer.moments:
        said.append("No passage matches this question well: these are only the closest moments. The video "
                    "may not talk about it; ask with words the speaker would use.")
    return said


def excerpt_parts(moment: Moment, follow: int = 40, most: int = 100) -> tuple[bool, str, str, str, bool]:
    """What a moment shows of itself: (cut before, the text before its best sentence, the
    sentence, the text after it, cut after). The sentence before it (its end, if long), then
    whole sentences after it until ``follow`` words (an answer often follows its setup), at
    most ``most`` words in all."""
    text, sentence = " ".join(moment.text.split()), " ".join(moment.sentence.split())
    at = text.find(sentence) if sentence else -1
    if at < 0:
        words = text.split()
        return False, "", "", " ".join(words[:most]), len(words) > most
    before = _SENTENCE_END.split(text[:at].strip())[-1].split()
    lead = before[-12:] if len(before) > 20 else before
    after: list[str] = []
    for piece in _SENTENCE_END.split(text[at + len(sentence):].strip()):
        if len(after) >= follow or not piece:
            break
        after += piece.split()
    room = max(0, most - len(lead) - len(sentence.split()))
    shown = after[:room]
    rest = text[at + len(sentence):].split()
    return (len(lead) < len(text[:at].split()), " ".join(lead), sentence, " ".join(shown),
            len(shown) < len(rest))


def excerpt_text(moment: Moment) -> str:
    """A moment's excerpt as plain text, as the page shows it."""
    cut_before, before, sentence, after, cut_after = excerpt_parts(moment)
    body = " ".join(part for part in (before, sentence, after) if part)
    return ("… " if cut_before else "") + body + (" …" if cut_after else "")


def answer_id(answer: Answer) -> tuple:
    """One question asked once: the same in every tab that reads it back."""
    return answer.scope, answer.question, round(answer.asked, 6)


def inert(value: str) -> str:
    """Text as Markdown-inert text, where a character could be syntax in the export."""
    return re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", value)


def model_label(setting: str) -> str:
    """A chat model as the page names it: a GGUF file by its name, never its server path."""
    provider, _, name = setting.partition(":")
    return f"{provider}:{Path(name).name}" if name.lower().endswith(".gguf") else setting


def words_summary(words: WrittenAnswer) -> str | None:
    """Why an answer in words is unverified, in words (None when it is verified)."""
    if words.verified:
        return None
    if words.wrong_citations:
        cited = ", ".join(str(n) for n in words.wrong_citations)
        given = f"moments 1 to {words.moments_sent}" if words.moments_sent > 1 else "moment 1"
        return f"Unverified: it cites {cited}, but it was given {given} only. Check it against the moments below."
    return "Unverified: it cites none of the moments, so nothing ties it to the video. Read the moments below."


def words_export(answer: Answer) -> list[str]:
    """The answer in words as plain text, each valid [n] a link to moment n at its second."""
    words = answer.words
    if answer.words_error:
        return [inert(" ".join(answer.words_error.split())), ""]
    if words is None:
        return []
    body = []
    for piece, index in words.pieces():
        if index is None or index >= len(answer.moments):
            body.append(inert(piece))
        else:
            moment = answer.moments[index]
            body.append(f"[\\[{index + 1}\\]]({watch_url(moment.video_id, moment.start)})")
    lines = [f"Answer in words, by {inert(model_label(words.model))}: " + " ".join("".join(body).split()), ""]
    for said in (words_summary(words), *words.notes):
        lines += [inert(said), ""] if said else []
    return lines


def markdown_export(title: str, answers: list[Answer]) -> str:
    """The answers as the page shows them, readable as plain text: each question, its answer
    in words (if one was written), what its answer says about itself, then each moment's
    timestamp link and its excerpt."""
    def text(value: str) -> str:  # Markdown-inert, where a character could be syntax here
        return inert(" ".join(value.split()))

    lines = [f"# {text(title)}", ""]
    for answer in answers:
        lines += [f"## {text(answer.question)}", ""]
        if answer.error:
            lines += [text(answer.error), ""]
            continue
        lines += words_export(answer)
        if not answer.moments:
            lines += ["No passage matches this question.", ""]
        lines += [line for note in notes(answer) for line in (text(note), "")]
        for moment in answer.moments:
            stamp = f"{format_timestamp(moment.start)}–{format_timestamp(moment.end)}"
            where = f" ({text(moment.title or moment.video_id)})" if answer.scope != moment.video_id else ""
            lines.append(f"- [{stamp}]({watch_url(moment.video_id, moment.start)}){where}: "
                         f"{text(excerpt_text(moment))}")
        lines.append("")
    return "\n".join(lines)
