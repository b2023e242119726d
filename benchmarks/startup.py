"""How soon the app takes a link: streamlit on loopback, headless Chromium, stopwatch.

    .venv/bin/python benchmarks/startup.py [--videos 10000] [--data DIR]

Prints seconds from opening the page until the link box is ready, and until the model
(warming in the background) has loaded. ``--videos N`` first fills a library with N
synthetic videos (transcripts and indexes of 150 passages, see benchmarks/scale.py), so
the page opens on a big library; ``--data`` keeps it in DIR (made once, reused after).
Needs Debian's chromium and playwright.
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


def fill(data: Path, videos: int) -> None:
    """A library of ``videos`` synthetic videos, indexed as the app's default model would."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import ytqa
    from scale import Synthetic
    from ytqa._builder import Recipe
    from ytqa._files_store import FileStore

    store = FileStore(data)
    if store.count() >= videos:
        return
    embedder = ytqa.Embedder("minilm")  # its key only: nothing is embedded
    recipe = Recipe(embedder.spec.name, embedder.key, ytqa.ChunkSettings())
    synthetic = Synthetic()
    started = time.perf_counter()
    with store.batch():
        for i in range(videos):
            transcript, built = synthetic.video(i)
            built = type(built)(built.chunking, built.chunk_vectors, built.chunk_vectors)
            store.save_transcript(transcript)
            store.put(recipe.info(transcript, built), built)
    print(f"library of {videos} videos made in {time.perf_counter() - started:.0f} s")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=0, help="open on a library of this many videos")
    parser.add_argument("--data", help="the library folder (default: a new temporary one)")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = args.data or tempfile.mkdtemp(prefix="ytqa-startup-")
    if args.videos:
        fill(Path(data), args.videos)
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
            box.press("Enter")  # opens the video: its progress bar, or (offline) the reason it cannot
            page.locator("[data-testid=stProgress], [data-testid=stAlert]").first.wait_for()
            accepted = time.perf_counter() - started
            browser.close()
        print(f"link box ready: {ready:.2f} s after opening the page (first visit of a fresh server"
              + (f", a library of {args.videos:,} videos)" if args.videos else ")"))
        print(f"link accepted (Enter pressed, the video opening or its error shown): {accepted:.2f} s")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
