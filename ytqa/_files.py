"""Subtitle files (.srt, .vtt, youtube-transcript-api JSON) for videos YouTube won't serve.

Lenient where a person's file is merely untidy (BOM, CRLF, styling tags, cues out of
order, a cut-off last cue) and strict, with a message naming the file and the problem,
where it cannot be what it claims to be.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from pathlib import Path

from ._errors import TranscriptFileError
from ._transcript import Line, Transcript

MAX_FILE_BYTES = 50 * 1024 * 1024

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
# Markup only (<i>, </b>, <c.yellow>, <v Name>, <00:00:01.000>), never "a < b and c > d".
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<\d[\d:.]*>")


def load_transcript_file(path: str | os.PathLike, video_id: str) -> Transcript:
    """Read a subtitle file from disk for the video ``video_id``."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TranscriptFileError(name, f"the file is {size // 2**20} MB, over the 50 MB limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise TranscriptFileError(name, "no such file") from None
    except IsADirectoryError:
        raise TranscriptFileError(name, "it is a folder, not a file") from None
    except PermissionError:
        raise TranscriptFileError(name, "permission denied") from None
    except OSError as error:
        raise TranscriptFileError(name, error.strerror or str(error)) from None
    return parse_subtitles(data, name, video_id)


def parse_subtitles(data: bytes, name: str, video_id: str) -> Transcript:
    """Parse subtitle bytes; ``name`` (a file name) picks the format and names errors."""
    if len(data) > MAX_FILE_BYTES:
        raise TranscriptFileError(name, "the file is over the 50 MB limit")
    text = _decode(data, name)
    if not text.strip():
        raise TranscriptFileError(name, "the file is empty")
    suffix = Path(name).suffix.lower()
    stripped = text.lstrip()
    if suffix == ".json" or (suffix not in (".srt", ".vtt") and stripped[:1] in "[{"):
        lines = _parse_json(text, name)
    else:
        lines = _parse_cues(text, name)
    lines.sort(key=lambda line: line.start)
    from ._lexical import LANGUAGE_NAMES, guess_language

    code = guess_language([line.text for line in lines])
    return Transcript(
        video_id=video_id,
        lines=tuple(lines),
        language=f"{LANGUAGE_NAMES.get(code, code)} (guessed)",
        language_code=code,
        source=Path(name).name,
    )


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise TranscriptFileError(name, "it claims UTF-16 but is not valid UTF-16") from None
    if b"\x00" in data[:4096]:
        raise TranscriptFileError(name, "it is a binary file, not subtitles")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Older subtitle tools write Windows-1252; accept it when it decodes cleanly.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise TranscriptFileError(
            name, "it is not UTF-8 text (save it as UTF-8 and try again)"
        ) from None


def _number(value, what: str, index: int, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TranscriptFileError(name, f"entry {index} has a non-numeric {what}: {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise TranscriptFileError(name, f"entry {index} has a non-numeric {what}: {value!r}") from None
    if math.isnan(number) or math.isinf(number) or number < 0:
        raise TranscriptFileError(name, f"entry {index} has an invalid {what}: {value!r}")
    return number


def _parse_json(text: str, name: str) -> list[Line]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TranscriptFileError(
            name, f"it is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise TranscriptFileError(name, "the JSON is nested too deeply") from None
    if isinstance(data, dict):
        data = data.get("snippets", data.get("transcript", data.get("lines")))
    if not isinstance(data, list):
        raise TranscriptFileError(name, 'expected a JSON list of {"text", "start", "duration"} entries')
    lines = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise TranscriptFileError(name, f"entry {index} is not an object with text, start and duration")
        missing = [key for key in ("text", "start") if key not in entry]
        if "duration" not in entry and "end" not in entry:
            missing.append("duration")
        if missing:
            raise TranscriptFileError(name, f"entry {index} has no {' or '.join(missing)}")
        if not isinstance(entry["text"], str):
            raise TranscriptFileError(name, f"entry {index} has a text that is not a string")
        start = _number(entry["start"], "start", index, name)
        if "duration" in entry:
            duration = _number(entry["duration"], "duration", index, name)
        else:
            duration = max(0.0, _number(entry["end"], "end", index, name) - start)
        lines.append(Line(_clean_markup(entry["text"]), start, duration))
    if not lines:
        raise TranscriptFileError(name, "the JSON list has no entries")
    return lines


def _seconds(groups) -> float:
    hours, minutes, seconds, fraction = groups
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction.ljust(3, "0")) / 1000
    return float(value)


def _parse_cues(text: str, name: str) -> list[Line]:
    """SRT and WebVTT share a shape: blocks split by blank lines, one timing line each."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n[ \t]*\n", text)
    lines: list[Line] = []
    saw_timing = False
    for block in blocks:
        rows = block.split("\n")
        timing_at = next((i for i, row in enumerate(rows) if "-->" in row), None)
        if timing_at is None:
            continue  # WEBVTT header, NOTE, STYLE, REGION, or stray text
        match = _TIMING.match(rows[timing_at])
        if not match:
            continue  # a cut-off or garbled timing line: skip that cue only
        saw_timing = True
        groups = match.groups()
        start, end = _seconds(groups[:4]), _seconds(groups[4:])
        body = " ".join(row.strip() for row in rows[timing_at + 1 :] if row.strip())
        body = _clean_markup(body)
        lines.append(Line(body, start, max(0.0, end - start)))
    if not saw_timing:
        raise TranscriptFileError(
            name, "no subtitle cues found (expected timing lines like 00:00:01,000 --> 00:00:04,000)"
        )
    return lines


def _clean_markup(text: str) -> str:
    """Drop styling (<i>, <c.color>, <00:00:01.000>, <v Name>, {\\an8}) and decode entities."""
    text = _TAG.sub("", text)
    text = re.sub(r"\{\\[^}]*\}", "", text)
    text = html.unescape(text)
    return " ".join(text.split())
