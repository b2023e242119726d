"""How soon the app takes a link: streamlit on loopback, headless Chromium, stopwatch.

    .venv/bin/python benchmarks/startup.py

Prints seconds from opening the page until the link box is ready, and until the model
(warming in the background) has loaded. Needs Debian's chromium and playwright.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="ytqa-startup-")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=dict(os.environ, YTQA_DATA_DIR=data),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(url)
            box = page.get_by_label("YouTube link or video id")
            box.wait_for()
            ready = time.perf_counter() - started
            box.fill("https://youtu.be/tkm0TNFzIeg")
            page.keyboard.press("Enter")
            page.get_by_text("Transcript language").wait_for()
            accepted = time.perf_counter() - started
            browser.close()
        print(f"link box ready: {ready:.2f} s after opening the page (first visit of a fresh server)")
        print(f"link accepted (parsed, language choice shown): {accepted:.2f} s")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
