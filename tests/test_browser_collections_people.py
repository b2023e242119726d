"""A playlist, many people, two servers, for real: two app processes (as in
test_browser_people.py, each with a data folder of its own) serve one library from one
embedded PostgreSQL, people signed in through the local OpenID Connect provider in browser
contexts of their own (1280x900 and 400x850), the console listened to.

Both serve YouTube from recorded responses (tests/recorded_app.py --listing: yt-dlp's
listing of the test course playlist, the videos' recorded pages, players and captions: of
its seven videos three are indexed, four fail as YouTube answers them: captions turned off,
private, age-restricted, members-only). The playlist grows by one video when the test writes
it in the file the servers read at each listing. dan's video, shared with everyone, is in
every list (a sign the library is drawn)."""

import time

import pytest
from playwright.sync_api import expect

from conftest import fresh_database, shared
from fakes import PLAYLIST_URL
from test_access import talk
from test_browser import chromium
from test_browser_people import ANA, BOB, DAN, DANS, ERIN, PHONE, WIDE, as_person
from test_browser_people import visitors  # noqa: F401 (a fixture: signed-in pages, their consoles checked)
from test_signin import serving_with_sign_in

oidc = pytest.importorskip("oidc_provider_mock", reason="needs oidc-provider-mock (pip install '.[test]')")

COURSE = "Cloud, hardware and history: a test course"
GROWN = "tkm0TNFzIeg,How to explain things,110"  # the video the playlist gains
INDEXED = ["Halloween Infrastructure Update - 27th October 2023", "Surface Go Review - It\u2019s Awesome",
           "The Tide Is Turning - Russian Civil War Fall 1919 I THE GREAT WAR 1919"]
NOT_INDEXED = ("Not indexed: Angèle - Eels x Richard Cocciante | A Take Away Show (captions are turned off); "
               "Qw9_HC1t3Lk (private); Laura Branigan - Self Control (Moreno J Remix) Age-restricted "
               "(age-restricted (captions need a signed-in user)); Members livestream Q&A, October (members-only)")
LAUNCHER = ("tests/recorded_app.py", "--listing", "ytdlp_playlist.json")


@pytest.fixture(scope="module")
def database(postgres_url):
    with fresh_database(postgres_url, "ytqa_collections_people") as url:
        yield url


@pytest.fixture(scope="module")
def servers(database, tmp_path_factory, embedder):
    """dan's video shared with everyone, then two app processes answering YouTube from the
    recorded playlist, and Chromium: (first URL, second URL, browser, folder, database)."""
    shared("youtube_responses", "youtube.innertube.json.static")
    folder = tmp_path_factory.mktemp("collections")
    library = as_person(database, folder, DAN)
    library.index(DANS, transcript_file=talk(folder, DANS))
    library.access.share(DANS)
    library.store.close()
    settings = {"YTQA_STORE": database, "YTQA_REQUEST_DELAY": "0",
                "EXTRA_ENTRY_FILE": str(folder / "grown")}
    with oidc.run_server_in_thread() as provider, \
            serving_with_sign_in(folder, provider, {**settings, "YTQA_DATA_DIR": str(folder / "one")},
                                 LAUNCHER) as one, \
            serving_with_sign_in(folder, provider, {**settings, "YTQA_DATA_DIR": str(folder / "two")},
                                 LAUNCHER) as two, \
            chromium() as browser:
        yield one, two, browser, folder, database


def course(page) -> str:
    """The playlist's group in the sidebar, opened: its text as read ("" where it is not listed)."""
    sidebar = page.get_by_test_id("stSidebar")
    if COURSE not in sidebar.inner_text():
        return ""
    group = sidebar.get_by_test_id("stExpander").filter(has_text=COURSE)
    if not group.get_by_role("button", name="Sync").is_visible():
        group.get_by_text(COURSE).first.click()
        group.get_by_role("button", name="Sync").wait_for(timeout=30_000)
    return group.inner_text().replace("\u2060", "")  # the word joiner that keeps an address unlinked


def openable(listed: str) -> list[str]:
    """The videos a group lists, each with Open."""
    lines = [line for line in listed.splitlines() if line]
    return [line for line, after in zip(lines, lines[1:]) if after == "Open"]


def index_all(page, url):
    page.get_by_label("YouTube link or video id").fill(url)
    page.get_by_label("YouTube link or video id").press("Enter")
    page.get_by_text("Playlist · 7 videos · 2 cannot be indexed").wait_for(timeout=60_000)
    page.get_by_role("button", name="Index all").click()


def test_a_playlist_added_through_one_server_is_listed_shared_and_synced_through_the_other(servers, visitors):
    one, two, _, folder, _ = servers
    ana = visitors(one, ANA, WIDE)
    index_all(ana, PLAYLIST_URL)
    ana.get_by_text(f"{COURSE}: 3 of 7 indexed, 4 failed").wait_for(timeout=300_000)
    time.sleep(1)
    listed = course(ana)
    assert "playlist · 3 of 7 indexed, 4 failed" in listed and "Yours, private." in listed
    assert openable(listed) == INDEXED and NOT_INDEXED in listed
    assert course(visitors(two, ERIN, PHONE)) == ""  # not shared with her: not listed
    ana.get_by_role("button", name="Share with everyone").click()
    expect(ana.get_by_role("button", name="Make private")).to_be_visible(timeout=30_000)

    (folder / "grown").write_text(GROWN)  # the playlist gains a video
    again = visitors(two, ANA, PHONE)
    listed = course(again)
    assert "playlist · 3 of 7 indexed, 4 failed" in listed and "Yours, shared with everyone." in listed
    again.get_by_test_id("stSidebar").get_by_role("button", name="Sync").click()
    again.get_by_text(f"{COURSE}: 1 new · 4 of 8 indexed, 4 failed").wait_for(timeout=300_000)
    time.sleep(1)

    bob = visitors(one, BOB, WIDE)
    listed = course(bob)
    assert "playlist · 4 of 8 indexed, 4 failed" in listed and openable(listed) == [*INDEXED, "How to explain things"]
    assert f"Added by {ANA}, shared with everyone." in listed and NOT_INDEXED in listed
    expect(bob.get_by_test_id("stSidebar").get_by_role("button", name="Sync")).to_be_disabled()
    assert "playlist · 4 of 8 indexed, 4 failed" in course(visitors(two, ERIN, PHONE))
