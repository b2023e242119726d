"""The ``ytqa`` command: a thin shell over the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from typing import Sequence

from . import _errors as errors
from ._embeddings import BACKENDS, DEFAULT_BACKEND
from ._links import format_timestamp
from ._links import video_id as parse_video_id


def _languages(value: str | None) -> list[str]:
    return [code.strip() for code in (value or "").split(",") if code.strip()]


def _library(args):
    from ._library import Library
    from ._youtube import ProxySettings

    proxy = ProxySettings.from_env()
    if getattr(args, "proxy", None) or getattr(args, "webshare_username", None):
        proxy = ProxySettings(
            http_url=args.proxy,
            https_url=args.proxy,
            webshare_username=args.webshare_username,
            webshare_password=args.webshare_password or os.environ.get("YTQA_WEBSHARE_PASSWORD"),
        )
    return Library(args.data_dir, model=args.model, backend=getattr(args, "backend", None), proxy=proxy)


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    last = {}

    def show(stage: str, done: int, total: int) -> None:
        if last.get(stage) == done:
            return
        last[stage] = done
        end = "\n" if done >= total else ""
        print(f"\r{stage}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def cmd_id(args) -> int:
    status = 0
    for link in args.links:
        try:
            print(parse_video_id(link))
        except errors.InvalidLink as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
    return status


def cmd_index(args) -> int:
    library = _library(args)
    index = library.index(
        args.video,
        transcript_file=args.transcript,
        languages=_languages(args.lang),
        progress=_progress(args.quiet),
    )
    t = index.transcript
    print(
        f"{t.video_id}: {len(index.chunking.chunks)} chunks, {format_timestamp(t.duration)} long, "
        f"{t.language} ({t.kind}), model {library.embedder.spec.name}"
        + (f" - {t.title}" if t.title else "")
    )
    return 0


def cmd_ask(args) -> int:
    library = _library(args)
    moments = library.ask(
        args.video, args.question, k=args.k,
        transcript_file=args.transcript, languages=_languages(args.lang),
    )
    if args.json:
        print(json.dumps({
            "video_id": parse_video_id(args.video),
            "question": args.question,
            "results": [
                {"start": round(m.start, 2), "end": round(m.end, 2), "text": m.text,
                 "score": round(m.score, 4), "url": m.url}
                for m in moments
            ],
        }, ensure_ascii=False, indent=2))
        return 0
    if not moments:
        print("No passage of this video matches the question.")
    width = min(100, os.get_terminal_size().columns if sys.stdout.isatty() else 100)
    for rank, moment in enumerate(moments, 1):
        print(f"{rank}. {moment.timestamp}-{format_timestamp(moment.end)}  {moment.url}  (score {moment.score:.3f})")
        print(textwrap.fill(moment.text, width=width, initial_indent="   ", subsequent_indent="   "))
        print()
    return 0


def cmd_eval(args) -> int:
    from ._eval import evaluate, load_questions

    library = _library(args)
    questions = load_questions(args.questions)
    progress = None if args.json or not sys.stderr.isatty() else (
        lambda video: print(f"indexing {video}", file=sys.stderr, flush=True))
    report = evaluate(library, questions, args.transcripts, k=args.k, progress=progress)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    metrics = report["metrics"]
    print(f"{metrics['questions']} questions, model {library.embedder.spec.name}, k={args.k}")
    for name in ("hit@1", "hit@3", "hit@5", "mrr@5", "iou@1"):
        print(f"  {name:<8}{metrics[name]:.3f}")
    print(f"  {'wait@1':<8}{metrics['wait@1']} s (median, top-1 hits)")
    print(f"  {'span@1':<8}{metrics['span@1']} s (median length of top-1 results)")
    return 0


def cmd_bench(args) -> int:
    from pathlib import Path

    from . import _bench

    if not args.transcript:
        default = Path(__file__).resolve().parents[1].parent / "shared/data/transcripts/nTgKbiWg-YY.json"
        if not default.exists():
            raise errors.YtqaError("Name a transcript to measure with --transcript FILE.")
        args.transcript = str(default)
    if bool(args.questions) != bool(args.transcripts):
        raise errors.YtqaError("--questions and --transcripts go together.")
    return _bench.run(args)


def cmd_list(args) -> int:
    from ._library import Library

    videos = Library(args.data_dir).videos()
    if not videos:
        print(f"No videos stored in {args.data_dir} yet. Add one with 'ytqa index LINK'.")
    for v in videos:
        title = v.title or "(untitled)"
        print(f"{v.video_id}  {format_timestamp(v.duration):>8}  {v.language_code:<5} {v.kind:<15} {title}")
    return 0


def cmd_delete(args) -> int:
    from ._library import Library

    Library(args.data_dir).delete(args.video)
    print(f"deleted {parse_video_id(args.video)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ytqa",
        description="Ask a YouTube video a question; get the moments that answer it.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p, model=True, network=False):
        p.add_argument("--data-dir", default=os.environ.get("YTQA_DATA_DIR", "data"),
                       help="where transcripts and indexes are kept (default: ./data)")
        if model:
            p.add_argument("--model", default=os.environ.get("YTQA_MODEL"),
                           help="minilm (default), multi-qa-mpnet, e5 (multilingual), a Hugging Face id "
                                "or a local folder")
            p.add_argument("--backend", choices=BACKENDS, default=None,
                           help=f"how the model runs (default {DEFAULT_BACKEND}, or YTQA_BACKEND)")
        if network:
            p.add_argument("--proxy", metavar="URL",
                           help="HTTP(S) proxy for YouTube, e.g. http://user:pass@host:port (or YTQA_PROXY)")
            p.add_argument("--webshare-username", help="Webshare residential proxy user (or YTQA_WEBSHARE_USERNAME)")
            p.add_argument("--webshare-password", help="Webshare proxy password (or YTQA_WEBSHARE_PASSWORD)")

    p = sub.add_parser("id", help="print the video id of each link")
    p.add_argument("links", nargs="+", metavar="LINK")
    p.set_defaults(run=cmd_id)

    p = sub.add_parser("index", help="fetch (or read) a transcript and index it")
    p.add_argument("video", metavar="VIDEO", help="a YouTube link or video id")
    p.add_argument("--transcript", metavar="FILE", help=".srt, .vtt or youtube-transcript-api .json")
    p.add_argument("--lang", metavar="CODES", help="preferred languages, e.g. en,de (YouTube translates if needed)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    common(p, network=True)
    p.set_defaults(run=cmd_index)

    p = sub.add_parser("ask", help="ask a question about a video")
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--transcript", metavar="FILE")
    p.add_argument("--lang", metavar="CODES")
    p.add_argument("-k", type=int, default=5, help="number of moments (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    common(p, network=True)
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("eval", help="measure retrieval on questions with gold answer spans")
    p.add_argument("questions", metavar="QUESTIONS.jsonl")
    p.add_argument("--transcripts", required=True, metavar="DIR", help="folder of <video_id>.json transcripts")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("bench", help="compare models and backends on this machine")
    p.add_argument("--transcript", metavar="FILE", help="transcript to index and query "
                   "(default: the 2h45m tutorial in ../shared/data, if present)")
    p.add_argument("--video", metavar="ID", help="its video id (default: the file name)")
    p.add_argument("--models", metavar="NAMES", help="comma-separated (default: installed ones)")
    p.add_argument("--backends", metavar="NAMES", help=f"comma-separated (default: {','.join(BACKENDS)})")
    p.add_argument("--questions", metavar="QUESTIONS.jsonl", help="also measure retrieval quality")
    p.add_argument("--transcripts", metavar="DIR", help="transcripts for --questions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser("list", help="list stored videos")
    common(p, model=False)
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("delete", help="remove a video and its indexes")
    p.add_argument("video", metavar="VIDEO")
    common(p, model=False)
    p.set_defaults(run=cmd_delete)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "k", 1) is not None and getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    try:
        return args.run(args)
    except errors.YtqaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
