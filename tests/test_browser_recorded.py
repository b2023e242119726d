"""The app where YouTube answers, in a real browser (Chromium, Playwright, 1280x900 and
400x850, each page's console listened to): the transcript-language menu, and the real title
of a video opened from a subtitle file.

YouTube answers from its real recorded responses (tests/recorded_app.py mocks only the
network, in the server's own process): the Surface Go review GJLlxj_dtq8 with nine caption
tracks, and eF8Qqp7rjDg (an infrastructure update) with its one auto-generated track.
"""

import json
import re
import time

import pytest

from conftest import SHARED, shared
from test_browser import chromium, running_app, visitor_pages
from test_browser_inputs import choose, heading, link, subtitle_file

WIDE, PHONE = (1280, 900), (400, 850)
SURFACE_GO = "GJLlxj_dtq8"
SURFACE_GO_TITLE = "Surface Go Review - It\u2019s Awesome"  # YouTube's title, as its player response gives it
UPDATE = "eF8Qqp7rjDg"
UPDATE_TITLE = "Halloween Infrastructure Update - 27th October 2023"
#: The player's frame: an empty page, so the console is the app's own.
PLAYER_FRAME = re.compile(r"https://(www\.)?youtube(-nocookie)?\.com/.*|https://.*\.(ytimg|google)\w*\.com/.*")


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    shared("youtube_responses", "youtube.innertube.json.static")
    data = tmp_path_factory.mktemp("recorded") / "data"
    launcher = ("tests/recorded_app.py", str(SHARED / "youtube_responses"))
    with running_app({"YTQA_DATA_DIR": str(data)}, launcher) as url:
        yield url, data


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def visit(server, browser):
    """``visit(size)``: a new visitor's page, its console errors checked at the end."""
    with visitor_pages(browser, server[0], player=PLAYER_FRAME) as open_page:
        yield open_page


def language_menu_options(page) -> list[str]:
    """The transcript-language menu opened (again, if a rerun closed it); the entries it offers."""
    menu = page.get_by_test_id("stSelectbox").filter(has_text="Transcript language")
    menu.wait_for(timeout=30_000)
    for _ in range(5):
        menu.get_by_role("button", name="Open").click()
        time.sleep(0.5)
        options = page.get_by_role("option").all_inner_texts()
        if options:
            return options
        page.keyboard.press("Escape")
    pytest.fail("the language menu never opened")


@pytest.mark.parametrize("size,choice,code,shown", [
    pytest.param(WIDE, "German (manual)", "de", "manual", id="wide"),
    pytest.param(PHONE, "French (YouTube translation)", "fr", "translated from en", id="phone"),
])
def test_the_language_menu_lists_youtubes_tracks_and_reopens_the_video_in_the_one_chosen(
        visit, server, size, choice, code, shown):
    _, data = server
    page = visit(size)
    link(page, f"https://youtu.be/{SURFACE_GO}")
    heading(page, SURFACE_GO_TITLE)
    options = language_menu_options(page)
    assert options[0] == "Best available (manual over auto-generated)"
    for entry in ("English (manual)", "English (auto-generated)", "German (manual)", "Japanese (manual)",
                  "French (YouTube translation)"):
        assert entry in options, options
    page.get_by_role("option", name=choice, exact=True).click()
    # Opened again in the track chosen: the library lists the video in that language.
    if size[0] < 640:
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebar").get_by_text(re.compile(rf"· {code} · {shown}")).wait_for(timeout=60_000)
    stored = json.loads((data / "videos" / SURFACE_GO / "transcript.json").read_text(encoding="utf-8"))
    assert stored["language_code"] == code


@pytest.mark.parametrize("size", [pytest.param(WIDE, id="wide"), pytest.param(PHONE, id="phone")])
def test_a_video_opened_from_its_subtitle_file_is_named_by_its_title_on_youtube(visit, tmp_path, size):
    page = visit(size)
    choose(page, subtitle_file(tmp_path, UPDATE, f"{UPDATE}.json"))  # named after its video: no link needed
    heading(page, UPDATE_TITLE)
    if size[0] < 640:
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebar").get_by_text(UPDATE_TITLE).first.wait_for(timeout=10_000)
    assert page.get_by_role("heading", name=UPDATE, exact=True).count() == 0
