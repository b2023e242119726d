"""The transcript: timed caption lines plus where they came from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


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
        data = asdict(self)
        data["lines"] = [[line.text, line.start, line.duration] for line in self.lines]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Transcript":
        fields = dict(data)
        fields["lines"] = tuple(Line(str(t), float(s), float(d)) for t, s, d in data["lines"])
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in fields.items() if k in known})

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
