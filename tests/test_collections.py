"""Ask a whole course: playlists and channels listed, indexed politely, resumed, kept in sync.

yt-dlp is replaced only at its boundary (its YoutubeDL answers with recorded flat
listings, fixtures/), YouTube's HTTP only by recorded responses, time by a fake clock.
"""

import html
import json
import signal
import subprocess
import sys

import pytest
import responses

import ytqa
from conftest import ROOT, shared, write_json_transcript
from fakes import (BLOCKED, CHANNEL_URL, DART, PLAYLIST_ID, PLAYLIST_URL, PO_TOKEN, FakeClock,
                   RecordedYouTube, entry_like, listing, youtube_dl)

GOOD = [DART, "GJLlxj_dtq8", "F1xioXWb8CY"]  # captions on, recorded


@pytest.fixture
def youtube():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def course():
    return youtube_dl(listing("ytdlp_playlist.json"))


def collections_for(library, listing_factory, clock, **settings):
    settings.setdefault("delay", 3.0)
    return ytqa.Collections(library, clock=clock, sleep=clock.sleep, youtube_dl=listing_factory,
                            **settings)


@pytest.fixture
def collections(library, course, clock):
    return collections_for(library, course, clock)


def states(saved):
    return {v.video_id: v.state for v in saved.videos}


def index_meta(library, video_id):
    return {f.name: (f / "meta.json").read_text()
            for f in (library.data_dir / "videos" / video_id / "indexes").iterdir()}


# --- the adapter: yt-dlp's flat listing to ytqa's videos ---------------------------------


def test_a_playlist_lists_each_video_with_its_title_and_length(course):
    found = ytqa.list_collection(PLAYLIST_URL, factory=course)
    assert (found.kind, found.id) == ("playlist", PLAYLIST_ID)
    assert found.title == "Cloud, hardware and history: a test course"
    assert len(found.videos) == 7
    first = found.videos[0]
    assert (first.video_id, first.title, first.duration) == (
        DART, "Halloween Infrastructure Update - 27th October 2023", 401.0)


def test_an_entry_without_a_title_is_kept_untitled(course):
    found = ytqa.list_collection(PLAYLIST_URL, factory=course)
    untitled = next(v for v in found.videos if v.video_id == "F1xioXWb8CY")
    assert untitled.title is None and untitled.available and untitled.duration == 1509.0


def test_private_and_members_only_entries_are_recorded_as_unavailable(course):
    found = ytqa.list_collection(PLAYLIST_URL, factory=course)
    unavailable = {v.video_id: (v.title, v.unavailable) for v in found.videos if not v.available}
    assert unavailable == {
        "Qw9_HC1t3Lk": (None, "private"),  # "[Private video]" is a placeholder, not a title
        "mBr4p8Ngk3U": ("Members livestream Q&A, October", "members-only"),
    }


def test_a_channel_s_tabs_are_flattened_into_one_list_of_its_videos():
    found = ytqa.list_collection(CHANNEL_URL, factory=youtube_dl(listing("ytdlp_channel.json")))
    assert (found.kind, found.id, found.title) == (
        "channel", "UCpIn7ox7j7bH_OFj7tYouOQ", "John Savill's Technical Training")
    assert [v.video_id for v in found.videos] == [
        DART, "W2mC1zTkTnY", "mBr4p8Ngk3U",  # Videos
        "kq5p0pO7bV8", "Zx3rT9uVb2c",         # Live
        "h7Yc2vRz0aQ",                         # Shorts
    ]
    upcoming = found.videos[4]
    assert not upcoming.available and upcoming.unavailable == "an upcoming live stream"


def test_entries_that_are_not_videos_are_dropped():
    result = listing("ytdlp_channel.json")
    videos_tab = result["entries"][0]["entries"]
    videos_tab.append({"_type": "url", "ie_key": "YoutubeTab", "id": "PLbpi6ZahtOH6Blw3RGYpWkSByi_T7Rygb",
                       "url": "https://www.youtube.com/playlist?list=PLbpi6ZahtOH6Blw3RGYpWkSByi_T7Rygb",
                       "title": "Azure Master Class v3"})
    videos_tab.append({"_type": "url", "ie_key": "YoutubeTab", "id": "UCVYamHliCI9rw1tHR1xbkfw",
                       "url": "https://www.youtube.com/channel/UCVYamHliCI9rw1tHR1xbkfw", "title": "Dave2D"})
    videos_tab.append(None)  # an entry yt-dlp could not extract
    found = ytqa.list_collection(CHANNEL_URL, factory=youtube_dl(result))
    assert len(found.videos) == 6
    assert all(len(v.video_id) == 11 for v in found.videos)


def test_a_video_in_two_tabs_is_listed_once():
    result = listing("ytdlp_channel.json")
    result["entries"][1]["entries"].append(result["entries"][0]["entries"][0])
    found = ytqa.list_collection(CHANNEL_URL, factory=youtube_dl(result))
    assert [v.video_id for v in found.videos].count(DART) == 1


def test_yt_dlp_is_asked_for_a_flat_listing_of_the_canonical_link_without_downloading(course):
    ytqa.list_collection(f"https://m.youtube.com/watch?v={DART}&list={PLAYLIST_ID}&index=3", factory=course)
    [call] = course.calls
    assert call["url"] == PLAYLIST_URL and call["download"] is False
    assert call["params"]["extract_flat"] == "in_playlist"
    assert call["params"]["skip_download"] is True and call["params"]["quiet"] is True


def test_the_proxy_for_transcripts_is_the_proxy_for_listings(course):
    proxy = ytqa.ProxySettings(http_url="http://proxy.example:3128", https_url="http://proxy.example:3128")
    ytqa.list_collection(PLAYLIST_URL, proxy=proxy, factory=course)
    assert course.calls[0]["params"]["proxy"] == "http://proxy.example:3128"


def download_error(message, cause=None):
    """What yt-dlp's extract_info raises: a DownloadError wrapping the extractor's error."""
    from yt_dlp.utils import DownloadError, ExtractorError

    original = ExtractorError(message, expected=True, cause=cause)
    return DownloadError(f"ERROR: [youtube:tab] {PLAYLIST_ID}: {message}", (type(original), original, None))


@pytest.mark.parametrize("message, error, words", [
    ("The playlist does not exist.", ytqa.CollectionUnavailable, "The playlist does not exist"),
    ("This playlist is private", ytqa.CollectionUnavailable, "make it unlisted"),
    ("Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser or --cookies for the "
     "authentication.", ytqa.CollectionBlocked, "YTQA_PROXY"),
    ("Unable to download API page: HTTP Error 429: Too Many Requests", ytqa.CollectionBlocked, "later"),
    ("Unable to download webpage: <urlopen error [Errno -3] Temporary failure in name resolution> "
     "(caused by TransportError('<urlopen error [Errno -3] Temporary failure in name resolution>'))",
     ytqa.ListingFailed, "internet connection"),
])
def test_listing_errors_become_ytqa_errors_that_say_what_to_do(message, error, words):
    with pytest.raises(error) as caught:
        ytqa.list_collection(PLAYLIST_URL, factory=youtube_dl(download_error(message)))
    assert words in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_importing_ytqa_does_not_import_yt_dlp():
    done = subprocess.run([sys.executable, "-c", "import sys, ytqa; print('yt_dlp' in sys.modules)"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr


# --- the store ---------------------------------------------------------------------


def test_an_added_playlist_is_saved_as_json_with_each_video_waiting(collections, library):
    saved = collections.add(PLAYLIST_URL)
    data = json.loads((library.data_dir / "collections" / f"{PLAYLIST_ID}.json").read_text())
    assert data["kind"] == "playlist" and data["source"] == PLAYLIST_URL
    assert data["title"] == "Cloud, hardware and history: a test course"
    assert data["added"] > 0 and data["updated"] >= data["added"]
    first = data["videos"][0]
    assert (first["video_id"], first["title"], first["duration"], first["state"]) == (
        DART, "Halloween Infrastructure Update - 27th October 2023", 401, "waiting")
    assert states(saved)["Qw9_HC1t3Lk"] == "failed"  # private: no request spent on it
    assert saved.video("mBr4p8Ngk3U").reason == "members-only"


def test_a_collection_is_found_by_its_key_its_link_or_its_title(collections):
    saved = collections.add(PLAYLIST_URL)
    for name in (PLAYLIST_ID, f"https://youtu.be/{DART}?list={PLAYLIST_ID}",
                 "cloud, hardware and history: a test course"):
        assert collections.get(name).key == saved.key
    with pytest.raises(ytqa.UnknownCollection) as caught:
        collections.get("PLnot-added-at-all-000")
    assert PLAYLIST_ID in str(caught.value) and "ytqa add" in str(caught.value)


def test_a_channel_and_one_of_its_tabs_are_two_collections(library, clock):
    result = listing("ytdlp_channel.json")
    collections = collections_for(library, youtube_dl(result), clock)
    whole = collections.add(CHANNEL_URL)
    collections.youtube_dl = youtube_dl(dict(result["entries"][1], original_url=f"{CHANNEL_URL}/streams"))
    streams = collections.add(f"{CHANNEL_URL}/streams")
    assert (whole.key, streams.key) == ("UCpIn7ox7j7bH_OFj7tYouOQ", "UCpIn7ox7j7bH_OFj7tYouOQ-streams")
    assert collections.get("UCpIn7ox7j7bH_OFj7tYouOQ").key == whole.key
    assert collections.get(f"{CHANNEL_URL}/streams").key == streams.key
    assert [v.video_id for v in streams.videos] == ["kq5p0pO7bV8", "Zx3rT9uVb2c"]


# --- indexing ----------------------------------------------------------------------------


def test_a_members_only_video_found_when_fetching_is_named_so():
    error = ytqa.VideoUnplayable("mBr4p8Ngk3U", "Join this channel to get access to members-only "
                                 "content like this video, and other exclusive perks.")
    assert error.summary == "members-only"


def test_every_video_with_captions_is_indexed(collections, library, youtube, clock):
    RecordedYouTube(youtube, clock)
    report = collections.index(collections.add(PLAYLIST_URL).key)
    assert set(report.indexed) == set(GOOD)
    assert {v.video_id for v in library.videos()} == set(GOOD)
    assert all(library.is_indexed(library.stored_transcript(v)) for v in GOOD)


def test_a_failed_video_is_recorded_with_its_reason_and_the_rest_go_on(collections, youtube, clock):
    served = RecordedYouTube(youtube, clock)
    report = collections.index(collections.add(PLAYLIST_URL).key)
    saved = report.collection
    assert saved.video("dsMFmonKDD4").state == "failed"
    assert saved.video("dsMFmonKDD4").reason == "captions are turned off"
    assert "--transcript" in saved.video("dsMFmonKDD4").detail
    assert saved.video("Njp5uhTorCo").reason == "age-restricted (captions need a signed-in user)"
    # the video after the failure was still fetched and indexed
    assert served.fetched() == [DART, "GJLlxj_dtq8", "dsMFmonKDD4", "F1xioXWb8CY", "Njp5uhTorCo"]
    assert saved.video("F1xioXWb8CY").state == "indexed"
    assert saved.summary() == "3 of 7 indexed, 4 failed"


def test_an_untitled_entry_takes_its_title_from_youtubes_answer(collections, youtube, clock):
    RecordedYouTube(youtube, clock)
    saved = collections.index(collections.add(PLAYLIST_URL).key).collection
    assert saved.video("F1xioXWb8CY").title == (
        "The Tide Is Turning - Russian Civil War Fall 1919 I THE GREAT WAR 1919")


def test_progress_gives_each_videos_state_and_the_overall_count(collections, youtube, clock):
    RecordedYouTube(youtube, clock)
    seen = []
    collections.index(collections.add(PLAYLIST_URL).key, on_progress=lambda p: seen.append(
        (p.video.video_id, p.video.state, p.done, p.total)))
    assert seen[:4] == [(DART, "fetching", 2, 7), (DART, "indexed", 3, 7),
                        ("GJLlxj_dtq8", "fetching", 3, 7), ("GJLlxj_dtq8", "indexed", 4, 7)]
    assert seen[-1] == ("Njp5uhTorCo", "failed", 7, 7)


def test_transcript_requests_are_spaced_by_the_delay(library, course, youtube, clock):
    served = RecordedYouTube(youtube, clock, request_seconds=0.4)
    collections = collections_for(library, course, clock, delay=5.0)
    collections.index(collections.add(PLAYLIST_URL).key)
    times = [t for _, t in served.fetches]
    assert len(times) == 5
    assert all(later - earlier >= 5.0 for earlier, later in zip(times, times[1:]))
    # it waits only what is left of the delay, not the delay on top of the request's time
    assert clock.sleeps and all(s <= 5.0 for s in clock.sleeps)
    assert sum(clock.sleeps) < 5.0 * 4


def test_videos_already_in_the_library_need_no_request_and_no_wait(library, collections, youtube, clock, tmp_path):
    for video in GOOD:
        library.index(video, transcript_file=write_json_transcript(
            tmp_path / f"{video}.json", [("A talk about servers and caches.", 0, 5)]))
    served = RecordedYouTube(youtube, clock)
    report = collections.index(collections.add(PLAYLIST_URL).key)
    assert set(report.indexed) == set(GOOD)
    assert served.fetched() == ["dsMFmonKDD4", "Njp5uhTorCo"]
    assert len(clock.sleeps) == 1  # only between the two requests


def test_the_delay_comes_from_the_flag_else_the_environment_else_the_default():
    assert ytqa.request_delay("1.5", {"YTQA_REQUEST_DELAY": "9"}) == 1.5
    assert ytqa.request_delay(None, {"YTQA_REQUEST_DELAY": "9"}) == 9.0
    assert ytqa.request_delay(None, {}) == 3.0
    with pytest.raises(ytqa.YtqaError) as caught:
        ytqa.request_delay(None, {"YTQA_REQUEST_DELAY": "soon"})
    assert "YTQA_REQUEST_DELAY" in str(caught.value)


def test_a_block_backs_off_a_few_times_then_stops_with_the_remedy(library, course, youtube, clock):
    served = RecordedYouTube(youtube, clock, players={DART: BLOCKED, "GJLlxj_dtq8": BLOCKED})
    collections = collections_for(library, course, clock, delay=3.0, backoff=20.0, retries=3)
    saved = collections.add(PLAYLIST_URL)
    with pytest.raises(ytqa.IndexingStopped) as caught:
        collections.index(saved.key)
    assert served.fetched() == [DART] * 4  # one try and three retries, nothing after
    assert clock.sleeps == [20.0, 40.0, 80.0]
    message = str(caught.value)
    assert "refused 4 requests in a row" in message
    assert "--proxy" in message and "YTQA_PROXY" in message and "Webshare" in message
    assert "retry later" in message and f"ytqa sync {PLAYLIST_ID}" in message
    assert collections.get(saved.key).video(DART).state == "waiting"  # not failed: tried again next run


@pytest.mark.parametrize("refusal", ["429", "po-token"])
def test_too_many_requests_and_po_token_demands_are_refusals_too(library, course, youtube, clock, refusal):
    if refusal == "429":
        served = RecordedYouTube(youtube, clock, watch_status={DART: 429})
    else:
        served = RecordedYouTube(youtube, clock, players={DART: PO_TOKEN})
    collections = collections_for(library, course, clock, retries=2)
    with pytest.raises(ytqa.IndexingStopped):
        collections.index(collections.add(PLAYLIST_URL).key)
    assert served.fetched() == [DART] * 3


def test_a_refusal_that_passes_lets_the_run_go_on(library, course, youtube, clock):
    RecordedYouTube(youtube, clock, players={
        DART: [BLOCKED, "dart_port_fixtures_eF8Qqp7rjDg/innertube_response.json"]})
    notes = []
    collections = collections_for(library, course, clock)
    report = collections.index(collections.add(PLAYLIST_URL).key,
                               on_progress=lambda p: p.note and notes.append(p.note))
    assert set(report.indexed) == set(GOOD)
    assert clock.sleeps[0] == 20.0
    assert notes == ["YouTube refused (blocked by YouTube); waiting 20 s before trying again (1 of 3)"]


CHILD = """
import sys
sys.path.insert(0, sys.argv[2])
import responses, ytqa
from fakes import PLAYLIST_URL, RecordedYouTube, listing, youtube_dl

with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
    RecordedYouTube(mock)
    collections = ytqa.Collections(ytqa.Library(sys.argv[1]), delay=4,
                                   youtube_dl=youtube_dl(listing("ytdlp_playlist.json")))
    saved = collections.add(PLAYLIST_URL)
    collections.index(saved.key, lambda p: print(p.video.state, p.video.video_id, flush=True))
print("DONE", flush=True)
"""


def test_a_run_killed_halfway_resumes_where_it_stopped_and_redoes_nothing(tmp_path, embedder, course, youtube, clock):
    shared("youtube_responses")  # the child replays them too
    data = tmp_path / "data"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(data), str(ROOT / "tests")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    indexed = []
    for line in child.stdout:
        if line.startswith("indexed"):
            indexed.append(line.split()[1])
        if len(indexed) == 2:  # now waiting 4 s before the third video's request
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert indexed == [DART, "GJLlxj_dtq8"]

    library = ytqa.Library(data, embedder=embedder)
    before = {video: index_meta(library, video) for video in indexed}
    served = RecordedYouTube(youtube, clock)
    collections = collections_for(library, course, clock)
    report = collections.index(PLAYLIST_ID)
    assert served.fetched() == ["dsMFmonKDD4", "F1xioXWb8CY", "Njp5uhTorCo"]
    assert report.skipped == 2 and report.indexed == ("F1xioXWb8CY",)
    assert {video: index_meta(library, video) for video in indexed} == before  # not rebuilt


def test_a_video_a_kill_left_fetching_is_fetched_again(collections, library, youtube, clock):
    saved = collections.add(PLAYLIST_URL)
    path = library.data_dir / "collections" / f"{saved.key}.json"
    data = json.loads(path.read_text())
    data["videos"][0]["state"] = "fetching"  # as a process killed mid-fetch leaves it
    path.write_text(json.dumps(data))
    served = RecordedYouTube(youtube, clock)
    report = ytqa.Collections(library, delay=0, clock=clock, sleep=clock.sleep).index(saved.key)
    assert DART in report.indexed and served.fetched()[0] == DART


def test_a_stopped_run_leaves_no_video_half_done(collections, youtube, clock):
    RecordedYouTube(youtube, clock)

    def close_the_page(progress):
        if progress.video.state == "fetching" and progress.video.video_id == "GJLlxj_dtq8":
            raise KeyboardInterrupt

    saved = collections.add(PLAYLIST_URL)
    with pytest.raises(KeyboardInterrupt):
        collections.index(saved.key, on_progress=close_the_page)
    after = states(collections.get(saved.key))
    assert after[DART] == "indexed" and after["GJLlxj_dtq8"] == "waiting"


def test_a_video_whose_index_is_gone_is_indexed_again(collections, library, youtube, clock):
    served = RecordedYouTube(youtube, clock)
    key = collections.index(collections.add(PLAYLIST_URL).key).collection.key
    library.delete("GJLlxj_dtq8")
    fetched = len(served.fetched())
    report = collections.index(key)
    assert report.indexed == ("GJLlxj_dtq8",) and report.skipped == 2
    assert served.fetched()[fetched:] == ["GJLlxj_dtq8"]


def test_failed_videos_are_not_asked_for_again_unless_told(collections, youtube, clock):
    served = RecordedYouTube(youtube, clock)
    key = collections.index(collections.add(PLAYLIST_URL).key).collection.key
    fetched = len(served.fetched())
    collections.index(key)
    assert served.fetched()[fetched:] == []
    collections.index(key, retry_failed=True)
    assert served.fetched()[fetched:] == ["dsMFmonKDD4", "Njp5uhTorCo"]  # not the private one


# --- sync --------------------------------------------------------------------------


def test_sync_indexes_only_the_videos_new_in_the_listing(collections, course, library, youtube, clock):
    served = RecordedYouTube(youtube, clock)
    key = collections.index(collections.add(PLAYLIST_URL).key).collection.key
    before = {video: index_meta(library, video) for video in GOOD}
    fetched = len(served.fetched())
    course.result["entries"].append(entry_like(course.result, "Fjg5lYqvzUs", "Watch live Dow Jones feed", 23169))
    course.result["entries"].append(entry_like(course.result, "tkm0TNFzIeg", "How to explain things", 110))
    report = collections.sync(key)
    assert report.new == ("Fjg5lYqvzUs", "tkm0TNFzIeg")
    assert served.fetched()[fetched:] == ["Fjg5lYqvzUs", "tkm0TNFzIeg"]
    assert report.indexed == ("Fjg5lYqvzUs", "tkm0TNFzIeg")
    assert {video: index_meta(library, video) for video in GOOD} == before


def test_sync_keeps_videos_that_left_the_playlist(collections, course, youtube, clock):
    RecordedYouTube(youtube, clock)
    key = collections.index(collections.add(PLAYLIST_URL).key).collection.key
    course.result["entries"] = course.result["entries"][1:]
    saved = collections.sync(key).collection
    assert saved.video(DART).state == "indexed" and saved.video(DART).listed is False


def test_a_stream_that_has_ended_is_indexed_at_the_next_sync(library, youtube, clock):
    channel = youtube_dl(listing("ytdlp_channel.json"))
    RecordedYouTube(youtube, clock)
    collections = collections_for(library, channel, clock, delay=0)
    key = collections.index(collections.add(CHANNEL_URL).key).collection.key
    assert collections.get(key).video("Zx3rT9uVb2c").state == "failed"
    stream = channel.result["entries"][1]["entries"][1]
    stream.update(live_status="was_live", duration=3650)
    report = collections.sync(key)
    assert report.indexed == ("Zx3rT9uVb2c",)


# --- questions ---------------------------------------------------------------------


def test_asking_a_collection_searches_only_its_videos_and_names_each_by_title(
        collections, library, youtube, clock, tmp_path):
    RecordedYouTube(youtube, clock)
    library.index("tkm0TNFzIeg", transcript_file=write_json_transcript(tmp_path / "other.json", [
        ("Virtual machines on the free account are what this other talk is about.", 0, 6)]))
    key = collections.index(collections.add(PLAYLIST_URL).key).collection.key
    moments = collections.ask(key, "Which virtual machines were added to the free account?", k=3)
    assert moments and all(m.video_id in GOOD for m in moments)
    assert moments[0].video_id == DART
    assert moments[0].title == "Halloween Infrastructure Update - 27th October 2023"


def test_ask_all_can_be_kept_to_some_videos(library, tmp_path):
    for video, words in (("dQw4w9WgXcQ", "The lighthouse keeper painted the boat orange."),
                         ("nTgKbiWg-YY", "The lighthouse keeper painted the boat orange too.")):
        library.index(video, transcript_file=write_json_transcript(tmp_path / f"{video}.json", [(words, 0, 5)]))
    moments = library.ask_all("lighthouse keeper", video_ids=["nTgKbiWg-YY"])
    assert {m.video_id for m in moments} == {"nTgKbiWg-YY"}


def test_asking_a_collection_with_nothing_indexed_says_how_to_index_it(collections):
    key = collections.add(PLAYLIST_URL).key
    with pytest.raises(ytqa.NothingIndexed) as caught:
        collections.ask(key, "anything at all")
    assert f"ytqa sync {key}" in str(caught.value)


# --- the command line ------------------------------------------------------------------


@pytest.fixture
def yt_dlp_lists(monkeypatch):
    """yt-dlp's YoutubeDL answering with a recorded listing (the CLI and the app make their own)."""
    import yt_dlp

    def use(result):
        factory = youtube_dl(result)
        monkeypatch.setattr(yt_dlp, "YoutubeDL", factory)
        return factory

    return use


@pytest.fixture
def waits(monkeypatch):
    """The seconds ytqa sleeps, none of them real (Streamlit's own millisecond polls still are)."""
    import time

    slept, real_sleep = [], time.sleep

    def sleep(seconds):
        if seconds < 0.05:
            return real_sleep(seconds)
        slept.append(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    return slept


def run_cli(capsys, *argv):
    from ytqa.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ytqa_add_shows_the_title_and_count_then_indexes_every_video(
        capsys, tmp_path, yt_dlp_lists, youtube, waits):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    code, out, err = run_cli(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"Cloud, hardware and history: a test course (playlist, 7 videos; key {PLAYLIST_ID})"
    assert "  cannot be indexed: mBr4p8Ngk3U  Members livestream Q&A, October: members-only" in lines
    assert f"[3/7] indexed  {DART}  Halloween Infrastructure Update - 27th October 2023" in lines
    assert "[5/7] failed   dsMFmonKDD4  Ang\u00e8le - Eels x Richard Cocciante | A Take Away Show: captions are turned off" in lines
    assert lines[-1].startswith("Cloud, hardware and history: a test course: 3 of 7 indexed, 4 failed")


@pytest.mark.parametrize("flag, environment, seconds", [((), "7", 7.0), (("--delay", "5"), "9", 5.0)])
def test_ytqa_add_spaces_requests_by_the_delay_flag_else_the_environment(
        capsys, tmp_path, yt_dlp_lists, youtube, waits, monkeypatch, flag, environment, seconds):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    monkeypatch.setenv("YTQA_REQUEST_DELAY", environment)
    run_cli(capsys, "add", PLAYLIST_URL, *flag, "--data-dir", tmp_path)
    # between five requests; each wait is what is left of the delay after indexing the last video
    assert len(waits) == 4 and all(0 < w <= seconds for w in waits) and max(waits) > seconds - 0.5


def test_ytqa_add_stopped_by_youtube_says_so_in_one_line(capsys, tmp_path, yt_dlp_lists, youtube, waits):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube, players={DART: BLOCKED})
    code, out, err = run_cli(capsys, "add", PLAYLIST_URL, "--data-dir", tmp_path)
    assert code == 1
    assert waits == [20.0, 40.0, 80.0]
    error = err.splitlines()[-1]
    assert error.startswith("error: Stopped indexing Cloud, hardware and history") and "YTQA_PROXY" in error
    assert "Traceback" not in err


def test_ytqa_add_of_a_video_link_says_what_to_do(capsys, tmp_path):
    code, _, err = run_cli(capsys, "add", f"https://youtu.be/{DART}", "--data-dir", tmp_path)
    assert code == 1 and "single video" in err and err.count("\n") == 1


def test_ytqa_sync_indexes_only_what_is_new(capsys, tmp_path, yt_dlp_lists, youtube, waits):
    course = yt_dlp_lists(listing("ytdlp_playlist.json"))
    served = RecordedYouTube(youtube)
    run_cli(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", tmp_path)
    fetched = len(served.fetched())
    course.result["entries"].append(entry_like(course.result, "tkm0TNFzIeg", "How to explain things", 110))
    code, out, err = run_cli(capsys, "sync", "--delay", 0, "--data-dir", tmp_path)
    assert code == 0, err
    assert served.fetched()[fetched:] == ["tkm0TNFzIeg"]
    assert out.splitlines()[-1] == "Cloud, hardware and history: a test course: 1 new video; 4 of 8 indexed, 4 failed"


def test_ytqa_sync_never_writes_where_an_edited_collection_file_points(
        capsys, tmp_path, yt_dlp_lists, youtube, waits):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    data = tmp_path / "data"
    run_cli(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", data)
    path = data / "collections" / f"{PLAYLIST_ID}.json"
    edited = json.loads(path.read_text())
    edited["key"] = str(tmp_path / "precious")
    path.write_text(json.dumps(edited))
    (tmp_path / "precious.json").write_text("someone's file")
    code, out, err = run_cli(capsys, "sync", "--delay", 0, "--data-dir", data)
    assert (tmp_path / "precious.json").read_text() == "someone's file"
    assert code == 0 and out.startswith("No playlist or channel is added yet")
    assert err.startswith(f"warning: skipped {path}: it names itself ")


def test_ytqa_collections_lists_each_videos_state_and_why_it_failed(capsys, tmp_path, yt_dlp_lists, youtube, waits):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    run_cli(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", tmp_path)
    code, out, _ = run_cli(capsys, "collections", "--data-dir", tmp_path)
    assert out == f"{PLAYLIST_ID}  playlist Cloud, hardware and history: a test course: 3 of 7 indexed, 4 failed\n"
    code, out, _ = run_cli(capsys, "collections", PLAYLIST_ID, "--data-dir", tmp_path)
    assert f"  indexed  {DART}      6:41  Halloween Infrastructure Update - 27th October 2023" in out
    assert "  failed   Njp5uhTorCo      7:32  Laura Branigan - Self Control (Moreno J Remix) Age-restricted: " \
           "age-restricted (captions need a signed-in user)" in out
    assert "  failed   Qw9_HC1t3Lk         ?  (untitled): private" in out


def test_ytqa_list_groups_videos_by_collection(capsys, tmp_path, yt_dlp_lists, youtube, waits, talk_in):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    run_cli(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", tmp_path)
    run_cli(capsys, "index", "dQw4w9WgXcQ", "--transcript", talk_in, "--data-dir", tmp_path)
    _, out, _ = run_cli(capsys, "list", "--data-dir", tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("Cloud, hardware and history: a test course (playlist")
    assert [l.split()[0] for l in lines[1:4]] == GOOD
    assert lines[4] == "Not in a playlist or channel" and lines[5].split()[0] == "dQw4w9WgXcQ"


@pytest.fixture
def talk_in(tmp_path):
    return write_json_transcript(tmp_path / "talk.json", [("A talk about caching and invalidation.", 0, 5)])


def test_ytqa_ask_collection_names_each_moments_video(capsys, tmp_path, yt_dlp_lists, youtube, waits, talk_in):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    run_cli(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", tmp_path)
    run_cli(capsys, "index", "dQw4w9WgXcQ", "--transcript", talk_in, "--data-dir", tmp_path)
    code, out, err = run_cli(capsys, "ask", "--collection", PLAYLIST_ID, "Which virtual machines were added "
                             "to the free account?", "-k", 2, "--data-dir", tmp_path)
    assert code == 0, err
    assert out.startswith("1. Halloween Infrastructure Update - 27th October 2023\n   ")
    assert "dQw4w9WgXcQ" not in out
    code, out, _ = run_cli(capsys, "ask", "--collection", PLAYLIST_ID, "virtual machines", "--json",
                           "--data-dir", tmp_path)
    results = json.loads(out)["results"]
    assert results[0]["title"] == "Halloween Infrastructure Update - 27th October 2023"
    assert {r["video_id"] for r in results} <= set(GOOD)


def test_ytqa_ask_of_one_video_still_works_beside_collections(capsys, tmp_path, talk_in):
    code, out, _ = run_cli(capsys, "ask", "dQw4w9WgXcQ", "invalidation", "--transcript", talk_in,
                           "--data-dir", tmp_path)
    assert code == 0 and out.startswith("1. 0:00-")


def test_ytqa_ask_all_names_the_video_of_each_moment(capsys, tmp_path, talk_in):
    run_cli(capsys, "index", "dQw4w9WgXcQ", "--transcript", talk_in, "--data-dir", tmp_path)
    code, out, _ = run_cli(capsys, "ask", "--all", "invalidation", "--data-dir", tmp_path)
    assert code == 0 and out.startswith("1. dQw4w9WgXcQ\n")


def test_ytqa_ask_all_says_which_stored_videos_it_did_not_search(capsys, tmp_path, talk_in):
    from ytqa._files import load_transcript_file
    from ytqa._files_store import FileStore

    run_cli(capsys, "index", "dQw4w9WgXcQ", "--transcript", talk_in, "--data-dir", tmp_path)
    # Stored, but never indexed with this model: searching must not build it, and says so.
    FileStore(tmp_path).save_transcript(load_transcript_file(talk_in, "tkm0TNFzIeg"))
    code, out, err = run_cli(capsys, "ask", "--all", "invalidation", "--data-dir", tmp_path)
    assert code == 0 and out.startswith("1. dQw4w9WgXcQ\n")
    assert "Not searched" in err and "tkm0TNFzIeg" in err and "ytqa index" in err
    assert "tkm0TNFzIeg" not in out


# --- the app ------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path, monkeypatch, embedder, yt_dlp_lists, waits):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()  # listings are cached by link across runs
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("YTQA_REQUEST_DELAY", "0")
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    test.run()
    assert not test.exception
    return test


def paste(app, link):
    """Paste a link in the link box and press Enter (Open video)."""
    app.text_input(key="link").input(link)
    app.button(key="open").click().run()
    assert not app.exception
    return app


def test_pasting_a_playlist_link_shows_its_title_how_many_videos_and_index_all(app, yt_dlp_lists):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    paste(app, PLAYLIST_URL)
    assert not app.error
    assert "**Cloud, hardware and history&#58; a test course**" in [m.value for m in app.markdown]
    assert any(c.value.startswith("Playlist · 7 videos · 2 cannot be indexed") for c in app.caption)
    index_all = app.button(key="index_all")
    assert index_all.label == "Index all" and not index_all.disabled
    assert app.session_state["pending"] is None  # it is not one video: nothing is opened


def test_pasting_a_channel_link_shows_the_channel_and_all_its_tabs_videos(app, yt_dlp_lists):
    yt_dlp_lists(listing("ytdlp_channel.json"))
    paste(app, "https://www.youtube.com/@NTFAQGuy")
    assert "**John Savill&#39;s Technical Training**" in [m.value for m in app.markdown]
    assert any(c.value.startswith("Channel · 6 videos") for c in app.caption)


def test_index_all_shows_the_overall_progress_and_each_videos_state(app, yt_dlp_lists, youtube):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    paste(app, PLAYLIST_URL)
    app.button(key="index_all").click().run()
    assert not app.exception
    assert html.unescape(app.success[0].value) == "Cloud, hardware and history: a test course: 3 of 7 indexed, 4 failed"
    [bar] = app.get("progress")
    assert bar.proto.value == 100 and bar.proto.text == "7 of 7 videos done"
    table = app.dataframe[0].value
    rows = dict(zip(table["Video"], table["State"]))
    assert rows["Halloween Infrastructure Update - 27th October 2023"] == "indexed"
    assert rows["Ang\u00e8le - Eels x Richard Cocciante | A Take Away Show"] == "failed: captions are turned off"
    assert rows["Members livestream Q&A, October"] == "failed: members-only"


def test_a_block_in_the_app_stops_with_the_remedy_and_keeps_what_is_indexed(app, yt_dlp_lists, youtube, waits):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube, players={"GJLlxj_dtq8": BLOCKED})
    paste(app, PLAYLIST_URL)
    app.button(key="index_all").click().run()
    [error] = app.error
    assert "Stopped indexing" in html.unescape(error.value) and "YTQA_PROXY" in html.unescape(error.value)
    assert waits[-3:] == [20.0, 40.0, 80.0]
    assert dict(zip(app.dataframe[0].value["Video"], app.dataframe[0].value["State"]))[
        "Halloween Infrastructure Update - 27th October 2023"] == "indexed"


def test_the_sidebar_groups_videos_by_collection_with_a_sync_button(app, yt_dlp_lists, youtube, monkeypatch):
    course = yt_dlp_lists(listing("ytdlp_playlist.json"))
    served = RecordedYouTube(youtube)
    paste(app, PLAYLIST_URL)
    app.button(key="index_all").click().run()
    [group] = app.sidebar.expander
    assert group.label == "Cloud, hardware and history&#58; a test course"  # shown as text, not markup
    assert {b.key for b in app.sidebar.button if (b.key or "").startswith("open-")} == {
        f"open-{PLAYLIST_ID}-{video}" for video in GOOD}
    fetched = len(served.fetched())
    course.result["entries"].append(entry_like(course.result, "tkm0TNFzIeg", "How to explain things", 110))
    app.button(key=f"sync-{PLAYLIST_ID}").click().run()
    assert not app.exception
    assert served.fetched()[fetched:] == ["tkm0TNFzIeg"]
    assert html.unescape(app.success[0].value) == "Cloud, hardware and history: a test course: 1 new · 4 of 8 indexed, 4 failed"


def test_a_question_can_go_to_one_collection_and_each_answer_names_its_video(app, yt_dlp_lists, youtube):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    paste(app, PLAYLIST_URL)
    app.button(key="index_all").click().run()
    app.selectbox(key="scope").set_value(PLAYLIST_ID).run()
    app.chat_input(key="question").set_value("Which virtual machines were added to the free account?").run()
    assert not app.exception
    text = "\n".join(m.value for m in app.markdown)
    assert " · Halloween Infrastructure Update &#45; 27th October 2023" in text
    assert "watch?v=eF8Qqp7rjDg&amp;t=" in text


def test_a_watch_link_inside_a_playlist_opens_the_video_and_offers_its_playlist(app, yt_dlp_lists):
    course = yt_dlp_lists(listing("ytdlp_playlist.json"))
    paste(app, f"https://www.youtube.com/watch?v={DART}&list={PLAYLIST_ID}&index=1")
    assert app.session_state["pending"] is not None  # the single-video flow, as before
    assert course.calls == []  # nothing listed until asked
    app.button(key="show_playlist").click().run()
    assert app.button(key="index_all").label == "Index all"
    assert [c["url"] for c in course.calls] == [PLAYLIST_URL]


def test_ytqa_remove_forgets_the_collection_but_keeps_its_videos(capsys, tmp_path, yt_dlp_lists, youtube, waits):
    yt_dlp_lists(listing("ytdlp_playlist.json"))
    RecordedYouTube(youtube)
    run_cli(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", tmp_path)
    code, out, _ = run_cli(capsys, "remove", PLAYLIST_URL, "--data-dir", tmp_path)
    assert code == 0 and out.startswith("removed Cloud, hardware and history")
    _, out, _ = run_cli(capsys, "collections", "--data-dir", tmp_path)
    assert out.startswith("No playlist or channel is added yet")
    _, out, _ = run_cli(capsys, "list", "--data-dir", tmp_path)
    assert sorted(line.split()[0] for line in out.splitlines()) == sorted(GOOD)
