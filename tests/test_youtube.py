"""Fetching from YouTube, against real recorded responses; only HTTP is mocked."""

import json

import pytest
import requests
import responses

import ytqa
from conftest import shared

WATCH = "https://www.youtube.com/watch"
PLAYER = "https://www.youtube.com/youtubei/v1/player"
TIMEDTEXT = "https://www.youtube.com/api/timedtext"
VIDEO = "GJLlxj_dtq8"


def recorded(name: str) -> str:
    return shared("youtube_responses", name).read_text(encoding="utf-8")


@pytest.fixture
def youtube():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def serve(mock, player="youtube.innertube.json.static", page="youtube.html.static",
          captions="transcript.xml.static"):
    mock.get(WATCH, body=recorded(page))
    mock.post(PLAYER, body=recorded(player), content_type="application/json")
    mock.get(TIMEDTEXT, body=recorded(captions))


def test_fetch_prefers_the_manual_track_in_the_spoken_language(youtube):
    serve(youtube)
    transcript = ytqa.YouTube().fetch(VIDEO)
    assert transcript.language_code == "en"
    assert transcript.is_generated is False
    assert [line.text for line in transcript.lines] == [
        "Hey, this is just a test",
        "this is not the original transcript",
        "just something shorter, I made up for testing",
    ]
    assert transcript.lines[1].start == 1.54


def test_fetch_reports_the_title_from_youtubes_answer(youtube):
    serve(youtube)
    assert ytqa.YouTube().fetch(VIDEO).title.startswith("Surface Go Review")


def test_fetch_takes_the_language_the_user_asks_for(youtube):
    serve(youtube)
    transcript = ytqa.YouTube().fetch(VIDEO, ["de", "en"])
    assert (transcript.language_code, transcript.language) == ("de", "German")


def test_the_auto_generated_track_can_be_preferred(youtube):
    serve(youtube)
    transcript = ytqa.YouTube().fetch(VIDEO, ["en"], prefer_generated=True)
    assert transcript.is_generated and transcript.kind == "auto-generated"


def test_a_missing_language_is_translated_by_youtube(youtube):
    serve(youtube)
    transcript = ytqa.YouTube().fetch(VIDEO, ["fr"])
    assert transcript.language_code == "fr"
    assert transcript.translated_from == "en"
    assert transcript.kind == "translated from en"
    asked = [call.request.url for call in youtube.calls if call.request.url.startswith(TIMEDTEXT)]
    assert "tlang=fr" in asked[-1]


def test_an_unknown_language_lists_the_tracks_that_exist(youtube):
    serve(youtube)
    with pytest.raises(ytqa.NoTranscriptInLanguage) as caught:
        ytqa.YouTube().fetch(VIDEO, ["xx"])
    message = str(caught.value)
    assert "no transcript in xx" in message
    assert "en (manual)" in message and "en (auto)" in message and "de (manual)" in message


def test_tracks_lists_manual_before_auto_generated_with_translations(youtube):
    serve(youtube)
    tracks = ytqa.YouTube().tracks(VIDEO)
    assert len(tracks) == 9
    assert tracks[-1].is_generated and tracks[-1].language_code == "en"
    assert not any(t.is_generated for t in tracks[:-1])
    assert ("fr", "French") in dict.fromkeys(tracks[0].translation_languages)


def test_complete_auto_generated_capture_matches_the_stored_transcript(youtube):
    folder = "dart_port_fixtures_eF8Qqp7rjDg/"
    serve(youtube, player=folder + "innertube_response.json", page=folder + "youtube_page.html",
          captions=folder + "transcript.xml")
    transcript = ytqa.YouTube().fetch("eF8Qqp7rjDg")
    expected = json.loads(shared("transcripts", "eF8Qqp7rjDg.json").read_text())
    assert transcript.is_generated is True
    assert transcript.kind == "auto-generated"
    assert len(transcript.lines) == 133
    assert [(l.text, l.start, l.duration) for l in transcript.lines] == [
        (e["text"], e["start"], e["duration"]) for e in expected
    ]
    assert transcript.title == "Halloween Infrastructure Update - 27th October 2023"


@pytest.mark.parametrize("player, error, words", [
    ("youtube_transcripts_disabled.innertube.json.static", ytqa.TranscriptsDisabled, "Captions are turned off"),
    ("youtube_transcripts_disabled2.innertube.json.static", ytqa.TranscriptsDisabled, "--transcript"),
    ("youtube_age_restricted.innertube.json.static", ytqa.AgeRestricted, "age-restricted"),
    ("youtube_video_unavailable.innertube.json.static", ytqa.VideoUnavailable, "unavailable"),
    ("youtube_unplayable.innertube.json.static", ytqa.VideoUnplayable, "Custom Reason (Sub Reason 1; Sub Reason 2)"),
    ("youtube_request_blocked.innertube.json.static", ytqa.YouTubeBlocked, "cloud hosts"),
    ("youtube_po_token_required.innertube.json.static", ytqa.PoTokenRequired, "PO) token"),
])
def test_each_refusal_becomes_an_error_that_says_what_to_do(youtube, player, error, words):
    serve(youtube, player=player)
    with pytest.raises(error) as caught:
        ytqa.YouTube().fetch(VIDEO)
    assert words in str(caught.value)
    assert isinstance(caught.value, ytqa.TranscriptUnavailable)


def test_altered_user_agent_response_still_works(youtube):
    serve(youtube, player="youtube_altered_user_agent.innertube.json.static")
    assert len(ytqa.YouTube().fetch(VIDEO).lines) == 3


def test_bot_check_explains_how_to_set_a_proxy(youtube):
    serve(youtube, player="youtube_request_blocked.innertube.json.static")
    with pytest.raises(ytqa.YouTubeBlocked) as caught:
        ytqa.YouTube().fetch(VIDEO)
    message = str(caught.value)
    assert "--proxy" in message and "YTQA_PROXY" in message and "Webshare" in message


def test_bot_check_through_a_proxy_says_the_proxy_was_refused(youtube):
    serve(youtube, player="youtube_request_blocked.innertube.json.static")
    proxy = ytqa.ProxySettings(http_url="http://proxy.invalid:8080", https_url="http://proxy.invalid:8080")
    with pytest.raises(ytqa.YouTubeBlocked) as caught:
        ytqa.YouTube(proxy).fetch(VIDEO)
    assert "even through the configured proxy" in str(caught.value)


def test_too_many_requests_page_is_reported_as_a_block(youtube):
    youtube.get(WATCH, body=recorded("youtube_too_many_requests.html.static"))
    with pytest.raises(ytqa.YouTubeBlocked):
        ytqa.YouTube().fetch(VIDEO)


def test_http_429_is_reported_as_a_block(youtube):
    youtube.get(WATCH, status=429, body="Too Many Requests")
    with pytest.raises(ytqa.YouTubeBlocked):
        ytqa.YouTube().fetch(VIDEO)


def test_consent_page_once_is_accepted_and_the_fetch_goes_on(youtube):
    youtube.get(WATCH, body=recorded("youtube_consent_page.html.static"))
    youtube.get(WATCH, body=recorded("youtube.html.static"))
    youtube.post(PLAYER, body=recorded("youtube.innertube.json.static"), content_type="application/json")
    youtube.get(TIMEDTEXT, body=recorded("transcript.xml.static"))
    assert len(ytqa.YouTube().fetch(VIDEO).lines) == 3


@pytest.mark.parametrize("page", ["youtube_consent_page.html.static", "youtube_consent_page_invalid.html.static"])
def test_a_consent_page_that_will_not_go_away_is_explained(youtube, page):
    youtube.get(WATCH, body=recorded(page))
    with pytest.raises(ytqa.YouTubeRequestFailed) as caught:
        ytqa.YouTube().fetch(VIDEO)
    assert "consent" in str(caught.value)


def test_a_server_error_is_a_failed_request(youtube):
    youtube.get(WATCH, status=500, body="oops")
    with pytest.raises(ytqa.YouTubeRequestFailed) as caught:
        ytqa.YouTube().fetch(VIDEO)
    assert "500" in str(caught.value)


def test_no_network_says_so(youtube):
    youtube.get(WATCH, body=requests.ConnectionError("Name or service not known"))
    with pytest.raises(ytqa.NoNetwork) as caught:
        ytqa.YouTube().fetch(VIDEO)
    assert "internet connection" in str(caught.value)


def test_proxy_settings_come_from_the_environment():
    proxy = ytqa.ProxySettings.from_env({"YTQA_PROXY": "http://u:p@proxy:3128"})
    assert proxy.http_url == proxy.https_url == "http://u:p@proxy:3128"
    webshare = ytqa.ProxySettings.from_env({
        "YTQA_WEBSHARE_USERNAME": "me", "YTQA_WEBSHARE_PASSWORD": "pw", "YTQA_WEBSHARE_LOCATIONS": "de, us",
    })
    config = webshare.to_library_config()
    assert type(config).__name__ == "WebshareProxyConfig"
    assert config.url == "http://me-DE-US-rotate:pw@p.webshare.io:80/"
    assert ytqa.ProxySettings.from_env({}) is None


def test_the_proxy_is_used_for_youtube_requests(youtube):
    serve(youtube)
    proxy = ytqa.ProxySettings(http_url="http://proxy.example:3128", https_url="http://proxy.example:3128")
    client = ytqa.YouTube(proxy)
    client.fetch(VIDEO)
    assert client._session.proxies == {"http": "http://proxy.example:3128", "https": "http://proxy.example:3128"}


def test_library_fetches_once_and_keeps_the_transcript(youtube, tmp_path):
    serve(youtube)
    library = ytqa.Library(tmp_path)
    first = library.transcript(f"https://youtu.be/{VIDEO}")
    calls = len(youtube.calls)
    again = library.transcript(VIDEO)
    assert again == first
    assert len(youtube.calls) == calls  # the second time needs no network


def test_an_unavailable_language_falls_back_to_the_next_one_asked(youtube):
    serve(youtube, player="youtube_ww1_nl_en.innertube.json.static")
    transcript = ytqa.YouTube().fetch("F1xioXWb8CY", ["nl", "en"])
    assert transcript.language_code == "en" and transcript.is_generated is False


def serve_captions(mock, body: str):
    mock.get(WATCH, body=recorded("youtube.html.static"))
    mock.post(PLAYER, body=recorded("youtube.innertube.json.static"), content_type="application/json")
    mock.get(TIMEDTEXT, body=body)


@pytest.mark.parametrize("start", ["1e308", "inf", "1e15", "nan"])
def test_an_absurd_time_in_youtubes_answer_is_refused_with_the_caption_number(youtube, start):
    recorded_xml = recorded("transcript.xml.static")
    serve_captions(youtube, recorded_xml.replace('start="5.7"', f'start="{start}"'))
    with pytest.raises(ytqa.YouTubeRequestFailed, match="caption 3 of YouTube's answer has a time"):
        ytqa.YouTube().fetch(VIDEO)


def test_terminal_escapes_in_youtubes_captions_are_stripped(youtube):
    recorded_xml = recorded("transcript.xml.static")
    serve_captions(youtube, recorded_xml.replace("Hey, this", "Hey,&#157;0;pwned&#156; this&#155;2J"))
    assert ytqa.YouTube().fetch(VIDEO).lines[0].text == "Hey, this is just a test"


@pytest.mark.parametrize("url, problem", [
    ("http://u:SECRET@host:99999", "its port is not a number from 1 to 65535"),
    ("http://u:SECRET@host:port", "its port is not a number from 1 to 65535"),
    ("ftp://u:SECRET@host:21", "its scheme 'ftp' is not one of"),
    ("http://u:SECRET@:8080", "it has no host"),
    ("http://u:SECRET@ho st:8080", "it has a space in it"),
])
def test_a_malformed_proxy_url_is_named_as_such_and_its_password_never_shown(capsys, tmp_path, url, problem):
    from ytqa.cli import main

    code = main(["index", VIDEO, "--proxy", url, "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "SECRET" not in err
    assert err.startswith("error: The proxy URL ") and "u:***@" in err and problem in err
    assert "YouTube" not in err.split(":", 2)[2].split(".")[0]  # not blamed on YouTube


def test_a_proxy_without_a_scheme_is_taken_as_http(youtube):
    assert ytqa.ProxySettings(http_url="proxy.example:3128").check().http_url == "proxy.example:3128"


def test_a_library_error_quoting_the_proxy_url_never_shows_its_password(youtube):
    youtube.get(WATCH, body=requests.exceptions.InvalidURL("Failed to parse: http://u:SECRET@proxy.example:3128"))
    proxy = ytqa.ProxySettings(http_url="http://u:SECRET@proxy.example:3128",
                               https_url="http://u:SECRET@proxy.example:3128")
    with pytest.raises(ytqa.YtqaError) as caught:
        ytqa.YouTube(proxy).fetch(VIDEO)
    assert "SECRET" not in str(caught.value) and "http://u:***@proxy.example:3128" in str(caught.value)


@pytest.mark.parametrize("error", [
    lambda: ytqa.YouTubeRequestFailed(VIDEO, "ProxyError('http://me:SECRET@p:1')"),
    lambda: ytqa.ListingFailed("https://www.youtube.com/@x", "Failed to parse: socks5://me:SECRET@p:1"),
    lambda: ytqa.StoreUnavailable("postgresql://me:SECRET@db:5432/ytqa", "connection refused"),
    lambda: ytqa.NoNetwork(VIDEO, "HTTPSConnectionPool: https://me:SECRET@p:1"),
])
def test_every_message_masks_a_password_in_a_url(error):
    message = str(error())
    assert "SECRET" not in message and "me:***@" in message


# --- a second way to the captions: yt-dlp, when youtube-transcript-api is refused ------

DART = "eF8Qqp7rjDg"


def dart_json3() -> bytes:
    """The recorded timedtext of eF8Qqp7rjDg (133 captions) in YouTube's json3 form, as
    yt-dlp's subtitle URL (fmt=json3) serves it."""
    import html
    import xml.etree.ElementTree as ET

    root = ET.fromstring(recorded("dart_port_fixtures_eF8Qqp7rjDg/transcript.xml"))
    events = [{"tStartMs": round(float(t.get("start")) * 1000), "dDurationMs": round(float(t.get("dur")) * 1000),
               "segs": [{"utf8": html.unescape(t.text or "")}]} for t in root.iter("text")]
    return json.dumps({"wireMagic": "pb3", "events": [{"tStartMs": 0, "dDurationMs": 1000}] + events}).encode()


class CaptionsYoutubeDL:
    """yt-dlp's YoutubeDL at its boundary: a watch page's info with its caption tracks, and
    urlopen answering the json3 track's URL. ``calls`` records what was asked."""

    calls: list = []
    refuse: Exception | None = None

    def __init__(self, params):
        self.params = params

    def extract_info(self, url, download=True):
        type(self).calls.append({"url": url, "download": download, "params": self.params})
        if self.refuse is not None:
            raise self.refuse
        track = [{"ext": ext, "url": f"https://www.youtube.com/api/timedtext?v={DART}&lang=en&fmt={ext}",
                  "name": "English"} for ext in ("json3", "srv1", "vtt")]
        return {"id": DART, "language": "en", "subtitles": {}, "automatic_captions": {"en-orig": track, "de": track}}

    def urlopen(self, url):
        import io

        assert "fmt=json3" in url
        return io.BytesIO(dart_json3())

    def close(self):
        pass


@pytest.fixture
def yt_dlp_captions(monkeypatch):
    import yt_dlp

    CaptionsYoutubeDL.calls, CaptionsYoutubeDL.refuse = [], None
    monkeypatch.setattr(yt_dlp, "YoutubeDL", CaptionsYoutubeDL)
    return CaptionsYoutubeDL


REFUSALS = [
    pytest.param(dict(player="youtube_request_blocked.innertube.json.static"), ytqa.YouTubeBlocked, id="RequestBlocked"),
    pytest.param(dict(page="youtube_too_many_requests.html.static"), ytqa.YouTubeBlocked, id="IpBlocked"),
    pytest.param(dict(player="youtube_po_token_required.innertube.json.static"), ytqa.PoTokenRequired,
                 id="PoTokenRequired"),
]


@pytest.mark.parametrize("refusal, _", REFUSALS)
def test_a_refused_fetch_gets_the_captions_through_yt_dlp(youtube, yt_dlp_captions, refusal, _):
    serve(youtube, **refusal)
    transcript = ytqa.YouTube().fetch(DART)
    expected = ytqa.load_transcript_file(shared("transcripts", f"{DART}.json"), DART)
    assert [line.text for line in transcript.lines] == [line.text for line in expected.lines]
    assert len(transcript.lines) == 133 and transcript.is_generated and transcript.language_code == "en"
    asked = yt_dlp_captions.calls[0]
    assert asked["url"] == f"https://www.youtube.com/watch?v={DART}" and asked["download"] is False


@pytest.mark.parametrize("refusal, error", REFUSALS)
def test_when_yt_dlp_is_refused_too_the_error_names_what_was_tried(youtube, yt_dlp_captions, refusal, error):
    from yt_dlp.utils import DownloadError

    serve(youtube, **refusal)
    yt_dlp_captions.refuse = DownloadError(
        f"ERROR: [youtube] {DART}: Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser or --cookies")
    with pytest.raises(error) as caught:
        ytqa.YouTube().fetch(DART)
    message = str(caught.value)
    assert f"Tried: youtube-transcript-api ({error.summary}), then yt-dlp (Sign in to confirm you\u2019re not a bot" \
           in message
    assert "--cookies FILE or YTQA_COOKIES" in message and "bgutil-ytdlp-pot-provider" in message


COOKIES = "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t2145916800\tSID\tsigned-in-cookie\n"


def test_a_cookies_file_is_sent_by_youtube_transcript_api_and_given_to_yt_dlp(
        youtube, yt_dlp_captions, tmp_path, monkeypatch):
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(COOKIES)
    monkeypatch.setenv("YTQA_COOKIES", str(cookies))
    serve(youtube, player="youtube_request_blocked.innertube.json.static")
    ytqa.YouTube().fetch(DART)
    assert "SID=signed-in-cookie" in youtube.calls[0].request.headers["Cookie"]
    assert yt_dlp_captions.calls[0]["params"]["cookiefile"] == str(cookies)


def test_the_cookies_file_is_used_to_list_playlists_too(tmp_path):
    from fakes import PLAYLIST_URL, listing, youtube_dl

    factory = youtube_dl(listing("ytdlp_playlist.json"))
    ytqa.list_collection(PLAYLIST_URL, factory=factory, cookies=str(tmp_path / "cookies.txt"))
    assert factory.calls[0]["params"]["cookiefile"] == str(tmp_path / "cookies.txt")


def test_a_cookies_file_that_is_not_one_is_named_with_the_format_it_needs(tmp_path):
    bad = tmp_path / "cookies.json"
    bad.write_text('[{"name": "SID"}]')
    with pytest.raises(ytqa.YtqaError, match=r"cookies.json \(--cookies or YTQA_COOKIES\) cannot be read: "
                                             r"it is not a Netscape cookies.txt"):
        ytqa.YouTube(cookies=str(bad))
