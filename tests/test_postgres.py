"""A library on PostgreSQL + pgvector, shared by real processes; nothing here is mocked."""

import json
import random
import subprocess
import sys

import psycopg
import pytest

import ytqa
from ytqa.cli import main
from conftest import ROOT, shared, write_json_transcript

WORDS = ("server cache request latency budget team design review database index query user "
         "screen button release test deploy monitor alert queue worker thread memory disk").split()
PLANTED = {
    "dQw4w9WgXcQ": ("The lighthouse keeper painted his boat bright orange.", "lighthouse keeper boat"),
    "nTgKbiWg-YY": ("The glassblower shaped a tall blue vase by the furnace.", "glassblower blue vase"),
    "XpxTrDDcpPE": ("The beekeeper lost the queen of her oldest hive.", "beekeeper lost queen hive"),
}
CHILD = """
import json, sys, ytqa
library = ytqa.Library(store=sys.argv[1])
for pair in sys.argv[2:]:
    video, path = pair.split("=", 1)
    index = library.index(video, transcript_file=path)
    print("INDEXED", video, len(index.chunking.chunks), flush=True)
moments = library.ask_all("lighthouse keeper boat", k=3)
print("ASKED", json.dumps([m.video_id for m in moments]), flush=True)
"""


def talk(tmp_path, video_id, lines=120, at=60, seed=0):
    rng = random.Random(seed)
    rows = [(" ".join(rng.choice(WORDS) for _ in range(8)) + ".", i * 2.4, 2.4) for i in range(lines)]
    rows[at] = (PLANTED[video_id][0], at * 2.4, 2.4)
    return write_json_transcript(tmp_path / f"{video_id}.json", rows)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_two_processes_indexing_and_asking_on_one_library_lose_nothing(tmp_path, postgres_database):
    files = {video: talk(tmp_path, video, at=20 + 30 * n, seed=n) for n, video in enumerate(PLANTED)}
    a, b, c = PLANTED
    jobs = [[f"{a}={files[a]}", f"{b}={files[b]}"], [f"{c}={files[c]}", f"{b}={files[b]}"]]
    children = [subprocess.Popen([sys.executable, "-c", CHILD, postgres_database] + job, cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for job in jobs]
    outputs = [child.communicate(timeout=600) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err[-2000:] for _, err in outputs]
    assert all("ASKED" in out for out, _ in outputs)

    library = ytqa.Library(store=postgres_database)
    videos = library.store.videos()
    assert sorted(v.video_id for v in videos) == sorted(PLANTED)
    assert all(len(v.indexes) == 1 for v in videos)  # the video both indexed was built once
    for video_id, (sentence, question) in PLANTED.items():
        top = library.ask_all(question, k=1)[0]
        assert (top.video_id, top.sentence) == (video_id, sentence)


def test_an_index_built_by_one_process_is_found_by_another(tmp_path, postgres_database, embedder):
    path = talk(tmp_path, "dQw4w9WgXcQ", at=33)
    done = subprocess.run([sys.executable, "-c", CHILD, postgres_database, f"dQw4w9WgXcQ={path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    here = ytqa.Library(store=postgres_database, embedder=embedder)
    assert here.is_indexed(here.stored_transcript("dQw4w9WgXcQ"))
    top = here.ask("dQw4w9WgXcQ", "what colour did the lighthouse keeper paint his boat?")[0]
    assert top.start <= 33 * 2.4 < top.end


def test_the_command_line_indexes_asks_lists_and_deletes_on_a_server(capsys, tmp_path, postgres_database):
    path = talk(tmp_path, "dQw4w9WgXcQ", at=40)
    code, out, _ = run(capsys, "index", "dQw4w9WgXcQ", "--transcript", path, "--store", postgres_database)
    assert code == 0 and out.startswith("dQw4w9WgXcQ: ")
    code, out, _ = run(capsys, "ask", "dQw4w9WgXcQ", "lighthouse keeper boat", "--json", "--store", postgres_database)
    top = json.loads(out)["results"][0]
    assert code == 0 and top["start"] <= 40 * 2.4 < top["end"]
    code, out, _ = run(capsys, "list", "--store", postgres_database)
    assert code == 0 and out.startswith("dQw4w9WgXcQ")
    code, out, _ = run(capsys, "delete", "dQw4w9WgXcQ", "--store", postgres_database)
    assert code == 0
    code, out, _ = run(capsys, "list", "--store", postgres_database)
    assert "No videos stored" in out


def test_a_server_that_cannot_be_reached_is_one_line_with_the_remedy(capsys):
    code, _, err = run(capsys, "list", "--store", "postgresql://ytqa:secret@127.0.0.1:1/library")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "127.0.0.1:1" in err and "secret" not in err and "vector extension" in err


def test_evaluation_on_a_server_uses_a_scratch_schema_and_leaves_the_library_alone(tmp_path, postgres_database,
                                                                                    embedder):
    from ytqa._eval import evaluate, load_questions

    path = talk(tmp_path, "nTgKbiWg-YY", at=50)
    folder = path.parent
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "1", "video_id": "nTgKbiWg-YY", "question": "glassblower blue vase",
                                     "answer_start": 120.0, "answer_end": 122.4}) + "\n")
    library = ytqa.Library(store=postgres_database, embedder=embedder)
    report = evaluate(library, load_questions(questions), folder)
    assert report["metrics"]["hit@1"] == 1.0
    assert library.videos() == []
    with psycopg.connect(postgres_database) as conn:
        schemas = conn.execute("SELECT schema_name FROM information_schema.schemata "
                               "WHERE schema_name LIKE 'ytqa_scratch_%'").fetchall()
    assert schemas == []


def test_eval_on_the_dev_set_with_pgvector_is_within_002_hit_at_3_of_faiss(postgres_database, embedder, tmp_path):
    from ytqa._eval import evaluate, load_questions

    questions = load_questions(shared("eval", "dev_questions.jsonl"))
    transcripts = shared("transcripts")
    on_server = evaluate(ytqa.Library(store=postgres_database, embedder=embedder), questions, transcripts)
    on_files = evaluate(ytqa.Library(tmp_path / "files", embedder=embedder), questions, transcripts)
    assert abs(on_server["metrics"]["hit@3"] - on_files["metrics"]["hit@3"]) <= 0.02


@pytest.mark.parametrize("kind", ["files", "postgres"])
def test_listing_and_deleting_need_no_model(request, tmp_path, embedder, kind):
    where = str(tmp_path / "data") if kind == "files" else request.getfixturevalue("postgres_database")
    path = talk(tmp_path, "dQw4w9WgXcQ", lines=30, at=10)
    ytqa.Library(where, embedder=embedder).index("dQw4w9WgXcQ", transcript_file=path)
    library = ytqa.Library(where)
    assert [v.video_id for v in library.videos()] == ["dQw4w9WgXcQ"] and library.videos()[0].indexed
    library.delete("dQw4w9WgXcQ")
    assert not library.model.made  # never made, let alone loaded
    ytqa.Library(where, embedder=embedder).index("dQw4w9WgXcQ", transcript_file=path)
    code = (
        "import sys\nfrom ytqa.cli import main\n"
        f"assert main(['list', '--store', {where!r}]) == 0\n"
        f"assert main(['delete', 'dQw4w9WgXcQ', '--store', {where!r}]) == 0\n"
        "heavy = {'onnxruntime', 'tokenizers', 'torch', 'sentence_transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "dQw4w9WgXcQ" in done.stdout and "deleted dQw4w9WgXcQ" in done.stdout
    assert ytqa.Library(where).videos() == []


# --- a server that goes away, or a table that is not ytqa's ---------------------------


def test_a_server_stopped_while_a_video_is_stored_is_one_line_and_stores_nothing(
        tmp_path, postgres_database, embedder, stop_postgres):
    transcript = ytqa.load_transcript_file(talk(tmp_path, "dQw4w9WgXcQ"), "dQw4w9WgXcQ")
    library = ytqa.Library(store=postgres_database, embedder=embedder)

    def progress(stage, done, total):
        if stage == "saving" and done == 0:
            stop_postgres()  # embedded, about to be stored

    with pytest.raises(ytqa.DatabaseWentAway) as caught:
        library.index_transcript(transcript, progress)
    message = str(caught.value)
    assert "the database went away" in message and "Nothing was lost" in message
    assert "run it again" in message and "\n" not in message
    stop_postgres.start()
    assert library.store.videos() == []  # not a video row without its index
    library.index_transcript(transcript)  # the same library, reconnected: run again, it is stored
    assert "lighthouse keeper painted" in library.ask("dQw4w9WgXcQ", "lighthouse keeper boat")[0].text


def test_a_long_lived_library_answers_after_the_server_restarts(tmp_path, postgres_database, embedder, stop_postgres):
    library = ytqa.Library(store=postgres_database, embedder=embedder)
    library.index("dQw4w9WgXcQ", transcript_file=talk(tmp_path, "dQw4w9WgXcQ"))
    assert library.ask_all("lighthouse keeper boat", k=1)
    stop_postgres()
    stop_postgres.start()
    assert library.ask("dQw4w9WgXcQ", "a painted orange boat")[0].video_id == "dQw4w9WgXcQ"
    assert library.ask_all("keeper of the lighthouse", k=1)[0].video_id == "dQw4w9WgXcQ"
    assert [v.video_id for v in library.videos()] == ["dQw4w9WgXcQ"]


def test_a_foreign_table_named_like_ytqa_vectors_is_named_and_nothing_is_stored(
        tmp_path, postgres_database, embedder):
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE ytqa_vectors_384 (id INTEGER PRIMARY KEY, note TEXT)")
        conn.execute("INSERT INTO ytqa_vectors_384 VALUES (1, 'someone else''s row')")
    library = ytqa.Library(store=postgres_database, embedder=embedder)
    with pytest.raises(ytqa.ForeignTable) as caught:
        library.index("dQw4w9WgXcQ", transcript_file=talk(tmp_path, "dQw4w9WgXcQ"))
    message = str(caught.value)
    assert 'a table named "public".ytqa_vectors_384 is there but it is not ytqa\'s' in message
    assert "Nothing was lost" in message and "run it again" in message
    assert library.store.videos() == []
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        assert conn.execute("SELECT note FROM ytqa_vectors_384").fetchall() == [("someone else's row",)]


def test_the_routed_search_finds_what_exact_search_finds_on_the_dev_library(postgres_database, embedder,
                                                                             monkeypatch):
    """The library-wide search scores only the videos whose mean vector is nearest the question,
    as many as hold its budget of passages: on the 8 real dev-set videos, with a quarter of
    their passages, it finds the 10 an exact search over all of them finds."""
    import numpy as np

    from ytqa import _postgres
    from ytqa._builder import Recipe, build_index
    from ytqa._eval import load_eval_transcript, load_questions

    questions = load_questions(shared("eval", "dev_questions.jsonl"))
    recipe = Recipe(embedder.spec.name, embedder.key, ytqa.ChunkSettings(), "chunks")
    store = _postgres.PostgresStore(postgres_database)
    vectors = {}
    for video_id in dict.fromkeys(q.video_id for q in questions):
        transcript = load_eval_transcript(shared("transcripts"), video_id)
        built = build_index(transcript, embedder, recipe)
        store.save_transcript(transcript)
        store.put(recipe.info(transcript, built), built)
        vectors[video_id] = built.chunk_vectors
    monkeypatch.setattr(_postgres, "PROBE_CHUNKS", sum(map(len, vectors.values())) // 4)
    found = []
    for question in questions:
        query = embedder.embed_query(question.question)
        exact = sorted(((float(v @ query), video_id, p) for video_id, rows in vectors.items()
                        for p, v in enumerate(rows)), reverse=True)[:10]
        hits = store.search(recipe.family, query, 10)
        found.append(len({(h.video_id, h.position) for h in hits} & {(v, p) for _, v, p in exact}) / 10)
    monkeypatch.setattr(_postgres, "PROBE_CHUNKS", 1)  # the one nearest video's passages, no other's
    nearest = {len({h.video_id for h in store.search(recipe.family, embedder.embed_query(q.question), 10)})
               for q in questions}
    store.close()
    assert np.mean(found) >= 0.95
    assert nearest == {1}


def test_a_search_over_listed_videos_finds_the_same_through_the_means_index_as_scoring_each(
        postgres_store, monkeypatch):
    from test_store import BREAD, GARDEN, MODEL, RECIPE, TALK, put

    from ytqa import _postgres

    for t in (TALK, BREAD, GARDEN):
        put(postgres_store, t)
    query, listed = MODEL.embed_query("bake sourdough bread in the garden"), [BREAD.video_id, GARDEN.video_id]
    scored_each = postgres_store.search(RECIPE.family, query, 5, video_ids=listed)
    monkeypatch.setattr(_postgres, "EXACT_MEANS", 0)  # a list longer than this: the HNSW index, filtered
    assert postgres_store.search(RECIPE.family, query, 5, video_ids=listed) == scored_each
    assert {h.video_id for h in scored_each} == set(listed)


def test_a_person_who_sees_many_videos_is_searched_with_the_rule_in_the_means_scan(postgres_store, monkeypatch):
    """Past ``EXACT_MEANS`` visible videos, whose list would make a question's cost grow with
    the library, the rule is a filter on the scan of the means index: the same answer."""
    from test_store import BREAD, GARDEN, MODEL, RECIPE, TALK, put

    from ytqa import _postgres
    from ytqa._access import Person

    for t in (TALK, BREAD, GARDEN):
        put(postgres_store, t)
    postgres_store.hold(BREAD.video_id, "ana")
    query, bob = MODEL.embed_query("bake sourdough bread in the garden"), Person("bob")
    listed = postgres_store.search(RECIPE.family, query, 5, visible_to=bob)  # two videos: listed, scored each
    monkeypatch.setattr(_postgres, "EXACT_MEANS", 1)  # more than this: the rule in the scan
    assert postgres_store.search(RECIPE.family, query, 5, visible_to=bob) == listed
    assert {h.video_id for h in listed} == {TALK.video_id, GARDEN.video_id}


def test_a_library_stored_before_means_were_kept_gets_them_on_its_first_search(postgres_store):
    from fake_model import DIM
    from test_store import BREAD, GARDEN, MODEL, RECIPE, TALK, put

    for t in (TALK, BREAD, GARDEN):
        put(postgres_store, t)
    with psycopg.connect(postgres_store.url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{postgres_store.schema}".ytqa_means_{DIM}')
    reopened = _postgres_store(postgres_store)
    try:
        hits = reopened.search(RECIPE.family, MODEL.embed_query("bake sourdough bread"), 3)
        assert hits[0].video_id == BREAD.video_id
        with psycopg.connect(postgres_store.url) as conn:
            assert conn.execute(f'SELECT count(*) FROM "{postgres_store.schema}".ytqa_means_{DIM}'
                                ).fetchone()[0] == 3
    finally:
        reopened.close()


def _postgres_store(store, notice=None):
    from ytqa._postgres import PostgresStore

    return PostgresStore(store.url, store.schema, notice=notice)


def in_full_precision(store) -> None:
    """The store's vectors as ytqa stored them before half precision (``vector``)."""
    from fake_model import DIM

    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{store.schema}".ytqa_vectors_{DIM} ALTER COLUMN embedding '
                     f"TYPE vector({DIM}) USING embedding::vector({DIM})")


def test_vectors_are_stored_in_half_precision_half_the_bytes_of_full(postgres_store):
    from fake_model import DIM
    from test_store import TALK, put

    put(postgres_store, TALK)
    with psycopg.connect(postgres_store.url) as conn:
        sizes = {row[0] for row in conn.execute(
            f'SELECT pg_column_size(embedding) FROM "{postgres_store.schema}".ytqa_vectors_{DIM}').fetchall()}
    assert sizes == {2 * DIM + 8}  # 2 bytes a number and 8 of header; full precision is 4 * DIM + 8


def test_a_library_stored_in_full_precision_is_converted_in_place_and_answers_the_same(postgres_store):
    from fake_model import DIM
    from test_store import BREAD, GARDEN, MODEL, RECIPE, TALK, put

    stored = {t.video_id: put(postgres_store, t)[0].info.key for t in (TALK, BREAD, GARDEN)}
    questions = ["bake sourdough bread", "water the tomatoes", "cache invalidation", "cat on the keyboard"]
    before = [postgres_store.search(RECIPE.family, MODEL.embed_query(q), 3) for q in questions]
    table = f'"{postgres_store.schema}".ytqa_vectors_{DIM}'
    in_full_precision(postgres_store)
    told = []
    reopened = _postgres_store(postgres_store, notice=told.append)
    try:
        after = [reopened.search(RECIPE.family, MODEL.embed_query(q), 3) for q in questions]
        assert [[(h.video_id, h.position) for h in hits] for hits in after] == \
               [[(h.video_id, h.position) for h in hits] for hits in before]
        assert after[0][0].video_id == BREAD.video_id and after[1][0].video_id == GARDEN.video_id
        assert told and "half precision" in told[0]
        index = reopened.get(stored[TALK.video_id])
        assert index.vectors.search(MODEL.embed_query("cat sleeps on the keyboard"), 1)[0][0] == 1
        with psycopg.connect(postgres_store.url) as conn:
            assert conn.execute(f"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                                f"'{table}'::regclass AND attname = 'embedding'").fetchone()[0] == f"halfvec({DIM})"
            assert conn.execute(f"SELECT count(DISTINCT index_key) FROM {table}").fetchone()[0] == 3
    finally:
        reopened.close()


def test_an_older_store_is_converted_before_its_first_index_is_opened(postgres_store):
    from test_store import MODEL, TALK, put

    key = put(postgres_store, TALK)[0].info.key
    in_full_precision(postgres_store)
    reopened = _postgres_store(postgres_store)
    try:
        index = reopened.get(key)  # no search first: the index itself is opened
        assert index.vectors.search(MODEL.embed_query("cat sleeps on the keyboard"), 1)[0][0] == 1
    finally:
        reopened.close()


def test_converting_an_older_store_removes_an_index_whose_vectors_no_half_can_hold(postgres_store):
    from fake_model import DIM
    from test_store import BREAD, MODEL, RECIPE, TALK, put

    keys = {t.video_id: put(postgres_store, t)[0].info.key for t in (TALK, BREAD)}
    table = f'"{postgres_store.schema}".ytqa_vectors_{DIM}'
    in_full_precision(postgres_store)
    with psycopg.connect(postgres_store.url, autocommit=True) as conn:
        conn.execute(f"UPDATE {table} SET embedding = array_fill(1e30, ARRAY[{DIM}])::vector "
                     "WHERE video_id = %s", (TALK.video_id,))  # damaged as ytqa stored them before
    reopened = _postgres_store(postgres_store)
    try:
        hits = reopened.search(RECIPE.family, MODEL.embed_query("bake sourdough bread"), 3)
        assert {h.video_id for h in hits} == {BREAD.video_id}
        assert reopened.get(keys[TALK.video_id]) is None  # to be rebuilt from its transcript
        assert reopened.transcript(TALK.video_id) is not None
    finally:
        reopened.close()


@pytest.mark.parametrize("version, kept", [("0.5.1", False), ("0.6.2", False), ("0.7.0", True), ("0.8.1", True),
                                           ("1.0", True)])
def test_only_pgvector_07_or_newer_can_keep_the_vectors_in_half_precision(version, kept):
    from ytqa._postgres import has_halfvec

    assert has_halfvec(version) is kept

