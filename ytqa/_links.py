"""From whatever a person pastes to what it names: a video, a playlist or a channel.

Parsing is by host allow-list, never by substring search, so a look-alike such as
``youtube.com.evil.example`` or ``notyoutube.com`` is rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from ._errors import InvalidLink

_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
_NOCOOKIE_HOSTS = {"youtube-nocookie.com", "www.youtube-nocookie.com"}
_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
_PATH_PREFIXES = ("shorts", "embed", "live", "v", "e")
_CHANNEL_PREFIXES = ("channel", "c", "user")
#: Playlist ids as YouTube writes them (yt-dlp's pattern): PL... for playlists, UU...
#: for a channel's uploads, OLAK5uy_... for albums, RD... for mixes.
_PLAYLIST_ID = re.compile(r"(?:PL|LL|EC|UU|FL|RD|UL|TL|PU|OLAK5uy_)[0-9A-Za-z_-]{10,}|RDMM|WL|LL|LM")
_CHANNEL_ID = re.compile(r"UC[0-9A-Za-z_-]{22}")
_NAME = re.compile(r"[\w.·-]{1,100}")
#: The channel tabs that list videos; no tab (or the home tab) means all of them.
CHANNEL_TABS = ("videos", "streams", "shorts")
_HOME_TABS = ("featured", "home")

KINDS = ("video", "playlist", "channel")


@dataclass(frozen=True)
class Link:
    """What a pasted link names."""

    #: "video", "playlist" or "channel".
    kind: str
    #: The video id, the playlist id, or the channel as the link names it:
    #: "@handle", "UC..." (its id), "c/name" or "user/name".
    id: str
    #: A watch link that carries ``list=`` names a playlist and one of its videos.
    video_id: str | None = None
    #: For a channel: "videos", "streams" or "shorts" for one tab, None for all uploads.
    tab: str | None = None

    @property
    def url(self) -> str:
        """The canonical link: what yt-dlp is given to list a playlist or channel."""
        if self.kind == "video":
            return watch_url(self.id)
        if self.kind == "playlist":
            return f"https://www.youtube.com/playlist?list={self.id}"
        path = self.id if self.id.startswith("@") or "/" in self.id else f"channel/{self.id}"
        return f"https://www.youtube.com/{path}" + (f"/{self.tab}" if self.tab else "")


def _short(text: str, limit: int = 40) -> str:
    """A piece of what was pasted, short enough for a message (a pasted essay is not echoed)."""
    text = str(text)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _valid_id(candidate: str, text: str, accepts: str) -> str:
    if not _ID.fullmatch(candidate):
        raise InvalidLink(
            text,
            f"{_short(candidate)} is not a video id (ids are 11 letters, digits, '-' or '_').",
            accepts,
        )
    return candidate


def _playlist(list_id: str, text: str, accepts: str, video: str | None = None) -> Link:
    if not _PLAYLIST_ID.fullmatch(list_id):
        if video:
            return Link("video", video)
        raise InvalidLink(text, f"{_short(list_id)} is not a playlist id.", accepts)
    personal = list_id in ("WL", "LL", "LM") or list_id.startswith("LL")
    mix = list_id.startswith("RD") and not list_id.startswith("RDCLAK")  # RDCLAK: curated lists
    if (personal or mix) and video:
        return Link("video", video)  # a mix or a private list: the video is what was meant
    if mix:
        raise InvalidLink(
            text, "It is a mix, which YouTube makes up as you watch and has no fixed list "
            "of videos; paste a playlist or channel link instead.", accepts)
    if personal:
        raise InvalidLink(
            text, "It is one of your own lists (Watch later, Liked videos), which only "
            "your signed-in browser can see; make a public or unlisted playlist of them instead.",
            accepts)
    return Link("playlist", list_id, video_id=video)


def _channel(segments: list[str], text: str, accepts: str) -> Link:
    head = unquote(segments[0])
    if head.startswith("@"):
        if not _NAME.fullmatch(head[1:]):
            raise InvalidLink(text, f"{_short(head)} is not a channel handle.", accepts)
        channel, rest = head, segments[1:]
    elif len(segments) < 2:
        raise InvalidLink(text, f"The /{head}/ link has no channel name.", accepts)
    elif head == "channel":
        if not _CHANNEL_ID.fullmatch(segments[1]):
            raise InvalidLink(text, f"{_short(segments[1])} is not a channel id (UC and 22 more characters).",
                              accepts)
        channel, rest = segments[1], segments[2:]
    else:
        name = unquote(segments[1])
        if not _NAME.fullmatch(name):
            raise InvalidLink(text, f"{_short(name)} is not a channel name.", accepts)
        channel, rest = f"{head}/{name}", segments[2:]
    tab = rest[0].lower() if rest else None
    if tab in _HOME_TABS:
        tab = None
    if tab == "live":
        raise InvalidLink(
            text, "It is a channel's live page, which shows whatever is live right now; paste "
            "the channel link, or its /streams tab for past streams.", accepts)
    if tab is not None and tab not in CHANNEL_TABS:
        raise InvalidLink(
            text, f"It is the channel's {_short(tab)[1:-1]} page, which lists no videos of its own; paste the "
            "channel link, or its /videos, /streams or /shorts tab.", accepts)
    return Link("channel", channel, tab=tab)


def _parse(text: str, accepts: str) -> Link:
    if not isinstance(text, str):
        raise InvalidLink(repr(text), "Expected text.", accepts)
    original = text
    text = text.strip()
    if not text:
        raise InvalidLink(original, "The link is empty.", accepts)
    bare = _bare(text, original, accepts)
    if bare is not None:
        return bare
    parts, host = _split(text, original, accepts)
    segments = [s for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    list_id = (query.get("list") or [""])[0]

    if host in _SHORT_HOSTS:
        if not segments:
            raise InvalidLink(original, "The youtu.be link has no video id.", accepts)
        video = _valid_id(segments[0], original, accepts)
        return _playlist(list_id, original, accepts, video) if list_id else Link("video", video)

    if host in _NOCOOKIE_HOSTS:
        if len(segments) >= 2 and segments[0] == "embed":
            if segments[1] == "videoseries" and list_id:
                return _playlist(list_id, original, accepts)
            video = _valid_id(segments[1], original, accepts)
            return _playlist(list_id, original, accepts, video) if list_id else Link("video", video)
        raise InvalidLink(original, "Only embed links of youtube-nocookie.com name a video.", accepts)

    if host not in _YOUTUBE_HOSTS:
        raise InvalidLink(original, f"{_short(host)[1:-1] if host else 'It'} is not a YouTube address.", accepts)
    return _youtube_path(segments, query, list_id, original, accepts)


def _bare(text: str, original: str, accepts: str) -> Link | None:
    """A bare video id, playlist id or @handle; None for what may be a link."""
    if _ID.fullmatch(text):
        return Link("video", text)
    if any(c.isspace() for c in text):
        raise InvalidLink(original, "A link has no spaces.", accepts)
    if accepts != "video" and _PLAYLIST_ID.fullmatch(text) and len(text) > 11:
        return _playlist(text, original, accepts)  # a bare playlist id
    if accepts != "video" and text.startswith("@"):
        return _channel([text], original, accepts)  # a bare @handle
    if re.fullmatch(r"[A-Za-z0-9_-]+", text):
        _valid_id(text, original, accepts)  # a bare id of the wrong length
    return None


def _split(text: str, original: str, accepts: str):
    """The link's parts and host, an http(s) link with its scheme added where it has none."""
    if "://" not in text:
        if text.startswith("//"):
            text = "https:" + text
        elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) and not re.match(
            r"^[^/]+\.[^/]+:\d", text
        ):
            # javascript:, data:, mailto: ... (but not "host:port/...")
            raise InvalidLink(original, "Only http and https links are accepted.", accepts)
        else:
            text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError as error:
        raise InvalidLink(original, f"It cannot be read as a link ({error}).", accepts) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidLink(original, "Only http and https links are accepted.", accepts)
    return parts, host


def _youtube_path(segments: list[str], query: dict, list_id: str, original: str, accepts: str) -> Link:
    """What the path of a youtube.com link names."""
    if segments[:1] == ["watch"] or (not segments and "v" in query):
        ids = query.get("v")
        if (not ids or not ids[0]) and list_id:
            return _playlist(list_id, original, accepts)
        if not ids or not ids[0]:
            raise InvalidLink(original, "The watch link has no v= video id.", accepts)
        video = _valid_id(ids[0], original, accepts)
        return _playlist(list_id, original, accepts, video) if list_id else Link("video", video)
    if segments[:2] == ["embed", "videoseries"] and list_id:
        return _playlist(list_id, original, accepts)
    if segments and segments[0] in _PATH_PREFIXES:
        if len(segments) < 2:
            raise InvalidLink(original, f"The /{segments[0]}/ link has no video id.", accepts)
        video = _valid_id(segments[1], original, accepts)
        if list_id and segments[0] == "embed":
            return _playlist(list_id, original, accepts, video)
        return Link("video", video)
    if segments[:1] == ["playlist"] or list_id:
        if not list_id:
            raise InvalidLink(original, "The playlist link has no list= playlist id.", accepts)
        return _playlist(list_id, original, accepts)
    if segments and (segments[0].startswith("@") or segments[0] in _CHANNEL_PREFIXES):
        return _channel(segments, original, accepts)
    raise InvalidLink(original, "It does not point to a video, a playlist or a channel."
                      if accepts != "video" else "It does not point to a video.", accepts)


def parse_link(text: str) -> Link:
    """What ``text`` names: a video, a playlist or a channel (or one of its video tabs).

    Every form people paste: watch, youtu.be, shorts, embed and live links, bare video
    ids; ``playlist?list=``, a watch link that carries ``list=`` (a playlist, with
    ``video_id`` set), bare playlist ids; ``@handle``, ``/channel/UC...``, ``/c/name``,
    ``/user/name``, and a channel's ``/videos``, ``/streams`` or ``/shorts`` tab.
    """
    return _parse(text, "any")


def collection_link(text: str) -> Link:
    """The playlist or channel ``text`` names; a video link is refused with the reason."""
    link = _parse(text, "collection")
    if link.kind == "video":
        raise InvalidLink(text.strip(), "It is a single video; index it with 'ytqa index' "
                          "(in the app: Open video).", "collection")
    return link


def video_id(text: str) -> str:
    """Return the video id in ``text``: a YouTube link in any common form, or a bare id."""
    link = _parse(text, "video")
    if link.kind == "video":
        return link.id
    if link.video_id:
        return link.video_id  # a watch link inside a playlist: the single-video flow
    if link.kind == "playlist":
        raise InvalidLink(
            text, "It is a playlist: add it with 'ytqa add LINK' (in the app it offers "
            "Index all), or open one of its videos and paste that link.")
    raise InvalidLink(
        text, "It is a channel: add it with 'ytqa add LINK' (in the app it offers Index "
        "all), or open one of its videos and paste that link.")
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
