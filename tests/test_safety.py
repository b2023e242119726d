"""Nothing breaks, nothing is lost: kills mid-index, damaged files, two writers, big inputs."""

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ytqa
from ytqa import Library
from ytqa._files_store import verified
from conftest import ROOT, write_json_transcript

VIDEO, OTHER = "dQw4w9WgXcQ", "nTgKbiWg-YY"
WORDS = ("server cache request latency budget team design review database index query user "
         "screen button release test deploy monitor alert queue worker thread memory disk").split()

CHILD = """
import sys, ytqa
library = ytqa.Library(sys.argv[1], backend=sys.argv[4] if len(sys.argv) > 4 else None)
def progress(stage, done, total):
    print(stage, done, total, flush=True)
index = library.index(sys.argv[2], transcript_file=sys.argv[3], progress=progress)
print("DONE", len(index.chunking.chunks), flush=True)
"""


def talk(path: Path, lines: int, planted_at: int | None = None, seed: int = 1) -> Path:
    rng = random.Random(seed)
    rows = [(" ".join(rng.choice(WORDS) for _ in range(8)) + ".", i * 2.4, 2.4) for i in range(lines)]
    if planted_at is not None:
        rows[planted_at] = ("The lighthouse keeper painted his boat bright orange.", planted_at * 2.4, 2.4)
    return write_json_transcript(path, rows)


def start_child(data: Path, video: str, transcript: Path, backend: str | None = None):
    args = [sys.executable, "-c", CHILD, str(data), video, str(transcript)] + ([backend] if backend else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def answers(library: Library, video: str, question: str):
    return [(m.start, m.end, m.text) for m in library.ask(video, question)]


def assert_every_index_is_complete(data: Path):
    for folder in data.glob("videos/*/indexes/*"):
        if folder.name.startswith("."):
            continue  # a build in progress (or a dead one's leftovers): no index key starts with "."
        assert verified(folder) is not None, f"half-written index visible: {folder}"


@pytest.mark.parametrize("kill_at", ["fetching", "chunking", "embedding", "embedding-late", "saving"])
def test_killing_the_indexer_never_damages_the_library(tmp_path, kill_at):
    data = tmp_path / "data"
    older = Library(data)
    older.index(OTHER, transcript_file=talk(tmp_path / "other.json", 50, planted_at=20, seed=2))
    before = answers(older, OTHER, "lighthouse keeper boat")

    child = start_child(data, VIDEO, talk(tmp_path / "big.json", 400, planted_at=300))
    embedding_seen = 0
    for line in child.stdout:
        stage = line.split()[0]
        if stage == "embedding":
            embedding_seen += 1
        if (stage == kill_at and kill_at != "embedding") or (kill_at == "embedding" and embedding_seen == 1) \
                or (kill_at == "embedding-late" and embedding_seen == 3):
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    assert_every_index_is_complete(data)
    assert answers(Library(data), OTHER, "lighthouse keeper boat") == before
    rebuilt = Library(data).ask(VIDEO, "lighthouse keeper boat", transcript_file=tmp_path / "big.json")
    assert rebuilt[0].start <= 300 * 2.4 < rebuilt[0].end
    assert not list((data / "videos" / VIDEO / "indexes").glob(".building-*"))


@pytest.mark.parametrize("damage", ["truncate-vectors", "garble-chunks", "drop-meta", "empty-sentences"])
def test_a_damaged_index_is_detected_and_rebuilt(tmp_path, damage):
    data = tmp_path / "data"
    transcript = talk(tmp_path / "t.json", 60, planted_at=30)
    first = Library(data).ask(VIDEO, "lighthouse keeper boat", transcript_file=transcript)
    [folder] = (data / "videos" / VIDEO / "indexes").iterdir()
    if damage == "truncate-vectors":
        path = folder / "vectors.faiss"
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garble-chunks":
        (folder / "chunks.json").write_text('{"sentences": [[')
    elif damage == "drop-meta":
        (folder / "meta.json").unlink()
    else:
        (folder / "sentences.npy").write_bytes(b"")
    again = Library(data).ask(VIDEO, "lighthouse keeper boat")
    assert [(m.start, m.end) for m in again] == [(m.start, m.end) for m in first]
    assert_every_index_is_complete(data)


def test_a_damaged_transcript_file_is_named_and_listed_as_damaged(tmp_path):
    data = tmp_path / "data"
    Library(data).index(VIDEO, transcript_file=talk(tmp_path / "t.json", 30))
    (data / "videos" / VIDEO / "transcript.json").write_text('{"video_id": "dQw4w9Wg')
    with pytest.raises(ytqa.StoredVideoDamaged, match=f"ytqa delete {VIDEO}"):
        Library(data).open(VIDEO)
    [listed] = Library(data).videos()
    assert listed.video_id == VIDEO and "not valid JSON" in listed.damaged


def test_two_processes_indexing_one_video_end_with_one_valid_index(tmp_path):
    data = tmp_path / "data"
    transcript = talk(tmp_path / "t.json", 300, planted_at=100)
    children = [start_child(data, VIDEO, transcript) for _ in range(2)]
    indexes = data / "videos" / VIDEO / "indexes"
    while any(c.poll() is None for c in children):
        if indexes.exists():
            assert_every_index_is_complete(data)  # a reader never sees half of one
        time.sleep(0.05)
    outputs = [c.stdout.read() for c in children]
    assert [c.returncode for c in children] == [0, 0], [c.stderr.read() for c in children]
    assert all("DONE" in out for out in outputs)
    assert len(list(indexes.iterdir())) == 1
    top = Library(data).ask(VIDEO, "lighthouse keeper boat")[0]
    assert top.start <= 100 * 2.4 < top.end


def test_a_pickle_planted_in_the_data_folder_is_never_loaded(tmp_path):
    data = tmp_path / "data"
    Library(data).index(VIDEO, transcript_file=talk(tmp_path / "t.json", 40, planted_at=10))
    [folder] = (data / "videos" / VIDEO / "indexes").iterdir()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    # Where LangChain's save_local would put its pickle, and inside our own .npy.
    (folder / "index.pkl").write_bytes(pickle.dumps(Exploit()))
    np.save(folder / "sentences.npy", np.array([Exploit()], dtype=object), allow_pickle=True)
    moments = Library(data).ask(VIDEO, "lighthouse keeper boat")
    assert moments[0].start <= 10 * 2.4 < moments[0].end
    assert not marker.exists()


def peak_memory_of_indexing(data: Path, transcript: Path, backend: str) -> tuple[int, list[str]]:
    code = CHILD + (
        # This process's own high-water mark (ru_maxrss would start from the parent's at fork).
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print('RSS', int(peak) // 1024, flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(data), VIDEO, str(transcript), backend],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    return int(lines[-1].split()[1]), lines


def test_a_ten_hour_livestream_indexes_with_bounded_memory_and_progress(tmp_path):
    """15,000 caption lines (10 hours at 2.4 s a line), one planted answer near the end."""
    small, _ = peak_memory_of_indexing(tmp_path / "small", talk(tmp_path / "small.json", 1_500), "onnx-int8")
    data = tmp_path / "data"
    peak, lines = peak_memory_of_indexing(data, talk(tmp_path / "live.json", 15_000, planted_at=12_345),
                                          "onnx-int8")
    embedding = [tuple(map(int, l.split()[1:])) for l in lines if l.startswith("embedding")]
    assert len(embedding) > 10 and embedding[-1][0] == embedding[-1][1]
    assert [d for d, _ in embedding] == sorted(d for d, _ in embedding)
    # Ten times the input, nowhere near ten times the memory: it is embedded in slices.
    assert peak < small + 600, f"peak memory {peak} MB for 15,000 lines vs {small} MB for 1,500"
    top = Library(data, backend="onnx-int8").ask(VIDEO, "what colour did the lighthouse keeper paint his boat?")[0]
    assert top.start <= 12_345 * 2.4 < top.end
