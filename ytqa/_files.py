"""Subtitle files (.srt, .vtt, youtube-transcript-api JSON) for videos YouTube won't serve.

Lenient where a person's file is merely untidy (BOM, CRLF, styling tags, cues out of
order, a cut-off last cue) and strict, with a message naming the file, the line and the
problem, where it cannot be what it claims to be: a time that is not a number of seconds
a video can have, more captions than a video can hold, bytes that are not text.

The work a transcript costs is bounded here, where it is read: at most
``MAX_FILE_BYTES`` are read, and at most ``MAX_CUES`` captions, ``MAX_WORDS`` words and
``MAX_HOURS`` hours of video are accepted (YouTube itself keeps at most 12 hours of a
stream), so chunking and embedding a transcript that was accepted takes minutes, not
hours, and memory in proportion.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Sequence

from ._errors import TranscriptFileError
from ._transcript import Line, Transcript, clean_text  # noqa: F401 (clean_text: the gate, used here)

MAX_FILE_BYTES = 50 * 1024 * 1024
#: Limits that match the work: a 12-hour stream of fast auto-captions has about 20,000
#: cues and 150,000 words (the longest dev video, 2 h 45 min, has 1,717 and 23,837).
MAX_HOURS = 24
MAX_SECONDS = MAX_HOURS * 3600.0
MAX_CUES = 50_000
MAX_WORDS = 300_000

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
# Markup only (<i>, </b>, <c.yellow>, <v Name>, <00:00:01.000>), never "a < b and c > d".
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<\d[\d:.]*>")
def shown_name(name: str | os.PathLike) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by Python as surrogates)
    become U+FFFD, and it goes through the gate of all outside text (:func:`clean_text`),
    so the name can be printed and stored."""
    text = os.fsdecode(name) if not isinstance(name, str) else name
    return clean_text(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _read_bounded(path: Path, name: str) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file; devices, pipes and sockets
    are refused before reading (a FIFO would block, /dev/zero never ends)."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise TranscriptFileError(name, "no such file") from None
    except IsADirectoryError:
        raise TranscriptFileError(name, "it is a folder, not a file") from None
    except PermissionError:
        raise TranscriptFileError(name, "permission denied") from None
    except OSError as error:
        raise TranscriptFileError(name, error.strerror or str(error)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise TranscriptFileError(name, "it is a folder, not a file")
        if not stat.S_ISREG(mode):
            kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "a device")
            raise TranscriptFileError(name, f"it is {kind}, not a regular file")
        os.set_blocking(fd, True)
        chunks, left = [], MAX_FILE_BYTES + 1
        while left > 0:
            piece = os.read(fd, min(left, 1 << 20))
            if not piece:
                break
            chunks.append(piece)
            left -= len(piece)
        return b"".join(chunks)
    except OSError as error:
        raise TranscriptFileError(name, error.strerror or str(error)) from None
    finally:
        os.close(fd)


def load_transcript_file(path: str | os.PathLike, video_id: str) -> Transcript:
    """Read a subtitle file from disk for the video ``video_id``."""
    path = Path(path)
    name = shown_name(path)
    data = _read_bounded(path, name)
    if len(data) > MAX_FILE_BYTES:
        raise TranscriptFileError(name, f"the file is over the {MAX_FILE_BYTES // 2**20} MB limit")
    return parse_subtitles(data, name, video_id)


def parse_subtitles(data: bytes, name: str, video_id: str) -> Transcript:
    """Parse subtitle bytes; ``name`` (a file name) picks the format and names errors."""
    name = shown_name(name)
    if len(data) > MAX_FILE_BYTES:
        raise TranscriptFileError(name, f"the file is over the {MAX_FILE_BYTES // 2**20} MB limit")
    text = _decode(data, name)
    if not text.strip():
        raise TranscriptFileError(name, "the file is empty")
    suffix = Path(name).suffix.lower()
    stripped = text.lstrip()
    if suffix == ".json" or (suffix not in (".srt", ".vtt") and stripped[:1] in "[{"):
        lines = _parse_json(text, name)
    else:
        lines = _parse_cues(text, name)
    problem = check_size(lines)
    if problem:
        raise TranscriptFileError(name, problem)
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


def check_time(value: float) -> str | None:
    """Why ``value`` cannot be a time in a video (None when it can)."""
    if not math.isfinite(value):
        return "not a number of seconds"
    if value < 0:
        return "negative"
    if value > MAX_SECONDS:
        return f"past {MAX_HOURS} hours, longer than any video"
    return None


def _too_many_cues(count: int, exact: bool = True) -> str:
    return (f"it has {'' if exact else 'over '}{count:,} captions, over the limit of {MAX_CUES:,} "
            f"(about {MAX_HOURS} hours of video); split it into parts")


def check_size(lines: Sequence[Line]) -> str | None:
    """Why a transcript is more than ytqa will index (None when it is not)."""
    if len(lines) > MAX_CUES:
        return _too_many_cues(len(lines))
    words = sum(len(line.text.split()) for line in lines)
    if words > MAX_WORDS:
        return (f"it has {words:,} words, over the limit of {MAX_WORDS:,} "
                f"(about {MAX_HOURS} hours of speech); split it into parts")
    return None


def _looks_like_utf16(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' for text saved as UTF-16 without a byte-order mark."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    # Mostly ASCII text in UTF-16: every other byte is zero, the others are not.
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise TranscriptFileError(name, "it claims UTF-16 but is not valid UTF-16") from None
    if b"\x00" in data[:4096]:
        encoding = _looks_like_utf16(data)
        if encoding:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise TranscriptFileError(
                    name, "it looks like UTF-16 text but is not valid UTF-16 "
                    "(save it as UTF-8 and try again)") from None
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


def _number(value, what: str, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TranscriptFileError(name, f"{where} has a non-numeric {what}: {_short(value)}")
    if isinstance(value, str) and len(value) > 30:
        raise TranscriptFileError(name, f"{where} has a {what} of {len(value):,} characters, "
                                  "not a number of seconds")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise TranscriptFileError(name, f"{where} has a non-numeric {what}: {_short(value)}") from None
    problem = check_time(number)
    if problem:
        raise TranscriptFileError(name, f"{where} has an invalid {what}: {_short(value)} is {problem}")
    return number


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Huge(float):
    """A JSON number too long to be a time, kept with its length for the message."""

    digits = 0

    def __repr__(self) -> str:
        return f"a {self.digits:,}-digit number"


def _json_number(text: str) -> float:
    if len(text) > 30:
        huge = _Huge("inf")
        huge.digits = len(text)
        return huge
    return float(text)


def _entry_lines(text: str) -> list[int]:
    """The line each entry of a top-level JSON list starts on (empty for other shapes)."""
    decoder = json.JSONDecoder(parse_int=_json_number, parse_float=_json_number)
    position = len(text) - len(text.lstrip())
    if text[position : position + 1] != "[":
        return []
    position += 1
    starts = []
    try:
        while True:
            while position < len(text) and text[position] in " \t\r\n,":
                position += 1
            if position >= len(text) or text[position] == "]":
                return starts
            starts.append(text.count("\n", 0, position) + 1)
            _, position = decoder.raw_decode(text, position)
    except (ValueError, RecursionError):
        return starts


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parse_json(text: str, name: str) -> list[Line]:
    try:
        data = json.loads(text, parse_int=_json_number, parse_float=_json_number)
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
    if len(data) > MAX_CUES:
        raise TranscriptFileError(name, _too_many_cues(len(data)))
    lines = []
    cache: dict = {}
    for index, entry in enumerate(data):
        where = _Where(index, text, cache)
        if not isinstance(entry, dict):
            raise TranscriptFileError(name, f"{where} is not an object with text, start and duration")
        missing = [key for key in ("text", "start") if key not in entry]
        if "duration" not in entry and "end" not in entry:
            missing.append("duration")
        if missing:
            raise TranscriptFileError(name, f"{where} has no {' or '.join(missing)}")
        if not isinstance(entry["text"], str):
            raise TranscriptFileError(name, f"{where} has a text that is not a string")
        if _has_surrogate(entry["text"]):
            raise TranscriptFileError(name, f"{where} has a text with a lone "
                                      "surrogate escape (such as \\ud800), which is not a character")
        start = _number(entry["start"], "start", where, name)
        if "duration" in entry:
            duration = _number(entry["duration"], "duration", where, name)
        else:
            duration = max(0.0, _number(entry["end"], "end", where, name) - start)
        problem = check_time(start + duration)
        if problem:
            raise TranscriptFileError(name, f"{where} has an invalid end: {start + duration:g} s is {problem}")
        # JSON has no markup: its text is kept as written ("Map<String, Integer>").
        lines.append(Line(clean_text(entry["text"]), start, duration))
    if not lines:
        raise TranscriptFileError(name, "the JSON list has no entries")
    return lines


class _Where:
    """Where an entry is, worked out only when a message needs it."""

    def __init__(self, index: int, text: str, cache: dict):
        self.index, self.text, self.cache = index, text, cache

    def __str__(self) -> str:
        if "lines" not in self.cache:
            self.cache["lines"] = _entry_lines(self.text)
        lines = self.cache["lines"]
        return f"entry {self.index} (line {lines[self.index]})" if self.index < len(lines) \
            else f"entry {self.index}"


def _seconds(groups, line: int, name: str) -> float:
    hours, minutes, seconds, fraction = groups
    if hours and len(hours.lstrip("0")) > 3:
        raise TranscriptFileError(
            name, f"line {line} has a time of {len(hours):,}-digit hours, longer than any video")
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction.ljust(3, "0")) / 1000
    value = float(value)
    if value > MAX_SECONDS:
        raise TranscriptFileError(
            name, f"line {line} has a time past {MAX_HOURS} hours, longer than any video")
    return value


def _parse_cues(text: str, name: str) -> list[Line]:
    """SRT and WebVTT share a shape: blocks split by blank lines, one timing line each."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines: list[Line] = []
    saw_timing = False
    number = 1  # the line the current block starts on
    for block in re.split(r"(\n[ \t]*\n)", text):
        if not block.strip():
            number += block.count("\n")
            continue
        first = number
        number += block.count("\n")
        rows = block.split("\n")
        timing_at = next((i for i, row in enumerate(rows) if "-->" in row), None)
        if timing_at is None:
            continue  # WEBVTT header, NOTE, STYLE, REGION, or stray text
        match = _TIMING.match(rows[timing_at])
        if not match:
            continue  # a cut-off or garbled timing line: skip that cue only
        saw_timing = True
        if len(lines) >= MAX_CUES:
            raise TranscriptFileError(name, _too_many_cues(MAX_CUES, exact=False))
        groups = match.groups()
        line = first + timing_at
        start, end = _seconds(groups[:4], line, name), _seconds(groups[4:], line, name)
        body = " ".join(row.strip() for row in rows[timing_at + 1 :] if row.strip())
        lines.append(Line(_clean_markup(body), start, max(0.0, end - start)))
    if not saw_timing:
        raise TranscriptFileError(
            name, "no subtitle cues found (expected timing lines like 00:00:01,000 --> 00:00:04,000)"
        )
    return lines


def _clean_markup(text: str) -> str:
    """Drop styling (<i>, <c.color>, <00:00:01.000>, <v Name>, {\\an8}) and decode entities."""
    import html

    text = _TAG.sub("", text)
    text = re.sub(r"\{\\[^}]*\}", "", text)
    text = html.unescape(text)
    return clean_text(text)
