"""The store's records (collections, histories) on both stores, collections' owners, and
histories that follow a signed-in person: every piece of shared state in the store, so two
processes on one PostgreSQL see one set of collections and one person's history."""

import json
import os
import subprocess
import sys
import threading

import pytest
import responses

import ytqa
from conftest import ROOT
from fakes import DART, PLAYLIST_ID, PLAYLIST_URL, RecordedYouTube, listing, youtube_dl
from ytqa.web.history import Answer, History, new_token

# --- the records protocol, on both stores ---------------------------------------------


def test_a_record_is_written_read_listed_and_removed(store):
    records = store.records("collections")
    assert records.get("PLone") is None and records.keys() == []
    assert records.update("PLone", lambda before: {"n": 1, "before": before}) == {"n": 1, "before": None}
    records.update("PLtwo", lambda before: {"n": 2})
    assert records.get("PLone") == {"n": 1, "before": None}
    assert records.keys() == ["PLone", "PLtwo"]
    records.remove("PLone")
    assert records.keys() == ["PLtwo"] and records.get("PLone") is None


def test_records_of_two_kinds_never_mix(store):
    store.records("collections").update("same-key", lambda _: {"kind": "collection"})
    store.records("histories").update("same-key", lambda _: {"kind": "history"})
    assert store.records("collections").get("same-key") == {"kind": "collection"}
    assert store.records("histories").get("same-key") == {"kind": "history"}


def test_concurrent_updates_of_one_record_lose_none(store):
    records = store.records("histories")

    def add_many(name):
        for n in range(15):
            records.update("counter", lambda before: {**(before or {}), f"{name}{n}": True})

    threads = [threading.Thread(target=add_many, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(records.get("counter")) == 60


def test_a_change_that_fails_leaves_the_record_as_it_was(store):
    records = store.records("collections")
    records.update("PLkept", lambda _: {"n": 1})

    def fail(before):
        raise ytqa.YtqaError("refused")

    with pytest.raises(ytqa.YtqaError):
        records.update("PLkept", fail)
    with pytest.raises(ytqa.YtqaError):
        records.update("PLnew", fail)
    assert records.get("PLkept") == {"n": 1} and records.keys() == ["PLkept"]


@pytest.mark.parametrize("key", ["../victim", "/etc/passwd", "..", ".hidden", "a/b", ""])
def test_a_key_that_could_be_a_path_is_refused(store, key):
    with pytest.raises(ytqa.YtqaError, match="is not a collection key"):
        store.records("collections").update(key, lambda _: {})


def test_on_files_the_layout_is_the_one_ytqa_always_had(tmp_path):
    from ytqa._files_store import FileStore

    store = FileStore(tmp_path)
    store.records("collections").update(PLAYLIST_ID, lambda _: {"a": 1})
    store.records("histories").update("t" * 24, lambda _: {"b": 2})
    assert json.loads((tmp_path / "collections" / f"{PLAYLIST_ID}.json").read_text()) == {"a": 1}
    assert json.loads((tmp_path / "app" / "histories" / f"{'t' * 24}.json").read_text()) == {"b": 2}


# --- collections' owners -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def administrators(monkeypatch):
    monkeypatch.setenv("YTQA_ADMINS", "root")


def added_by(data_dir, embedder, user):
    library = ytqa.Library(data_dir, embedder=embedder, user=user)
    return ytqa.Collections(library, delay=0, youtube_dl=youtube_dl(listing("ytdlp_playlist.json")))


def test_a_collection_added_by_a_person_is_theirs_and_private(tmp_path, embedder):
    saved = added_by(tmp_path, embedder, "ana").add(PLAYLIST_URL)
    assert (saved.owner, saved.shared) == ("ana", False)
    assert [c.key for c in added_by(tmp_path, embedder, "ana").all()] == [PLAYLIST_ID]
    assert added_by(tmp_path, embedder, "bob").all() == []
    with pytest.raises(ytqa.UnknownCollection):
        added_by(tmp_path, embedder, "bob").get(PLAYLIST_ID)


def test_a_shared_or_unowned_collection_is_seen_by_everyone(tmp_path, embedder):
    added_by(tmp_path / "shared", embedder, "ana").add(PLAYLIST_URL)
    added_by(tmp_path / "shared", embedder, "ana").share(PLAYLIST_ID)
    assert [c.owner for c in added_by(tmp_path / "shared", embedder, "bob").all()] == ["ana"]
    added_by(tmp_path / "unowned", embedder, None).add(PLAYLIST_URL)
    assert [c.owner for c in added_by(tmp_path / "unowned", embedder, "bob").all()] == [None]


@pytest.mark.parametrize("action", ["remove", "sync", "index", "share"])
def test_only_the_owner_or_an_administrator_may_change_a_collection(tmp_path, embedder, action):
    added_by(tmp_path, embedder, "ana").add(PLAYLIST_URL)
    added_by(tmp_path, embedder, "ana").share(PLAYLIST_ID)
    bob = added_by(tmp_path, embedder, "bob")
    with pytest.raises(ytqa.CollectionNotYours) as refused:
        getattr(bob, action)(PLAYLIST_ID)
    assert str(refused.value).startswith(f"bob cannot {action} Cloud, hardware and history")
    assert "YTQA_ADMINS" in str(refused.value)
    admin = added_by(tmp_path, embedder, "root")
    admin.remove(PLAYLIST_ID)
    assert added_by(tmp_path, embedder, "ana").all() == []


def test_the_same_playlist_added_privately_by_two_people_is_two_collections(tmp_path, embedder):
    ana = added_by(tmp_path, embedder, "ana").add(PLAYLIST_URL)
    bob = added_by(tmp_path, embedder, "bob").add(PLAYLIST_URL)
    assert ana.key == PLAYLIST_ID and bob.key.startswith(PLAYLIST_ID + ".") and bob.owner == "bob"
    assert [c.key for c in added_by(tmp_path, embedder, "bob").all()] == [bob.key]
    assert added_by(tmp_path, embedder, "bob").get(PLAYLIST_URL).key == bob.key


def test_the_cli_refuses_another_persons_collection_in_one_line(tmp_path, capsys, monkeypatch):
    import yt_dlp
    from ytqa.cli import main

    monkeypatch.setattr(yt_dlp, "YoutubeDL", youtube_dl(listing("ytdlp_playlist.json")))
    data = str(tmp_path / "data")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as youtube:
        RecordedYouTube(youtube)
        assert main(["add", PLAYLIST_URL, "--user", "ana", "--data-dir", data, "--delay", "0", "-q"]) == 0
    assert main(["share", PLAYLIST_ID, "--user", "ana", "--data-dir", data]) == 0
    assert "is shared with everyone" in capsys.readouterr().out
    assert main(["remove", PLAYLIST_ID, "--user", "bob", "--data-dir", data]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bob cannot remove Cloud, hardware and history") and err.count("\n") == 1
    assert main(["collections", "--user", "bob", "--data-dir", data]) == 0
    assert capsys.readouterr().out.startswith(f"{PLAYLIST_ID}  playlist Cloud")


# --- histories that follow a person ------------------------------------------------------


def test_a_persons_history_is_read_again_from_a_new_browser(store):
    records = store.records("histories")
    History(records, new_token(), person="ana@example.org").add(Answer("What is new?", DART))
    again = History(records, new_token(), person="ana@example.org")  # a new token: another browser
    assert [a.question for a in again.answers(DART)] == ["What is new?"]
    assert History(records, new_token(), person="bob@example.org").answers(DART) == []
    assert History(records, again.token).answers(DART) == []  # signed out: the token's own


def test_a_persons_history_key_cannot_be_named_by_an_address(store):
    from ytqa.web.history import person_key, valid_token

    assert not valid_token(person_key("ana@example.org"))


# --- two processes, one PostgreSQL ---------------------------------------------------------


def cli_process(database, *argv, extra=None):
    env = {**os.environ, "YTQA_STORE": database, "YTQA_REQUEST_DELAY": "0"}
    if extra:
        env["EXTRA_ENTRY"] = extra
    return subprocess.run([sys.executable, str(ROOT / "tests" / "recorded_cli.py"), "ytdlp_playlist.json",
                           *argv], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def test_a_collection_added_by_one_process_is_listed_and_synced_by_another(postgres_database, tmp_path):
    first = cli_process(postgres_database, "add", PLAYLIST_URL, "--data-dir", str(tmp_path / "one"), "-q")
    assert first.returncode == 0, first.stderr
    listed = cli_process(postgres_database, "collections", "--data-dir", str(tmp_path / "two"))
    assert listed.stdout == (f"{PLAYLIST_ID}  playlist Cloud, hardware and history: a test course: "
                             "3 of 7 indexed, 4 failed\n"), listed.stderr
    synced = cli_process(postgres_database, "sync", "--data-dir", str(tmp_path / "two"),
                         extra="tkm0TNFzIeg,How to explain things,110")
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.splitlines()[-1] == ("Cloud, hardware and history: a test course: 1 new video; "
                                              "4 of 8 indexed, 4 failed")
    again = cli_process(postgres_database, "collections", "--data-dir", str(tmp_path / "one"))
    assert "4 of 8 indexed" in again.stdout
    assert not (tmp_path / "one" / "collections").exists() and not (tmp_path / "two" / "collections").exists()
