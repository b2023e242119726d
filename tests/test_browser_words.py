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
from test_browser_answers import MATCH, SHOTS, VIDEO, WIDTHS, Reader

REPLY = ("Guido van Rossum asked him to help design the match statement [1]. "
         "<b>Markup</b> from a caption stays text: [x](javascript:alert(1)) [2].")


@pytest.fixture(scope="module")
def chat():
    server = ChatServer(lambda request: Reply(200, sse(REPLY), "text/event-stream"))
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


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_answer_in_words_shows_above_the_moments_and_its_citation_plays_the_moment(browser, server, width):
    reader = Reader(browser, server, *WIDTHS[width]).open()
    answer = reader.ask(MATCH)
    words = answer.get_by_text("Guido van Rossum asked him to help design the match statement")
    cite = answer.get_by_role("button", name="[2]", exact=True)
    first_play = answer.get_by_role("button", name=PLAY).first
    assert words.is_visible() and words.bounding_box()["y"] < first_play.bounding_box()["y"]
    assert answer.locator("b, a[href^='javascript']").count() == 0 and "<b>" not in answer.inner_text()
    if width == "wide":
        reader.page.screenshot(path=str(SHOTS / "answer-in-words-1280.png"))
    stamp = answer.get_by_role("button", name=PLAY).nth(1).inner_text().split("Play ")[1].split("–")[0]
    start = sum(int(x) * 60 ** i for i, x in enumerate(reversed(stamp.split(":"))))
    cite.click()
    reader.page.wait_for_function(
        "start => [...document.querySelectorAll('[data-testid=stVideo]')].some(f => f.src.includes('start=' + start))",
        arg=start, timeout=30_000)
    time.sleep(1)
    assert reader.errors == [], reader.errors
    reader.page.close()


def test_the_sidebar_names_the_model_that_writes_answers(browser, server):
    reader = Reader(browser, server, *WIDTHS["wide"]).open()
    sidebar = reader.page.get_by_test_id("stSidebar")
    assert re.search(r"written by openai:test-model, on this server", sidebar.inner_text())
    assert reader.errors == [], reader.errors
    reader.page.close()
