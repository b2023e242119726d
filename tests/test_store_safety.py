"""What is stored is never lost to a rejected file, a delete racing an index, a tampered
folder or a stopped process (issue 16, the store's points), on both stores where they apply.

Real processes race each other here; the model is the word-hash stand-in (fake_model), so
what is timed is the store, not the embedding."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import ytqa
from ytqa import Library
from ytqa._files_store import FileStore, verified
from ytqa._open_indexes import Recent
from ytqa.cli import main
from conftest import ROOT, write_json_transcript
from fake_model import WordHashEmbedder

TESTS = Path(__file__).resolve().parent
VIDEO, OTHER, THIRD = "dQw4w9WgXcQ", "nTgKbiWg-YY", "XpxTrDDcpPE"
TALK = [
    ("Welcome everyone, today I will talk about caching in web applications.", 0, 6),
    ("Browsers kept copies of pages on disk since the nineties.", 6, 6),
    ("Now let me tell you about my cat, Professor Whiskers.", 40, 5),
    ("He sleeps on the keyboard whenever I try to write code.", 45, 6),
    ("Back to caching: the hardest part is invalidation.", 80, 5),
    ("A time to live, or TTL, bounds how stale a copy can get.", 91, 6),
    ("Thanks for listening, and see you at the next conference.", 130, 5),
]
BREAD = [
    ("Sourdough bread needs a starter fed with flour and water.", 0, 6),
    ("Knead the dough until it is smooth and elastic.", 10, 6),
    ("Bake the loaf in a very hot oven with steam.", 20, 6),
    ("Let the bread cool before you slice it.", 30, 6),
]
GARDEN = [
    ("Tomatoes grow best in full sun in the garden.", 0, 6),
    ("Water the tomatoes deeply every morning.", 10, 6),
    ("Pinch the side shoots so the plant grows tall.", 20, 6),
]
MUSIC_ONLY = "1\n00:00:01,000 --> 00:00:04,000\n[Music]\n\n2\n00:00:05,000 --> 00:00:09,000\n[Music]\n"

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
import ytqa
from fake_model import WordHashEmbedder

class Slow(WordHashEmbedder):
    def embed_documents(self, texts, progress=None, batch_size=256):
        print("EMBEDDING", flush=True)
        time.sleep(float(sys.argv[5]))
        return super().embed_documents(texts, progress, batch_size)

library = ytqa.Library(sys.argv[2], embedder=Slow())
try:
    index = library.index(sys.argv[3], transcript_file=sys.argv[4])
except ytqa.YtqaError as error:
    print("ERROR", error, flush=True)
    sys.exit(1)
print("INDEXED", index.transcript.fingerprint(), flush=True)
"""

LOCKER = """
import sys, time
from ytqa._files_store import FileStore
with FileStore(sys.argv[1]).lock(sys.argv[2]):
    print("LOCKED", flush=True)
    time.sleep(120)
"""


@pytest.fixture(params=["files", "postgres"])
def where(request, tmp_path):
    """A library location: a data folder, or a database of its own on the test server."""
    if request.param == "files":
        return str(tmp_path / "data")
    return request.getfixturevalue("postgres_database")


def library(where, embedder=None) -> Library:
    return Library(where, embedder=embedder or WordHashEmbedder())


def talk_file(tmp_path: Path, rows=TALK, name="talk.json") -> Path:
    return write_json_transcript(tmp_path / name, rows)


def answers(lib: Library, video: str, question: str):
    return [(m.start, m.end, m.text) for m in lib.ask(video, question)]


def child(where, video, transcript, delay=0.0):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(TESTS), str(where), video, str(transcript),
                             str(delay)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def wait_for(process, word: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        if line.startswith(word):
            return line
        assert time.monotonic() < deadline, f"no {word} from the child"
    raise AssertionError(f"the child ended without {word}: {process.stderr.read()[-2000:]}")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- 16.1: a rejected transcript replaces nothing ----------------------------------------


def test_a_rejected_subtitle_file_leaves_the_stored_transcript_and_its_index(where, tmp_path):
    lib = library(where)
    lib.index(VIDEO, transcript_file=talk_file(tmp_path))
    before = lib.stored_transcript(VIDEO)
    key = lib.index_key(before)
    music = tmp_path / "music.srt"
    music.write_text(MUSIC_ONLY)
    with pytest.raises(ytqa.EmptyTranscript):
        lib.index(VIDEO, transcript_file=music)
    again = library(where)
    assert again.stored_transcript(VIDEO) == before
    assert again.store.has(key)
    assert "invalidation" in again.ask(VIDEO, "what is the hardest part of caching?")[0].text


def test_a_rejected_upload_leaves_the_stored_transcript(where, tmp_path):
    lib = library(where)
    lib.index(VIDEO, transcript_file=talk_file(tmp_path))
    before = lib.stored_transcript(VIDEO)
    upload = lib.transcript_from_upload(VIDEO, MUSIC_ONLY.encode(), "music.srt")
    with pytest.raises(ytqa.EmptyTranscript):
        lib.index_transcript(upload, quick=True)
    assert library(where).stored_transcript(VIDEO) == before
    assert [v.title for v in library(where).videos()] == [before.title]


def test_a_new_transcript_replaces_the_stored_one_once_it_is_indexed(where, tmp_path):
    lib = library(where)
    lib.index(VIDEO, transcript_file=talk_file(tmp_path))
    newer = lib.index(VIDEO, transcript_file=talk_file(tmp_path, BREAD, "bread.json"))
    assert library(where).stored_transcript(VIDEO) == newer.transcript
    assert "oven" in library(where).ask(VIDEO, "how is the loaf baked?")[0].text


# --- 16.3, 16.28, 16.30: index, delete, index at once; a delete stays deleted -------------


def test_index_delete_index_at_once_ends_with_what_each_command_reported(where, tmp_path, capsys):
    first = child(where, VIDEO, talk_file(tmp_path), delay=4)
    wait_for(first, "EMBEDDING")  # inside the video's lock
    started = time.monotonic()
    code, _, err = run(capsys, "delete", VIDEO, *(["--store", where] if "://" in where else ["--data-dir", where]))
    assert time.monotonic() - started < 5  # refused at once, not after the build
    assert code == 1 and "being indexed" in err and "try again" in err.lower()
    second = child(where, VIDEO, talk_file(tmp_path, BREAD, "bread.json"))
    first_said, second_said = wait_for(first, "INDEXED"), wait_for(second, "INDEXED")
    assert first.wait(60) == 0 and second.wait(60) == 0
    lib = library(where)
    stored = lib.stored_transcript(VIDEO)
    assert second_said.split()[1] == stored.fingerprint() != first_said.split()[1]
    [listed] = lib.videos()
    assert listed.video_id == VIDEO and listed.indexed
    assert "oven" in lib.ask(VIDEO, "how is the loaf baked?")[0].text


def test_a_delete_while_a_background_build_runs_is_refused_at_once_and_nothing_is_lost(where, tmp_path):
    release = threading.Event()

    class Held(WordHashEmbedder):
        def embed_documents(self, texts, progress=None, batch_size=256):
            release.wait(30)
            return super().embed_documents(texts, progress, batch_size)

    builder = library(where, Held())
    release.set()
    builder.index(VIDEO, transcript_file=talk_file(tmp_path), quick=True)
    release.clear()
    done = []
    thread = threading.Thread(target=lambda: done.append(builder.complete(VIDEO)))
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    with pytest.raises(ytqa.VideoBusy, match="being indexed"):
        library(where).delete(VIDEO)
    assert time.monotonic() - started < 5
    release.set()
    thread.join(30)
    assert done and [v.video_id for v in library(where).videos()] == [VIDEO]


def test_a_build_that_finishes_after_a_delete_does_not_bring_the_video_back(where, tmp_path):
    lib = library(where)
    lib.index(VIDEO, transcript_file=talk_file(tmp_path), quick=True)
    opened_by_another = library(where)
    transcript = opened_by_another.stored_transcript(VIDEO)  # a page that read it before the delete
    lib.delete(VIDEO)
    built = ytqa._builder.build_index(transcript, opened_by_another.embedder, opened_by_another.progression.recipe())
    with pytest.raises(ytqa.DeletedWhileIndexing):
        opened_by_another.store.put(opened_by_another.progression.recipe().info(transcript, built), built)
    with pytest.raises(ytqa.NotIndexed):
        opened_by_another.complete(VIDEO)
    assert library(where).videos() == [] and library(where).stored_transcript(VIDEO) is None


def test_search_all_searches_what_is_indexed_never_builds_and_says_what_it_skipped(where, tmp_path):
    lib = library(where)
    lib.index(VIDEO, transcript_file=talk_file(tmp_path))
    waiting = ytqa.load_transcript_file(talk_file(tmp_path, BREAD, "bread.json"), OTHER)
    lib.save_transcript(waiting)  # stored, not indexed yet
    moments = lib.ask_all("how is the loaf baked in the oven?", k=3)
    assert {m.video_id for m in moments} == {VIDEO}
    assert not lib.store.has(lib.index_key(waiting)) and not lib.store.has(lib.index_key(waiting, "sentences"))
    assert lib.not_searched() == [OTHER]


def test_the_open_index_cache_forgets_the_least_recently_used_beyond_its_budget():
    cache = Recent(64, budget=100, weigh=lambda value: value)
    cache["a"], cache["b"] = 40, 40
    cache["a"]  # used again: "b" is now the oldest
    cache["c"] = 40
    assert list(cache) == ["a", "c"] and cache.weight == 80
    cache["huge"] = 500  # the newest always stays, alone
    assert list(cache) == ["huge"]


@pytest.mark.parametrize("budget,kept", [(1, [THIRD]), (1 << 30, [VIDEO, OTHER, THIRD])])
def test_a_library_keeps_open_indexes_within_its_memory_budget(tmp_path, monkeypatch, budget, kept):
    monkeypatch.setattr(ytqa._open_indexes, "OPEN_BYTES", budget)
    lib = library(str(tmp_path / "data"))
    for video, rows in ((VIDEO, TALK), (OTHER, BREAD), (THIRD, GARDEN)):
        lib.index(video, transcript_file=talk_file(tmp_path, rows, f"{video}.json"))
    assert [index.video_id for index in lib.progression.opened.values()] == kept
    assert lib.progression.opened.weight > 0


# --- 16.4: never an answer from half an index ----------------------------------------------


def test_asking_while_another_process_deletes_and_indexes_never_answers_from_half_an_index(where, tmp_path):
    data = where
    rows = [(f"Sentence {i} about servers, caches and {w} in production.", i * 4.0, 4.0)
            for i, w in enumerate(["queues", "disks", "threads", "alerts", "budgets", "reviews"] * 8)]
    rows[30] = ("The lighthouse keeper painted his boat bright orange.", 120.0, 4.0)
    path = write_json_transcript(tmp_path / "t.json", rows)
    lib = library(data)
    lib.index(VIDEO, transcript_file=path)
    expected = answers(lib, VIDEO, "lighthouse keeper boat")
    loop = (f"import sys; sys.path.insert(0, {str(TESTS)!r})\nimport ytqa, time\n"
            "from fake_model import WordHashEmbedder\n"
            f"lib = ytqa.Library({data!r}, embedder=WordHashEmbedder())\n"
            "end = time.monotonic() + 8\n"
            "while time.monotonic() < end:\n"
            "    try:\n"
            f"        lib.delete({VIDEO!r}); lib.index({VIDEO!r}, transcript_file={str(path)!r})\n"
            "    except ytqa.YtqaError:\n"
            "        pass\n")
    racer = subprocess.Popen([sys.executable, "-c", loop], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    seen = {"answered": 0, "named": 0}
    try:
        while racer.poll() is None:
            asker = library(data)  # a fresh one each time: nothing answered from memory
            try:
                got = answers(asker, VIDEO, "lighthouse keeper boat")
            except ytqa.YtqaError:  # deleted meanwhile: named (not stored, deleted while opening...)
                seen["named"] += 1
                continue
            finally:
                asker.store.close()
            assert got == expected
            seen["answered"] += 1
    finally:
        racer.wait(30)
    assert racer.returncode == 0, racer.stderr.read()[-2000:]
    assert seen["answered"] > 0


# --- 16.5, 16.6: no path from a stored field ------------------------------------------------


def files_in(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*")}


@pytest.mark.parametrize("planted", ["../../escaped", "/tmp/ytqa-escaped-abs", OTHER])
def test_a_stored_video_id_is_checked_against_its_folder_and_never_becomes_a_path(tmp_path, capsys, planted):
    data = tmp_path / "work" / "data"
    library(str(data)).index(VIDEO, transcript_file=talk_file(tmp_path))
    path = data / "videos" / VIDEO / "transcript.json"
    stored = json.loads(path.read_text())
    stored["video_id"] = planted
    path.write_text(json.dumps(stored))
    outside = files_in(tmp_path) - files_in(data)
    with pytest.raises(ytqa.StoredVideoDamaged, match="another video"):
        library(str(data)).ask(VIDEO, "cat keyboard")
    [listed] = library(str(data)).videos()
    assert listed.video_id == VIDEO and "another video" in listed.damaged
    assert files_in(tmp_path) - files_in(data) == outside
    assert not Path("/tmp/ytqa-escaped-abs").exists()


@pytest.mark.parametrize("name", ["/dev/zero", "../../../../../dev/zero"])
def test_an_index_listing_a_file_it_does_not_have_is_damage_and_is_rebuilt(tmp_path, name):
    data = tmp_path / "data"
    lib = library(str(data))
    lib.index(VIDEO, transcript_file=talk_file(tmp_path))
    expected = answers(lib, VIDEO, "cat keyboard")
    folder = lib.store.folder(lib.index_key(lib.stored_transcript(VIDEO)))
    meta = json.loads((folder / "meta.json").read_text())
    meta["files"][name] = "0" * 64
    (folder / "meta.json").write_text(json.dumps(meta))
    def hung(*_):
        raise TimeoutError("still reading what the index lists after 30 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)  # /dev/zero would be read for ever
    try:
        assert answers(library(str(data)), VIDEO, "cat keyboard") == expected
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert set(json.loads((folder / "meta.json").read_text())["files"]) <= {"chunks.json", "vectors.faiss",
                                                                           "sentences.npy"}


# --- 16.11: swapped or copied folders -------------------------------------------------------


def two_videos(tmp_path) -> Path:
    data = tmp_path / "data"
    lib = library(str(data))
    lib.index(VIDEO, transcript_file=talk_file(tmp_path))
    lib.index(OTHER, transcript_file=talk_file(tmp_path, BREAD, "bread.json"))
    return data


def test_swapped_video_folders_are_damage_never_the_other_videos_answer(tmp_path):
    data = two_videos(tmp_path)
    videos = data / "videos"
    os.rename(videos / VIDEO, videos / "swap")
    os.rename(videos / OTHER, videos / VIDEO)
    os.rename(videos / "swap", videos / OTHER)
    with pytest.raises(ytqa.StoredVideoDamaged, match="another video"):
        library(str(data)).ask(VIDEO, "how is the loaf baked?")
    assert {v.video_id: bool(v.damaged) for v in library(str(data)).videos()} == {VIDEO: True, OTHER: True}


def test_a_transcript_copied_into_another_folder_is_listed_once_and_the_copy_as_damaged(tmp_path):
    data = two_videos(tmp_path)
    (data / "videos" / THIRD).mkdir()
    shutil.copy(data / "videos" / VIDEO / "transcript.json", data / "videos" / THIRD / "transcript.json")
    listed = {v.video_id: v for v in library(str(data)).videos()}
    assert set(listed) == {VIDEO, OTHER, THIRD}
    assert not listed[VIDEO].damaged and "another video" in listed[THIRD].damaged


def test_an_index_folder_copied_under_another_name_is_damage_and_rebuilt(tmp_path):
    data = two_videos(tmp_path)
    lib = library(str(data))
    key = lib.index_key(lib.stored_transcript(VIDEO))
    source = lib.store.folder(lib.index_key(lib.stored_transcript(OTHER)))
    target = lib.store.folder(key)
    shutil.rmtree(target)
    shutil.copytree(source, target)
    assert library(str(data)).store.get(key) is None  # another index's files: not this one
    assert "cat" in library(str(data)).ask(VIDEO, "cat keyboard")[0].text


# --- 16.12, 16.13, 16.27, 16.33: damaged or ill-typed stored files ---------------------------


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "lines", "language_code", "video_id", "huge_start",
                                    "infinite_start"])
def test_a_damaged_stored_transcript_is_listed_named_and_deletable(tmp_path, capsys, damage):
    data = two_videos(tmp_path)
    path = data / "videos" / VIDEO / "transcript.json"
    text = path.read_text()
    stored = json.loads(text)
    if damage == "truncated":
        path.write_text(text[: len(text) // 2])
    elif damage == "zeroed":
        path.write_bytes(b"\0" * len(text))
    else:
        value = {"lines": "abc", "language_code": ["en"], "video_id": 5}.get(damage)
        if damage == "huge_start":
            stored["lines"][1][1] = 1e308
        elif damage == "infinite_start":
            stored["lines"][1][1] = float("inf")
        else:
            stored[damage] = value
        path.write_text(json.dumps(stored))
    code, out, _ = run(capsys, "list", "--data-dir", data)
    assert code == 0 and OTHER in out and f"{VIDEO}  DAMAGED" in out and f"ytqa delete {VIDEO}" in out
    code, _, err = run(capsys, "ask", VIDEO, "cat keyboard", "--data-dir", data)
    assert code == 1 and "damaged" in err and "YouTube" in err and "Cannot reach" not in err
    assert "Traceback" not in err
    code, out, _ = run(capsys, "delete", VIDEO, "--data-dir", data)
    assert code == 0 and not (data / "videos" / VIDEO).exists()
    assert [v.video_id for v in library(str(data)).videos()] == [OTHER]


def test_a_transcript_missing_beside_its_indexes_is_listed_as_damaged_and_deletable(tmp_path):
    data = two_videos(tmp_path)
    (data / "videos" / VIDEO / "transcript.json").unlink()
    listed = {v.video_id: v.damaged for v in library(str(data)).videos()}
    assert "missing" in listed[VIDEO] and listed[OTHER] is None
    library(str(data)).delete(VIDEO)
    assert not (data / "videos" / VIDEO).exists()


def test_wrong_types_in_the_catalog_are_scanned_again_from_the_folders(tmp_path):
    data = two_videos(tmp_path)
    catalog = json.loads((data / "catalog.json").read_text())
    catalog["videos"][VIDEO]["video"]["duration"] = "long"
    catalog["videos"][OTHER]["video"]["video_id"] = "../../x"
    for index in catalog["videos"][OTHER]["indexes"].values():
        index["chunks"] = "abc"
    (data / "catalog.json").write_text(json.dumps(catalog))
    lib = library(str(data))
    listed = {v.video_id: v for v in lib.videos()}
    assert set(listed) == {VIDEO, OTHER} and not any(v.damaged for v in listed.values())
    assert listed[VIDEO].duration == pytest.approx(135)
    assert "oven" in lib.ask_all("how is the loaf baked?", k=1)[0].text


def test_a_damaged_transcript_row_on_the_server_is_named_listed_and_deletable(postgres_database, tmp_path):
    import psycopg

    lib = library(postgres_database)
    lib.index(VIDEO, transcript_file=talk_file(tmp_path))
    lib.index(OTHER, transcript_file=talk_file(tmp_path, BREAD, "bread.json"))
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("UPDATE ytqa_videos SET transcript = %s WHERE video_id = %s", ('{"video_id": 5', VIDEO))
    with pytest.raises(ytqa.StoredVideoDamaged, match=f"ytqa delete {VIDEO}"):
        library(postgres_database).ask(VIDEO, "cat keyboard")
    assert {v.video_id for v in library(postgres_database).videos()} == {VIDEO, OTHER}
    library(postgres_database).delete(VIDEO)
    assert [v.video_id for v in library(postgres_database).videos()] == [OTHER]


# --- 16.17: a lock held by a stopped process --------------------------------------------------


def test_a_lock_held_by_a_stopped_process_is_named_and_given_up_on(tmp_path, capsys):
    data = tmp_path / "data"
    lib = library(str(data))
    lib.save_transcript(ytqa.load_transcript_file(talk_file(tmp_path), VIDEO))  # stored, to be built
    holder = subprocess.Popen([sys.executable, "-c", LOCKER, str(data), VIDEO], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    try:
        wait_for(holder, "LOCKED")
        holder.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        code, _, err = run(capsys, "ask", VIDEO, "cat keyboard", "--data-dir", data)
        assert time.monotonic() - started < 30
        assert code == 1 and f"process {holder.pid}" in err and "stopped" in err
        assert f"waiting for process {holder.pid}" in err  # said while it waited
        code, _, err = run(capsys, "delete", VIDEO, "--data-dir", data)
        assert code == 1 and f"process {holder.pid}" in err and "being indexed" in err
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.kill()
        holder.wait(10)
    assert library(str(data)).stored_transcript(VIDEO) is not None


def test_a_lock_held_for_long_is_given_up_on_after_the_bound(tmp_path):
    data = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", LOCKER, str(data), VIDEO], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    try:
        wait_for(holder, "LOCKED")
        told = []
        store = FileStore(data, lock_wait=1.0, notice=told.append)
        with pytest.raises(ytqa.LockTimeout, match=f"process {holder.pid}"):
            with store.lock(VIDEO):
                pass
        assert told and VIDEO in told[0]
    finally:
        holder.kill()
        holder.wait(10)


def test_a_lock_on_the_server_held_by_another_client_names_it_and_is_given_up_on(postgres_database):
    from ytqa._postgres import PostgresStore

    first, second = PostgresStore(postgres_database), PostgresStore(postgres_database, lock_wait=1.0)
    try:
        with first.lock(VIDEO):
            with pytest.raises(ytqa.LockTimeout, match=f"ytqa pid {os.getpid()}"):
                with second.lock(VIDEO):
                    pass
    finally:
        first.close()
        second.close()


# --- 16.20: wrong kinds of files ---------------------------------------------------------------


@pytest.mark.parametrize("command", [["list"], ["delete", VIDEO], ["ask", VIDEO, "cat keyboard"]])
def test_a_data_dir_that_is_a_file_is_one_clear_line(tmp_path, capsys, command):
    data = tmp_path / "data"
    data.write_text("not a folder")
    code, _, err = run(capsys, *command, "--data-dir", data)
    assert code == 1 and "is a file, not a folder" in err and "--data-dir" in err
    assert data.read_text() == "not a folder"


def test_an_indexes_entry_that_is_a_file_is_put_aside_and_the_index_rebuilt(tmp_path):
    data = two_videos(tmp_path)
    indexes = data / "videos" / VIDEO / "indexes"
    shutil.rmtree(indexes)
    indexes.write_text("x")
    assert "cat" in library(str(data)).ask(VIDEO, "cat keyboard")[0].text
    assert indexes.is_dir()


def test_a_transcript_that_is_a_folder_is_listed_as_damaged_and_healed_by_indexing_again(tmp_path):
    data = two_videos(tmp_path)
    path = data / "videos" / VIDEO / "transcript.json"
    path.unlink()
    path.mkdir()
    assert "folder" in {v.video_id: v.damaged for v in library(str(data)).videos()}[VIDEO]
    library(str(data)).index(VIDEO, transcript_file=talk_file(tmp_path))
    assert path.is_file() and not any(v.damaged for v in library(str(data)).videos())


def test_a_lock_that_is_a_folder_is_named_with_the_fix(tmp_path):
    data = tmp_path / "data"
    (data / "locks" / f"{VIDEO}.lock").mkdir(parents=True)
    with pytest.raises(ytqa.StoreDamaged, match="lock file is a folder.*Remove it"):
        library(str(data)).index(VIDEO, transcript_file=talk_file(tmp_path))


def test_an_old_lock_folder_inside_the_video_folder_is_no_obstacle(tmp_path):
    data = two_videos(tmp_path)
    (data / "videos" / VIDEO / ".lock").mkdir()
    library(str(data)).index(VIDEO, transcript_file=talk_file(tmp_path, GARDEN, "garden.json"))
    assert "tomatoes" in library(str(data)).ask(VIDEO, "water the tomatoes")[0].text.lower()


# --- 16.23: delete says what it did ------------------------------------------------------------


def test_deleting_a_video_that_is_not_stored_says_so_and_exits_non_zero(where, capsys, tmp_path):
    flag = ["--store", where] if "://" in where else ["--data-dir", where]
    code, out, err = run(capsys, "delete", VIDEO, *flag)
    assert code == 1 and "deleted" not in out and f"No video {VIDEO} is stored" in err


def test_deleting_from_a_mistyped_data_dir_says_nothing_was_deleted(tmp_path, capsys):
    data = two_videos(tmp_path)
    code, out, err = run(capsys, "delete", VIDEO, "--data-dir", tmp_path / "dta")
    assert code == 1 and "nothing was deleted" in err and (data / "videos" / VIDEO).exists()


def test_a_delete_that_stopped_half_way_is_finished_by_the_next(tmp_path):
    data = two_videos(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = data / "videos" / f".trash-{THIRD}-{dead.stdout.strip()}-abcdef"
    shutil.copytree(data / "videos" / OTHER, leftover)
    library(str(data)).delete(VIDEO)
    assert sorted(os.listdir(data / "videos")) == [OTHER]


def test_a_delete_that_cannot_remove_everything_says_so(tmp_path):
    data = two_videos(tmp_path)
    stuck = data / "videos" / VIDEO / "indexes"
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("needs chattr +i (root on a filesystem with immutable files) to make a file undeletable")
    try:
        with pytest.raises(ytqa.DeleteIncomplete, match="could not be removed"):
            library(str(data)).delete(VIDEO)
    finally:
        for found in data.rglob("indexes"):
            subprocess.run(["chattr", "-i", str(found)])
    assert [v.video_id for v in library(str(data)).videos()] == [OTHER]


def test_a_folder_of_locks_that_is_a_file_is_named_with_the_fix(tmp_path):
    data = two_videos(tmp_path)
    shutil.rmtree(data / "locks")
    (data / "locks").write_text("x")
    with pytest.raises(ytqa.StoreDamaged, match="folder of locks is a file.*Remove it"):
        library(str(data)).index(VIDEO, transcript_file=talk_file(tmp_path, GARDEN, "garden.json"))
    assert "cat" in library(str(data)).ask(VIDEO, "cat keyboard")[0].text  # what is stored still answers
