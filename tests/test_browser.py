"""End to end in a real browser: streamlit on loopback, Debian's Chromium, Playwright."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, shared

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's Chromium: sudo apt-get install chromium chromium-driver",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = dict(os.environ, YTQA_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
        yield url, tmp_path / "data"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_index_a_transcript_file_ask_and_get_a_timestamp_link(server, tmp_path, embedder):
    url, data_dir = server
    transcript = shared("transcripts", "tkm0TNFzIeg.json")
    question = "Richard Feynman Nobel Prize"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 2000})
        page.goto(url)
        page.get_by_label("YouTube link or video id").fill("https://youtu.be/tkm0TNFzIeg")
        page.keyboard.press("Enter")
        page.get_by_text("Transcript language").wait_for(timeout=30_000)
        page.get_by_text("No captions on YouTube").click()
        page.locator("input[type=file]").set_input_files(str(transcript))
        page.get_by_text("tkm0TNFzIeg.json").wait_for(timeout=30_000)
        page.get_by_role("button", name="Open video").click()
        page.get_by_role("heading", name="tkm0TNFzIeg").wait_for(timeout=120_000)
        # It answers at once from a quick index; compare with the full one, built behind it.
        deadline = time.time() + 120
        while not list((data_dir / "videos" / "tkm0TNFzIeg" / "indexes").glob("*-sv-*/meta.json")):
            assert time.time() < deadline, "the full index was never built"
            time.sleep(0.2)
        page.get_by_label("Your question").fill(question)
        page.get_by_role("button", name="Ask").click()
        link = page.locator('a[href*="watch?v=tkm0TNFzIeg&t="]').first
        link.wait_for(timeout=60_000)
        href = link.get_attribute("href")
        shot = os.environ.get("YTQA_SCREENSHOT", str(tmp_path / "answer.png"))
        page.screenshot(path=shot, full_page=True)
        browser.close()

    import ytqa
    expected = ytqa.Library(data_dir, embedder=embedder).ask("tkm0TNFzIeg", question)[0]
    assert href == expected.url
    assert 70 <= expected.start <= 88  # the gold answer: 78-88 s
