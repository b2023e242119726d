"""End to end in a real browser: streamlit on loopback, Debian's Chromium, Playwright.

What only a browser shows: the layout (side by side, stacked at 400 px), the player in
view at the moment's second after Play, the progress bar during embedding, Enter in the
link box, and user input that stays text.
"""

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, shared

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PLAY = re.compile(r"^▶ Play ")
APP = ("-m", "streamlit", "run", str(ROOT / "app.py"))  # what python runs to serve the app

playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's Chromium: sudo apt-get install chromium chromium-driver",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(env: dict, launcher: tuple = APP, port: int | None = None):
    """The app served by streamlit on ``port`` (a free one) of 127.0.0.1 with ``env`` added to the
    environment: its URL, once its health check answers (the test fails past 60 s).
    ``launcher``: what python runs, given streamlit run's options (tests/recorded_app.py's too)."""
    port = port or free_port()
    log = tempfile.TemporaryFile()  # the server's output, shown when the test fails
    process = subprocess.Popen(
        [sys.executable, *launcher,
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield url
    except BaseException:
        log.seek(0)
        print("the app's output:\n" + log.read()[-6000:].decode("utf-8", "replace"))
        raise
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextlib.contextmanager
def chromium():
    """Debian's headless Chromium, driven by Playwright."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def visitor_pages(browser, url: str, player=None):
    """``open_page(size, query="")``: a new visitor's page of the app at ``url`` (a context of
    its own), its link box ready; every page's console errors are checked at the end.
    ``player``: a pattern of addresses answered with an empty page (the player's frame, where
    it would only log its own errors)."""
    contexts, errors = [], []

    def open_page(size, query=""):
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        if player is not None:
            page.route(player, lambda route: route.fulfill(status=200, content_type="text/html",
                                                           body="<html></html>"))
        page.goto(url + query)
        page.get_by_label("YouTube link or video id").wait_for(timeout=30_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


@pytest.fixture
def server(tmp_path, embedder):
    with running_app({"YTQA_DATA_DIR": str(tmp_path / "data")}) as url:
        yield url, tmp_path / "data"


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


def open_upload(page, url, video_id):
    """Choose the video's subtitle file, type its link and press Enter."""
    page.goto(url)
    page.get_by_text("Upload subtitles").click()
    page.locator("input[type=file]").set_input_files(str(shared("transcripts", f"{video_id}.json")))
    uploaded(page, f"{video_id}.json")
    page.get_by_label("YouTube link or video id").fill(f"https://youtu.be/{video_id}")
    page.get_by_label("YouTube link or video id").press("Enter")


def uploaded(page, name):
    """Wait until the chosen file ``name`` has reached the server (its chip shows no spinner):
    a link entered before that is the link alone, as it would be for a person that quick."""
    page.get_by_test_id("stFileChipName").filter(has_text=name).first.wait_for(state="attached", timeout=30_000)
    page.get_by_test_id("stFileChipIconSpinner").first.wait_for(state="detached", timeout=60_000)


def ask(page, question):
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    page.get_by_test_id("stChatMessage").filter(has_text=question).wait_for(timeout=60_000)
    page.get_by_role("button", name=PLAY).first.wait_for(timeout=60_000)
    time.sleep(1)


def seconds(stamp: str) -> int:
    return sum(int(x) * 60 ** i for i, x in enumerate(reversed(stamp.split(":"))))


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 1 \
        and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 1


def play_last_and_check(page):
    """Scroll the answers to the end, press the last Play: the player, in view, starts there."""
    buttons = page.get_by_role("button", name=PLAY)
    button = [b for b in buttons.all() if not b.inner_text().startswith("▶ Play 0:00–")][-1]
    size = page.viewport_size
    page.mouse.move(size["width"] - 40, size["height"] // 2)
    page.mouse.wheel(0, 10_000)  # the answers scrolled to their end, as a reader would
    time.sleep(0.5)
    start = seconds(button.inner_text().split("Play ")[1].split("–")[0])
    button.click()
    player = page.get_by_test_id("stVideo")
    page.wait_for_function(
        "start => [...document.querySelectorAll('[data-testid=stVideo]')].some(f => f.src.includes('start=' + start))",
        arg=start, timeout=30_000)
    time.sleep(0.5)  # the page settles after the rerun
    assert f"start={start}" in player.get_attribute("src")
    assert in_view(page, player), player.bounding_box()


def test_wide_the_player_stays_beside_the_answers_and_play_plays_it_in_view(server, browser, tmp_path):
    url, data_dir = server
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    open_upload(page, url, "tkm0TNFzIeg")
    page.get_by_role("heading", name="tkm0TNFzIeg").wait_for(timeout=120_000)
    # The question box, in view and focused, ready for typing.
    page.wait_for_function("document.activeElement && document.activeElement.dataset.testid"
                           " === 'stChatInputTextArea'", timeout=10_000)
    assert in_view(page, page.get_by_test_id("stChatInputTextArea"))
    deadline = time.time() + 120  # answer from the full index, built behind the quick one
    while not list((data_dir / "videos" / "tkm0TNFzIeg" / "indexes").glob("*-sv-*/meta.json")):
        assert time.time() < deadline, "the full index was never built"
        time.sleep(0.2)
    ask(page, "Richard Feynman Nobel Prize")
    first = page.get_by_role("button", name=PLAY).first
    assert 70 <= seconds(first.inner_text().split("Play ")[1].split("–")[0]) <= 88  # gold: 78-88 s
    player = page.get_by_test_id("stVideo").bounding_box()
    answer = first.bounding_box()
    assert player["x"] + player["width"] <= answer["x"]  # side by side
    shot = os.environ.get("YTQA_SCREENSHOT", str(tmp_path / "answer.png"))
    page.screenshot(path=shot)
    ask(page, "how to write it as if teaching")  # a conversation longer than the window
    play_last_and_check(page)


def test_narrow_the_player_and_answers_stack_and_play_plays_it_in_view(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 400, "height": 800})
    open_upload(page, url, "tkm0TNFzIeg")
    page.get_by_role("heading", name="tkm0TNFzIeg").wait_for(timeout=120_000)
    ask(page, "Richard Feynman Nobel Prize")
    player = page.get_by_test_id("stVideo").bounding_box()
    answer = page.get_by_role("button", name=PLAY).first.bounding_box()
    # Stacked: one column as wide as the window (the player stays at its top while it scrolls).
    assert player["width"] > 0.8 * 400 and answer["x"] < player["x"] + player["width"]
    ask(page, "how to write it as if teaching")  # a conversation longer than the window
    play_last_and_check(page)


def test_the_progress_bar_shows_each_stage_while_a_long_video_is_embedded(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    open_upload(page, url, "3zu317upAUA")
    bar = page.get_by_test_id("stProgress").filter(has_text="Embedding")
    bar.wait_for(state="visible", timeout=180_000)
    assert in_view(page, bar)
    page.get_by_role("heading", name="3zu317upAUA").wait_for(timeout=240_000)


def test_a_link_box_entry_that_looks_like_markup_is_shown_as_text(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(url)
    box = page.get_by_label("YouTube link or video id")
    box.fill("[click me](javascript:alert(1))")
    box.press("Enter")
    page.get_by_test_id("stAlert").first.wait_for(timeout=30_000)
    assert page.locator("a[href^='javascript']").count() == 0
    assert "[click me](javascript:alert(1))" in page.get_by_test_id("stAlert").first.inner_text()
