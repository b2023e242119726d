"""The transcript: timed caption lines plus where they came from."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields


#: No caption starts or lasts longer than this (about 115 days): a larger time is damage.
MAX_SECONDS = 1e7

# Terminal escape sequences (CSI, OSC, DCS/PM/APC strings, two-character escapes), in
# their 7-bit and 8-bit forms, and then any C0 or C1 control character left over, and
# the bidirectional overrides and isolates that make text read other than it is stored.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """The one gate of text from outside (captions, titles of videos, playlists and
    channels, file names) before anything shows it: no terminal escapes or control
    characters (they would retitle, clear or write to the clipboard of a terminal), no
    bidirectional overrides, one space between words."""
    text = _ESCAPE.sub("", text)
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def clean_title(title) -> str | None:
    """A title through :func:`clean_text`; None when nothing is left of it."""
    if not isinstance(title, str):
        return None
    return clean_text(title) or None


def _seconds(value, number: int, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"line {number}: its {name} is not a number")
    if not (0 <= value <= MAX_SECONDS) or not math.isfinite(value):
        raise ValueError(f"line {number}: its {name} {value!r:.40} is not a time between 0 and {MAX_SECONDS:.0e} s")
    return float(value)


@dataclass(frozen=True)
class Line:
    text: str
    start: float
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Transcript:
    video_id: str
    lines: tuple[Line, ...]
    language: str = "unknown"
    language_code: str = "und"
    is_generated: bool = False
    #: Language code it was machine-translated from by YouTube, or None.
    translated_from: str | None = None
    #: "youtube" or the name of the subtitle file it was read from.
    source: str = "youtube"
    title: str | None = None

    @property
    def duration(self) -> float:
        return max((line.end for line in self.lines), default=0.0)

    @property
    def kind(self) -> str:
        """What a person wants to know about the track: manual, auto or translated."""
        if self.translated_from:
            return f"translated from {self.translated_from}"
        if self.source != "youtube":
            return "subtitle file"
        return "auto-generated" if self.is_generated else "manual"

    def fingerprint(self) -> str:
        """Changes whenever the text or timing changes: part of every index key."""
        digest = hashlib.sha256()
        for line in self.lines:
            digest.update(f"{line.start:.3f}|{line.duration:.3f}|{line.text}\n".encode())
        return digest.hexdigest()[:16]

    def to_json(self) -> dict:
        # Field by field (asdict would copy every line into a dict first, to be replaced).
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["lines"] = [[line.text, line.start, line.duration] for line in self.lines]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Transcript":
        """A transcript as stored; ``ValueError`` naming the field when it is not one.

        What was stored may have been damaged or edited since: every field is checked
        (types, finite times within ``MAX_SECONDS``), so a bad file is reported as
        damage and never crashes a reader later."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        video_id = data.get("video_id")
        if not isinstance(video_id, str) or not video_id:
            raise ValueError("its video_id is not a text")
        rows = data.get("lines")
        if not isinstance(rows, list):
            raise ValueError("its lines are not a list")
        lines = []
        for number, row in enumerate(rows, 1):
            if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str)):
                raise ValueError(f"line {number} is not [text, start, duration]")
            start, duration = _seconds(row[1], number, "start"), _seconds(row[2], number, "duration")
            lines.append(Line(row[0], start, duration))
        fields = {"video_id": video_id, "lines": tuple(lines)}
        for name in ("language", "language_code", "source"):
            if name in data:
                if not isinstance(data[name], str):
                    raise ValueError(f"its {name} is not a text")
                fields[name] = data[name]
        for name in ("translated_from", "title"):
            if name in data:
                if data[name] is not None and not isinstance(data[name], str):
                    raise ValueError(f"its {name} is not a text")
                fields[name] = data[name]
        fields["title"] = clean_title(fields.get("title"))  # stored before titles were cleaned
        if "is_generated" in data:
            if not isinstance(data["is_generated"], bool):
                raise ValueError("its is_generated is not true or false")
            fields["is_generated"] = data["is_generated"]
        return cls(**fields)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)


@dataclass(frozen=True)
class Track:
    """One caption track YouTube offers for a video, as the app lists them."""

    language: str
    language_code: str
    is_generated: bool
    translation_languages: tuple[tuple[str, str], ...] = field(default=())

    @property
    def label(self) -> str:
        kind = "auto-generated" if self.is_generated else "manual"
        # YouTube already names its speech-recognition tracks "English (auto-generated)".
        return self.language if kind in self.language else f"{self.language} ({kind})"
