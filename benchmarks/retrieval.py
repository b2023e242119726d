"""Retrieval levers, one at a time, on a questions file with gold spans (one run each).

    .venv/bin/python benchmarks/retrieval.py [QUESTIONS.jsonl TRANSCRIPTS_DIR] [--backend onnx]

Prints a Markdown table: each row adds one lever to the row above it. Vectors are
memoised by text inside the run, so rows that share chunks do not embed them again.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ytqa  # noqa: E402
from ytqa._eval import evaluate, load_questions  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
FIXED = dict(lexical_weight=0, sentence_weight=0, start_at_sentence=False, min_seconds=0, lead_in=0)
ROWS = [
    ("fixed 30 s windows, dense only (the usual pipeline)",
     dict(window_seconds=30, stride_seconds=30), "chunks", FIXED),
    ("sliding 30 s windows every 10 s",
     dict(window_seconds=30, stride_seconds=10), "chunks", FIXED),
    ("+ BM25, reciprocal rank fusion",
     dict(window_seconds=30, stride_seconds=10), "chunks", dict(FIXED, lexical_weight=1.0, rrf_k=60)),
    ("+ sentence vectors as a third ranking",
     dict(window_seconds=30, stride_seconds=10), "chunks+sentences",
     dict(FIXED, lexical_weight=1.0, sentence_weight=1.0, rrf_k=60)),
    ("+ answer starts at its best sentence",
     dict(window_seconds=30, stride_seconds=10), "chunks+sentences",
     dict(lexical_weight=1.0, rrf_k=60, min_seconds=0, lead_in=0, sentence_context=0)),
    ("+ moments run at least 30 s",
     dict(window_seconds=30, stride_seconds=10), "chunks+sentences",
     dict(lexical_weight=1.0, rrf_k=60, min_seconds=30, lead_in=0, sentence_context=0)),
    ("+ 60 s windows every 15 s",
     dict(window_seconds=60, stride_seconds=15), "chunks+sentences",
     dict(lexical_weight=1.0, rrf_k=60, min_seconds=30, lead_in=0, sentence_context=0)),
    ("+ BM25 weight 1.5, RRF k 10, 6 s lead-in, next-sentence context",
     dict(window_seconds=60, stride_seconds=15), "chunks+sentences", dict(lead_in=6)),
    ("+ a new window every 20 s instead of 15 s",
     dict(window_seconds=60, stride_seconds=20), "chunks+sentences", dict(lead_in=6)),
    ("+ 9 s lead-in (defaults)",
     dict(), "chunks+sentences", dict()),
    ("defaults, sentence vectors only (chunk vectors pooled; the app's quick index)",
     dict(), "sentences", dict()),
    ("defaults, a new window every 15 s (more vectors)",
     dict(stride_seconds=15), "chunks+sentences", dict()),
    ("defaults, a new window every 30 s (fewer vectors)",
     dict(stride_seconds=30), "chunks+sentences", dict()),
]
LEAD_INS = (0, 3, 6, 7, 8, 9, 10, 12, 15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", nargs="?", default=SHARED / "eval" / "dev_questions.jsonl")
    parser.add_argument("transcripts", nargs="?", default=SHARED / "transcripts")
    parser.add_argument("--backend", default=None)
    args = parser.parse_args()
    questions = load_questions(args.questions)
    embedder = ytqa.Embedder(backend=args.backend)
    memo: dict[str, np.ndarray] = {}
    embed = embedder.embed_documents

    def memoised(texts, progress=None, batch_size=256):
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            memo.update(zip(todo, embed(todo)))
        return np.vstack([memo[t] for t in texts])

    embedder.embed_documents = memoised
    print(f"{len(questions)} questions, model {embedder.spec.name}, backend {embedder.backend}\n")
    print("| configuration | hit@1 | hit@3 | hit@5 | mrr@5 | iou@1 | wait@1 s | span@1 s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, chunking, vectors, search in ROWS:
        library = ytqa.Library(tempfile.mkdtemp(prefix="ytqa-levers-"), embedder=embedder,
                               chunking=ytqa.ChunkSettings(**chunking), search=ytqa.SearchSettings(**search),
                               vectors=vectors)
        m = evaluate(library, questions, args.transcripts)["metrics"]
        print(f"| {label} | {m['hit@1']:.3f} | {m['hit@3']:.3f} | {m['hit@5']:.3f} | {m['mrr@5']:.3f} | "
              f"{m['iou@1']:.3f} | {m['wait@1']} | {m['span@1']} |", flush=True)

    # Lead-in moves where an answer starts: too little and the setup is cut off (a miss
    # when the gold answer begins before the best sentence), too much and people wait.
    print("\n| lead-in s | hit@1 | hit@3 | mrr@5 | wait@1 s | span@1 s |")
    print("|---|---|---|---|---|---|")
    for lead_in in LEAD_INS:
        library = ytqa.Library(tempfile.mkdtemp(prefix="ytqa-levers-"), embedder=embedder,
                               search=ytqa.SearchSettings(lead_in=lead_in))
        m = evaluate(library, questions, args.transcripts)["metrics"]
        print(f"| {lead_in:g} | {m['hit@1']:.3f} | {m['hit@3']:.3f} | {m['mrr@5']:.3f} | "
              f"{m['wait@1']} | {m['span@1']} |", flush=True)


if __name__ == "__main__":
    main()
