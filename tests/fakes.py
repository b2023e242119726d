"""YouTube at its boundaries, for the collection tests: its HTTP (recorded responses, with
``responses``), yt-dlp's YoutubeDL (recorded flat listings), and a clock that only moves
when told to. None of ytqa's own code is replaced."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import responses

from conftest import shared

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WATCH = "https://www.youtube.com/watch"
PLAYER = "https://www.youtube.com/youtubei/v1/player"
TIMEDTEXT = "https://www.youtube.com/api/timedtext"

PLAYLIST_ID = "PLbpi6ZahtOH6Blw3RGYpWkSByi_T7Rygb"
PLAYLIST_URL = f"https://www.youtube.com/playlist?list={PLAYLIST_ID}"
CHANNEL_URL = "https://www.youtube.com/@NTFAQGuy"
DART = "eF8Qqp7rjDg"  # the fully real capture: page, player response and 133 caption lines

#: The recorded player response of each video in the listings; any other video gets the
#: Surface Go review's (its captions are the short recorded track).
PLAYERS = {
    DART: "dart_port_fixtures_eF8Qqp7rjDg/innertube_response.json",
    "GJLlxj_dtq8": "youtube.innertube.json.static",
    "dsMFmonKDD4": "youtube_transcripts_disabled.innertube.json.static",
    "F1xioXWb8CY": "youtube_ww1_nl_en.innertube.json.static",
    "Njp5uhTorCo": "youtube_age_restricted.innertube.json.static",
}
BLOCKED = "youtube_request_blocked.innertube.json.static"
PO_TOKEN = "youtube_po_token_required.innertube.json.static"


def listing(name: str) -> dict:
    """A flat-extraction result as yt-dlp returns it (see fixtures/make_ytdlp_fixtures.py)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def grown(name: str, extra: str | None = None) -> dict:
    """The listing ``name``, with one more video where ``extra`` names one (``id,title,seconds``):
    a playlist that grew since it was last listed."""
    result = listing(name)
    if extra and extra.strip():
        video, title, seconds = extra.strip().split(",")
        result["entries"].append(entry_like(result, video, title, int(seconds)))
    return result


def entry_like(listing_dict: dict, video_id: str, title: str, duration: int) -> dict:
    """One more video entry in the same shape as the listing's first one."""
    entry = copy.deepcopy(listing_dict["entries"][0])
    entry.update(id=video_id, url=f"https://www.youtube.com/watch?v={video_id}", title=title,
                 duration=duration)
    return entry


class FakeYoutubeDL:
    """yt-dlp's YoutubeDL at its boundary: extract_info answers with a recorded listing."""

    def __init__(self, result, params: dict, calls: list):
        self.result = result
        self.params = params
        self.calls = calls

    def extract_info(self, url, download=True):
        self.calls.append({"url": url, "download": download, "params": self.params})
        if isinstance(self.result, BaseException):
            raise self.result
        return copy.deepcopy(self.result)

    def close(self):
        pass


def youtube_dl(result):
    """A YoutubeDL factory for ytqa; ``factory.calls`` records every extract_info call.

    ``result`` may be changed later through ``factory.result`` (a playlist that grows).
    """
    def factory(params):
        return FakeYoutubeDL(factory.result, params, factory.calls)

    factory.result = result
    factory.calls = []
    return factory


class FakeClock:
    """Monotonic time that moves only by sleeps and by the requests it is told about."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _text(name: str) -> str:
    return shared("youtube_responses", name).read_text(encoding="utf-8")


class RecordedYouTube:
    """YouTube's watch page, player and captions for any video, from recorded responses.

    ``players`` overrides what a video's player request gets: a file name, or a list of
    them used one per try (the last one repeats). ``watch_status`` answers the watch page
    of a video with that HTTP status instead (429: too many requests). Each watch page
    request (the first of a fetch) is recorded with the clock's time, and moves the
    clock by ``request_seconds``.
    """

    def __init__(self, mock: responses.RequestsMock, clock: FakeClock | None = None,
                 players: dict | None = None, watch_status: dict | None = None,
                 request_seconds: float = 0.4):
        self.clock = clock
        self.players = {**PLAYERS, **(players or {})}
        self.watch_status = watch_status or {}
        self.request_seconds = request_seconds
        self.fetches: list[tuple[str, float | None]] = []
        self._pages = {DART: _text("dart_port_fixtures_eF8Qqp7rjDg/youtube_page.html"),
                       None: _text("youtube.html.static")}
        self._captions = {DART: _text("dart_port_fixtures_eF8Qqp7rjDg/transcript.xml"),
                          None: _text("transcript.xml.static")}
        mock.add_callback(responses.GET, WATCH, callback=self._watch)
        mock.add_callback(responses.POST, PLAYER, callback=self._player, content_type="application/json")
        mock.add_callback(responses.GET, TIMEDTEXT, callback=self._timedtext)

    def fetched(self) -> list[str]:
        """The videos fetched, in order, once per try."""
        return [video for video, _ in self.fetches]

    def _watch(self, request):
        video = parse_qs(urlsplit(request.url).query)["v"][0]
        self.fetches.append((video, self.clock() if self.clock else None))
        if self.clock:
            self.clock.now += self.request_seconds
        if video in self.watch_status:
            return self.watch_status[video], {}, "Too Many Requests"
        return 200, {}, self._pages.get(video, self._pages[None])

    def _player(self, request):
        video = json.loads(request.body)["videoId"]
        chosen = self.players.get(video, PLAYERS["GJLlxj_dtq8"])
        if isinstance(chosen, list):
            chosen = chosen.pop(0) if len(chosen) > 1 else chosen[0]
        return 200, {}, _text(chosen)

    def _timedtext(self, request):
        video = parse_qs(urlsplit(request.url).query).get("v", [None])[0]
        return 200, {}, self._captions.get(video, self._captions[None])
