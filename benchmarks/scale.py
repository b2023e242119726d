"""Scale: one question over libraries of 100, 1,000 and 10,000 videos, FAISS files and pgvector.

    .venv/bin/python benchmarks/scale.py [--sizes 100,1000,10000] [--pg-sizes 100,1000,10000]

Each library holds the 8 real dev-set videos (indexed with the real model) and synthetic
videos of 150 passages each, with vectors of the real size (384) made as text embeddings
behave, as sums of word directions (``Synthetic``); questions are drawn the same way from
a random video's words. The library grows in place from one size to the next. For each
store and size:

- load: saving the new videos (transcripts, chunkings, vectors) through the store;
- build: the library-wide index (FAISS: exact up to 100,000 vectors, IVF beyond; pgvector:
  the HNSW index, dropped while loading and created again);
- open: a new store object's first search (FAISS reads its catalog and library index);
- search p50/p95 and recall@10: the library-wide vector search for 10 passages, against
  exact search over every vector;
- ask-all p50: ``Library.ask_all`` (the question embedded, the search, then the
  best videos ranked passage by passage as each would be alone);
- real video@5: share of the 48 dev-set questions (embedded by the real model) whose video
  gives one of the 5 moments;
- memory: FAISS, this process's resident memory grown by opening and searching;
  pgvector, the server's resident memory and the vectors table with its indexes on disk.

Prints a Markdown table. Not part of the test suite.
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


def exact_top(queries: np.ndarray, source, k: int = 10) -> list[set]:
    """The true 10 nearest (video, passage) of each query, streaming over every video."""
    best_scores = np.full((len(queries), k), -np.inf, dtype="float32")
    best_ids: list[list] = [[None] * k for _ in queries]
    for video_id, vectors in source:
        scores = vectors @ queries.T  # passages x queries
        for q in range(len(queries)):
            column = scores[:, q]
            top = np.argpartition(-column, min(k, len(column) - 1))[:k]
            merged = np.concatenate([best_scores[q], column[top]])
            ids = best_ids[q] + [(video_id, int(p)) for p in top]
            keep = np.argsort(-merged)[:k]
            best_scores[q] = merged[keep]
            best_ids[q] = [ids[j] for j in keep]
    return [set(ids) for ids in best_ids]


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


def main() -> None:
    import contextlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--pg-sizes", default="100,1000,10000")
    parser.add_argument("--queries", type=int, default=100)
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

    # --- FAISS files --------------------------------------------------------------
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

    # --- PostgreSQL + pgvector ---------------------------------------------------------
    if pg_sizes:
        from ytqa import _local_postgres
        from ytqa._postgres import PostgresStore

        server = _local_postgres.start(work / "postgres", settings=SERVER_SETTINGS)
        try:
            store = PostgresStore(server.url)
            library = ytqa.Library(store=store, embedder=embedder, vectors="chunks")
            have = 0
            for size in pg_sizes:
                if have == 0:
                    store.save_transcript(next(iter(real.values()))[0])  # makes the vectors table
                    store._ensure_vectors(DIM)
                store.drop_vector_index(DIM)
                load_s = grow(store, synthetic, real, recipe, have, size, contextlib.nullcontext)
                have = size
                started = time.perf_counter()
                store.create_vector_index(DIM)
                build_s = round(time.perf_counter() - started, 1)
                with store._pool.connection() as conn:
                    conn.execute("ANALYZE")
                    table_mb = conn.execute("SELECT pg_total_relation_size('ytqa_vectors_384')").fetchone()[0] / 2**20
                    count = conn.execute("SELECT count(*) FROM ytqa_vectors_384").fetchone()[0]
                # Measured on a server just started, as after a restart: memory is what serving takes.
                store.close()
                _local_postgres.stop(server.folder)
                server = _local_postgres.start(server.folder, port=server.port, settings=SERVER_SETTINGS)
                store = PostgresStore(server.url)
                library = ytqa.Library(store=store, embedder=embedder, vectors="chunks")

                def memory(before, table_mb=table_mb):
                    import psutil

                    pid = int((server.folder / "pgdata" / "postmaster.pid").read_text().split()[0])
                    parent = psutil.Process(pid)
                    server_mb = sum(p.memory_info().rss for p in [parent] + parent.children()) / 2**20
                    return f"{server_mb:.0f} MB (server), {table_mb:.0f} MB on disk"

                measure("pgvector HNSW", library, store, recipe.family, size, synthetic, real, asked,
                        queries[size], truths[size], rows,
                        {"reopen": lambda: PostgresStore(server.url), "memory": memory,
                         "vectors": count, "load_s": load_s, "build_s": build_s})
            store.close()
        finally:
            _local_postgres.stop(server.folder)
    shutil.rmtree(work, ignore_errors=True)

    print(f"\nwhole run: {(time.perf_counter() - started_all) / 60:.1f} min\n")
    print("| store | videos | vectors | load s | build s | open s | search p50 ms | search p95 ms | recall@10 "
          "| ask-all p50 ms | real video@5 | memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['store']} | {r['videos']:,} | {r['vectors']:,} | {r['load_s']} | {r['build_s']} | {r['open_s']} "
              f"| {r['search_p50_ms']} | {r['search_p95_ms']} | {r['recall@10']} | {r['ask_all_p50_ms']} "
              f"| {r['real_video@5']} | {r['memory']} |")


if __name__ == "__main__":
    main()
