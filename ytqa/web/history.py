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

    A folder that cannot be written keeps the answers for this page only (``saved`` says so).
    """

    def __init__(self, folder: str | Path, token: str):
        if not valid_token(token):
            raise ValueError("not a history token")
        self.path = Path(folder) / f"{token}.json"
        self.token = token
        self.saved = True
        self.scopes: dict[str, list[Answer]] = {}
        data = storage.read_json(self.path)
        if isinstance(data, dict):
            for scope, answers in data.items():
                try:
                    self.scopes[str(scope)] = [Answer.from_json(a) for a in answers]
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue  # a damaged entry is dropped, the rest kept

    def answers(self, scope: str) -> list[Answer]:
        return self.scopes.get(scope, [])

    def add(self, answer: Answer) -> None:
        answers = self.scopes.setdefault(answer.scope, [])
        answers.append(answer)
        del answers[:-MAX_ANSWERS]
        self.scopes[answer.scope] = self.scopes.pop(answer.scope)  # most recent scope last
        while len(self.scopes) > MAX_VIDEOS:
            self.scopes.pop(next(iter(self.scopes)))
        self.save()

    def clear(self, scope: str) -> None:
        self.scopes.pop(scope, None)
        self.save()

    def save(self) -> None:
        data = {scope: [a.to_json() for a in answers] for scope, answers in self.scopes.items()}
        try:
            storage.write_atomic(self.path, json.dumps(data, ensure_ascii=False))
            self.saved = True
        except OSError:
            self.saved = False


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
