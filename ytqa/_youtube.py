"""Fetching transcripts from YouTube (youtube-transcript-api 1.x), with proxies.

Every exception the library raises becomes a ytqa error that says what to do.
The library is imported lazily: ``import ytqa`` must stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from . import _errors as errors
from ._transcript import Line, Transcript, Track, clean_text, clean_title


@dataclass(frozen=True)
class ProxySettings:
    """A generic HTTP(S) proxy, or Webshare's rotating residential proxies."""

    http_url: str | None = None
    https_url: str | None = None
    webshare_username: str | None = None
    webshare_password: str | None = None
    webshare_locations: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ=None) -> "ProxySettings | None":
        """YTQA_PROXY (both schemes) or YTQA_HTTP_PROXY/YTQA_HTTPS_PROXY; YTQA_WEBSHARE_* (see _config)."""
        from ._config import Config

        return cls.from_config(Config.from_env(environ).proxy)

    @classmethod
    def from_config(cls, proxy) -> "ProxySettings | None":
        settings = cls(
            http_url=proxy.http_url,
            https_url=proxy.https_url,
            webshare_username=proxy.webshare_username,
            webshare_password=proxy.webshare_password,
            webshare_locations=tuple(proxy.webshare_locations),
        )
        return settings if settings.is_set else None

    @property
    def is_set(self) -> bool:
        return bool(self.http_url or self.https_url or self.webshare_username)

    def check(self) -> "ProxySettings":
        """Itself, when each proxy URL can be one; else ``InvalidProxy`` saying why."""
        for url in dict.fromkeys(u for u in (self.http_url, self.https_url) if u):
            problem = _proxy_problem(url)
            if problem:
                raise errors.InvalidProxy(url, problem)
        return self

    def to_library_config(self):
        from youtube_transcript_api.proxies import GenericProxyConfig, WebshareProxyConfig

        if self.webshare_username:
            if not self.webshare_password:
                raise errors.YtqaError(
                    "A Webshare username was given without its password: set "
                    "--webshare-password or YTQA_WEBSHARE_PASSWORD."
                )
            return WebshareProxyConfig(
                proxy_username=self.webshare_username,
                proxy_password=self.webshare_password,
                filter_ip_locations=list(self.webshare_locations) or None,
            )
        return GenericProxyConfig(http_url=self.http_url, https_url=self.https_url)


_PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


def _proxy_problem(url: str) -> str | None:
    from urllib.parse import urlsplit

    if any(c.isspace() for c in url):
        return "it has a space in it"
    if "://" not in url:
        url = "http://" + url  # as requests reads "host:port"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return ("its port is not a number from 1 to 65535" if "port" in str(error).lower()
                else "it cannot be read as a URL")
    if parts.scheme.lower() not in _PROXY_SCHEMES:
        return f"its scheme {parts.scheme[:20]!r} is not one of {', '.join(_PROXY_SCHEMES)}"
    if not parts.hostname:
        return "it has no host"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    return None


def _session_class():
    from requests import Session

    class RecordingSession(Session):
        """Keeps the player response so we learn the title and length for free."""

        player_response: dict | None = None

        def post(self, url, *args, **kwargs):
            response = super().post(url, *args, **kwargs)
            if "/youtubei/v1/player" in url:
                try:
                    self.player_response = response.json()
                except ValueError:
                    pass
            return response

    return RecordingSession


def cookie_jar(path: str):
    """A Netscape cookies.txt as a cookie jar; a clear error naming the file when it is not one."""
    from http.cookiejar import LoadError, MozillaCookieJar

    jar = MozillaCookieJar(str(path))
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except (OSError, LoadError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else "it is not a Netscape cookies.txt"
        raise errors.YtqaError(
            f"The cookies file {path} (--cookies or YTQA_COOKIES) cannot be read: {clean_text(str(why))}. "
            "Export the cookies of a browser signed in to YouTube as cookies.txt (Netscape format).") from None
    return jar


class YouTube:
    """One client per use: the library's session is not thread-safe.

    When YouTube refuses youtube-transcript-api (a block, a bot check, a PO token), the
    captions are asked of yt-dlp (its own clients and plug-ins); ``cookies``: a Netscape
    cookies.txt (else YTQA_COOKIES) sent by both."""

    def __init__(self, proxy: ProxySettings | None = None, cookies: str | None = None, youtube_dl=None):
        from youtube_transcript_api import YouTubeTranscriptApi

        from ._config import current

        self.proxy = proxy if proxy is not None else ProxySettings.from_env()
        if self.proxy is not None:
            self.proxy.check()
        self.cookies = cookies if cookies is not None else current().cookies
        self._youtube_dl = youtube_dl
        self._session = _session_class()()
        if self.cookies:
            self._session.cookies.update(cookie_jar(self.cookies))
        config = self.proxy.to_library_config() if self.proxy and self.proxy.is_set else None
        self._api = YouTubeTranscriptApi(proxy_config=config, http_client=self._session)

    @property
    def title(self) -> str | None:
        details = (self._session.player_response or {}).get("videoDetails") or {}
        return clean_title(details.get("title")) if isinstance(details, dict) else None

    def tracks(self, video_id: str) -> list[Track]:
        """The caption tracks of a video, manual ones first."""
        with _translated_errors(video_id, self.proxy):
            listing = list(self._api.list(video_id))
        tracks = [
            Track(
                language=t.language,
                language_code=t.language_code,
                is_generated=t.is_generated,
                translation_languages=tuple(
                    (tl.language_code, tl.language) for tl in t.translation_languages
                ),
            )
            for t in listing
        ]
        return sorted(tracks, key=lambda t: t.is_generated)

    def fetch(self, video_id: str, languages: Sequence[str] = (), prefer_generated: bool = False) -> Transcript:
        """The transcript in the first of ``languages`` that exists, else the best track.

        Without languages: a manual track over an auto-generated one, preferring the
        spoken language (that of the auto-generated track) and then English. When no
        track is in the asked languages, YouTube's own translation of the best track
        is used if it offers one. ``prefer_generated`` picks the auto-generated track of
        an asked language over its manual one (the app lets a person choose).
        """
        languages = [code.strip() for code in languages if code and code.strip()]
        try:
            return self._fetch(video_id, languages, prefer_generated)
        except (errors.YouTubeBlocked, errors.PoTokenRequired) as refused:
            return self._fetch_through_yt_dlp(video_id, languages, refused)

    def _fetch_through_yt_dlp(self, video_id: str, languages: Sequence[str], refused) -> Transcript:
        """The second way to the captions; else the refusal, naming both ways tried."""
        from ._ytdlp import CaptionsNotFound, fetch_captions

        try:
            captions = fetch_captions(video_id, languages, self.proxy, self.cookies, self._youtube_dl)
            lines = _caption_lines(video_id, captions)
        except (CaptionsNotFound, errors.TranscriptFileError) as error:
            why = getattr(error, "problem", None) or str(error)
            tried = f"youtube-transcript-api ({refused.summary}), then yt-dlp ({why})"
            if isinstance(refused, errors.PoTokenRequired):
                raise errors.PoTokenRequired(video_id, tried=tried) from error
            raise errors.YouTubeBlocked(video_id, bool(self.proxy and self.proxy.is_set), tried=tried) from error
        return Transcript(video_id=video_id, lines=lines, language=captions.language,
                          language_code=captions.language_code, is_generated=captions.is_generated,
                          source="youtube", title=self.title)

    def _fetch(self, video_id: str, languages: Sequence[str], prefer_generated: bool) -> Transcript:
        with _translated_errors(video_id, self.proxy):
            listing = self._api.list(video_id)
            tracks = list(listing)
            chosen, translated_from = _choose(video_id, tracks, languages, prefer_generated)
            fetched = chosen.fetch()
        lines = _checked_lines(video_id, fetched.snippets)
        return Transcript(
            video_id=video_id,
            lines=lines,
            language=chosen.language,
            language_code=chosen.language_code,
            is_generated=bool(chosen.is_generated and not translated_from),
            translated_from=translated_from,
            source="youtube",
            title=self.title,
        )


def _caption_lines(video_id: str, captions) -> tuple[Line, ...]:
    """yt-dlp's caption body as lines: json3 (YouTube's timed events) or WebVTT."""
    import json
    from types import SimpleNamespace

    from ._files import parse_subtitles

    if captions.ext == "vtt":
        return parse_subtitles(captions.body, f"{video_id}.vtt", video_id).lines
    try:
        events = json.loads(captions.body.decode("utf-8")).get("events") or []
    except (ValueError, AttributeError, UnicodeDecodeError):
        raise errors.TranscriptFileError(f"{video_id}.json3", "its captions are not JSON") from None
    snippets = []
    for event in events:
        segments = event.get("segs") if isinstance(event, dict) else None
        text = "".join(str(s.get("utf8", "")) for s in segments or () if isinstance(s, dict))
        if text.strip():
            snippets.append(SimpleNamespace(text=text, start=_seconds(event.get("tStartMs", 0)),
                                            duration=_seconds(event.get("dDurationMs", 0))))
    return _checked_lines(video_id, snippets)


def _seconds(milliseconds) -> float:
    ok = isinstance(milliseconds, (int, float)) and not isinstance(milliseconds, bool)
    return milliseconds / 1000 if ok else float("nan")  # nan: refused with its line below


def _checked_lines(video_id: str, snippets) -> tuple[Line, ...]:
    """YouTube's captions as lines, held to the rules a subtitle file is held to: times a
    video can have, no terminal control characters in the text, a bounded size."""
    from ._files import check_size, check_time, clean_text

    lines = []
    for number, snippet in enumerate(snippets, 1):
        try:
            start, duration = float(snippet.start), float(snippet.duration)
        except (TypeError, ValueError, OverflowError):
            start = duration = float("nan")
        problem = check_time(start) or check_time(duration) or check_time(start + duration)
        if problem:
            raise errors.YouTubeRequestFailed(
                video_id, f"caption {number} of YouTube's answer has a time that is {problem} "
                f"(start {str(snippet.start)[:20]}, duration {str(snippet.duration)[:20]})")
        lines.append(Line(clean_text(str(snippet.text)), start, duration))
    problem = check_size(lines)
    if problem:
        raise errors.TranscriptTooLong(video_id, problem)
    return tuple(lines)


def _choose(video_id: str, tracks, languages: Sequence[str], prefer_generated: bool = False):
    if not tracks:
        raise errors.TranscriptsDisabled(video_id)
    manual = [t for t in tracks if not t.is_generated]
    generated = [t for t in tracks if t.is_generated]
    for code in languages:
        for track in (generated + manual) if prefer_generated else (manual + generated):
            if track.language_code == code:
                return track, None
    spoken = [t.language_code for t in generated]
    ranked = sorted(
        manual,
        key=lambda t: (t.language_code not in spoken, not t.language_code.startswith("en")),
    ) + generated
    if languages:
        for code in languages:
            for track in ranked:
                if any(tl.language_code == code for tl in track.translation_languages):
                    translated = track.translate(code)
                    return translated, track.language_code
        raise errors.NoTranscriptInLanguage(
            video_id,
            languages,
            [f"{t.language_code} ({'auto' if t.is_generated else 'manual'})" for t in tracks],
            sorted({tl.language_code for t in tracks for tl in t.translation_languages}),
        )
    return ranked[0], None


class _translated_errors:
    """Maps youtube-transcript-api and network exceptions to ytqa errors."""

    def __init__(self, video_id: str, proxy: ProxySettings | None):
        self.video_id = video_id
        self.proxy = proxy

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is None or isinstance(error, errors.YtqaError):
            return False
        mapped = _map_error(self.video_id, error, bool(self.proxy and self.proxy.is_set))
        if mapped is None:
            return False
        raise mapped from error


def _map_error(video_id: str, error: BaseException, with_proxy: bool):
    import requests
    import youtube_transcript_api as yta

    if isinstance(error, yta.TranscriptsDisabled):
        return errors.TranscriptsDisabled(video_id)
    if isinstance(error, yta.NoTranscriptFound):
        return errors.NoTranscriptInLanguage(video_id, list(error._requested_language_codes), [])
    if isinstance(error, (yta.VideoUnavailable, yta.InvalidVideoId)):
        return errors.VideoUnavailable(video_id)
    if isinstance(error, yta.AgeRestricted):
        return errors.AgeRestricted(video_id)
    if isinstance(error, yta.VideoUnplayable):
        return errors.VideoUnplayable(video_id, clean_title(error.reason),
                                      [clean_text(str(reason)) for reason in error.sub_reasons or ()])
    if isinstance(error, yta.RequestBlocked):  # IpBlocked included
        return errors.YouTubeBlocked(video_id, with_proxy=with_proxy)
    if isinstance(error, yta.PoTokenRequired):
        return errors.PoTokenRequired(video_id)
    if isinstance(error, (yta.NotTranslatable, yta.TranslationLanguageNotAvailable)):
        return errors.NoTranscriptInLanguage(video_id, [], [])
    if isinstance(error, yta.FailedToCreateConsentCookie):
        return errors.YouTubeRequestFailed(
            video_id,
            "YouTube showed its cookie-consent page and would not accept the automatic "
            "consent (common from EU addresses); a proxy outside the EU avoids it",
        )
    if isinstance(error, yta.YouTubeRequestFailed):
        return errors.YouTubeRequestFailed(video_id, error.reason)
    if isinstance(error, yta.YouTubeDataUnparsable):
        return errors.YouTubeRequestFailed(video_id, "YouTube's answer could not be understood")
    if isinstance(error, yta.CouldNotRetrieveTranscript):
        return errors.YouTubeRequestFailed(video_id, error.cause.splitlines()[0])
    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return errors.NoNetwork(video_id, type(error).__name__)
    if isinstance(error, requests.RequestException):
        return errors.YouTubeRequestFailed(video_id, str(error))
    return None
