"""Each visitor's questions and answers, by video (or collection, or the whole library),
kept in the data folder under a token the page carries in its address (so a reload keeps
them; visitors never see each other's), and exported as Markdown with timestamp links."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from ytqa import Moment, format_timestamp, watch_url

from .. import _storage as storage

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Answers kept per video and videos per history (the oldest are dropped).
MAX_ANSWERS = 50
MAX_VIDEOS = 200


def new_token() -> str:
    return secrets.token_urlsafe(18)


def valid_token(token) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


def moment_json(moment: Moment) -> dict:
    return {**moment.to_json(), "title": moment.title, "similarity": round(float(moment.similarity), 4)}


def moment_from_json(data: dict) -> Moment:
    return Moment(str(data["video_id"]), float(data["start"]), float(data["end"]), str(data["text"]),
                  float(data["score"]), str(data["sentence"]), data.get("title"),
                  float(data.get("similarity", 0.0)))


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

    def to_json(self) -> dict:
        return {"question": self.question, "scope": self.scope, "error": self.error,
                "refining": self.refining, "refreshed": self.refreshed, "asked": self.asked,
                "moments": [moment_json(m) for m in self.moments]}

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        return cls(str(data["question"]), str(data["scope"]),
                   [moment_from_json(m) for m in data.get("moments", [])], data.get("error"),
                   bool(data.get("refining")), bool(data.get("refreshed")), float(data.get("asked", 0)))


class History:
    """One visitor's answers, by scope, newest last; saved under ``<folder>/<token>.json``.

    Two tabs may share a token: each change is merged into what is stored, under a lock, a
    question at a time (one tab's answer never replaces the other's). A folder that cannot
    be written keeps the answers for this page only (``saved`` says so).
    """

    def __init__(self, folder: str | Path, token: str):
        if not valid_token(token):
            raise ValueError("not a history token")
        self.path = Path(folder) / f"{token}.json"
        self.token = token
        self.saved = True
        self.scopes: dict[str, list[Answer]] = self._read()

    def _read(self) -> dict[str, list[Answer]]:
        scopes: dict[str, list[Answer]] = {}
        data = storage.read_json(self.path)
        if isinstance(data, dict):
            for scope, answers in data.items():
                try:
                    scopes[str(scope)] = [Answer.from_json(a) for a in answers]
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue  # a damaged entry is dropped, the rest kept
        return scopes

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
        try:
            with storage.locked(self.path.with_suffix(".lock")):
                scopes = self._read()
                change(scopes)
                data = {scope: [a.to_json() for a in answers] for scope, answers in scopes.items()}
                storage.write_atomic(self.path, json.dumps(data, ensure_ascii=False))
            self.scopes, self.saved = scopes, True
        except OSError:
            change(self.scopes)  # kept for this page only
            self.saved = False


def answer_id(answer: Answer) -> tuple:
    """One question asked once: the same in every tab that reads it back."""
    return answer.scope, answer.question, round(answer.asked, 6)


def markdown_export(title: str, answers: list[Answer]) -> str:
    """The answers as Markdown: each question, then its moments with timestamp links."""
    def text(value: str) -> str:  # Markdown-inert
        return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", " ".join(value.split()))

    lines = [f"# {text(title)}", ""]
    for answer in answers:
        lines += [f"## {text(answer.question)}", ""]
        if answer.error:
            lines += [text(answer.error), ""]
            continue
        if not answer.moments:
            lines += ["No passage matches this question.", ""]
        for moment in answer.moments:
            stamp = f"{format_timestamp(moment.start)}–{format_timestamp(moment.end)}"
            where = f" ({text(moment.title or moment.video_id)})" if answer.scope != moment.video_id else ""
            lines.append(f"- [{stamp}]({watch_url(moment.video_id, moment.start)}){where}: "
                         f"{text(moment.sentence or moment.text)}")
        lines.append("")
    return "\n".join(lines)
