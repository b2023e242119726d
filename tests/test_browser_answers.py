"""The answers column in a real browser (Chromium, Playwright), at a desktop's 1280x900 and a
phone's 400x850: where a new answer lands, what each answer says about itself (a weak
match, another language, a long question), what each moment shows, Clear and Export.

One server for the module, with the PyCon talk XpxTrDDcpPE indexed from its real subtitle
file; one page per width holds a conversation longer than the screen. Every test listens
to the page's console and finds no error in it.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT, shared
from test_browser import PLAY, chromium, running_app

VIDEO = "XpxTrDDcpPE"  # Brandt Bucher on Python's match statement (PyCon), 30 minutes
MATCH = "Who asked him to help design the match statement?"  # the answer: Guido van Rossum
SHOTS = Path(os.environ.get("YTQA_SCREENSHOTS", tempfile.gettempdir()))
WIDTHS = {"wide": (1280, 900), "phone": (400, 850)}


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    data = tmp_path_factory.mktemp("answers") / "data"
    subprocess.run([sys.executable, "-m", "ytqa", "index", VIDEO, "--transcript",
                    str(shared("transcripts", f"{VIDEO}.json")), "--data-dir", str(data)],
                   cwd=ROOT, check=True, capture_output=True)
    with running_app({"YTQA_DATA_DIR": str(data)}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser

def tops(*locators, timeout: float = 30) -> list[float]:
    """The tops of the elements read in one frame of the page, so a scroll (the app brings a
    finished answer into view) or a rerun between two separate reads cannot swap their order."""
    deadline = time.time() + timeout
    while True:
        try:
            handles = [locator.element_handle(timeout=5_000) for locator in locators]
            read = locators[0].page.evaluate(
                "els => els.every(e => e.isConnected) ? els.map(e => e.getBoundingClientRect().top) : null",
                handles)
        except Exception:  # an element replaced by a rerun between finding and reading it
            read = None
        if read is not None:
            return read
        assert time.time() < deadline, f"{locators} never laid out together"
        time.sleep(0.2)


def above(upper, lower) -> bool:
    """Whether ``upper`` starts above ``lower`` on the page."""
    first, second = tops(upper, lower)
    return first < second


class Reader:
    """One visitor's page at one width, with what its console said."""

    def __init__(self, browser, url, width, height):
        self.page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # The player's YouTube frame, offline here: an empty page, so the console is the app's own.
        self.page.route(re.compile(r"https://(www\.)?youtube(-nocookie)?\.com/.*|https://.*\.(ytimg|google)\w*\.com/.*"),
                        lambda route: route.fulfill(status=200, content_type="text/html", body="<html></html>"))
        self.url = url

    def open(self):
        self.page.goto(f"{self.url}/?v={VIDEO}")
        self.page.get_by_role("heading", name=VIDEO).wait_for(timeout=120_000)
        self.box.wait_for(timeout=30_000)
        return self

    @property
    def box(self):
        return self.page.get_by_test_id("stChatInputTextArea")

    def send(self, question):
        self.box.fill(question)
        self.box.press("Enter")

    def ask(self, question):
        """Ask, and wait for the answer's moments; returns the answer (its assistant message)."""
        self.send(question)
        answer = self.answer(question)
        answer.get_by_role("button", name=PLAY).first.wait_for(timeout=60_000)
        time.sleep(1.5)  # the page settles (and scrolls) after the rerun
        return answer

    def answer(self, question):
        """The assistant message after the last time ``question`` was asked."""
        messages = self.page.get_by_test_id("stChatMessage")
        messages.filter(has_text=question).last.wait_for(timeout=60_000)
        texts = messages.all_inner_texts()
        asked = max(i for i, text in enumerate(texts) if question in " ".join(text.split()))
        return messages.nth(asked + 1)

    def scroll_to_top(self):
        size = self.page.viewport_size
        self.page.mouse.move(size["width"] - 30, size["height"] // 2)
        self.page.mouse.wheel(0, -50_000)
        time.sleep(0.5)

    def covered_top(self, beside):
        """How far down the window the header and (stacked above ``beside``) the player reach."""
        bottom = self.page.get_by_test_id("stHeader").bounding_box()["y"] + \
            self.page.get_by_test_id("stHeader").bounding_box()["height"]
        video = self.page.get_by_test_id("stVideo").bounding_box()
        spot = beside.bounding_box()
        if video and spot and video["x"] < spot["x"] + spot["width"] and spot["x"] < video["x"] + video["width"]:
            bottom = max(bottom, video["y"] + video["height"])
        return bottom

    def reading_area(self, beside):
        """The part of the window the answers can be read in: (top, bottom)."""
        return self.covered_top(beside), self.page.get_by_test_id("stBottom").bounding_box()["y"]

    def shows(self, locator, beside=None) -> bool:
        """Whether ``locator`` is wholly in the reading area."""
        box = locator.bounding_box()
        top, bottom = self.reading_area(beside or locator)
        return box is not None and box["y"] >= top - 1 and box["y"] + box["height"] <= bottom + 1


@pytest.fixture(scope="module", params=list(WIDTHS), ids=list(WIDTHS))
def reader(request, browser, server):
    """A page at each width, the video open and a conversation longer than the window."""
    reader = Reader(browser, server, *WIDTHS[request.param]).open()
    for question in ("What is structural pattern matching not?", "What are the patterns covered?",
                     "How will the compiler make it faster?"):
        reader.ask(question)
    yield reader
    reader.page.close()


@pytest.fixture
def console(reader):
    """The reader's console: every test ends with no error in it."""
    reader.errors.clear()
    yield reader.errors
    assert reader.errors == []


def test_the_page_loads_and_reruns_without_console_errors(browser, server):
    for width, height in WIDTHS.values():
        reader = Reader(browser, server, width, height)
        reader.page.goto(server)
        reader.page.get_by_label("YouTube link or video id").wait_for(timeout=60_000)
        time.sleep(1)
        reader.open().ask("Where did the feature begin?")
        reader.page.get_by_role("button", name=PLAY).first.click()
        time.sleep(1.5)
        reader.page.reload()
        reader.page.get_by_role("heading", name=VIDEO).wait_for(timeout=120_000)
        time.sleep(1.5)
        assert reader.errors == [], (width, reader.errors)
        reader.page.close()


def test_a_new_answer_is_shown_from_its_top_after_reading_an_earlier_one(reader, console):
    reader.scroll_to_top()
    reader.page.get_by_role("button", name=PLAY).first.click()  # Play an early moment
    time.sleep(1.5)
    question = "What does the match statement look like?"
    answer = reader.ask(question)
    asked = reader.page.get_by_test_id("stChatMessage").filter(has_text=question).last
    top, bottom = reader.reading_area(asked)
    assert reader.shows(asked), (asked.bounding_box(), top, bottom)
    assert asked.bounding_box()["y"] <= top + 0.25 * (bottom - top)  # the top of the answer, not its end
    assert reader.shows(answer.get_by_role("button", name=PLAY).first, beside=asked)


def test_asking_lands_on_the_first_moment_with_most_of_the_screen_for_reading(reader, console):
    reader.scroll_to_top()
    answer = reader.ask("What is the history of the match statement?")
    first = answer.get_by_role("button", name=PLAY).first
    sentence = answer.locator(".ytqa-passage mark").first  # the first moment's best sentence
    reader.page.screenshot(path=str(SHOTS / f"answers-landing-{reader.page.viewport_size['width']}.png"))
    assert reader.shows(first) and reader.shows(sentence), (sentence.bounding_box(), reader.reading_area(first))
    top, bottom = reader.reading_area(first)
    assert bottom - top >= 0.5 * reader.page.viewport_size["height"], (top, bottom)


def test_a_question_without_words_is_answered_next_to_the_ask_box(reader, console):
    reader.scroll_to_top()
    reader.send("???!!!")
    hint = reader.page.get_by_text("Type a question in words")
    hint.wait_for(timeout=30_000)
    time.sleep(1.5)
    assert reader.shows(hint), (hint.bounding_box(), reader.reading_area(hint))
    box = reader.page.get_by_test_id("stBottom").bounding_box()
    assert box["y"] - (hint.bounding_box()["y"] + hint.bounding_box()["height"]) < 200


def test_a_question_the_video_does_not_answer_says_so_above_its_moments(reader, console):
    answer = reader.ask("zzzzqqqq blorf wibble")
    note = answer.get_by_text("No passage matches this question well")
    assert note.is_visible()
    plays = answer.get_by_role("button", name=PLAY)
    assert plays.count() == 5 and above(note, plays.first), tops(note, plays.first)
    answered = reader.ask(MATCH)  # a question it answers: no such note
    assert answered.get_by_text("No passage matches this question well").count() == 0


def test_a_question_in_another_language_says_so_and_names_the_remedy(reader, console):
    answer = reader.ask("¿Quién le pidió que ayudara a diseñar la sentencia match de Python?")
    note = answer.get_by_text("in Spanish")
    assert note.is_visible()
    words = note.inner_text()
    assert "English" in words and "e5" in words and "Embedding model" in words and "translation" in words
    first = answer.get_by_role("button", name=PLAY).first
    assert above(note, first), tops(note, first)


def test_each_moment_shows_the_sentence_that_answers_without_opening_it(reader, console):
    answer = reader.ask(MATCH)
    excerpt = answer.locator(".ytqa-passage").first
    assert excerpt.is_visible() and "Guido van Rossum" in excerpt.inner_text()


def test_a_long_question_is_taken_whole_and_one_too_long_is_told_before_sending(reader, console):
    long = "I would like to know, " + "and in some detail, " * 55 + "who asked him to help design match?"
    assert 1000 < len(long) < 2000
    answer = reader.ask(long)
    asked = reader.page.get_by_test_id("stChatMessage").filter(has_text="who asked him to help design match?")
    assert asked.count() >= 1 and answer.is_visible()
    too_long = "and in some detail, " * 110
    reader.box.fill(too_long)
    warning = reader.page.get_by_text("only the first 2,000 are read")
    warning.wait_for(timeout=5_000)  # said while it is typed, before it is sent
    time.sleep(1)
    assert reader.shows(warning), (warning.bounding_box(), reader.reading_area(warning))
    reader.page.screenshot(path=str(SHOTS / f"answers-long-question-{reader.page.viewport_size['width']}.png"))
    reader.box.fill("")


def test_export_holds_what_the_page_shows_as_plain_text(reader, console):
    answer = reader.ask(MATCH)
    with reader.page.expect_download() as download:
        reader.page.get_by_role("button", name="Export").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert "\\." not in text and "\\?" not in text and MATCH in text
    for index in range(answer.get_by_role("button", name=PLAY).count()):
        stamp = answer.get_by_role("button", name=PLAY).nth(index).inner_text().split("Play ")[1]
        excerpt = " ".join(answer.locator(".ytqa-passage").nth(index * 2).inner_text().split())
        assert stamp in text and excerpt in " ".join(text.split()), (stamp, excerpt)
    assert f"https://www.youtube.com/watch?v={VIDEO}&t=" in text


def test_clear_asks_first_and_keeps_the_answers_until_told_yes(reader, console):
    page = reader.page
    asked = page.get_by_test_id("stChatMessage").count()
    page.get_by_role("button", name="Clear", exact=True).click()
    page.get_by_role("button", name="Keep them").wait_for(timeout=30_000)
    assert page.get_by_test_id("stChatMessage").count() == asked  # nothing forgotten yet
    page.get_by_role("button", name="Keep them").click()
    page.get_by_role("button", name="Keep them").wait_for(state="detached", timeout=30_000)
    assert page.get_by_test_id("stChatMessage").count() == asked
    page.get_by_role("button", name="Clear", exact=True).click()
    page.get_by_role("button", name="Yes, clear").click()
    page.get_by_text("Ask below").wait_for(timeout=30_000)
    assert page.get_by_test_id("stChatMessage").count() == 0
