"""Listing a playlist or a channel with yt-dlp's flat extraction (nothing is downloaded).

The one place ytqa touches yt-dlp: its result (a nested dict) becomes ytqa's own
:class:`Collection`, and its exceptions become ytqa errors that say what to do.
yt-dlp is imported lazily, so ``import ytqa`` and the app's start stay fast.

What flat extraction returns (``extract_flat='in_playlist'``)::

    {"_type": "playlist", "id": "PL...", "title": "...", "channel": "...", "entries": [
        {"_type": "url", "ie_key": "Youtube", "id": "<11 chars>", "url": "...watch?v=...",
         "title": "..." or None, "duration": 1234 or None, "availability": None, ...},
        ...]}

A channel's root link gives one nested playlist per tab (Videos, Live, Shorts), each
with its own entries; entries may also name playlists or channels (``ie_key``
"YoutubeTab"), which are not videos.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from . import _errors as errors
from ._links import Link, collection_link
from ._transcript import clean_text, clean_title

_ID = re.compile(r"[A-Za-z0-9_-]{11}")
#: Titles YouTube shows in a playlist for videos nobody can watch any more.
_GONE_TITLES = {"[private video]": "private", "[deleted video]": "deleted"}
_UNAVAILABLE = {
    "private": "private",
    "premium_only": "YouTube Premium only",
    "subscriber_only": "members-only",
    "needs_auth": "needs a signed-in user",
}

#: ``factory(params)`` returns an object with yt-dlp's ``extract_info(url, download=False)``.
YoutubeDLFactory = Callable[[dict], Any]


@dataclass(frozen=True)
class CollectionVideo:
    """One video of a playlist or channel, as the listing shows it."""

    video_id: str
    title: str | None = None
    duration: float | None = None
    available: bool = True
    #: Why it cannot be indexed (private, members-only, ...), when not available.
    unavailable: str | None = None


@dataclass(frozen=True)
class Collection:
    """A playlist or a channel (or one tab of it) and its videos, in YouTube's order."""

    kind: str
    id: str
    title: str
    url: str
    videos: tuple[CollectionVideo, ...]
    channel: str | None = None
    #: For a channel: its tab ("videos", "streams", "shorts"), None for all its uploads.
    tab: str | None = None

    @property
    def available(self) -> tuple[CollectionVideo, ...]:
        return tuple(v for v in self.videos if v.available)


class _Silent:
    """yt-dlp's logger: its errors come back as exceptions, which ytqa words itself."""

    def debug(self, message):
        pass

    info = warning = error = debug


def params(proxy_url: str | None = None, cookies: str | None = None) -> dict:
    """yt-dlp's options: list only, quietly, never download; ``cookies``: a cookies.txt."""
    options = {
        "extract_flat": "in_playlist",
        "skip_download": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "socket_timeout": 30,
        "logger": _Silent(),  # quiet=True still prints errors to stderr
    }
    if proxy_url:
        options["proxy"] = proxy_url
    if cookies:
        options["cookiefile"] = str(cookies)
    return options


def _youtube_dl(options: dict):
    from yt_dlp import YoutubeDL

    return YoutubeDL(options)


def _proxy_url(proxy) -> str | None:
    if proxy is None or not proxy.is_set:
        return None
    proxy.check()  # a malformed proxy URL is named as such, not blamed on YouTube
    if proxy.webshare_username:
        return proxy.to_library_config().to_requests_dict().get("https")
    return proxy.https_url or proxy.http_url


def list_collection(link: str | Link, proxy=None, factory: YoutubeDLFactory | None = None,
                    cookies: str | None = None) -> Collection:
    """The videos of a playlist or channel link, with their titles and lengths.

    ``proxy`` is ytqa's :class:`ProxySettings` (the one used for transcripts); ``factory``
    makes the YoutubeDL object (tests give one that returns a recorded result).
    """
    if isinstance(link, str):
        link = collection_link(link)
    make = factory or _youtube_dl
    ydl = make(params(_proxy_url(proxy), cookies))
    try:
        info = ydl.extract_info(link.url, download=False)
    except Exception as error:  # yt-dlp raises DownloadError wrapping its own errors
        raise _map_error(link, error, bool(proxy and proxy.is_set)) from error
    finally:
        close = getattr(ydl, "close", None)
        if close is not None:
            close()
    if not isinstance(info, dict):
        raise errors.ListingFailed(link.url, "yt-dlp returned nothing")
    return collection_from_info(info, link)


def collection_from_info(info: dict, link: Link) -> Collection:
    """ytqa's collection from yt-dlp's flat-extraction result for ``link``."""
    if info.get("_type", "video") not in ("playlist", "multi_video"):
        raise errors.ListingFailed(
            link.url, "YouTube shows it as a single video, not a list",
            "Open it as a video instead (ytqa index LINK).")
    seen: dict[str, CollectionVideo] = {}
    for entry in _flatten(info.get("entries")):
        video = _video(entry)
        if video is not None and video.video_id not in seen:
            seen[video.video_id] = video
    collection_id = str(info.get("channel_id") if link.kind == "channel" and info.get("channel_id")
                        else info.get("id") or link.id)
    channel = clean_title(info.get("channel")) or clean_title(info.get("uploader"))
    title = clean_title(info.get("title")) or clean_title(info.get("playlist_title")) or channel
    return Collection(
        kind=link.kind,
        id=collection_id,
        title=title or clean_text(collection_id),
        url=link.url,
        videos=tuple(seen.values()),
        channel=channel,
        tab=link.tab,
    )


def _flatten(entries: Iterable | None) -> Iterator[dict]:
    """Every entry, nested playlists (a channel's tabs) opened in place."""
    for entry in entries or ():
        if not isinstance(entry, dict):
            continue  # yt-dlp leaves None for an entry it could not extract
        if entry.get("_type") in ("playlist", "multi_video"):
            yield from _flatten(entry.get("entries"))
        else:
            yield entry


def _video(entry: dict) -> CollectionVideo | None:
    """A video entry as ytqa's record; None for anything else (a playlist, a channel)."""
    if entry.get("ie_key") not in (None, "Youtube"):
        return None
    video_id = entry.get("id")
    if not isinstance(video_id, str) or not _ID.fullmatch(video_id):
        return None
    url = entry.get("url") or ""
    if isinstance(url, str) and ("list=" in url or "/channel/" in url or "/@" in url):
        return None
    title = clean_title(entry.get("title"))  # YouTube's titles are anyone's text: through the gate
    duration = entry.get("duration")
    duration = float(duration) if isinstance(duration, (int, float)) and duration > 0 else None
    reason = _GONE_TITLES.get((title or "").lower()) or _UNAVAILABLE.get(entry.get("availability"))
    if reason is None and entry.get("live_status") == "is_upcoming":
        reason = "an upcoming live stream"
    elif reason is None and entry.get("live_status") == "is_live":
        reason = "live now; captions come after the stream ends"
    if reason in ("private", "deleted"):
        title = None  # "[Private video]" is YouTube's placeholder, not its title
    return CollectionVideo(video_id, title, duration, available=reason is None, unavailable=reason)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        exc_info = getattr(error, "exc_info", None)
        nested = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        error = nested or getattr(error, "cause", None) or error.__cause__ or error.__context__


_NETWORK_ERRORS = {"TransportError", "ConnectionError", "URLError", "timeout", "TimeoutError",
                   "SSLError", "ProxyError", "gaierror"}


def _map_error(link: Link, error: BaseException, with_proxy: bool) -> errors.YtqaError:
    if isinstance(error, errors.YtqaError):
        return error
    chain = list(_causes(error))
    text = " ".join(str(e) for e in chain)
    lowered = text.lower()
    status = next((getattr(getattr(e, "response", None), "status", None) or getattr(e, "status", None)
                   for e in chain if getattr(e, "status", None) or getattr(e, "response", None)), None)
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    first = re.sub(r"^ERROR:\s*(\[[^\]]*\]\s*)?", "", first)
    first = re.sub(r"^[\w@.-]+:\s+", "", first)  # "PL...: The playlist does not exist."
    first = clean_text(re.sub(r"\s*\(caused by .*\)$", "", first))
    if status == 429 or "error 429" in lowered or "too many requests" in lowered or "not a bot" in lowered:
        return errors.CollectionBlocked(link.url, with_proxy)
    if (status == 404 or "does not exist" in lowered or "this playlist is private" in lowered
            or "unavailable" in lowered or "not available" in lowered or "does not have a" in lowered
            or "error 404" in lowered):
        return errors.CollectionUnavailable(link.url, first.rstrip("."))
    if any(type(e).__name__ in _NETWORK_ERRORS for e in chain) or "unable to download" in lowered:
        # Named as the single video's error names it: the kind of failure, not the internals
        # (host, port, errno) of the connection that failed.
        return errors.ListingFailed(
            link.url, f"cannot reach YouTube ({'Timeout' if 'timeout' in lowered else 'ConnectionError'})",
            "Check your internet connection and proxy settings.")
    return errors.ListingFailed(link.url, first.rstrip("."))


# --- captions, when youtube-transcript-api is refused --------------------------------

#: The caption formats asked of yt-dlp, best first: json3 (YouTube's own timed events), vtt.
CAPTION_FORMATS = ("json3", "vtt")


@dataclass(frozen=True)
class Captions:
    """One caption track as yt-dlp found it, and its body (json3 or vtt), not parsed yet."""

    language_code: str
    language: str
    is_generated: bool
    ext: str
    body: bytes


def fetch_captions(video_id: str, languages=(), proxy=None, cookies: str | None = None,
                   factory: YoutubeDLFactory | None = None) -> Captions:
    """The captions of a video through yt-dlp (its own clients, cookies and plug-ins):
    the first asked language that has a track, else the video's own language. Raises
    ``CaptionsNotFound`` with the reason in a few words, for the message that says what
    was tried."""
    options = {**params(_proxy_url(proxy), cookies), "extract_flat": False}
    ydl = (factory or _youtube_dl)(options)
    try:
        info = ydl.extract_info(f"https://www.youtube.com/watch?v={video_id}", download=False)
        chosen = _caption_track(info if isinstance(info, dict) else {}, languages)
        if chosen is None:
            raise CaptionsNotFound("it found no captions" + (f" in {', '.join(languages)}" if languages else ""))
        code, generated, track = chosen
        body = ydl.urlopen(track["url"]).read()
    except CaptionsNotFound:
        raise
    except Exception as error:  # yt-dlp's DownloadError and its network errors
        raise CaptionsNotFound(_first_line(error)) from error
    finally:
        close = getattr(ydl, "close", None)
        if close is not None:
            close()
    return Captions(code, clean_text(str(track.get("name") or code)), generated, track["ext"], body)


class CaptionsNotFound(Exception):
    """yt-dlp got no captions either; ``str()`` says why in a few words."""


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = re.sub(r"^ERROR:\s*(\[[^\]]*\]\s*)?([\w-]{11}:\s*)?", "", text)
    return clean_text(text)[:200].rstrip(".") or type(error).__name__


def _caption_track(info: dict, languages) -> tuple[str, bool, dict] | None:
    """(language code, auto-generated, the format entry) of the track to use, or None."""
    manual = info.get("subtitles") if isinstance(info.get("subtitles"), dict) else {}
    auto = info.get("automatic_captions") if isinstance(info.get("automatic_captions"), dict) else {}
    spoken = info.get("language") if isinstance(info.get("language"), str) else None
    wanted = [c for c in languages if c] or [c for c in (spoken, "en") if c]
    candidates = [(code, False, manual) for code in wanted] + [
        (code, True, auto) for asked in wanted for code in (f"{asked}-orig", asked)]
    if not languages:
        candidates += [(code, False, manual) for code in manual]
    for code, generated, tracks in candidates:
        formats = [f for f in tracks.get(code) or () if isinstance(f, dict) and isinstance(f.get("url"), str)]
        for ext in CAPTION_FORMATS:
            track = next((f for f in formats if f.get("ext") == ext), None)
            if track is not None:
                return code.removesuffix("-orig"), generated, track
    return None
