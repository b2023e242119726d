"""Scale: one question over libraries of 100, 1,000 and 10,000 videos, FAISS files and pgvector.

    .venv/bin/python benchmarks/scale.py [--sizes 100,1000,10000] [--pg-sizes 100,1000,10000]

Each library holds the 8 real dev-set videos (indexed with the real model) and synthetic
videos of 150 passages each, with vectors of the real size (384) made as text embeddings
behave, as sums of word directions (``Synthetic``); questions are drawn the same way from
a random video's words. The library grows in place from one size to the next. For each
store and size:

- load: saving the new videos (transcripts, chunkings, vectors) through the store;
- build: the library-wide index (FAISS: exact up to 100,000 vectors, IVF beyond; pgvector
  routed: the HNSW index over the mean vectors, kept by every write, rebuilt here and timed;
  pgvector HNSW, at ``--hnsw-sizes``: the HNSW index over every chunk, built after loading,
  searched at each ``--ef-search`` with iterative scans, then dropped);
- open: a new store object's first search (FAISS reads its catalog and library index);
- search p50/p95 and recall@10: the library-wide vector search for 10 passages, against
  exact search over every vector;
- ask-all p50: ``Library.ask_all`` (the question embedded, the search, then the
  best videos ranked passage by passage as each would be alone);
- real video@5: share of the 48 dev-set questions (embedded by the real model) whose video
  gives one of the 5 moments;
- memory: FAISS, this process's resident memory grown by opening and searching;
  pgvector, the server's resident memory and the vectors table with its indexes on disk.

For the routed search it also prints recall@10 and time at each ``--budgets`` (chunks
scored exactly), and (``--people``) the search as one person who is no administrator and
sees every video, half of them or 20. Prints a Markdown table. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ytqa  # noqa: E402
from ytqa._builder import Recipe, build_index  # noqa: E402
from ytqa._chunking import Chunk, Chunking, Sentence  # noqa: E402
from ytqa._store import Built  # noqa: E402

SHARED = Path(os.environ.get("YTQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
DIM = 384
PASSAGES = 150
TOPICS = 1000
VOCABULARY = [f"w{i}" for i in range(2000)]
#: The HNSW build of 1.5 M vectors needs its graph in memory (else it is many times slower).
SERVER_SETTINGS = {"maintenance_work_mem": "3GB", "max_parallel_maintenance_workers": "1",
                   "shared_buffers": "1GB"}


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class Synthetic:
    """Passages as text embeddings behave: sums of word directions. Each of 1,000 topics has
    200 words (of 20,000), each video 20 frequent words of its topic's; a passage is 10
    words, 70% the video's, 20% the topic's, 10% any (cosine within a video about 0.2,
    a video's best passage for a question about 0.6)."""

    def __init__(self, seed: int = 7):
        rng = np.random.default_rng(seed)
        self.words = unit(rng.standard_normal((20_000, DIM))).astype("float32")
        self.topics = [rng.choice(20_000, 200, replace=False) for _ in range(TOPICS)]
        self.seed = seed

    def video_id(self, i: int) -> str:
        return f"s{i:010d}"

    def _vocabulary(self, i: int):
        rng = np.random.default_rng(self.seed * 1_000_003 + i)
        topic = self.topics[rng.integers(TOPICS)]
        return rng, topic, rng.choice(topic, 20, replace=False)

    def _mix(self, rng, topic, own, shape) -> np.ndarray:
        draw = rng.random(shape)
        picks = np.where(draw < 0.7, rng.choice(own, shape),
                         np.where(draw < 0.9, rng.choice(topic, shape), rng.integers(20_000, size=shape)))
        return unit(self.words[picks].sum(axis=-2)).astype("float32")

    def vectors(self, i: int) -> np.ndarray:
        rng, topic, own = self._vocabulary(i)
        return self._mix(rng, topic, own, (PASSAGES, 10))

    def video(self, i: int) -> tuple[ytqa.Transcript, Built]:
        words = np.random.default_rng(i).choice(VOCABULARY, size=(PASSAGES, 8))
        texts = [" ".join(row) + "." for row in words]
        lines = tuple(ytqa.Line(t, 20.0 * k, 20.0) for k, t in enumerate(texts))
        transcript = ytqa.Transcript(self.video_id(i), lines, "English", "en", title=f"Synthetic video {i}")
        sentences = tuple(Sentence(t, 20.0 * k, 20.0 * k + 20) for k, t in enumerate(texts))
        chunks = tuple(Chunk(t, 20.0 * k, 20.0 * k + 20, k, k + 1) for k, t in enumerate(texts))
        return transcript, Built(Chunking(sentences, chunks), self.vectors(i), None)

    def query(self, rng, size: int) -> np.ndarray:
        """Six words, mostly of a random video's own."""
        _, topic, own = self._vocabulary(int(rng.integers(size)))
        return self._mix(rng, topic, own, (6,))


def exact_top(queries: np.ndarray, source, k: int = 10, block: int = 200) -> list[set]:
    """The true 10 nearest (video, passage) of each query, streaming over every video
    (``block`` videos scored at once)."""
    best_scores = np.full((k, len(queries)), -np.inf, dtype="float32")
    best_ids = np.empty((k, len(queries)), dtype=object)

    def merge(ids, vectors):
        nonlocal best_scores, best_ids
        scores = np.vstack([best_scores, np.vstack(vectors) @ queries.T])  # rows x queries
        names = np.concatenate([best_ids, np.array(ids + [None], dtype=object)[:-1][:, None]
                                .repeat(len(queries), axis=1)])
        keep = np.argpartition(-scores, k - 1, axis=0)[:k]
        best_scores = np.take_along_axis(scores, keep, axis=0)
        best_ids = np.take_along_axis(names, keep, axis=0)

    ids, vectors = [], []
    for video_id, found in source:
        ids += [(video_id, p) for p in range(len(found))]
        vectors.append(found)
        if len(vectors) == block:
            merge(ids, vectors)
            ids, vectors = [], []
    if vectors:
        merge(ids, vectors)
    return [set(best_ids[:, q]) for q in range(len(queries))]


def rss_mb(pid: int | None = None) -> float:
    import psutil

    return psutil.Process(pid or os.getpid()).memory_info().rss / 2**20


def percentile(values, share):
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))]


def real_videos(embedder, recipe):
    """The dev set's videos, indexed with the real model; and its questions, embedded."""
    from ytqa._eval import load_eval_transcript, load_questions

    questions = load_questions(SHARED / "eval" / "dev_questions.jsonl")
    videos = {}
    for q in questions:
        if q.video_id not in videos:
            transcript = load_eval_transcript(SHARED / "transcripts", q.video_id)
            videos[q.video_id] = (transcript, build_index(transcript, embedder, recipe))
    asked = [(q.question, q.video_id, embedder.embed_query(q.question)) for q in questions]
    return videos, asked


def measure(kind, library, store, family, size, synthetic, real, asked, queries, truth, rows, extra):
    # open: a new store object's first search
    reopened = extra["reopen"]()
    started = time.perf_counter()
    before = rss_mb()
    reopened.search(family, queries[0], 10)
    open_s = time.perf_counter() - started
    timings, recalls = [], []
    for q, true in zip(queries, truth):
        started = time.perf_counter()
        hits = reopened.search(family, q, 10)
        timings.append(1000 * (time.perf_counter() - started))
        recalls.append(len({(h.video_id, h.position) for h in hits} & true) / len(true))
    ask_ms = []
    shown = ytqa.Library(store=reopened, embedder=library.embedder, vectors="chunks")
    rng = np.random.default_rng(size)
    for q in queries[:30]:
        words = " ".join(rng.choice(VOCABULARY, size=5))
        started = time.perf_counter()
        shown.ask_all(words, k=5)
        ask_ms.append(1000 * (time.perf_counter() - started))
    right = 0
    for question, video_id, q in asked:
        right += any(m.video_id == video_id for m in shown.ask_all(question, k=5))
    memory = extra["memory"](before)
    rows.append({
        "store": kind, "videos": size, "vectors": extra["vectors"], "load_s": extra["load_s"],
        "build_s": extra["build_s"], "open_s": round(open_s, 2),
        "search_p50_ms": round(statistics.median(timings), 1), "search_p95_ms": round(percentile(timings, 0.95), 1),
        "recall@10": round(float(np.mean(recalls)), 3), "ask_all_p50_ms": round(statistics.median(ask_ms), 1),
        "real_video@5": round(right / len(asked), 3), "memory": memory,
    })
    print(json.dumps(rows[-1]), flush=True)
    reopened.close()


def grow(store, synthetic, real, recipe, have: int, size: int, batch) -> float:
    started = time.perf_counter()
    with batch():
        if have == 0:
            for transcript, built in real.values():
                store.save_transcript(transcript)
                store.put(recipe.info(transcript, built), built)
        for i in range(max(0, have - len(real)), size - len(real)):
            transcript, built = synthetic.video(i)
            store.save_transcript(transcript)
            store.put(recipe.info(transcript, built), built)
    return round(time.perf_counter() - started, 1)


def source_of(synthetic, real, size):
    for video_id, (_, built) in real.items():
        yield video_id, built.chunk_vectors
    for i in range(size - len(real)):
        yield synthetic.video_id(i), synthetic.vectors(i)


class Server:
    """The benchmark's PostgreSQL, restarted between measurements (memory is what serving takes)."""

    def __init__(self, folder):
        from ytqa import _local_postgres

        self.local = _local_postgres
        self.server = _local_postgres.start(folder, settings=SERVER_SETTINGS)

    def restart(self):
        self.local.stop(self.server.folder)
        self.server = self.local.start(self.server.folder, port=self.server.port, settings=SERVER_SETTINGS)

    def _processes(self):
        import psutil

        parent = psutil.Process(int((self.server.folder / "pgdata" / "postmaster.pid").read_text().split()[0]))
        return [parent] + parent.children()

    def cpu_s(self) -> float:
        total = 0.0
        for process in self._processes():
            try:
                times = process.cpu_times()
            except Exception:  # psutil.NoSuchProcess: a worker that has just ended
                continue
            total += times.user + times.system
        return total

    def memory_mb(self) -> float:
        import psutil

        pid = int((self.server.folder / "pgdata" / "postmaster.pid").read_text().split()[0])
        parent = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [parent] + parent.children()) / 2**20


def hnsw_store(url: str, ef_search: int):
    """The store with pgvector's HNSW index over every chunk answering the library-wide search
    (what ytqa did before routing by mean vectors), for comparison."""
    from ytqa._postgres import PostgresStore
    from ytqa._store import Hit

    class HnswStore(PostgresStore):
        def search(self, family, query, k, video_ids=None):
            with self._connection() as conn, conn.transaction():
                conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
                rows = conn.execute(
                    f"""SELECT video_id, index_key, position, (embedding <#> %(q)s::halfvec) * -1 FROM ytqa_vectors_{DIM}
                        WHERE family = %(f)s AND kind = 'chunk' ORDER BY embedding <#> %(q)s::halfvec LIMIT %(k)s""",
                    {"q": np.asarray(query, dtype="float32"), "f": family, "k": int(k)}).fetchall()
            return sorted((Hit(v, key, int(p), float(s)) for v, key, p, s in rows), key=lambda h: -h.score)

    return HnswStore(url)


def disk_mb(store) -> float:
    with store._pool.connection() as conn:
        return conn.execute(f"SELECT pg_total_relation_size('ytqa_vectors_{DIM}') + "
                            f"pg_total_relation_size('ytqa_means_{DIM}')").fetchone()[0] / 2**20


def budget_sweep(server, store, family, size, queries, truth, budgets) -> None:
    """The routed search's recall@10, time and the server's CPU time (what a search takes on
    a core of its own, when other work slows the wall clock) for each chunk budget (printed)."""
    from ytqa import _postgres

    kept = _postgres.PROBE_CHUNKS
    for budget in budgets:
        _postgres.PROBE_CHUNKS = budget
        store.search(family, queries[0], 10)
        timings, recalls, cpu = [], [], []
        for q, true in zip(queries, truth):
            started, used = time.perf_counter(), server.cpu_s()
            hits = store.search(family, q, 10)
            timings.append(1000 * (time.perf_counter() - started))
            cpu.append(1000 * (server.cpu_s() - used))
            recalls.append(len({(h.video_id, h.position) for h in hits} & true) / len(true))
        print(f"routed, {size:,} videos, budget {budget:,} chunks: recall@10 {np.mean(recalls):.3f}, "
              f"p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms, "
              f"server CPU p50 {statistics.median(cpu):.1f} ms, p95 {percentile(cpu, 0.95):.1f} ms", flush=True)
    _postgres.PROBE_CHUNKS = kept


def people_sweep(store, family, size, synthetic, real, queries) -> None:
    """The library-wide search as one person who is no administrator, so only over what they
    see (``_access.sees``): every video (nobody holds one), half of them, or 20 (the rest held
    privately by another person); with the rule in the search (now) and with their videos
    listed first and passed as ``video_ids`` (before). Prints p50, p95 and recall@10 against
    exact search over the videos they see."""
    from ytqa._access import Access, Person

    every = [video_id for video_id, _ in source_of(synthetic, real, size)]
    person = Person("reader")
    ways = {"the rule in the search": Access(store, person).view().search,  # what ytqa does
            "their videos listed first": lambda family, q, k: store.search(  # what it did before
                family, q, k, store.video_ids(visible_to=person))}
    holdings = "ytqa_holdings"
    for label, hidden in (("every video", []), ("half the videos", every[1::2]), ("20 videos", every[20:])):
        with store._pool.connection() as conn:
            conn.execute(f"DELETE FROM {holdings}")
            conn.execute(f"INSERT INTO {holdings} (video_id, person, shared) SELECT unnest(%s::text[]), 'other', false",
                         (hidden,))
            conn.execute("ANALYZE")
        hidden_set = set(hidden)
        seen = ((v, found) for v, found in source_of(synthetic, real, size) if v not in hidden_set)
        truth = exact_top(queries, seen)
        for way, search in ways.items():
            search(family, queries[0], 10)
            timings, recalls = [], []
            for q, true in zip(queries, truth):
                started = time.perf_counter()
                hits = search(family, q, 10)
                timings.append(1000 * (time.perf_counter() - started))
                assert not {h.video_id for h in hits} & hidden_set, "a search showed a video the person cannot see"
                recalls.append(len({(h.video_id, h.position) for h in hits} & true) / len(true))
            print(f"routed, {size:,} videos, one person who sees {label} ({size - len(hidden):,}), {way}: "
                  f"recall@10 {np.mean(recalls):.3f}, p50 {statistics.median(timings):.1f} ms, "
                  f"p95 {percentile(timings, 0.95):.1f} ms", flush=True)
    with store._pool.connection() as conn:
        conn.execute(f"DELETE FROM {holdings}")


def compare_hnsw(server, store, embedder, recipe, size, synthetic, real, asked, queries, truth, rows,
                 ef_searches, count, load_s) -> None:
    """Build pgvector's HNSW index over every chunk (m 16, ef_construction 64), measure the
    search it answers at each ef_search, and drop it again."""
    started = time.perf_counter()
    with store._pool.connection() as conn:
        conn.execute(f"CREATE INDEX ytqa_bench_hnsw ON ytqa_vectors_{DIM} USING hnsw (embedding halfvec_ip_ops) "
                     "WITH (m = 16, ef_construction = 64) WHERE kind = 'chunk'")
    build_s = round(time.perf_counter() - started, 1)
    table_mb = disk_mb(store)
    store.close()
    server.restart()
    for ef in ef_searches:
        def memory(before, table_mb=table_mb):
            return f"{server.memory_mb():.0f} MB (server), {table_mb:.0f} MB on disk"

        opened = hnsw_store(server.server.url, ef)
        measure(f"pgvector HNSW ef_search {ef}", ytqa.Library(store=opened, embedder=embedder, vectors="chunks"),
                opened, recipe.family, size, synthetic, real, asked, queries, truth, rows,
                {"reopen": lambda: hnsw_store(server.server.url, ef), "memory": memory, "vectors": count,
                 "load_s": load_s, "build_s": build_s})
        opened.close()
    from ytqa._postgres import PostgresStore

    dropping = PostgresStore(server.server.url)
    with dropping._pool.connection() as conn:
        conn.execute("DROP INDEX ytqa_bench_hnsw")
    dropping.close()


def postgres_rows(work, embedder, recipe, real, asked, synthetic, queries, truths, rows, pg_sizes,
                  hnsw_sizes, ef_searches, budgets, people=0) -> None:
    import contextlib

    from ytqa._postgres import PostgresStore

    server = Server(work / "postgres")
    try:
        store = PostgresStore(server.server.url)
        have = 0
        for size in pg_sizes:
            load_s = grow(store, synthetic, real, recipe, have, size, contextlib.nullcontext)
            have = size
            started = time.perf_counter()
            with store._pool.connection() as conn:
                conn.execute(f"REINDEX INDEX ytqa_means_{DIM}_hnsw")  # kept by every write; rebuilt, timed
                build_s = round(time.perf_counter() - started, 1)
                conn.execute("ANALYZE")
                count = conn.execute(f"SELECT count(*) FROM ytqa_vectors_{DIM}").fetchone()[0]
            table_mb = disk_mb(store)
            store.close()
            server.restart()
            store = PostgresStore(server.server.url)

            def memory(before, table_mb=table_mb):
                return f"{server.memory_mb():.0f} MB (server), {table_mb:.0f} MB on disk"

            measure("pgvector routed", ytqa.Library(store=store, embedder=embedder, vectors="chunks"), store,
                    recipe.family, size, synthetic, real, asked, queries[size], truths[size], rows,
                    {"reopen": lambda: PostgresStore(server.server.url), "memory": memory,
                     "vectors": count, "load_s": load_s, "build_s": build_s})
            budget_sweep(server, store, recipe.family, size, queries[size], truths[size], budgets)
            if people:
                people_sweep(store, recipe.family, size, synthetic, real, queries[size][:people])
            if size in hnsw_sizes:
                compare_hnsw(server, store, embedder, recipe, size, synthetic, real, asked, queries[size],
                             truths[size], rows, ef_searches, count, load_s)
                store = PostgresStore(server.server.url)
        store.close()
    finally:
        server.local.stop(server.server.folder)


def faiss_rows(work, embedder, recipe, real, asked, synthetic, queries, truths, rows, sizes) -> None:
    from ytqa._files_store import FileStore

    folder = work / "files"
    store = FileStore(folder)
    library = ytqa.Library(store=store, embedder=embedder, vectors="chunks")
    have = 0
    for size in sizes:
        load_s = grow(store, synthetic, real, recipe, have, size, store.batch)
        have = size
        started = time.perf_counter()
        built = store.build_library(recipe.family)
        build_s = round(time.perf_counter() - started, 1)
        kind, vectors = built.kind, built.size
        del built
        store.close()  # the library index is read again by the next store object, as on a restart
        gc.collect()

        def memory(before):
            return f"{rss_mb() - before:.0f} MB (process)"

        measure("FAISS " + kind, library, store, recipe.family, size, synthetic, real, asked, queries[size],
                truths[size], rows, {"reopen": lambda: FileStore(folder), "memory": memory,
                                     "vectors": vectors, "load_s": load_s, "build_s": build_s})
        gc.collect()
    shutil.rmtree(folder, ignore_errors=True)


def print_table(rows) -> None:
    print("| store | videos | vectors | load s | build s | open s | search p50 ms | search p95 ms | recall@10 "
          "| ask-all p50 ms | real video@5 | memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['store']} | {r['videos']:,} | {r['vectors']:,} | {r['load_s']} | {r['build_s']} | {r['open_s']} "
              f"| {r['search_p50_ms']} | {r['search_p95_ms']} | {r['recall@10']} | {r['ask_all_p50_ms']} "
              f"| {r['real_video@5']} | {r['memory']} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--pg-sizes", default="100,1000,10000")
    parser.add_argument("--hnsw-sizes", default="1000",
                        help="sizes at which pgvector's HNSW index over every chunk is built and compared")
    parser.add_argument("--ef-search", default="400,1000", help="HNSW ef_search values compared")
    parser.add_argument("--budgets", default="15000,30000,45000,65536",
                        help="routed search: chunk budgets compared (recall and time)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--people", type=int, default=50,
                        help="questions asked as one person who is no administrator (0: none)")
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    pg_sizes = [int(s) for s in args.pg_sizes.split(",") if s]
    work = Path(args.work or tempfile.mkdtemp(prefix="ytqa-scale-"))
    started_all = time.perf_counter()

    embedder = ytqa.Embedder("minilm")
    embedder.load()
    recipe = Recipe(embedder.spec.name, embedder.key, ytqa.ChunkSettings(), "chunks")
    real, asked = real_videos(embedder, recipe)
    synthetic = Synthetic()
    rng = np.random.default_rng(1)
    rows: list[dict] = []
    print(f"real videos: {len(real)} ({sum(len(b.chunk_vectors) for _, b in real.values())} passages), "
          f"{len(asked)} questions; ready in {time.perf_counter() - started_all:.0f} s", flush=True)

    truths = {}
    queries = {}
    for size in sorted(set(sizes) | set(pg_sizes)):
        queries[size] = np.vstack([synthetic.query(rng, size - len(real)) for _ in range(args.queries)])
        started = time.perf_counter()
        truths[size] = exact_top(queries[size], source_of(synthetic, real, size))
        print(f"exact top-10 at {size}: {time.perf_counter() - started:.0f} s", flush=True)

    if sizes:
        faiss_rows(work, embedder, recipe, real, asked, synthetic, queries, truths, rows, sizes)
    # --- PostgreSQL + pgvector ---------------------------------------------------------
    if pg_sizes:
        postgres_rows(work, embedder, recipe, real, asked, synthetic, queries, truths, rows, pg_sizes,
                      [int(s) for s in args.hnsw_sizes.split(",") if s],
                      [int(s) for s in args.ef_search.split(",") if s],
                      [int(s) for s in args.budgets.split(",") if s], args.people)
    shutil.rmtree(work, ignore_errors=True)

    print(f"\nwhole run: {(time.perf_counter() - started_all) / 60:.1f} min\n")
    print_table(rows)


if __name__ == "__main__":
    main()
