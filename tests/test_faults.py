"""Fault injection, as a database is tested: every kind of stored file (and every kind of
row of the PostgreSQL store) damaged in every way, then list, ask and index.

The cases are generated from what the store actually wrote: a library of two real
videos is indexed once per module, every file under it is sorted into its kind (the
video id and the index name taken out of its path), and each kind gets each damage in a
copy of that library. A new kind of file the store starts writing is covered without a
new test. Each command must end healed or with a named error (a ``YtqaError``, printed
by the CLI as one line): never a traceback, never a hang, never another video's answer.
"""

import json
import os
import random
import re
import shutil
import signal
import uuid
from pathlib import Path

import pytest

import ytqa
from ytqa._errors import QueueDamaged
from ytqa.cli import main
from conftest import shared

TARGET, OTHER = "tkm0TNFzIeg", "eMRtxsj29aQ"
QUESTION = {TARGET: "how does the Feynman technique help you learn?", OTHER: "who is the host of the game?"}
#: How long one command may take before the case counts as a hang.
BOUND_S = 60

# --- damages: each takes the path of one stored file and the same kind's file of the other video


def truncated(path: Path, _other) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def zeroed(path: Path, _other) -> None:
    path.write_bytes(b"\0" * max(16, len(path.read_bytes())))


def garbage(path: Path, _other) -> None:
    rng = random.Random(path.name)
    path.write_bytes(bytes(rng.randrange(256) for _ in range(max(64, len(path.read_bytes())))))


def _wrong(value, depth: int):
    """The same structure with every leaf of another JSON type."""
    if isinstance(value, dict) and depth < 4:
        return {k: _wrong(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list) and depth < 4 and value and isinstance(value[0], list):
        return [_wrong(v, depth + 1) for v in value[:3]] + value[3:]
    if isinstance(value, bool) or value is None:
        return ["x"]
    if isinstance(value, (int, float)):
        return "abc"
    if isinstance(value, str):
        return 5
    return "abc"


def wrong_types(path: Path, _other) -> None:
    path.write_text(json.dumps(_wrong(json.loads(path.read_text()), 0)))


def missing(path: Path, _other) -> None:
    path.unlink()


def swapped(path: Path, other: Path | None) -> None:
    mine, theirs = path.read_bytes(), other.read_bytes()
    path.write_bytes(theirs)
    other.write_bytes(mine)


def folder(path: Path, _other) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


def symlink(path: Path, _other) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


DAMAGES = {f.__name__: f for f in (truncated, zeroed, garbage, wrong_types, missing, swapped, folder, symlink)}


# --- the library, built once ------------------------------------------------------------


#: The first lines of each real transcript: enough to answer, quick to rebuild in every case.
LINES = 16
_FILES: dict[str, Path] = {}


def transcript_file(video: str) -> Path:
    return _FILES[video]


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module", autouse=True)
def transcripts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("transcripts")
    for video in (TARGET, OTHER):
        rows = json.loads(shared("transcripts", f"{video}.json").read_text())[:LINES]
        _FILES[video] = folder / f"{video}.json"
        _FILES[video].write_text(json.dumps(rows))
    return _FILES


@pytest.fixture(scope="module")
def vocabulary(transcripts):
    return {v: words(" ".join(line.text for line in ytqa.load_transcript_file(transcript_file(v), v).lines))
            for v in (TARGET, OTHER)}


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder, transcripts):
    base = tmp_path_factory.mktemp("faults") / "data"
    library = ytqa.Library(base, embedder=embedder)
    for video in (TARGET, OTHER):
        library.index(video, transcript_file=transcript_file(video))
    library.store.build_library(library.progression.recipe().family)  # its files are stored files too
    assert main(["list", "--data-dir", str(base)]) == 0
    return base


def kind_of(relative: str) -> str:
    """A stored file's kind: its path with the video id, index name and version taken out."""
    kind = relative.replace(TARGET, "<video>").replace(OTHER, "<video>")
    kind = re.sub(r"indexes/[^/]+/", "indexes/<index>/", kind)
    kind = re.sub(r"^library/[^/]+/", "library/<family>/", kind)
    return re.sub(r"^library/<family>/v[^/]+/", "library/<family>/<version>/", kind)


def layout(base: Path) -> dict[str, tuple[str, str | None]]:
    """kind -> (the target's file, or the library's; the other video's file of that kind)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(base.rglob("*")):
        if path.is_file() and not path.is_symlink():
            relative = str(path.relative_to(base))
            owner = TARGET if TARGET in relative else OTHER if OTHER in relative else ""
            found.setdefault(kind_of(relative), {}).setdefault(owner, relative)
    return {kind: (owners.get(TARGET) or owners.get(""), owners.get(OTHER)) for kind, owners in found.items()
            if owners.get(TARGET) or owners.get("")}


def cases():
    """Every (kind, damage) the store's layout has; generated from a library built the same way."""
    return [(kind, damage) for kind in EXPECTED_KINDS for damage in DAMAGES]


#: The kinds a library of two indexed videos holds today; ``test_the_layout_is_what_the_cases_cover``
#: fails when the store writes a kind this list lacks, so it is never silently untested.
EXPECTED_KINDS = (
    ".catalog.lock",
    "catalog.json",
    "library/<family>/.lock",
    "library/<family>/<version>/library.faiss",
    "library/<family>/<version>/members.json",
    "library/<family>/current.json",
    "locks/<video>.lock",
    "videos/<video>/indexes/<index>/chunks.json",
    "videos/<video>/indexes/<index>/meta.json",
    "videos/<video>/indexes/<index>/sentences.npy",
    "videos/<video>/indexes/<index>/vectors.faiss",
    "videos/<video>/transcript.json",
)
JSON_KINDS = {k for k in EXPECTED_KINDS if k.endswith(".json")}


def test_the_layout_is_what_the_cases_cover(built):
    kinds = set(layout(built))
    assert kinds == set(EXPECTED_KINDS), "a new kind of stored file: add it to EXPECTED_KINDS"


class Hang(Exception):
    pass


def bounded(function, *args, **kwargs):
    def hung(*_):
        raise Hang(f"still running after {BOUND_S} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(BOUND_S)
    try:
        return function(*args, **kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def named_or(function, *args, **kwargs):
    """The result, or the named error: anything else (a traceback) fails the case."""
    try:
        return bounded(function, *args, **kwargs)
    except ytqa.YtqaError as error:
        assert str(error) and "Traceback" not in str(error)
        return error


def assert_own_answers(moments, vocabulary, video=None):
    for moment in moments:
        owner = video or moment.video_id
        stray = words(moment.text) - vocabulary[owner]
        assert not stray, f"an answer for {owner} holds words of another video: {sorted(stray)[:5]}"


def cli(capsys, *argv):
    code = bounded(main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in out + err
    assert code == 0 or err.startswith("error: "), err
    return code, out, err


@pytest.mark.parametrize("kind,damage", cases(), ids=[f"{k}-{d}" for k, d in cases()])
def test_damage_to_a_stored_file_heals_or_is_named(built, tmp_path, embedder, vocabulary, capsys, kind, damage):
    if damage == "wrong_types" and kind not in JSON_KINDS:
        pytest.skip("wrong JSON types: a JSON file's damage")
    data = tmp_path / "data"
    shutil.copytree(built, data, symlinks=True)
    target, other = layout(data)[kind]
    if damage == "swapped" and other is None:
        pytest.skip(f"{kind} is the library's, not a video's: nothing to swap it with")
    DAMAGES[damage](data / target, data / other if other else None)

    code, out, _ = cli(capsys, "list", "--data-dir", data)
    if code == 0:
        assert TARGET in out and OTHER in out  # listed, damaged or not: never hidden

    library = ytqa.Library(data, embedder=embedder)
    for video in (TARGET, OTHER):
        answer = named_or(library.ask, video, QUESTION[video])
        if not isinstance(answer, ytqa.YtqaError):
            assert_own_answers(answer, vocabulary, video)
        else:
            assert isinstance(answer, (ytqa.StoredVideoDamaged, ytqa.StoreDamaged)), answer
    everywhere = named_or(library.ask_all, QUESTION[OTHER], k=5)
    if not isinstance(everywhere, ytqa.YtqaError):
        assert_own_answers(everywhere, vocabulary)

    healed = named_or(library.index, TARGET, transcript_file=transcript_file(TARGET))
    if isinstance(healed, ytqa.YtqaError):
        assert isinstance(healed, ytqa.StoreDamaged), healed  # a lock that is not a file: named, with the fix
        return
    fresh = ytqa.Library(data, embedder=embedder)
    assert_own_answers(fresh.ask(TARGET, QUESTION[TARGET]), vocabulary, TARGET)
    assert {v.video_id for v in fresh.videos() if not v.damaged} >= {TARGET}


# --- the PostgreSQL store: every kind of row, damaged --------------------------------------

ROWS = {
    # kind: (table, column, which rows: a WHERE clause on the target video)
    "videos.transcript": ("ytqa_videos", "transcript", "video_id = %(video)s"),
    "indexes.info": ("ytqa_indexes", "info", "video_id = %(video)s"),
    "indexes.chunking": ("ytqa_indexes", "chunking", "video_id = %(video)s"),
    "vectors.chunk": ("ytqa_vectors_384", "embedding", "video_id = %(video)s AND kind = 'chunk'"),
    "vectors.sentence": ("ytqa_vectors_384", "embedding", "video_id = %(video)s AND kind = 'sentence'"),
}
ROW_DAMAGES = ("truncated", "zeroed", "garbage", "wrong_types", "missing", "swapped")


@pytest.fixture(scope="module")
def built_database(postgres_url, embedder, transcripts):
    import psycopg

    name = f"ytqa_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    library = ytqa.Library(store=url, embedder=embedder)
    for video in (TARGET, OTHER):
        library.index(video, transcript_file=transcript_file(video))
    library.store.close()
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def damage_rows(conn, kind: str, damage: str) -> None:
    table, column, where = ROWS[kind]
    target = {"video": TARGET}
    if damage == "missing":
        conn.execute(f"DELETE FROM {table} WHERE {where}", target)
    elif damage == "swapped":
        if table == "ytqa_vectors_384":
            conn.execute(f"UPDATE {table} SET video_id = CASE video_id WHEN %(a)s THEN %(b)s ELSE %(a)s END "
                         f"WHERE video_id IN (%(a)s, %(b)s) AND kind = %(k)s",
                         {"a": TARGET, "b": OTHER, "k": kind.split(".")[1]})
        else:
            conn.execute(f"""UPDATE {table} t SET {column} = o.{column} FROM {table} o
                             WHERE t.video_id = %(a)s AND o.video_id = %(b)s""", {"a": TARGET, "b": OTHER})
    elif column == "embedding":
        value = {"truncated": "'[0.5, 0.5]'", "zeroed": "array_fill(0, ARRAY[384])::halfvec",
                 "garbage": "array_fill(65504, ARRAY[384])::halfvec",  # the largest number a half holds
                 "wrong_types": "array_fill(-1, ARRAY[384])::halfvec"}[damage]
        if damage == "truncated":  # a vector of another size cannot be stored: the rows are cut short instead
            conn.execute(f"DELETE FROM {table} WHERE {where} AND position %% 2 = 1", target)
        else:
            conn.execute(f"UPDATE {table} SET embedding = {value} WHERE {where}", target)
    else:
        for (key, text) in conn.execute(f"SELECT {'key' if table == 'ytqa_indexes' else 'video_id'}, {column} "
                                        f"FROM {table} WHERE {where}", target).fetchall():
            if damage == "truncated":
                new = text[: len(text) // 2]
            elif damage == "zeroed":
                new = " " * len(text)
            elif damage == "garbage":
                new = "".join(random.Random(key).choice("{}[],:\"x9 ") for _ in range(len(text)))
            else:
                new = json.dumps(_wrong(json.loads(text), 0))
            conn.execute(f"UPDATE {table} SET {column} = %s WHERE {'key' if table == 'ytqa_indexes' else 'video_id'}"
                         " = %s", (new, key))


PG_CASES = [(k, d) for k in ROWS for d in ROW_DAMAGES]


@pytest.mark.parametrize("kind,damage", PG_CASES, ids=[f"{k}-{d}" for k, d in PG_CASES])
def test_damage_to_a_stored_row_heals_or_is_named(postgres_url, built_database, embedder, vocabulary, capsys,
                                                   kind, damage):
    import psycopg

    name = f"ytqa_case_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{built_database}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            damage_rows(conn, kind, damage)
        # A video's row gone is that video deleted (its indexes and vectors go with it).
        gone = kind.startswith("videos.") and damage == "missing"
        code, out, _ = cli(capsys, "list", "--store", url)
        if code == 0:
            assert (TARGET in out) != gone and OTHER in out
        library = ytqa.Library(store=url, embedder=embedder)
        for video in (TARGET, OTHER):
            answer = named_or(library.ask, video, QUESTION[video])
            if not isinstance(answer, ytqa.YtqaError):
                assert_own_answers(answer, vocabulary, video)
            elif not (gone and video == TARGET):  # not stored: fetched from YouTube, offline here
                assert isinstance(answer, ytqa.StoredVideoDamaged), answer
        everywhere = named_or(library.ask_all, QUESTION[OTHER], k=5)
        if not isinstance(everywhere, ytqa.YtqaError):
            assert_own_answers(everywhere, vocabulary)
        bounded(library.index, TARGET, transcript_file=transcript_file(TARGET))  # heals, always
        assert_own_answers(ytqa.Library(store=url, embedder=embedder).ask(TARGET, QUESTION[TARGET]), vocabulary,
                           TARGET)
        library.store.close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- whose is what: people.json and ytqa_holdings, damaged ------------------------------------

#: ana holds the target privately; bob holds the other video, shared with his group.
PEOPLE = {"YTQA_GROUPS": "physics=bob,carol"}
PEOPLE_KINDS = ("people.json", ".people.lock")


def held_by_people(library_of) -> None:
    library_of("ana").index(TARGET, transcript_file=transcript_file(TARGET))
    library_of("bob").index(OTHER, transcript_file=transcript_file(OTHER))
    library_of("bob").access.share(OTHER, group="physics")


@pytest.fixture(scope="module")
def built_with_people(tmp_path_factory, embedder, transcripts):
    base = tmp_path_factory.mktemp("people") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("YTQA_GROUPS", PEOPLE["YTQA_GROUPS"])
        held_by_people(lambda name: ytqa.Library(base, embedder=embedder, user=name))
    return base


def what_people_do(capsys, library_of, *place, others_held=True) -> None:
    """Each person's list, question over all videos, re-index and delete of what is theirs (and
    carol's try at ana's): a result or a named error each, never a traceback or a hang.
    ``others_held``: the other video's holdings were not damaged (bob and carol list it)."""
    for name in ("ana", "bob", "carol"):
        code, out, _ = cli(capsys, "list", "--owners", "--user", name, *place)
        if code == 0 and others_held:
            assert OTHER in out or name == "ana"  # bob's, and his group's: never hidden from them
        everywhere = named_or(library_of(name).ask_all, QUESTION[OTHER], k=5)
        if not isinstance(everywhere, ytqa.YtqaError):
            assert_own_answers(everywhere, vocabulary_of_both())
    named_or(library_of("carol").delete, TARGET)
    named_or(library_of("ana").index, TARGET, transcript_file=transcript_file(TARGET))
    named_or(library_of("ana").delete, TARGET)


def vocabulary_of_both() -> dict[str, set[str]]:
    return {v: words(" ".join(line.text for line in ytqa.load_transcript_file(transcript_file(v), v).lines))
            for v in (TARGET, OTHER)}


def assert_other_untouched(library) -> None:
    """The other video's transcript and answers are as they were."""
    assert library.stored_transcript(OTHER) == ytqa.load_transcript_file(transcript_file(OTHER), OTHER)
    assert_own_answers(library.ask(OTHER, QUESTION[OTHER]), vocabulary_of_both(), OTHER)


#: Swapped needs a second file of the kind (there is one list); wrong JSON types, a JSON file.
PEOPLE_CASES = [(k, d) for k in PEOPLE_KINDS for d in DAMAGES
                if d != "swapped" and (d != "wrong_types" or k == "people.json")]


@pytest.mark.parametrize("kind,damage", PEOPLE_CASES, ids=[f"{k}-{d}" for k, d in PEOPLE_CASES])
def test_damage_to_the_list_of_holders_is_named_and_leaves_the_other_videos_data(built_with_people, tmp_path,
                                                                                embedder, capsys, monkeypatch,
                                                                                kind, damage):
    monkeypatch.setenv("YTQA_GROUPS", PEOPLE["YTQA_GROUPS"])
    data = tmp_path / "data"
    shutil.copytree(built_with_people, data, symlinks=True)
    DAMAGES[damage](data / kind, None)
    damaged = data / "people.json"
    before = damaged.read_bytes() if damaged.is_file() and not damaged.is_symlink() else None

    what_people_do(capsys, lambda name: ytqa.Library(data, embedder=embedder, user=name), "--data-dir", data)

    assert_other_untouched(ytqa.Library(data, embedder=embedder))
    readable = named_or(ytqa.Library(data, embedder=embedder).access.holdings, [OTHER])
    if kind == "people.json" and damage != "missing" and isinstance(readable, ytqa.YtqaError):
        assert isinstance(readable, ytqa.StoreDamaged) and "people.json" in str(readable)
        after = damaged.read_bytes() if damaged.is_file() and not damaged.is_symlink() else None
        assert after == before  # named, never written over: it is there to be restored
    elif damage != "missing" or kind != "people.json":
        assert [(h.person, h.group) for h in readable] == [("bob", "physics")]


HOLDING_DAMAGES = {
    # damage: what is done to the target video's holding rows
    "missing": "DELETE FROM ytqa_holdings WHERE video_id = %(a)s",
    "zeroed": "UPDATE ytqa_holdings SET person = '' WHERE video_id = %(a)s",
    "truncated": "UPDATE ytqa_holdings SET person = left(person, 1) WHERE video_id = %(a)s",
    "garbage": "UPDATE ytqa_holdings SET person = E'\\x01,\\n[' || repeat('x', 300), shared_group = E'\\x02;='"
               " WHERE video_id = %(a)s",
    "wrong_types": "UPDATE ytqa_holdings SET shared_group = repeat('z', 500) WHERE video_id = %(a)s",
    "swapped": "UPDATE ytqa_holdings SET video_id = CASE video_id WHEN %(a)s THEN %(b)s ELSE %(a)s END "
               "WHERE video_id IN (%(a)s, %(b)s)",
}


@pytest.fixture(scope="module")
def built_database_with_people(postgres_url, embedder, transcripts):
    import psycopg

    name = f"ytqa_people_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    opened = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("YTQA_GROUPS", PEOPLE["YTQA_GROUPS"])
        held_by_people(lambda person: opened.append(ytqa.Library(store=url, embedder=embedder, user=person))
                       or opened[-1])
    for library in opened:
        library.store.close()
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("damage", HOLDING_DAMAGES)
def test_damage_to_a_holding_row_is_never_a_traceback_and_leaves_the_other_videos_data(
        postgres_url, built_database_with_people, embedder, capsys, monkeypatch, damage):
    import psycopg

    monkeypatch.setenv("YTQA_GROUPS", PEOPLE["YTQA_GROUPS"])
    name = f"ytqa_case_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{built_database_with_people}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    opened = []
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(HOLDING_DAMAGES[damage], {"a": TARGET, "b": OTHER})
        what_people_do(capsys, lambda person: opened.append(ytqa.Library(store=url, embedder=embedder,
                                                                         user=person)) or opened[-1],
                       "--store", url, others_held=damage != "swapped")
        opened.append(ytqa.Library(store=url, embedder=embedder))
        assert_other_untouched(opened[-1])
        if damage != "swapped":
            assert [(h.person, h.group) for h in opened[-1].access.holdings([OTHER])] == [("bob", "physics")]
    finally:
        for library in opened:
            library.store.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the store's records: collections and histories, damaged --------------------------------

from fakes import CHANNEL_URL, PLAYLIST_ID, PLAYLIST_URL, listing, youtube_dl  # noqa: E402
from ytqa.web.history import Answer, History  # noqa: E402

CHANNEL_KEY = "UCpIn7ox7j7bH_OFj7tYouOQ"
TOKEN, OTHER_TOKEN = "t" * 24, "u" * 24


def with_records(library) -> None:
    """Two collections and two visitors' histories, as the CLI and the app write them."""
    for name, url in (("ytdlp_playlist.json", PLAYLIST_URL), ("ytdlp_channel.json", CHANNEL_URL)):
        ytqa.Collections(library, delay=0, youtube_dl=youtube_dl(listing(name))).add(url)
    for token, video in ((TOKEN, TARGET), (OTHER_TOKEN, OTHER)):
        History(library.store.records("histories"), token).add(Answer(QUESTION[video], video))


def collections_heal_or_are_named(capsys, library, *where, damage="") -> None:
    """``ytqa collections`` lists the undamaged one (and names the damaged, or heals it, unless it is
    gone); adding the damaged one again writes it anew. Swapped, both are damaged: both named."""
    def listed_or_named(key, out, err):
        return key in out or f"{key}" in err and "skipped" in err

    code, out, err = cli(capsys, "collections", *where)
    assert code == 0 and listed_or_named(CHANNEL_KEY, out, err), (out, err)
    assert CHANNEL_KEY in out or damage == "swapped", (out, err)
    assert damage in ("missing", "null") or listed_or_named(PLAYLIST_ID, out, err), (out, err)
    again = named_or(ytqa.Collections(library, delay=0, youtube_dl=youtube_dl(listing("ytdlp_playlist.json")))
                     .add, PLAYLIST_URL)
    if isinstance(again, ytqa.YtqaError):  # a lock that is not a file: named with the fix
        assert isinstance(again, ytqa.StoreDamaged), again
        return
    code, out, err = cli(capsys, "collections", *where)
    assert PLAYLIST_ID in out and listed_or_named(CHANNEL_KEY, out, err), (out, err)
    assert f"{PLAYLIST_ID}.json" not in err, err


def histories_heal_or_keep_the_page(library, damage) -> None:
    records = library.store.records("histories")
    damaged = bounded(History, records, TOKEN)  # never raises: empty, or what could be read
    bounded(damaged.add, Answer("and then?", TARGET))
    if damage != "swapped":  # swapped, the other is damaged too
        assert [a.question for a in History(records, OTHER_TOKEN).answers(OTHER)] == [QUESTION[OTHER]]
    if damaged.saved:
        assert "and then?" in [a.question for a in History(records, TOKEN).answers(TARGET)]


RECORD_FILES = {"collection": f"collections/{PLAYLIST_ID}.json", "collection lock": f"collections/.{PLAYLIST_ID}.lock",
                "history": f"app/histories/{TOKEN}.json", "history lock": f"app/histories/.{TOKEN}.lock"}
SWAP_WITH = {"collection": f"collections/{CHANNEL_KEY}.json", "history": f"app/histories/{OTHER_TOKEN}.json"}
RECORD_CASES = [(k, d) for k in RECORD_FILES for d in DAMAGES
                if not (k.endswith("lock") and d in ("wrong_types", "swapped"))]


@pytest.fixture(scope="module")
def built_records(tmp_path_factory, embedder):
    base = tmp_path_factory.mktemp("records") / "data"
    with_records(ytqa.Library(base, embedder=embedder))
    assert all((base / path).is_file() for path in RECORD_FILES.values())
    return base


@pytest.mark.parametrize("kind,damage", RECORD_CASES, ids=[f"{k}-{d}" for k, d in RECORD_CASES])
def test_damage_to_a_record_file_heals_or_is_named_and_the_others_stay(built_records, tmp_path, embedder, capsys,
                                                                       kind, damage):
    data = tmp_path / "data"
    shutil.copytree(built_records, data, symlinks=True)
    other = SWAP_WITH.get(kind)
    DAMAGES[damage](data / RECORD_FILES[kind], data / other if other else None)
    library = ytqa.Library(data, embedder=embedder)
    if kind.startswith("collection"):
        collections_heal_or_are_named(capsys, library, "--data-dir", data, damage=damage)
    else:
        histories_heal_or_keep_the_page(library, damage)


RECORD_ROW_DAMAGES = {
    "missing": "DELETE FROM ytqa_records WHERE kind = %(kind)s AND key = %(key)s",
    "null": "UPDATE ytqa_records SET body = NULL WHERE kind = %(kind)s AND key = %(key)s",
    "a text": """UPDATE ytqa_records SET body = '"garbage"'::jsonb WHERE kind = %(kind)s AND key = %(key)s""",
    "wrong_types": "UPDATE ytqa_records SET body = %(wrong)s::jsonb WHERE kind = %(kind)s AND key = %(key)s",
    "swapped": """UPDATE ytqa_records t SET body = o.body FROM ytqa_records o
                  WHERE t.kind = %(kind)s AND t.key = %(key)s AND o.kind = %(kind)s AND o.key = %(other)s""",
}
ROW_RECORDS = {"collection": ("collections", PLAYLIST_ID, CHANNEL_KEY), "history": ("histories", TOKEN, OTHER_TOKEN)}
RECORD_ROW_CASES = [(k, d) for k in ROW_RECORDS for d in RECORD_ROW_DAMAGES]


@pytest.fixture(scope="module")
def built_records_database(postgres_url, embedder):
    import psycopg

    name = f"ytqa_records_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    library = ytqa.Library(store=postgres_url.rsplit("/", 1)[0] + "/" + name, embedder=embedder)
    with_records(library)
    library.store.close()
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("kind,damage", RECORD_ROW_CASES, ids=[f"{k}-{d}" for k, d in RECORD_ROW_CASES])
def test_damage_to_a_record_row_heals_or_is_named_and_the_others_stay(postgres_url, built_records_database,
                                                                      embedder, capsys, kind, damage):
    import psycopg

    name = f"ytqa_case_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{built_records_database}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        records_kind, key, other = ROW_RECORDS[kind]
        with psycopg.connect(url, autocommit=True) as conn:
            body = conn.execute("SELECT body FROM ytqa_records WHERE kind = %s AND key = %s",
                                (records_kind, key)).fetchone()[0]
            conn.execute(RECORD_ROW_DAMAGES[damage], {"kind": records_kind, "key": key, "other": other,
                                                      "wrong": json.dumps(_wrong(body, 0))})
        library = ytqa.Library(store=url, embedder=embedder)
        if kind == "collection":
            collections_heal_or_are_named(capsys, library, "--store", url, damage=damage)
        else:
            histories_heal_or_keep_the_page(library, damage)
        library.store.close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the store's queue of builds: queue.json, damaged ---------------------------------------

QUEUE_DAMAGES = [d for d in DAMAGES if d != "swapped"]  # one queue per store: nothing to swap it with


def queued(video: str) -> ytqa.Build:
    return ytqa.Build(kind="full", video_id=video, model="minilm", source={"stored": True}, person="ann")


@pytest.mark.parametrize("damage", QUEUE_DAMAGES)
def test_damage_to_the_queue_file_is_named_or_healed_and_loses_no_video(built, tmp_path, embedder, vocabulary,
                                                                        capsys, damage):
    data = tmp_path / "data"
    shutil.copytree(built, data, symlinks=True)
    queue = ytqa.Library(data, embedder=embedder).store.build_queue()
    queue.add(queued(TARGET))
    DAMAGES[damage](queue.path, None)

    for step in (queue.builds, lambda: queue.add(queued(OTHER)), lambda: queue.claim("worker")):
        outcome = named_or(step)
        if isinstance(outcome, ytqa.YtqaError):
            assert isinstance(outcome, (QueueDamaged, ytqa.StoreDamaged)), outcome
            assert str(queue.path) in str(outcome) or "queue" in str(outcome)
    code, out, _ = cli(capsys, "list", "--data-dir", data)
    assert code == 0 and TARGET in out and OTHER in out  # the videos are the store's, not the queue's
    library = ytqa.Library(data, embedder=embedder)
    for video in (TARGET, OTHER):
        assert_own_answers(library.ask(video, QUESTION[video]), vocabulary, video)


BUILD_DAMAGES = {  # what a damaged row of ytqa_builds can hold (its columns are typed: text and state)
    "truncated": "UPDATE ytqa_builds SET source = left(source, length(source) / 2)",
    "zeroed": "UPDATE ytqa_builds SET source = repeat(' ', length(source))",
    "garbage": "UPDATE ytqa_builds SET source = '{]x9', state = 'x9]'",
    "wrong_types": "UPDATE ytqa_builds SET source = '[1, 2]'",
}


@pytest.mark.parametrize("damage", BUILD_DAMAGES)
def test_damage_to_a_queued_builds_row_is_named_or_healed_and_loses_no_video(postgres_url, built_database, embedder,
                                                                             vocabulary, capsys, damage):
    import psycopg

    name = f"ytqa_case_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{built_database}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        queue = ytqa.Library(store=url, embedder=embedder).store.build_queue()
        queue.add(queued(TARGET))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(BUILD_DAMAGES[damage] + " WHERE video_id = %s", (TARGET,))
        for step in (queue.builds, lambda: queue.add(queued(OTHER)), lambda: queue.claim("worker")):
            outcome = named_or(step)
            if isinstance(outcome, ytqa.YtqaError):
                assert isinstance(outcome, QueueDamaged) and "ytqa_builds" in str(outcome), outcome
        library = ytqa.Library(store=url, embedder=embedder)
        for video in (TARGET, OTHER):
            assert_own_answers(library.ask(video, QUESTION[video]), vocabulary, video)
        library.store.close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
