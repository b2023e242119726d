"""Every retrieval lever on every dev set, one table from one run.

    .venv/bin/python benchmarks/retrieval.py [--models minilm,e5] [--sweep]

Sets (from ../shared/data or $YTQA_SHARED_DATA): dev (48), dev2 English (70), dev2
cross-language (45: English questions over es/fr/de tracks), dev3 medical how-to (30)
and dev3 software tutorials (58). Each cell is hit@1 / hit@3 / land@1 / mIoU / r1@0.5;
"whole video" is the reference line for mIoU. Vectors are memoised by text inside the
run, so rows that share chunks do not embed them again. ``--sweep`` adds the boundary
sweep (procedure lead-in and length) behind the table.
"""

from __future__ import annotations

import argparse
import json
import os
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
             boundaries="passage")
PREVIOUS = dict(boundaries="passage", cross_lexical_weight=1.5)
ANSWER = dict(boundaries="answer", cross_lexical_weight=1.5)
# label, vectors, search settings; every row but the last two is explicit
ROWS = [
    ("plain: 60 s windows every 20 s, dense only, the window as the moment", "chunks", PLAIN),
    ("previous defaults: + BM25, sentence vectors, start at the best sentence (9 s lead-in, >= 30 s)",
     "chunks+sentences", PREVIOUS),
    ("previous, BM25 off when the question's language is not the transcript's",
     "chunks+sentences", dict(PREVIOUS, cross_lexical_weight=0.0)),
    ("previous, BM25 at half weight across languages",
     "chunks+sentences", dict(PREVIOUS, cross_lexical_weight=0.75)),
    ("previous + procedures get long moments (10 s lead-in, >= 75 s)", "chunks+sentences", ANSWER),
    ("defaults: + BM25 across languages only for a model that is not multilingual",
     "chunks+sentences", dict()),
    ("defaults, sentence vectors only (the app's quick index)", "sentences", dict()),
]
SWEEP = [(f"defaults, procedures: {lead:g} s lead-in, >= {seconds:g} s", "chunks+sentences",
          dict(procedure_lead_in=lead, procedure_seconds=seconds))
         for lead, seconds in ((10, 45), (10, 60), (10, 90), (10, 120), (6, 75), (15, 75))]


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


def memoise(embedder):
    memo: dict[str, np.ndarray] = {}
    embed = embedder.embed_documents

    def memoised(texts, progress=None, batch_size=256):
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            memo.update(zip(todo, embed(todo)))
        return np.vstack([memo[t] for t in texts]) if texts else embed(texts)

    embedder.embed_documents = memoised


def cell(m: dict) -> str:
    return f"{m['hit@1']:.2f} / {m['hit@3']:.2f} / {m['land@1']:.2f} / {m['miou']:.2f} / {m['r1@0.5']:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="minilm,e5,e5:onnx-int8",
                        help="comma-separated MODEL or MODEL:BACKEND")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--rows", default="",
                        help="only the rows whose label starts with one of these (comma-separated)")
    parser.add_argument("--stores", default="files",
                        help="comma-separated: files, or postgresql://... (the same rows on each store)")
    args = parser.parse_args()
    if not EVAL.is_dir():
        sys.exit(f"needs the shared data at {SHARED} (or set YTQA_SHARED_DATA)")
    sets = load_sets()
    header = "| model | configuration | " + " | ".join(f"{name} ({len(qs)})" for name, qs, _ in sets) + " |"
    print("Each cell: hit@1 / hit@3 / land@1 / mIoU / r1@0.5\n")
    print(header)
    print("|" + "---|" * (len(sets) + 2))
    whole_printed = False
    for model in args.models.split(","):
        name, _, backend = model.partition(":")
        embedder = ytqa.Embedder(name, backend or args.backend)
        memoise(embedder)
        rows = ROWS + (SWEEP if args.sweep else [])
        if args.rows:
            rows = [row for row in rows if row[0].startswith(tuple(args.rows.split(",")))]
        for store, (label, vectors, search) in [(s, r) for r in rows for s in args.stores.split(",")]:
            started = time.perf_counter()
            library = ytqa.Library(ROOT / "data", embedder=embedder, vectors=vectors,
                                   search=replace(ytqa.SearchSettings(), **search),
                                   store=None if store == "files" else store)
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


if __name__ == "__main__":
    main()
