"""Five visitors upload a ~4 MB subtitle file each at once while a sixth opens the page and
asks a stored video: how long the sixth waits (issue 24, point 7). Real browser contexts
(headless Chromium) against a real streamlit server; prints figures, asserts nothing.

    python benchmarks/app_load.py [--shared ../shared/data] [--uploaders 5]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ASKED = "tkm0TNFzIeg"


def big_file(source: Path, folder: Path, number: int, size: int = 4_000_000) -> Path:
    """A real transcript repeated (later copies shifted in time) to about ``size`` bytes, its
    times scaled to 20 hours (ytqa refuses a transcript beyond 24)."""
    lines, out, shift = json.loads(source.read_text()), [], 0.0
    while len(json.dumps(out)) < size:
        out += [{**line, "start": line["start"] + shift} for line in lines]
        shift = out[-1]["start"] + out[-1]["duration"] + 1
    scale = 20 * 3600 / (out[-1]["start"] + out[-1]["duration"])  # within the 24-hour limit
    out = [{**line, "start": line["start"] * scale, "duration": line["duration"] * scale} for line in out]
    path = folder / f"talk-{number}.json"
    path.write_text(json.dumps(out))
    return path


def serve(data: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                               cwd=ROOT, env=dict(os.environ, YTQA_DATA_DIR=str(data)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.3)
    raise SystemExit("streamlit did not start")


def upload(browser, url: str, path: Path, video: str, started: threading.Event) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url)
    page.get_by_text("Upload subtitles").click()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_label("YouTube link or video id").fill(video)
    page.get_by_label("YouTube link or video id").press("Enter")
    page.get_by_test_id("stProgress").first.wait_for(timeout=120_000)
    started.set()
    print(f"uploader {video}: {page.get_by_test_id('stProgress').first.inner_text()}", file=sys.stderr)
    page.wait_for_timeout(60_000)  # the page stays, watching its build


def asker(browser, url: str) -> tuple[float, float]:
    """Seconds until the page takes a link, and until an answer shows after Enter."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    began = time.perf_counter()
    page.goto(f"{url}/?v={ASKED}")
    page.get_by_label("YouTube link or video id").wait_for(timeout=120_000)
    ready = time.perf_counter() - began
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=120_000)
    box.fill("Richard Feynman Nobel Prize")
    began = time.perf_counter()
    box.press("Enter")
    page.get_by_role("button", name="▶ Play").first.wait_for(timeout=120_000)
    return ready, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--uploaders", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    import ytqa

    shared = Path(args.shared) / "transcripts"
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ytqa.Library(folder / "data").index(ASKED, transcript_file=shared / f"{ASKED}.json")
        files = [big_file(shared / "3zu317upAUA.json", folder, n) for n in range(args.uploaders)]
        process, url = serve(folder / "data")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
                ready, answer = asker(browser, url)
                print(f"alone: page ready {ready:.2f} s, answer {answer:.2f} s")
                events = [threading.Event() for _ in files]
                # Playwright's sync API is one thread's: the uploaders run in their own instances.
                threads = [threading.Thread(target=run_uploader, args=(url, f, f"ytqaLoad{n:03d}", e), daemon=True)
                           for n, (f, e) in enumerate(zip(files, events))]
                for thread in threads:
                    thread.start()
                for event in events:
                    event.wait(180)
                ready, answer = asker(browser, url)
                print(f"while {args.uploaders} visitors upload ~{files[0].stat().st_size / 1e6:.1f} MB each, "
                      f"a sixth visitor: page ready {ready:.2f} s, answer {answer:.2f} s "
                      f"({os.cpu_count()} CPUs)")
                browser.close()
        finally:
            process.terminate()
            process.wait(20)


def run_uploader(url: str, path: Path, video: str, started: threading.Event) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        try:
            upload(browser, url, path, video, started)
        except Exception as error:
            print(f"uploader {video}: {type(error).__name__}", file=sys.stderr)
            started.set()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
