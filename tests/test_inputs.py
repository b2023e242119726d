"""Every input ytqa reads gives a result or one clear line, and bounded work."""

import io
import json
import os
import subprocess
import sys
import threading

import pytest

import ytqa
from ytqa import TranscriptFileError, load_transcript_file, parse_subtitles
from ytqa._files import MAX_CUES, MAX_FILE_BYTES, MAX_WORDS
from ytqa.cli import _progress, main
from conftest import ROOT, write_json_transcript

VIDEO = "dQw4w9WgXcQ"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- bounded reading ------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_without_reading_it(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    with pytest.raises(TranscriptFileError, match="it is a device, not a regular file"):
        load_transcript_file(device, VIDEO)


def test_a_named_pipe_is_refused_at_once_rather_than_waited_on(tmp_path):
    fifo = tmp_path / "captions.srt"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_error_of(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock it, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert "it is a named pipe, not a regular file" in outcome[0]


def _error_of(path):
    try:
        load_transcript_file(path, VIDEO)
    except TranscriptFileError as error:
        return str(error)
    return "read"


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    big = tmp_path / "big.srt"
    with open(big, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 10)  # sparse: costs no disk
    with pytest.raises(TranscriptFileError, match="over the 50 MB limit"):
        load_transcript_file(big, VIDEO)


# --- limits that match the work ---------------------------------------------------


def srt(cues: int, words: str = "hello there") -> bytes:
    return "".join(f"{i}\n{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},000 --> "
                   f"{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},900\n{words}\n\n"
                   for i in range(cues)).encode()


def test_more_captions_than_any_video_has_are_refused_with_the_limit():
    with pytest.raises(TranscriptFileError) as caught:
        parse_subtitles(srt(MAX_CUES + 1), "long.srt", VIDEO)
    assert f"over the limit of {MAX_CUES:,}" in str(caught.value)
    assert "split it into parts" in str(caught.value)


def test_a_json_list_with_more_entries_than_any_video_has_is_refused():
    data = json.dumps([{"text": "a", "start": 0, "duration": 1}] * (MAX_CUES + 1)).encode()
    with pytest.raises(TranscriptFileError, match=f"{MAX_CUES + 1:,} captions, over the limit"):
        parse_subtitles(data, "long.json", VIDEO)


def test_more_words_than_any_video_has_are_refused_with_the_limit():
    words = " ".join(["word"] * 400)
    data = json.dumps([{"text": words, "start": i, "duration": 1} for i in range(MAX_WORDS // 400 + 1)])
    with pytest.raises(TranscriptFileError, match=f"words, over the limit of {MAX_WORDS:,}"):
        parse_subtitles(data.encode(), "talky.json", VIDEO)


MEMORY_CHILD = """
import json, random, resource, sys, ytqa
from ytqa._files import MAX_CUES, MAX_WORDS
path = sys.argv[1]
random.seed(1)
words = "server cache request latency budget team design review database index".split()
per = MAX_WORDS // MAX_CUES
rows = [{"text": " ".join(random.choice(words) for _ in range(per)) + ".", "start": i * 1.7,
         "duration": 1.7} for i in range(MAX_CUES)]
with open(path, "w") as handle:
    json.dump(rows, handle)
del rows
transcript = ytqa.load_transcript_file(path, "dQw4w9WgXcQ")
embedder = ytqa.Embedder("minilm")
chunking = ytqa.chunk_transcript(transcript, count_tokens=embedder.count_tokens,
                                 model_max_tokens=embedder.max_tokens)
print(len(transcript.lines), len(chunking.chunks), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_reading_and_chunking_a_transcript_at_every_limit_stays_within_bounded_memory(tmp_path):
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(tmp_path / "at-limit.json")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-2000:]
    lines, chunks, peak_mb = map(int, done.stdout.split())
    assert lines == MAX_CUES and chunks > 0
    assert peak_mb < 600, f"{peak_mb} MB at the limits"


REFUSE_CHILD = """
import resource, sys, ytqa
try:
    ytqa.load_transcript_file(sys.argv[1], "dQw4w9WgXcQ")
except ytqa.TranscriptFileError as error:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, error)
"""


def test_refusing_a_49_mb_subtitle_file_of_170000_cues_stays_within_bounded_memory(tmp_path):
    path = tmp_path / "huge.srt"
    cue = b"00:00:01,000 --> 00:00:02,000\n" + b"lorem ipsum dolor sit amet consectetur adipiscing elit " * 4
    with open(path, "wb") as handle:
        for i in range(170_000):
            handle.write(b"%d\n%s\n\n" % (i, cue))
    assert 30 * 2**20 < path.stat().st_size < MAX_FILE_BYTES
    done = subprocess.run([sys.executable, "-c", REFUSE_CHILD, str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    peak_mb, message = done.stdout.split(" ", 1)
    assert "over the limit" in message
    assert int(peak_mb) < 500, f"{peak_mb} MB to refuse it"


# --- progress and estimates ------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_without_a_terminal_is_a_line_every_few_seconds_with_the_time_left():
    stream, clock = io.StringIO(), Clock()
    show = _progress(False, stream=stream, every=5.0, clock=clock)
    for done in range(0, 1001, 10):
        show("embedding", done, 1000)
        clock.now += 0.5  # 50 s in all: about ten lines, not a hundred
    lines = stream.getvalue().splitlines()
    assert lines[0] == "embedding: 0/1,000" and lines[-1] == "embedding: 1,000/1,000"
    assert 9 <= len(lines) <= 13
    assert "(about 45 s left)" in lines[1]
    assert "\r" not in stream.getvalue()


def test_index_without_a_terminal_reports_its_progress_on_stderr(capsys, tmp_path, embedder):
    talk = write_json_transcript(tmp_path / "talk.json", [(f"Sentence number {i} about caching.", i * 3, 3)
                                                           for i in range(60)])
    code, out, err = run(capsys, "index", VIDEO, "--transcript", talk, "--data-dir", tmp_path / "d")
    assert code == 0
    assert "embedding: " in err and "\r" not in err
