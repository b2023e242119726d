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
import json, random, sys, ytqa
def peak_mb():
    # This process's own high-water mark: ru_maxrss would start from the parent's at fork.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
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
print(len(transcript.lines), len(chunking.chunks), peak_mb())
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
import sys, ytqa
def peak_mb():
    # This process's own high-water mark: ru_maxrss would start from the parent's at fork.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
try:
    ytqa.load_transcript_file(sys.argv[1], "dQw4w9WgXcQ")
except ytqa.TranscriptFileError as error:
    print(peak_mb(), error)
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


# --- text that is not UTF-8 -------------------------------------------------------


def ytqa_command(*argv, timeout=300, **kwargs):
    """``python -m ytqa`` in a fresh process; arguments may be bytes (any the OS allows)."""
    return subprocess.run([sys.executable.encode(), b"-m", b"ytqa",
                           *[a if isinstance(a, bytes) else str(a).encode() for a in argv]],
                          capture_output=True, cwd=ROOT, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), **kwargs)


def one_clear_line(done) -> str:
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_a_question_with_bytes_that_are_not_utf8_is_one_clear_line(tmp_path):
    done = ytqa_command("ask", VIDEO, b"caf\xe9", "--data-dir", tmp_path)
    assert done.returncode == 1
    err = one_clear_line(done)
    assert "QUESTION is not UTF-8 text (the byte 0xe9)" in err and "LANG=C.UTF-8" in err


def test_a_flag_with_bytes_that_are_not_utf8_names_the_flag(tmp_path):
    done = ytqa_command("list", "--search", b"\xff\xfe", "--data-dir", tmp_path)
    assert "--search is not UTF-8 text" in one_clear_line(done)


def test_a_subtitle_file_whose_name_is_not_utf8_is_read_and_its_name_shown(tmp_path, embedder):
    name = os.fsencode(tmp_path) + b"/caf\xe9.json"
    with open(name, "w") as handle:
        json.dump([{"text": "Welcome to the talk about caching.", "start": 0, "duration": 3}], handle)
    done = ytqa_command("index", VIDEO, "--transcript", name, "--data-dir", tmp_path / "d", "-q")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    library = ytqa.Library(tmp_path / "d")
    assert library.videos()[0].source == "caf\ufffd.json"


def test_a_subtitle_file_name_that_is_not_utf8_is_shown_in_its_error(tmp_path):
    name = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.srt")
    with pytest.raises(TranscriptFileError) as caught:
        load_transcript_file(name, VIDEO)
    assert "caf\ufffd.srt: no such file" in str(caught.value)
    str(caught.value).encode("utf-8")  # printable and storable


def test_an_eval_file_that_is_not_utf8_is_one_clear_line(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_bytes(b'{"id": "q1", "video_id": "x", "question": "caf\xe9", '
                          b'"answer_start": 1, "answer_end": 2}\n')
    done = ytqa_command("eval", questions, "--transcripts", tmp_path, "--data-dir", tmp_path / "d")
    assert "is not UTF-8 text" in one_clear_line(done)


def test_a_lone_surrogate_in_an_eval_question_names_the_line(tmp_path):
    from ytqa._eval import load_questions

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "q1", "video_id": "x", "question": "ok", "answer_start": 1, "answer_end": 2}\n'
                         '{"id": "q2", "video_id": "x", "question": "bad \\ud800", "answer_start": 1, "answer_end": 2}\n')
    with pytest.raises(ytqa.YtqaError, match="Line 2 of .*'question' .*lone surrogate"):
        load_questions(questions)


def test_utf16_without_a_byte_order_mark_is_read_as_text():
    text = "1\n00:00:01,000 --> 00:00:02,000\nCafé crème\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        transcript = parse_subtitles(text.encode(encoding), "fr.srt", VIDEO)
        assert transcript.lines[0].text == "Café crème"


# --- the disk says no -------------------------------------------------------------


def test_output_to_a_full_device_is_one_clear_line(tmp_path, embedder):
    if not os.path.exists("/dev/full"):
        pytest.skip("/dev/full does not exist here")
    talk = write_json_transcript(tmp_path / "talk.json", [("The hardest part of caching is invalidation.", 0, 5)])
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "ytqa", "ask", VIDEO, "caching", "--transcript", str(talk),
                               "--data-dir", str(tmp_path / "d")], stdout=full, stderr=subprocess.PIPE,
                              cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert done.returncode == 1
    assert "cannot write the output: No space left on device" in one_clear_line(done)


def test_a_reader_that_goes_away_ends_ask_quietly_with_the_sigpipe_status(tmp_path, embedder):
    """ytqa ask ... | head -1: more output than the pipe holds, and the reader leaves after one line."""
    import signal

    talk = write_json_transcript(tmp_path / "long.json", [
        (f"Part {i}: caches, queues and disks, and why invalidation is the hardest part of caching.", i * 4, 4)
        for i in range(300)])
    import fcntl

    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # the answer (over 16 KB) cannot fit in it
    process = subprocess.Popen([sys.executable, "-m", "ytqa", "ask", VIDEO, "caching", "-k", "400", "--json",
                                "--transcript", str(talk), "--data-dir", str(tmp_path / "d")],
                               stdout=write_end, stderr=subprocess.PIPE, cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), text=True)
    os.close(write_end)
    first = b""
    while not first.endswith(b"\n"):  # head -1 reads the first line, and is gone
        first += os.read(read_end, 1)
    os.close(read_end)
    assert first == b"{\n"
    err = process.stderr.read()
    assert process.wait(300) == 128 + signal.SIGPIPE
    assert err == "", err  # not "Cannot write in the library", no traceback


def _namespace_or_skip():
    """Whether this process may make a mount namespace of its own (root, with unshare)."""
    import shutil

    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


def in_mounts(setup: str, *argv) -> subprocess.CompletedProcess:
    """ytqa run in a mount namespace of its own after ``setup`` (mounts vanish with it)."""
    import shlex

    command = " ".join(shlex.quote(str(a)) for a in [sys.executable, "-m", "ytqa", *argv])
    return subprocess.run(["unshare", "-m", "sh", "-c", f"{setup} && {command}"], capture_output=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)


@pytest.fixture
def indexed(tmp_path, embedder):
    """A library with one indexed video, and a second transcript to index."""
    data = tmp_path / "lib" / "data"
    talk = write_json_transcript(tmp_path / "talk.json", [("The hardest part of caching is invalidation.", 0, 5),
                                                          ("Thanks for coming.", 60, 4)])
    assert main(["index", VIDEO, "--transcript", str(talk), "--data-dir", str(data), "-q"]) == 0
    return data, talk


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_read_only_data_dir_is_one_clear_line_and_keeps_what_is_stored(indexed):
    data, talk = indexed
    before = files_under(data)
    if _namespace_or_skip():
        folder = data.parent
        setup = f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} {folder}"
        index = in_mounts(setup, "index", "XpxTrDDcpPE", "--transcript", talk, "--data-dir", data, "-q")
        delete = in_mounts(setup, "delete", VIDEO, "--data-dir", data)
    elif os.geteuid() != 0:
        for path in [data, *data.rglob("*")]:
            if path.is_dir():
                path.chmod(0o555)
        try:
            index = ytqa_command("index", "XpxTrDDcpPE", "--transcript", talk, "--data-dir", data, "-q")
            delete = ytqa_command("delete", VIDEO, "--data-dir", data)
        finally:
            for path in [data, *data.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
    else:
        pytest.skip("root ignores file modes, and no mount namespace can be made here for a read-only mount")
    for done in (index, delete):
        assert done.returncode == 1
        err = one_clear_line(done)
        assert "read-only file system" in err or "permission denied" in err
    assert files_under(data) == before
    assert ytqa.Library(data).videos()[0].video_id == VIDEO


def test_a_full_disk_is_one_clear_line_and_leaves_no_temporary_files(tmp_path, embedder):
    if not _namespace_or_skip():
        pytest.skip("a small full file system needs root and a mount namespace (unshare -m)")
    folder = tmp_path / "small"
    folder.mkdir()
    transcript = ROOT.parent / "shared/data/transcripts/XpxTrDDcpPE.json"
    if not transcript.exists():
        pytest.skip(f"needs the shared real data at {transcript}")
    done = in_mounts(f"mount -t tmpfs -o size=300k tmpfs {folder}", "index", "XpxTrDDcpPE", "--transcript",
                     transcript, "--data-dir", folder / "data", "-q")
    assert done.returncode == 1
    assert "no space left on the device" in one_clear_line(done)


SIGNALLED = [("SIGTERM", 143), ("SIGHUP", 129)]


@pytest.mark.parametrize("name, code", SIGNALLED)
def test_a_stop_signal_ends_with_a_word_and_leaves_no_temporary_files(tmp_path, embedder, name, code):
    import signal
    import time

    talk = write_json_transcript(tmp_path / "long.json", [(f"Sentence {i} about caches, queues and disks.", i * 2, 2)
                                                          for i in range(6000)])
    data = tmp_path / "d"
    process = subprocess.Popen([sys.executable, "-m", "ytqa", "index", VIDEO, "--transcript", str(talk),
                                "--data-dir", str(data)], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                               cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), text=True)
    for line in process.stderr:
        if line.startswith("embedding:"):
            break
    time.sleep(0.5)
    process.send_signal(getattr(signal, name))
    err = process.stderr.read()
    assert process.wait(60) == code
    assert f"stopped by {name}" in err and "Traceback" not in err
    leftovers = [p for p in data.rglob(".*") if p.name.endswith(".tmp") or p.name.startswith(".building-")]
    assert not leftovers


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    from ytqa._storage import write_atomic

    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "file.json", "{}")
    finally:
        os.umask(previous)
    assert (tmp_path / "file.json").stat().st_mode & 0o777 == mode


# --- ytqa bench checks its arguments first ------------------------------------------


@pytest.fixture
def bench_talk(tmp_path):
    return write_json_transcript(tmp_path / f"{VIDEO}.json", [("The hardest part of caching is invalidation.", 0, 5)])


@pytest.mark.parametrize("flags, says", [
    (["--models", "nope"], "Cannot load the embedding model 'nope'"),
    (["--backends", "tensorrt"], "--backends 'tensorrt' names no known backend"),
    (["--transcript", "/no/such/file.json"], "no such file"),
])
def test_bench_with_a_bad_argument_says_so_before_measuring_anything(capsys, bench_talk, flags, says):
    code, out, err = run(capsys, "bench", "--transcript", bench_talk, *flags)
    assert code == 1 and says in err and "measuring" not in err and "Traceback" not in err


def test_bench_of_a_file_whose_name_is_not_a_video_id_asks_for_one(capsys, tmp_path):
    talk = write_json_transcript(tmp_path / "talk.json", [("Caching is hard.", 0, 5)])
    code, _, err = run(capsys, "bench", "--transcript", talk, "--models", "minilm")
    assert code == 1 and "name the video with --video ID" in err


def test_bench_exits_non_zero_when_every_variant_failed_and_leaves_no_temporary_folder(
        capsys, bench_talk, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code, out, err = run(capsys, "bench", "--transcript", bench_talk, "--models",
                         "sentence-transformers/no-such-model", "--backends", "onnx")
    assert code == 1
    assert "skipped: sentence-transformers/no-such-model/onnx failed: Cannot load" in err
    assert "Every variant failed" in err and "Traceback" not in err
    assert list(scratch.iterdir()) == []


# --- a weak match is said so -------------------------------------------------------

NONSENSE = ["zzzzqqqq", "asdf qwer zxcv", "xyzzy plugh", "blorp fnarg wibble", "qwertyuiop"]
OFF_TOPIC = ["How do I bake sourdough bread?", "Who painted the Mona Lisa?", "What does a giraffe eat?"]


@pytest.fixture(scope="module")
def talk_index(embedder, tmp_path_factory):
    from conftest import shared

    transcript = load_transcript_file(shared("transcripts", "XpxTrDDcpPE.json"), "XpxTrDDcpPE")
    library = ytqa.Library(tmp_path_factory.mktemp("weak") / "data", embedder=embedder)
    return library.index_transcript(transcript)


def test_nonsense_and_off_topic_questions_are_weak_matches(talk_index, embedder):
    """Over 94 videos, 98.9% of nonsense and 97.7% of off-topic questions are (README, Weak matches)."""
    strong = [q for q in NONSENSE + OFF_TOPIC if not ytqa.weak_match(talk_index.ask(q), embedder)]
    assert strong == []


def test_the_dev_questions_about_a_video_are_not_weak_matches(talk_index, embedder):
    from conftest import shared
    from ytqa._eval import load_questions

    questions = [q for q in load_questions(shared("eval", "dev_questions.jsonl")) if q.video_id == "XpxTrDDcpPE"]
    assert questions
    for q in questions:
        assert not ytqa.weak_match(talk_index.ask(q.question), embedder), q.question


def test_ask_says_when_no_passage_matches_well(capsys, tmp_path, embedder):
    talk = write_json_transcript(tmp_path / "talk.json", [
        ("Welcome, today we talk about caching.", 0, 5),
        ("The hardest part of caching is invalidation.", 65, 5)])
    code, out, _ = run(capsys, "ask", VIDEO, "zzzzqqqq", "--transcript", talk, "--data-dir", tmp_path / "d")
    assert code == 0 and out.startswith("No passage matches well (best similarity ")
    code, out, _ = run(capsys, "ask", VIDEO, "what is hard about caching", "--data-dir", tmp_path / "d", "--json")
    assert json.loads(out)["weak"] is False
    code, out, _ = run(capsys, "ask", VIDEO, "zzzzqqqq", "--data-dir", tmp_path / "d", "--json")
    assert json.loads(out)["weak"] is True


def test_a_model_without_a_calibrated_line_never_reports_a_weak_match():
    moment = ytqa.Moment(VIDEO, 0.0, 30.0, "text", 0.5, "text", similarity=0.0, best_in_video=0.0)
    assert ytqa.weak_match([moment], ytqa.resolve_model("minilm"))
    assert not ytqa.weak_match([moment], ytqa.resolve_model("e5"))
    assert not ytqa.weak_match([], ytqa.resolve_model("minilm"))


# --- collection files as someone edited them -----------------------------------------

PLAYLIST = "PLhQjrBD2T380F_inVRXMIHCqLaNUd7bN4"
OTHER = "PLbpi6ZahtOH6Blw3RGYpWkSByi_T7Rygb"


def write_collection(data_dir, playlist=PLAYLIST, **fields):
    """A collection file as ytqa writes it, with ``fields`` changed in its JSON."""
    saved = ytqa.SavedCollection(
        key=playlist, kind="playlist", id=playlist, title=f"Course {playlist[-4:]}",
        source=f"https://www.youtube.com/playlist?list={playlist}",
        url=f"https://www.youtube.com/playlist?list={playlist}",
        videos=(ytqa.SavedVideo(VIDEO, "A talk", 65.0, state="indexed"),), added=1.0)
    data = saved.to_json()
    for name, value in fields.items():
        if name.startswith("video_"):
            data["videos"][0][name[len("video_"):]] = value
        else:
            data[name] = value
    path = data_dir / "collections" / f"{playlist}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_a_collection_file_naming_another_path_as_its_key_is_reported_not_followed(capsys, tmp_path, where):
    data = tmp_path / "data"
    precious = tmp_path / "precious.json"
    precious.write_text("a stored transcript")
    key = str(tmp_path / "precious") if where == "absolute" else "../../precious"
    path = write_collection(data, key=key)
    code, out, err = run(capsys, "remove", PLAYLIST, "--data-dir", data)
    assert code == 1 and precious.read_text() == "a stored transcript"
    warning = err.splitlines()[0]
    assert warning.startswith(f"warning: skipped {path}: it names itself ")
    assert "does not follow it" in warning and "Traceback" not in err
    code, out, err = run(capsys, "collections", "--data-dir", data)
    assert code == 0 and out.startswith("No playlist or channel is added yet")
    assert err.count("\n") == 1 and f"skipped {path}" in err


def test_a_collection_key_that_is_a_path_is_refused_before_any_file_is_touched(tmp_path):
    store = ytqa.CollectionStore(tmp_path / "data")
    for key in ("../victim", "/etc/passwd", "..", ".hidden", "a/b", ""):
        with pytest.raises(ytqa.YtqaError, match="is not a collection key"):
            store.remove(key)
    assert not (tmp_path / "victim.json").exists()


ILL_TYPED = [
    pytest.param({"videos": 5}, "videos: Input should be a valid list", id="videos-a-number"),
    pytest.param({"videos": "abc"}, "videos: Input should be a valid list", id="videos-a-text"),
    pytest.param({"video_video_id": ["x"]}, "videos.0.video_id: Input should be a valid string",
                 id="video-id-a-list"),
    pytest.param({"video_duration": "65"}, "videos.0.duration: Input should be a valid number",
                 id="duration-a-text"),
    pytest.param({"title": None}, "title: Input should be a valid string", id="title-missing"),
]


@pytest.mark.parametrize("change, why", ILL_TYPED)
def test_an_ill_typed_collection_file_is_skipped_with_one_named_line_and_the_rest_works(
        capsys, tmp_path, change, why):
    data = tmp_path / "data"
    bad = write_collection(data, **change)
    write_collection(data, OTHER)
    talk = write_json_transcript(tmp_path / "talk.json", [("A talk about caching and invalidation.", 0, 65)])
    assert run(capsys, "index", VIDEO, "--transcript", talk, "--data-dir", data, "-q")[0] == 0
    for argv in (["collections"], ["collections", OTHER], ["list"]):
        code, out, err = run(capsys, *argv, "--data-dir", data)
        assert code == 0 and "Traceback" not in err, err
        assert err == f"warning: skipped {bad}: its field {why}; fix or delete that file " \
                      "(ytqa add LINK lists the playlist or channel again)\n"
        assert "Course " + OTHER[-4:] in out and "Course " + PLAYLIST[-4:] not in out
    store = ytqa.CollectionStore(data)
    assert [c.key for c in store.all()] == [OTHER] and list(store.skipped) == [str(bad)]


# --- text from outside reaches no terminal raw -----------------------------------------

#: OSC 0 (retitle the terminal), OSC 52 (write the clipboard), CSI 2J (clear the screen),
#: and the bidirectional override and isolate characters.
HOSTILE = ("\x1b]0;pwned\x07Cloud\x1b]52;c;cm0gLXJmIH4=\x07 course\x1b[2J \u202eevil\u202c "
           "\u2066x\u2069 \x9b31m8-bit")
SHOWN = "Cloud course evil x 8-bit"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069", "pwned", "cm0gLXJmIH4=")


def assert_clean(text):
    assert not [raw for raw in RAW if raw in text], repr(text)


def test_the_gate_removes_osc_csi_and_bidirectional_overrides():
    from ytqa._transcript import clean_text

    assert clean_text(HOSTILE) == SHOWN


@pytest.fixture
def youtube_answers():
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_a_hostile_video_title_from_youtube_is_printed_clean(capsys, tmp_path, youtube_answers):
    import responses
    from fakes import PLAYER, RecordedYouTube, _text

    RecordedYouTube(youtube_answers)
    player = json.loads(_text("youtube.innertube.json.static"))
    player["videoDetails"]["title"] = HOSTILE
    youtube_answers.replace(responses.POST, PLAYER, json=player)
    code, out, err = run(capsys, "index", "GJLlxj_dtq8", "--data-dir", tmp_path, "-q")
    assert code == 0, err
    assert out.rstrip().endswith(f" - {SHOWN}")
    code, out, err = run(capsys, "list", "--data-dir", tmp_path)
    assert code == 0 and out.rstrip().endswith(SHOWN)
    assert_clean(out + err)


def test_hostile_playlist_and_video_titles_from_yt_dlp_are_printed_clean(
        capsys, tmp_path, youtube_answers, monkeypatch):
    import yt_dlp
    from fakes import PLAYLIST_URL, RecordedYouTube, listing, youtube_dl

    result = listing("ytdlp_playlist.json")
    result["title"] = HOSTILE
    result["channel"] = HOSTILE
    for entry in result["entries"]:
        if entry.get("title"):
            entry["title"] = HOSTILE
    monkeypatch.setattr(yt_dlp, "YoutubeDL", youtube_dl(result))
    RecordedYouTube(youtube_answers)
    code, out, err = run(capsys, "add", PLAYLIST_URL, "--delay", 0, "--data-dir", tmp_path)
    assert code == 0, err
    assert out.startswith(f"{SHOWN} (playlist, 7 videos; key ") and f"indexed  eF8Qqp7rjDg  {SHOWN}" in out
    assert_clean(out + err)
    for argv in (["collections"], ["collections", "PLbpi6ZahtOH6Blw3RGYpWkSByi_T7Rygb"], ["list"]):
        code, out, err = run(capsys, *argv, "--data-dir", tmp_path)
        assert code == 0 and SHOWN in out, err
        assert_clean(out + err)


def test_a_hostile_title_written_into_a_collection_file_is_printed_clean(capsys, tmp_path):
    data = tmp_path / "data"
    write_collection(data, title=HOSTILE, video_title=HOSTILE, channel=HOSTILE)
    code, out, err = run(capsys, "collections", PLAYLIST, "--data-dir", data)
    assert code == 0 and out.startswith(f"{SHOWN} (playlist, 1 videos") and err == ""
    assert_clean(out)


def test_a_hostile_file_name_is_stored_and_shown_clean(tmp_path):
    talk = write_json_transcript(tmp_path / "talk.json", [("A talk about caching.", 0, 5)])
    transcript = parse_subtitles(talk.read_bytes(), f"{HOSTILE}.json", VIDEO)
    assert transcript.source == f"{SHOWN}.json"
