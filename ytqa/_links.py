"""From whatever a person pastes to an 11-character video id, and back to links.

Parsing is by host allow-list, never by substring search, so a look-alike such as
``youtube.com.evil.example`` or ``notyoutube.com`` is rejected.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from ._errors import InvalidLink

_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
_NOCOOKIE_HOSTS = {"youtube-nocookie.com", "www.youtube-nocookie.com"}
_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
_PATH_PREFIXES = ("shorts", "embed", "live", "v", "e")
_CHANNEL_PREFIXES = ("channel", "c", "user")


def _valid_id(candidate: str, text: str) -> str:
    if not _ID.fullmatch(candidate):
        raise InvalidLink(
            text,
            f"{candidate!r} is not a video id (ids are 11 letters, digits, '-' or '_').",
        )
    return candidate


def video_id(text: str) -> str:
    """Return the video id in ``text``: a YouTube link in any common form, or a bare id."""
    if not isinstance(text, str):
        raise InvalidLink(repr(text), "Expected text.")
    original = text
    text = text.strip()
    if not text:
        raise InvalidLink(original, "The link is empty.")
    if _ID.fullmatch(text):
        return text
    if any(c.isspace() for c in text):
        raise InvalidLink(original, "A link has no spaces.")
    if re.fullmatch(r"[A-Za-z0-9_-]+", text):
        _valid_id(text, original)  # a bare id of the wrong length

    if "://" not in text:
        if text.startswith("//"):
            text = "https:" + text
        elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) and not re.match(
            r"^[^/]+\.[^/]+:\d", text
        ):
            # javascript:, data:, mailto: ... (but not "host:port/...")
            raise InvalidLink(original, "Only http and https links are accepted.")
        else:
            text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError as error:
        raise InvalidLink(original, f"It cannot be read as a link ({error}).") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidLink(original, "Only http and https links are accepted.")

    segments = [s for s in parts.path.split("/") if s]

    if host in _SHORT_HOSTS:
        if not segments:
            raise InvalidLink(original, "The youtu.be link has no video id.")
        return _valid_id(segments[0], original)

    if host in _NOCOOKIE_HOSTS:
        if len(segments) >= 2 and segments[0] == "embed":
            return _valid_id(segments[1], original)
        raise InvalidLink(original, "Only embed links of youtube-nocookie.com name a video.")

    if host not in _YOUTUBE_HOSTS:
        raise InvalidLink(original, f"{host or 'It'} is not a YouTube address.")

    query = parse_qs(parts.query)
    if segments[:1] == ["watch"] or (not segments and "v" in query):
        ids = query.get("v")
        if not ids or not ids[0]:
            raise InvalidLink(original, "The watch link has no v= video id.")
        return _valid_id(ids[0], original)
    if segments and segments[0] in _PATH_PREFIXES:
        if len(segments) < 2:
            raise InvalidLink(original, f"The /{segments[0]}/ link has no video id.")
        return _valid_id(segments[1], original)
    if segments[:1] == ["playlist"] or "list" in query:
        raise InvalidLink(
            original, "It is a playlist; open one of its videos and paste that link."
        )
    if segments and (segments[0].startswith("@") or segments[0] in _CHANNEL_PREFIXES):
        raise InvalidLink(original, "It is a channel; open one of its videos and paste that link.")
    raise InvalidLink(original, "It does not point to a video.")


def _seconds(start: float) -> int:
    return max(0, int(start))


def watch_url(video_id: str, start: float = 0) -> str:
    """A link that opens the video on YouTube at ``start`` seconds."""
    url = f"https://www.youtube.com/watch?v={video_id}"
    return url + f"&t={_seconds(start)}s" if _seconds(start) else url


def embed_url(video_id: str, start: float = 0, autoplay: bool = False) -> str:
    """A player link for an iframe that starts playing at ``start`` seconds."""
    url = f"https://www.youtube-nocookie.com/embed/{video_id}?start={_seconds(start)}"
    return url + "&autoplay=1" if autoplay else url


def format_timestamp(seconds: float) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` from an hour on, as YouTube shows it."""
    total = _seconds(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
