"""Every retrieval lever on every dev set, one table from one run.

    .venv/bin/python benchmarks/retrieval.py [--models minilm,e5] [--sweep]

Sets (from ../shared/data or $YTQA_SHARED_DATA): dev (48), dev2 English (70), dev2
cross-language (45: English questions over es/fr/de tracks), dev3 medical how-to (30)
and dev3 software tutorials (58). Each cell is hit@1 / hit@3 / land@1 / mIoU / r1@0.5;
"whole video" is the reference line for mIoU. Vectors are memoised by text inside the
run, so rows that share chunks do not embed them again. ``--sweep`` adds the boundary
sweep (procedure lead-in and length) and the ranking constants one at a time (RRF k, the
three rankings' weights, the next sentence's weight, candidates) behind the table.

    .venv/bin/python benchmarks/retrieval.py --stages minilm,e5 [--vector-cache data/vcache]

``--stages WEAK,STRONG`` gives the rows of issue 22 instead: each model alone, their
rankings fused (either one leading, the other at a weight), the strong model as a judge
over the weak one's top passages (``ytqa._judge``), and the answers a cross-language
question gets before the strong model's index exists. ``--vector-cache`` keeps vectors by
text across runs (for development; the table is one run either way).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ytqa  # noqa: E402
from ytqa._eval import evaluate, load_questions  # noqa: E402

SHARED = Path(os.environ.get("YTQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
EVAL = SHARED / "eval"
SETS = [  # name, questions file, transcripts, which questions
    ("dev", EVAL / "dev_questions.jsonl", SHARED / "transcripts", lambda row: True),
    ("dev2 en", EVAL / "dev2/questions.jsonl", EVAL / "dev2/transcripts", lambda row: not row["cross_lingual"]),
    ("dev2 cross", EVAL / "dev2/questions.jsonl", EVAL / "dev2/transcripts", lambda row: row["cross_lingual"]),
    ("dev3 medical", EVAL / "dev3/questions.jsonl", EVAL / "dev3/transcripts",
     lambda row: not row["video_id"].startswith("tutorialvqa")),
    ("dev3 tutorial", EVAL / "dev3/questions.jsonl", EVAL / "dev3/transcripts",
     lambda row: row["video_id"].startswith("tutorialvqa")),
]
PLAIN = dict(lexical_weight=0, sentence_weight=0, start_at_sentence=False, min_seconds=0, lead_in=0,
             boundaries="passage", fact_context=0.5)
PREVIOUS = dict(boundaries="passage", cross_lexical_weight=1.5, fact_context=0.5)
ANSWER = dict(boundaries="answer", cross_lexical_weight=1.5, fact_context=0.5)
# label, vectors, search settings; every row but the last two is explicit (the defaults)
ROWS = [
    ("plain: 60 s windows every 20 s, dense only, the window as the moment", "chunks", PLAIN),
    ("previous defaults: + BM25, sentence vectors, start at the best sentence (9 s lead-in, >= 30 s)",
     "chunks+sentences", PREVIOUS),
    ("previous, BM25 off when the question's language is not the transcript's",
     "chunks+sentences", dict(PREVIOUS, cross_lexical_weight=0.0)),
    ("previous, BM25 at half weight across languages",
     "chunks+sentences", dict(PREVIOUS, cross_lexical_weight=0.75)),
    ("previous + procedures get long moments (10 s lead-in, >= 75 s)", "chunks+sentences", ANSWER),
    ("previous + BM25 across languages only for a model that is not multilingual",
     "chunks+sentences", dict(fact_context=0.5)),
    ("defaults: + a fact's sentence chosen with the next one at the model's weight (e5 0.25; others 0.5, as a procedure's)",
     "chunks+sentences", dict()),
    ("defaults, sentence vectors only (the app's quick index)", "sentences", dict()),
]
SWEEP = [(f"defaults, procedures: {lead:g} s lead-in, >= {seconds:g} s", "chunks+sentences",
          dict(procedure_lead_in=lead, procedure_seconds=seconds))
         for lead, seconds in ((10, 45), (10, 60), (10, 90), (10, 120), (6, 75), (15, 75))] + [
    (f"defaults, {name} {value:g}", "chunks+sentences", {name: value})
    for name, values in (("rrf_k", (5, 20, 60)), ("sentence_weight", (0.5, 1.5, 2)),
                         ("dense_weight", (0.5, 1.5)), ("lexical_weight", (0.75, 1, 2)),
                         ("sentence_context", (0, 0.25, 1)), ("fact_context", (0, 0.25, 0.5, 1)),
                         ("candidates", (20, 100)))
    for value in values]


def load_sets():
    sets = []
    for name, path, transcripts, keep in SETS:
        rows = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["id"]] = row
        questions = [q for q in load_questions(path) if keep(rows[q.id])]
        sets.append((name, questions, transcripts))
    return sets


def memoise(embedder, cache: Path | None = None):
    """Vectors by text for this run; with ``cache`` (a folder), also across runs (one pickle
    per model key), so a later run that changes only ranking embeds nothing again."""
    memo: dict[str, np.ndarray] = {}
    embed = embedder.embed_documents
    file = cache / f"{embedder.key}.pkl" if cache else None
    if file and file.is_file():
        memo.update(pickle.loads(file.read_bytes()))

    def memoised(texts, progress=None, batch_size=256):
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            memo.update(zip(todo, embed(todo)))
        return np.vstack([memo[t] for t in texts]) if texts else embed(texts)

    def save():
        if file:
            file.parent.mkdir(parents=True, exist_ok=True)
            part = file.with_suffix(".part")
            part.write_bytes(pickle.dumps(memo))
            part.replace(file)

    embedder.embed_documents = memoised
    embedder.save_memo = save


def cell(m: dict) -> str:
    return f"{m['hit@1']:.2f} / {m['hit@3']:.2f} / {m['land@1']:.2f} / {m['miou']:.2f} / {m['r1@0.5']:.2f}"


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="minilm,e5,e5:onnx-int8",
                        help="comma-separated MODEL or MODEL:BACKEND")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--rows", default="",
                        help="only the rows whose label starts with one of these (comma-separated)")
    parser.add_argument("--vector-cache", type=Path, default=None,
                        help="a folder keeping vectors by text across runs (development only)")
    parser.add_argument("--stores", default="files",
                        help="comma-separated: files, or postgresql://... (the same rows on each store)")
    parser.add_argument("--stages", default="",
                        help="WEAK,STRONG: rows of two models' indexes, fused or judged, instead of --models")
    parser.add_argument("--sets", default="", help="only these sets (comma-separated names)")
    parser.add_argument("--judge", default=None,
                        help="a judge setting (e5, cross-encoder:ID, chat:PROVIDER:MODEL): each row also judged by it")
    parser.add_argument("--judge-candidates", type=int, default=10, help="passages the judge reads (default 10)")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    if not EVAL.is_dir():
        sys.exit(f"needs the shared data at {SHARED} (or set YTQA_SHARED_DATA)")
    sets = load_sets()
    if args.sets:
        sets = [x for x in sets if x[0] in args.sets.split(",")]
    header = "| model | configuration | " + " | ".join(f"{name} ({len(qs)})" for name, qs, _ in sets) + " |"
    print("Each cell: hit@1 / hit@3 / land@1 / mIoU / r1@0.5\n")
    print(header)
    print("|" + "---|" * (len(sets) + 2))
    whole_printed = False
    if args.stages:
        weak, strong = (ytqa.Embedder(name, args.backend) for name in args.stages.split(","))
        memoise(weak, args.vector_cache)
        memoise(strong, args.vector_cache)
        run_stages(sets, weak, strong, args.rows)
        return
    for model in args.models.split(","):
        name, _, backend = model.partition(":")
        embedder = ytqa.Embedder(name, backend or args.backend)
        memoise(embedder, args.vector_cache)
        rows = ROWS + (SWEEP if args.sweep else [])
        if args.rows:
            rows = [row for row in rows if row[0].startswith(tuple(args.rows.split(",")))]
        judges = [None] + ([args.judge] if args.judge else [])
        for store, (label, vectors, search), judge in [(s, r, j) for r in rows for s in args.stores.split(",")
                                                      for j in judges]:
            started = time.perf_counter()
            if judge:
                search = dict(search, judge_candidates=args.judge_candidates)
                label += f" + judge {judge} over the top {args.judge_candidates}"
            library = ytqa.Library(ROOT / "data", embedder=embedder, vectors=vectors,
                                   search=replace(ytqa.SearchSettings(), **search),
                                   store=None if store == "files" else store, judge=judge)
            if store != "files":
                label += " [PostgreSQL store]"
            results = [evaluate(library, qs, transcripts)["metrics"] for _, qs, transcripts in sets]
            if not whole_printed:
                print("| | the whole video as the answer: mIoU / r1@0.5 | " + " | ".join(
                    f"{m['whole_video']['miou']:.2f} / {m['whole_video']['r1@0.5']:.2f}" for m in results) + " |")
                print("| | median gold span, s | " + " | ".join(f"{m['gold_span']:g}" for m in results) + " |")
                whole_printed = True
            spans = ", ".join(f"{m['span@1']:g}" for m in results)
            print(f"| {embedder.spec.name} ({embedder.backend}) | {label} (span@1 {spans} s; {time.perf_counter() - started:.0f} s) | "
                  + " | ".join(cell(m) for m in results) + " |", flush=True)
            embedder.save_memo()


# --- stages: two models' indexes, fused or judged (issue 22) ---------------------------

def build(transcript, embedder, mode: str = "chunks+sentences"):
    """A video's default index (chunks and sentences; or ``mode``) with this model, in memory."""
    from ytqa._builder import Recipe, build_index
    from ytqa._vectors import FaissIndexVectors

    built = build_index(transcript, embedder, Recipe(embedder.spec.name, embedder.key, ytqa.ChunkSettings(), mode))
    vectors = FaissIndexVectors.build(built.chunk_vectors, built.sentence_vectors)
    return ytqa.VideoIndex(transcript, built.chunking, vectors, embedder)


def partner(a, b) -> np.ndarray:
    """For each chunk of index ``a``, the chunk of ``b`` that overlaps it most in time."""
    starts = np.array([c.start for c in b.chunking.chunks])
    ends = np.array([c.end for c in b.chunking.chunks])
    return np.array([int(np.argmax(np.minimum(ends, c.end) - np.maximum(starts, c.start)))
                     for c in a.chunking.chunks])


def fuse(lead, other, mapping, question, weight, settings):
    """``lead``'s ranking with ``other``'s fused scores added at ``weight`` (0-1 scale kept)."""
    a = lead.rank(question, lead.embedder.embed_query(question), settings)
    b = other.rank(question, other.embedder.embed_query(question), settings)
    fused = (a.fused + weight * b.fused[mapping]) / (1 + weight)
    order = np.argsort(-fused, kind="stable")
    return replace(a, order=order[fused[order] > 0].tolist(), fused=fused)


def sentence_judge(ranking, strong, question, settings, candidates, alone=True):
    """The strong model embeds only the sentences of the first stage's top candidates
    (and one either side): they rank those candidates and choose where each starts."""
    index = ranking.index
    top = ranking.order[:candidates]
    n = len(index.chunking.sentences)
    wanted = sorted({i for c in top for i in range(max(0, index.chunking.chunks[c].first_sentence - 1),
                                                   min(n, index.chunking.chunks[c].last_sentence + 1))})
    vectors = strong.embed_documents([index.chunking.sentences[i].text for i in wanted])
    scores = np.full(n, -1.0, dtype="float32")
    scores[wanted] = vectors @ strong.embed_query(question)
    best = {c: max(scores[i] + settings.sentence_context * scores[min(i + 1, n - 1)]
                   for i in range(index.chunking.chunks[c].first_sentence, index.chunking.chunks[c].last_sentence))
            for c in top}
    judged = sorted(top, key=lambda c: -best[c])
    if not alone:
        k = settings.rrf_k
        rank_of = {c: r for r, c in enumerate(judged)}
        judged = sorted(top, key=lambda c: -(1 / (k + top.index(c) + 1) + 1 / (k + rank_of[c] + 1)))
    fused = ranking.fused.copy()
    fused[judged] = np.linspace(1.0, 0.5, len(judged))
    rest = ranking.order[len(top):]
    fused[rest] = np.minimum(fused[rest], 0.49)
    return replace(ranking, order=judged + rest, fused=fused, sentence_scores=scores), len(wanted)


def shipped_across(q, w, st, judge, settings, indexes: dict, mode: str = "chunks+sentences"):
    """What the library does (``_across``) with a question in another language before the
    strong model's index exists: a short video's strong index built at once (``mode``: the
    index it builds; the alternatives measured build a sentence-only or chunk-only one), a
    longer one's top passages judged by the strong model."""
    from ytqa._across import JUDGED, SHORT_VIDEO_SENTENCES
    from ytqa._search import rejudge

    if len(w.chunking.sentences) <= SHORT_VIDEO_SENTENCES:
        key = (w.transcript.video_id, mode)
        if key not in indexes:
            indexes[key] = st if mode == "chunks+sentences" else build(w.transcript, st.embedder, mode)
        return indexes[key].rank(q, st.embedder.embed_query(q), settings)
    judged = replace(settings, judge_candidates=JUDGED, judge_context=1)
    return rejudge(w.rank(q, w.embedder.embed_query(q), settings), judge, q, judged)


def progressive_rows(wn, sn, judge, s, cross):
    """The rows of the progressive default (issue 22, points 1 and 3)."""
    sentence_indexes: dict = {}
    return [
        (f"progressive default at its best index ({sn}'s, as shipped)",
         lambda q, w, st, m, ms: st.rank(q, st.embedder.embed_query(q), s)),
        (f"progressive default before the best index, as shipped: {wn}; across languages a short video's "
         f"{sn} index built at once, a longer one's {wn} top 10 judged by {sn} (±1 sentence)",
         lambda q, w, st, m, ms: shipped_across(q, w, st, judge, s, sentence_indexes)
         if cross(q, w) else w.rank(q, w.embedder.embed_query(q), s)),
    ] + [(f"not kept: across languages, a short video's {sn} {mode} index built at once",
          lambda q, w, st, m, ms, mode=mode: shipped_across(q, w, st, judge, s, sentence_indexes, mode)
          if cross(q, w) else w.rank(q, w.embedder.embed_query(q), s)) for mode in ("sentences", "chunks")]


def stage_rows(sets, weak, strong, settings):
    """label -> (question, weak index, strong index, mapping) -> Ranking, for each row."""
    from ytqa._judge import BiEncoderJudge
    from ytqa._language import same_language
    from ytqa._search import rejudge

    judge, s = BiEncoderJudge(strong), settings
    j10, j20 = replace(s, judge_candidates=10, judge_context=0), replace(s, judge_candidates=20, judge_context=0)
    j10c = replace(s, judge_candidates=10, judge_context=1)
    wn, sn = weak.spec.name, strong.spec.name

    def cross(q, w):
        return not same_language(q, w.transcript.language_code)

    return progressive_rows(wn, sn, judge, s, cross) + [
        (f"{wn} alone (today's default)", lambda q, w, st, m, ms: w.rank(q, w.embedder.embed_query(q), s)),
        (f"{sn} alone", lambda q, w, st, m, ms: st.rank(q, st.embedder.embed_query(q), s)),
        (f"{wn}-led fusion, {sn} at 0.25", lambda q, w, st, m, ms: fuse(w, st, m, q, 0.25, s)),
        (f"{wn}-led fusion, {sn} at 1", lambda q, w, st, m, ms: fuse(w, st, m, q, 1.0, s)),
        (f"{sn}-led fusion, {wn} at 1", lambda q, w, st, m, ms: fuse(st, w, ms, q, 1.0, s)),
        (f"{sn}-led fusion, {wn} at 0.5", lambda q, w, st, m, ms: fuse(st, w, ms, q, 0.5, s)),
        (f"{sn}-led fusion, {wn} at 0.25", lambda q, w, st, m, ms: fuse(st, w, ms, q, 0.25, s)),
        (f"{wn} + {sn} bi-encoder judge, top 10 passages", 
         lambda q, w, st, m, ms: rejudge(w.rank(q, w.embedder.embed_query(q), s), judge, q, j10)),
        (f"{wn} + {sn} bi-encoder judge, top 20 passages",
         lambda q, w, st, m, ms: rejudge(w.rank(q, w.embedder.embed_query(q), s), judge, q, j20)),
        (f"{wn} + {sn} bi-encoder judge, top 10 passages with a sentence either side",
         lambda q, w, st, m, ms: rejudge(w.rank(q, w.embedder.embed_query(q), s), judge, q, j10c)),
        (f"{wn} + {sn} sentences of the top 20 (judge alone)",
         lambda q, w, st, m, ms: sentence_judge(w.rank(q, w.embedder.embed_query(q), s), strong, q, s, 20)[0]),
        (f"{wn} + {sn} sentences of the top 20 (fused with {wn}'s rank)",
         lambda q, w, st, m, ms: sentence_judge(w.rank(q, w.embedder.embed_query(q), s), strong, q, s, 20,
                                                alone=False)[0]),
        (f"before the best index: {wn}; across languages {sn} sentences of {wn}'s top 20",
         lambda q, w, st, m, ms: sentence_judge(w.rank(q, w.embedder.embed_query(q), s), strong, q, s, 20)[0]
         if cross(q, w) else w.rank(q, w.embedder.embed_query(q), s)),
        (f"before the best index: {wn}; across languages {sn} judge on {wn}'s top 10 passages",
         lambda q, w, st, m, ms: rejudge(w.rank(q, w.embedder.embed_query(q), s), judge, q, j10c)
         if cross(q, w) else w.rank(q, w.embedder.embed_query(q), s)),
    ]


def run_stages(sets, weak, strong, only: str = "") -> None:
    from ytqa._eval import load_eval_transcript, metrics

    settings = ytqa.SearchSettings()
    rows = stage_rows(sets, weak, strong, settings)
    if only:
        rows = [r for r in rows if any(r[0].startswith(p) for p in only.split(","))]
    spans = {label: {} for label, _ in rows}
    for _name, questions, transcripts in sets:
        indexes = {}
        for q in questions:
            if q.video_id not in indexes:
                transcript = load_eval_transcript(transcripts, q.video_id)
                w, st = build(transcript, weak), build(transcript, strong)
                indexes[q.video_id] = (w, st, partner(w, st), partner(st, w))
            w, st, m, ms = indexes[q.video_id]
            for label, rank in rows:
                ranking = rank(q.question, w, st, m, ms)
                moments = ranking.index.moments(ranking, q.question, 5, settings)
                spans[label][q.id] = [(x.start, x.end) for x in moments]
        weak.save_memo()
        strong.save_memo()
    for label, _ in rows:
        results = [metrics(qs, spans[label]) for _, qs, _ in sets]
        spans_at_1 = ", ".join(f"{m['span@1']:g}" for m in results)
        print(f"| stages | {label} (span@1 {spans_at_1} s) | " + " | ".join(cell(m) for m in results) + " |",
              flush=True)


if __name__ == "__main__":
    main()
