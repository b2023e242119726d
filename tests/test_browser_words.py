"""Answers in words in a real browser (Chromium, Playwright) at a desktop's 1280x900 and a
phone's 400x850: the answer shows above the moments as text, its [n] buttons play moment n
in the player, and the sidebar names the model. The chat model is the real OpenAI client
of the app's server talking to a stand-in server on 127.0.0.1 (only the network stood in
for). Every test listens to the page's console and finds no error in it.
"""

import re
import subprocess
import sys
import time

import pytest

from chat_server import ChatServer, Reply, sse
from conftest import ROOT, shared
from test_browser import PLAY, chromium, running_app
from test_browser_answers import MATCH, SHOTS, VIDEO, WIDTHS, Reader, above, tops

ANSWER = ("Guido van Rossum did: the feature began with a nerd-sniping email from him on a Wednesday "
          "morning during COVID [1]. The talk then shows what a match statement looks like [2].")
HOSTILE_QUESTION = "What is structural pattern matching not?"
#: What a model fooled by a caption might write: markup and a link (shown as text, linking nowhere).
HOSTILE = "It is not a switch statement [1]. <b>Markup</b> [click](javascript:alert(1)) <img src=x onerror=alert(1)> [2]."


SLOW_QUESTION = "How will the compiler make it faster?"
SLOW = "Its control flow is improved [1]."


def reply(request):
    """The stand-in model: the hostile answer for the hostile question, a slow one for the
    slow question, else the answer."""
    asked = request["messages"][-1]["content"]
    if SLOW_QUESTION in asked:
        return Reply(200, sse(SLOW), "text/event-stream", delay=8)
    return Reply(200, sse(HOSTILE if HOSTILE_QUESTION in asked else ANSWER), "text/event-stream")


@pytest.fixture(scope="module")
def chat():
    server = ChatServer(reply)
    yield server
    server.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder, chat):
    data = tmp_path_factory.mktemp("words") / "data"
    subprocess.run([sys.executable, "-m", "ytqa", "index", VIDEO, "--transcript",
                    str(shared("transcripts", f"{VIDEO}.json")), "--data-dir", str(data)],
                   cwd=ROOT, check=True, capture_output=True)
    env = {"YTQA_DATA_DIR": str(data), "YTQA_CHAT_MODEL": "openai:test-model",
           "YTQA_CHAT_BASE_URL": chat.url + "/v1"}
    with running_app(env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def seconds(stamp: str) -> int:
    return sum(int(x) * 60 ** i for i, x in enumerate(reversed(stamp.split(":"))))


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_answer_in_words_shows_above_the_moments_and_its_citation_plays_the_moment(browser, server, width):
    reader = Reader(browser, server, *WIDTHS[width]).open()
    answer = reader.ask(MATCH)
    words = answer.get_by_text("Guido van Rossum did")
    words.wait_for(timeout=60_000)
    time.sleep(2)  # the run ends once it is written: the answer is brought into view then
    plays = answer.get_by_role("button", name=PLAY)
    assert above(words, plays.first), tops(words, plays.first)
    reader.page.screenshot(path=str(SHOTS / f"answer-in-words-{WIDTHS[width][0]}.png"))
    if width == "wide":
        with reader.page.expect_download() as download:  # at once, with no other run since it was written
            reader.page.get_by_role("button", name="Export").click()
        exported = open(download.value.path(), encoding="utf-8").read()
        assert "Answer in words, by openai:test-model: Guido van Rossum did" in exported
        assert "[\\[1\\]](https://www.youtube.com/watch?v=XpxTrDDcpPE&t=" in exported
    start = seconds(plays.nth(1).inner_text().split("Play ")[1].split("–")[0])
    answer.get_by_role("button", name="[2]", exact=True).click()
    reader.page.wait_for_function(
        "start => [...document.querySelectorAll('[data-testid=stVideo]')].some(f => f.src.includes('start=' + start))",
        arg=start, timeout=30_000)
    time.sleep(1)
    assert reader.errors == [], reader.errors
    reader.page.close()


def test_markup_and_links_in_an_answer_show_as_text(browser, server):
    reader = Reader(browser, server, *WIDTHS["wide"]).open()
    answer = reader.ask(HOSTILE_QUESTION)
    answer.get_by_text("It is not a switch statement").wait_for(timeout=30_000)
    assert answer.locator("b, img, a[href^='javascript']").count() == 0
    assert "Markup" in answer.inner_text() and "alert" not in answer.inner_text()
    assert reader.errors == [], reader.errors
    reader.page.close()


def test_the_moments_show_while_the_answer_in_words_is_written(browser, server):
    reader = Reader(browser, server, *WIDTHS["phone"]).open()
    reader.send(SLOW_QUESTION)
    answer = reader.answer(SLOW_QUESTION)
    answer.get_by_role("button", name=PLAY).first.wait_for(timeout=60_000)
    assert answer.get_by_text(SLOW).count() == 0  # the model has not answered yet
    answer.get_by_text("Its control flow is improved").wait_for(timeout=60_000)
    words, moment = answer.get_by_text("Its control flow is improved"), answer.get_by_role("button", name=PLAY).first
    assert above(words, moment), tops(words, moment)
    time.sleep(1)
    assert reader.errors == [], reader.errors
    reader.page.close()


def test_the_sidebar_names_the_model_that_writes_answers(browser, server):
    reader = Reader(browser, server, *WIDTHS["wide"]).open()
    sidebar = reader.page.get_by_test_id("stSidebar")
    assert re.search(r"written by openai:test-model, on this server", sidebar.inner_text())
    assert reader.errors == [], reader.errors
    reader.page.close()
