"""The ``ytqa`` command: a thin shell over the library."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import textwrap
from typing import Sequence

from . import _errors as errors
from ._collections import DEFAULT_DELAY
from ._config import current as current_config
from ._embeddings import BACKENDS, DEFAULT_BACKEND, weak_match
from ._links import format_timestamp
from ._links import video_id as parse_video_id


def _languages(value: str | None) -> list[str]:
    return [code.strip() for code in (value or "").split(",") if code.strip()]


def _warn(line: str) -> None:
    """A one-line warning on stderr (a file skipped, a video waited for)."""
    print(line, file=sys.stderr, flush=True)


def _library(args):
    from ._library import Library, default_strong
    from ._youtube import ProxySettings

    config = current_config()
    proxy = ProxySettings.from_config(config.proxy)
    if getattr(args, "proxy", None) or getattr(args, "webshare_username", None):
        proxy = ProxySettings(
            http_url=args.proxy,
            https_url=args.proxy,
            webshare_username=args.webshare_username,
            webshare_password=args.webshare_password or config.proxy.webshare_password,
        )
    if proxy is not None:
        proxy.check()  # before any work: a malformed --proxy is named at once
    model = getattr(args, "model", None)
    return Library(args.data_dir, model=model, backend=getattr(args, "backend", None),
                   proxy=proxy, store=args.store, notice=_warn,
                   cookies=getattr(args, "cookies", None) or config.cookies, strong=default_strong(model),
                   user=getattr(args, "user", None), judge=getattr(args, "judge", None) or config.judge)


#: Without a terminal (a log, CI), progress is a line every this many seconds.
PROGRESS_SECONDS = 5.0


def _left(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    return f"about {round(seconds / 60)} min left"


def _progress(quiet: bool, stream=None, every: float | None = None, clock=None):
    """Progress on stderr: redrawn in place on a terminal, else a line every few seconds;
    with an estimate of the time left once the first part of a long stage is done."""
    if quiet:
        return None
    import time

    clock = clock or time.monotonic
    stream = stream or sys.stderr
    tty = stream.isatty()
    every = PROGRESS_SECONDS if every is None else every
    started: dict[str, float] = {}
    shown: dict[str, tuple[int, float]] = {}

    def show(stage: str, done: int, total: int) -> None:
        now = clock()
        begun = started.setdefault(stage, now)
        last = shown.get(stage)
        if last is not None and last[0] == done:
            return
        finished = done >= total
        if not tty and last is not None and not finished and now - last[1] < every:
            return
        if not tty and total <= 1 and not finished:
            return  # a one-step stage: its end is the news
        shown[stage] = (done, now)
        line = f"{stage}: {done:,}/{total:,}"
        if 0 < done < total and now - begun >= 1.0:
            line += f" ({_left((now - begun) / done * (total - done))})"
        if tty:
            print(f"\r{line}\033[K", end="\n" if finished else "", file=stream, flush=True)
        else:
            print(line, file=stream, flush=True)

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
        cheap=args.cheap,
    )
    t = index.transcript
    print(
        f"{t.video_id}: {len(index.chunking.chunks)} chunks, {format_timestamp(t.duration)} long, "
        f"{t.language} ({t.kind}), {index.label}"
        + (f" - {t.title}" if t.title else "")
    )
    return 0


def cmd_ask(args) -> int:
    if args.collection or args.all:
        return _ask_many(args)
    if args.question is None:
        raise errors.YtqaError(
            "Give a video and a question: ytqa ask VIDEO QUESTION (or ytqa ask --collection "
            "NAME QUESTION, ytqa ask --all QUESTION).")
    library = _library(args)
    moments = library.ask(
        args.video, args.question, k=args.k,
        transcript_file=args.transcript, languages=_languages(args.lang),
    )
    weak = weak_match(moments, library.embedder)
    if args.json:
        answer, code = _answer_json(args, args.question, moments, weak)
        print(json.dumps({
            "video_id": parse_video_id(args.video),
            "question": args.question,
            "weak": weak,
            "results": [m.to_json() for m in moments],
            **answer,
        }, ensure_ascii=False, indent=2))
        return code
    code, moments = _answer_text(args, args.question, moments, weak)
    if not moments:
        print("No passage of this video matches the question.")
    elif moments[0].caveat:
        print(f"May miss: {moments[0].caveat}\n")
    if moments and weak:
        print(_weak_line(moments, library.embedder))
    # A terminal may report 0 columns (script, some CI consoles).
    columns = os.get_terminal_size().columns if sys.stdout.isatty() else 100
    width = max(40, min(100, columns or 100))
    for rank, moment in _numbered(moments):
        length = format_timestamp(moment.end - moment.start)
        print(f"{rank}. {moment.timestamp}-{format_timestamp(moment.end)} ({length})  {moment.url}"
              f"  (score {moment.score:.3f})")
        print(textwrap.fill(moment.text, width=width, initial_indent="   ", subsequent_indent="   "))
        print()
    if moments:
        print(_answered_by(moments, library))
    return code


def _answered_by(moments, library) -> str:
    """Which model and index answered, whether a better one is coming, and why it may miss."""
    line = f"Answered by the {moments[0].answered_by}."
    best = library.progression.best
    if moments[0].answered_by and best.model is not library.progression.stages[0].model and \
            best.label not in moments[0].answered_by:
        line += f" The {best.label} is not built yet: 'ytqa index VIDEO' builds it."
    return line


def _weak_line(moments, embedder) -> str:
    best = max(m.best_in_video for m in moments)
    hint = "" if embedder.spec.multilingual else (
        "; if the question is in another language than the video, --model e5 matches across languages")
    return (f"No passage matches well (best similarity {best:.2f}, under {embedder.spec.weak_below:.2f}): "
            f"these are only the closest. Ask with words the speaker would use{hint}.\n")


def _ask_many(args) -> int:
    """ytqa ask --collection NAME QUESTION, or --all QUESTION: moments named by their video."""
    if args.collection and args.all:
        raise errors.YtqaError("Ask one collection (--collection NAME) or all videos (--all), not both.")
    if args.question is not None:
        raise errors.YtqaError(
            f"With --{'collection' if args.collection else 'all'}, give only the question "
            "(ytqa ask --collection NAME QUESTION); to ask one video: ytqa ask VIDEO QUESTION.")
    if args.transcript or args.lang:
        raise errors.YtqaError("--transcript and --lang are for one video; ask it with ytqa ask VIDEO QUESTION.")
    question = args.video
    collections = _collections(args)
    if args.collection:
        scope = collections.get(args.collection)
        moments = collections.ask(scope.key, question, k=args.k)
        where = f"{scope.title}"
        skipped = collections.library.not_searched([v.video_id for v in scope.videos])
    else:
        moments = collections.titled(collections.library.ask_all(question, k=args.k))
        where = "the library"
        skipped = collections.library.not_searched()
    if skipped:  # searching never builds an index: say what it could not look at, and how
        shown = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
        print(f"Not searched (not indexed with this model, or damaged): {shown}. Index them with "
              "'ytqa index VIDEO' (with the same --model).", file=sys.stderr)
    weak = weak_match(moments, collections.library.embedder)
    if args.json:
        return _many_json(args, scope.key if args.collection else None, question, moments, weak)
    code, moments = _answer_text(args, question, moments, weak)
    if not moments:
        print(f"No passage of {where} matches the question.")
    elif weak:
        print(_weak_line(moments, collections.library.embedder))
    width = min(100, os.get_terminal_size().columns if sys.stdout.isatty() else 100)
    for rank, moment in _numbered(moments):
        print(f"{rank}. {moment.title or moment.video_id}")
        print(f"   {moment.timestamp}-{format_timestamp(moment.end)}  {moment.url}  (score {moment.score:.3f})")
        print(textwrap.fill(moment.text, width=width, initial_indent="   ", subsequent_indent="   "))
        print()
    return code


def _many_json(args, collection, question, moments, weak) -> int:
    answer, code = _answer_json(args, question, moments, weak)
    print(json.dumps({
        "collection": collection,
        "question": question,
        "weak": weak,
        "results": [
            {"video_id": m.video_id, "title": m.title, "start": round(m.start, 2),
             "end": round(m.end, 2), "text": m.text, "score": round(m.score, 4), "url": m.url}
            for m in moments
        ],
        **answer,
    }, ensure_ascii=False, indent=2))
    return code


# --- answers in words (--answer, --chat-model) ------------------------------------------


def add_answer_arguments(p) -> None:
    """ytqa ask's --answer and --chat-model."""
    p.add_argument("--answer", action="store_true",
                   help="also answer in words, citing the moments, with a chat model (--chat-model or YTQA_CHAT_MODEL)")
    p.add_argument("--chat-model", metavar="PROVIDER:MODEL",
                   help="the chat model that answers (implies --answer): ollama:llama3.2, openai:gpt-4o-mini, "
                        "llamacpp:/path/model.gguf (or YTQA_CHAT_MODEL; its server: YTQA_CHAT_BASE_URL)")


def _written(args, question, moments, weak, stream_to=None):
    """The chat model's answer when asked for (None when not); its text goes to
    ``stream_to`` as it is written. A failure raises ``AnswerUnavailable``."""
    from ._answer import Answerer

    if not (args.answer or args.chat_model):
        return None
    answerer = Answerer.from_config(current_config(), args.chat_model)
    if answerer is None:
        raise errors.YtqaError("No chat model is set to answer in words: give one with --chat-model "
                               "(such as ollama:llama3.2), or set YTQA_CHAT_MODEL.")
    stream = answerer.stream(question, moments, weak=weak)
    for piece in stream:
        if stream_to is not None:
            print(piece, end="", file=stream_to, flush=True)
    return stream.result


def _answer_json(args, question, moments, weak) -> tuple[dict, int]:
    """--json's answer fields ("answer", "citations": 0-based into "results", ...) and the exit code."""
    try:
        written = _written(args, question, moments, weak)
    except errors.AnswerUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return {"answer": None, "citations": [], "answer_error": str(error)}, 1
    return ({} if written is None else written.to_json()), 0


def _answer_text(args, question, moments, weak):
    """Prints the answer as it is written, then says which moments follow: the cited ones
    (a verified answer), else all. Returns the exit code and the moments to print."""
    try:
        written = _written(args, question, moments, weak, stream_to=sys.stdout)
    except errors.AnswerUnavailable as error:
        print(file=sys.stdout, flush=True)
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1, moments
    if written is None:
        return 0, moments
    print()
    for note in written.notes:
        print(f"({note})")
    if written.not_answered or not written.verified:
        if not written.not_answered:
            wrong = ", ".join(f"[{n}]" for n in written.wrong_citations)
            print(f"(Unverified: {'it cites ' + wrong + ', which it was not given' if wrong else 'it cites no moment'}; "
                  "check it against the moments.)")
        print()
        return 0, moments
    print(f"(Written by {written.model} from the moments it cites:)")
    print()
    return 0, _Cited(moments, written.citations)


class _Cited(list):
    """The cited moments, each keeping its number among all the moments."""

    def __init__(self, moments, citations):
        super().__init__(moments[i] for i in citations)
        self.numbers = [i + 1 for i in citations]


def _numbered(moments):
    return zip(getattr(moments, "numbers", range(1, len(moments) + 1)), moments)


# --- playlists and channels ---------------------------------------------------------


def _collections(args, library=None):
    from ._collections import Collections

    return Collections(library or _library(args), delay=getattr(args, "delay", None))


def _shown(video) -> str:
    return video.title or "(untitled)"


def _run_printer(quiet: bool):
    """Prints each video as it is indexed or fails, and every back-off wait."""
    def show(progress) -> None:
        video = progress.video
        if progress.note:
            print(f"  {progress.note}", file=sys.stderr, flush=True)
        elif video.state in ("indexed", "failed") and not quiet:
            why = f": {video.reason}" if video.state == "failed" else ""
            print(f"[{progress.done}/{progress.total}] {video.state:<8} {video.video_id}  "
                  f"{_shown(video)}{why}", flush=True)

    return show


def _report(report) -> None:
    c = report.collection
    print(f"{c.title}: {c.summary()}"
          + (f" (failed ones: ytqa collections {c.key})" if c.count("failed") else ""))


def _header(saved) -> None:
    kind = saved.kind if not saved.tab else f"channel tab {saved.tab}"
    print(f"{saved.title} ({kind}, {saved.total} videos; key {saved.key})")
    for video in saved.videos:
        if video.state == "failed" and video.failed_at == "listing":
            print(f"  cannot be indexed: {video.video_id}  {_shown(video)}: {video.reason}")


def cmd_add(args) -> int:
    collections = _collections(args)
    saved = collections.add(args.link, _languages(args.lang))
    _header(saved)
    report = collections.index(saved.key, _run_printer(args.quiet), retry_failed=args.retry_failed)
    _report(report)
    return 0


def cmd_sync(args) -> int:
    collections = _collections(args)
    targets = [collections.get(args.collection)] if args.collection else collections.all()
    if not targets:
        print("No playlist or channel is added yet. Add one with 'ytqa add LINK'.")
        return 0
    for saved in targets:
        report = collections.sync(saved.key, _run_printer(args.quiet))
        new = len(report.new)
        print(f"{report.collection.title}: {new} new video{'s' if new != 1 else ''}; "
              f"{report.collection.summary()}")
    return 0


def _collection_store(args, library=None):
    """The collections the person sees, from the store (``--store``) or the library's folder."""
    collections = _collections(args, library)
    collections.store.notice = _warn
    return collections


def cmd_collections(args) -> int:
    store = _collection_store(args).store
    if args.collection:
        saved = store.find(args.collection)
        if args.json:
            print(json.dumps(saved.to_json(), ensure_ascii=False, indent=2))
            return 0
        _header(saved)
        print(f"  {saved.summary()}; source {saved.source}")
        for v in saved.videos:
            length = format_timestamp(v.duration) if v.duration else "?"
            why = f": {v.reason}" if v.state == "failed" else ""
            gone = " (no longer listed)" if not v.listed else ""
            print(f"  {v.state:<8} {v.video_id}  {length:>8}  {_shown(v)}{why}{gone}")
        return 0
    added = store.all()
    if args.json:
        print(json.dumps([c.to_json() for c in added], ensure_ascii=False, indent=2))
        return 0
    if not added:
        print("No playlist or channel is added yet. Add one with 'ytqa add LINK'.")
    for c in added:
        print(f"{c.key}  {c.kind:<8} {c.title}: {c.summary()}")
    return 0


def cmd_remove(args) -> int:
    saved = _collection_store(args).remove(args.collection)
    print(f"removed {saved.title} ({saved.key}); its videos stay in the library")
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
    library.progression.drop_unloadable()
    best = library.progression.best.model.get().spec.name
    print(f"{metrics['questions']} questions, model {best} (its best index), k={args.k}")
    print(f"  hit@1 {metrics['hit@1']:.3f}  hit@3 {metrics['hit@3']:.3f}  hit@5 {metrics['hit@5']:.3f}"
          f"  mrr@5 {metrics['mrr@5']:.3f}   (a top moment overlaps the answer)")
    print(f"  land@1 {metrics['land@1']:.3f}  land@3 {metrics['land@3']:.3f}"
          "   (a click plays the answer within 15 s)")
    print(f"  mIoU {metrics['miou']:.3f}  r1@0.3 {metrics['r1@0.3']:.3f}  r1@0.5 {metrics['r1@0.5']:.3f}"
          f"  r1@0.7 {metrics['r1@0.7']:.3f}   (overlap of the top moment with the answer)")
    whole = metrics.get("whole_video")
    if whole:
        print(f"  the whole video as the answer: mIoU {whole['miou']:.3f}  r1@0.5 {whole['r1@0.5']:.3f}")
    print(f"  wait@1 {metrics['wait@1']} s (median, top-1 hits)   span@1 {metrics['span@1']} s"
          f" (median top moment; gold {metrics['gold_span']} s)")
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
    library = _library(args)  # no model: listing reads the store only
    videos = library.videos(search=args.search)
    owners = _owners(library, videos) if args.owners else {}
    if not videos:
        where = args.store or args.data_dir
        if args.user and not args.search:
            print(f"{args.user} has no videos in {errors.mask_credentials(str(where))} yet, and none is "
                  f"shared with them. Add one with 'ytqa index LINK --user {args.user}'.")
        else:
            print(f"No videos stored in {where} yet. Add one with 'ytqa index LINK'." if not args.search
                  else f"No stored video has {args.search!r} in its title or id.")

    def line(v) -> str:
        if v.damaged:
            return (f"{v.video_id}  DAMAGED: {v.damaged} (fetch it again with 'ytqa index {v.video_id}', "
                    f"or remove it with 'ytqa delete {v.video_id}')")
        title = v.title or "(untitled)"
        return (f"{v.video_id}  {format_timestamp(v.duration):>8}  {v.language_code:<5} {v.kind:<15} {title}"
                + (f"  [{owners[v.video_id]}]" if args.owners else ""))

    added = _collection_store(args, library).all() if videos else []
    if not added:
        for v in videos:
            print(line(v))
        return 0
    by_id = {v.video_id: v for v in videos}
    grouped = set()
    for c in added:
        members = [by_id[v.video_id] for v in c.videos if v.video_id in by_id]
        grouped.update(v.video_id for v in members)
        print(f"{c.title} ({c.kind} {c.key}: {c.summary()})")
        for v in members:
            print("  " + line(v))
    rest = [v for v in videos if v.video_id not in grouped]
    if rest:
        print("Not in a playlist or channel")
        for v in rest:
            print("  " + line(v))
    return 0


def _owners(library, videos) -> dict[str, str]:
    """Each video's holders in words: "ana, bob (shared)", "ana (shared with physics)", or
    "everyone's" when nobody holds it."""
    held: dict[str, list] = {}
    for holding in library.access.holdings([v.video_id for v in videos]):
        held.setdefault(holding.video_id, []).append(holding)

    def sharing(holdings) -> str:
        groups = sorted({h.group for h in holdings if h.group is not None})
        return (" (shared)" if any(h.shared for h in holdings)
                else f" (shared with {', '.join(groups)})" if groups else "")

    return {v.video_id: ", ".join(h.person for h in held[v.video_id]) + sharing(held[v.video_id])
            if v.video_id in held else "everyone's" for v in videos}


def cmd_share(args) -> int:
    try:
        video_id = parse_video_id(args.video)
    except errors.InvalidLink:  # not a video: an added playlist or channel
        return _share_collection(args)
    library = _library(args)
    group = getattr(args, "group", None)
    library.access.share(video_id, args.command == "share", group)
    print(f"{video_id} is shared with the group {group}" if group else
          f"{video_id} is shared with everyone" if args.command == "share" else
          f"{video_id} is no longer shared: only the people who added it see it")
    return 0


def _share_collection(args) -> int:
    if getattr(args, "group", None):
        raise errors.YtqaError("A playlist or channel is shared with everyone or no one: "
                               f"ytqa share {args.video} (without --group).")
    saved = _collections(args).share(args.video, args.command == "share")
    print(f"{saved.title} ({saved.key}) is shared with everyone" if saved.shared else
          f"{saved.title} ({saved.key}) is no longer shared: only {saved.owner} sees it")
    return 0


def cmd_transfer(args) -> int:
    library = _library(args)
    video_id = parse_video_id(args.video)
    library.access.transfer(video_id, args.person)
    print(f"{video_id} is {args.person}'s now")
    return 0


def cmd_delete(args) -> int:
    # No model either. Nothing stored, busy, or not all removed: an error naming it (exit 1).
    library = _library(args)
    library.delete(args.video)
    video_id = parse_video_id(args.video)
    print(f"deleted {video_id}" if library.access.admin else f"deleted {video_id} from {args.user}'s library")
    return 0


def cmd_postgres(args) -> int:
    from . import _local_postgres as local

    folder = args.folder or os.path.join(args.data_dir, "postgres")
    if args.action == "stop":
        print("stopped" if local.stop(folder) else f"no server was running in {folder}")
        return 0
    server = local.running(folder) if args.action == "url" else local.start(folder, port=args.port)
    if server is None:
        raise errors.YtqaError(f"No server is running in {folder}: start it with 'ytqa postgres start {folder}'.")
    print(server.url)
    if args.action == "start" and sys.stderr.isatty():
        print(f"use it with --store {server.url} (or export YTQA_STORE={server.url}); "
              f"stop it with 'ytqa postgres stop {folder}'", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ytqa",
        description="Ask a YouTube video a question; get the moments that answer it.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config = current_config()
    _video_commands(sub, config)
    _collection_commands(sub, config)
    _library_commands(sub, config)
    return parser


def _common(p, config, model=True, network=False):
    """The options every command that opens the library takes."""
    p.add_argument("--data-dir", default=config.data_dir,
                   help="where transcripts and indexes are kept (default: ./data, or YTQA_DATA_DIR)")
    p.add_argument("--store", metavar="URL", default=config.store,
                   help="a shared library on PostgreSQL with pgvector, postgresql://user:pass@host:port/db "
                        "(or YTQA_STORE); default: the --data-dir folder")
    p.add_argument("--user", metavar="NAME", default=config.user,
                   help="act as this person on a store many people use: see your videos and the shared "
                        "ones, change only yours (or YTQA_USER; administrators: YTQA_ADMINS)")
    if model:
        p.add_argument("--model", default=config.model,
                       help="minilm (default), multi-qa-mpnet, e5 (multilingual), a Hugging Face id "
                            "or a local folder")
        p.add_argument("--backend", choices=BACKENDS, default=None,
                       help=f"how the model runs (default {DEFAULT_BACKEND}, or YTQA_BACKEND)")
    if network:
        p.add_argument("--proxy", metavar="URL",
                       help="HTTP(S) proxy for YouTube, e.g. http://user:pass@host:port (or YTQA_PROXY)")
        p.add_argument("--webshare-username", help="Webshare residential proxy user (or YTQA_WEBSHARE_USERNAME)")
        p.add_argument("--webshare-password", help="Webshare proxy password (or YTQA_WEBSHARE_PASSWORD)")
        p.add_argument("--cookies", metavar="FILE", help="a cookies.txt (Netscape) of a browser signed in "
                       "to YouTube, sent with every request (or YTQA_COOKIES)")


def _judge_argument(p, config) -> None:
    p.add_argument("--judge", metavar="JUDGE", default=config.judge,
                   help="a second look at the top passages of each question: e5 (a stronger embedding model), "
                        "cross-encoder:HUB_ID, chat (the chat model of --chat-model / YTQA_CHAT_MODEL) or "
                        "chat:PROVIDER:MODEL; none (default, or YTQA_JUDGE)")


def _video_commands(sub, config) -> None:
    """id, index, ask, eval and bench: one video, or the measures."""
    p = sub.add_parser("id", help="print the video id of each link")
    p.add_argument("links", nargs="+", metavar="LINK")
    p.set_defaults(run=cmd_id)

    p = sub.add_parser("index", help="fetch (or read) a transcript and index it")
    p.add_argument("video", metavar="VIDEO", help="a YouTube link or video id")
    p.add_argument("--transcript", metavar="FILE", help=".srt, .vtt or youtube-transcript-api .json")
    p.add_argument("--lang", metavar="CODES", help="preferred languages, e.g. en,de (YouTube translates if needed)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.add_argument("--cheap", action="store_true", help="build the first model's index only, not the strong "
                   "model's (YTQA_STRONG_MODEL, e5 by default), which is the best and the default")
    _common(p, config, network=True)
    p.set_defaults(run=cmd_index)

    p = sub.add_parser("ask", help="ask a question about a video, a collection or the library",
                       usage="ytqa ask VIDEO QUESTION | ytqa ask --collection NAME QUESTION | "
                             "ytqa ask --all QUESTION")
    p.add_argument("video", metavar="VIDEO", help="a YouTube link or video id (the question, with --collection or --all)")
    p.add_argument("question", metavar="QUESTION", nargs="?")
    p.add_argument("--collection", metavar="NAME", help="ask every indexed video of an added playlist or channel (its key, link or title)")
    p.add_argument("--all", action="store_true", help="ask every video in the library")
    p.add_argument("--transcript", metavar="FILE")
    p.add_argument("--lang", metavar="CODES")
    p.add_argument("-k", type=int, default=5, help="number of moments (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_answer_arguments(p)
    _judge_argument(p, config)
    _common(p, config, network=True)
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("eval", help="measure retrieval on questions with gold answer spans")
    p.add_argument("questions", metavar="QUESTIONS.jsonl")
    p.add_argument("--transcripts", required=True, metavar="DIR", help="folder of <video_id>.json transcripts")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    _judge_argument(p, config)
    _common(p, config)
    p.set_defaults(run=cmd_eval)
    _bench_command(sub)


def _bench_command(sub) -> None:
    """ytqa bench: models and backends compared on this machine."""
    p = sub.add_parser("bench", help="compare models and backends on this machine")
    p.add_argument("--transcript", metavar="FILE", help="transcript to index and query "
                   "(default: the 2h45m tutorial in ../shared/data, if present)")
    p.add_argument("--video", metavar="ID", help="its video id (default: the file name)")
    p.add_argument("--models", metavar="NAMES", help="comma-separated (default: installed ones); "
                   "MODEL+STRONG measures a progression, e.g. minilm+e5 (the default)")
    p.add_argument("--backends", metavar="NAMES", help=f"comma-separated (default: {','.join(BACKENDS)})")
    p.add_argument("--questions", metavar="QUESTIONS.jsonl", help="also measure retrieval quality")
    p.add_argument("--transcripts", metavar="DIR", help="transcripts for --questions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_bench)


def _collection_commands(sub, config) -> None:
    """add, sync, collections and remove: playlists and channels."""
    p = sub.add_parser("add", help="add a playlist or channel and index all its videos")
    p.add_argument("link", metavar="LINK", help="a playlist or channel link (playlist?list=, @handle, /channel/UC..., ...)")
    p.add_argument("--delay", metavar="S", help=f"seconds between transcript requests (default {DEFAULT_DELAY:g}, or YTQA_REQUEST_DELAY)")
    p.add_argument("--lang", metavar="CODES", help="preferred transcript languages, e.g. en,de")
    p.add_argument("--retry-failed", action="store_true", help="try again videos that failed before")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    _common(p, config, network=True)
    p.set_defaults(run=cmd_add)

    p = sub.add_parser("sync", help="look for new videos in added playlists and channels and index them")
    p.add_argument("collection", metavar="COLLECTION", nargs="?", help="its key, link or title (default: all)")
    p.add_argument("--delay", metavar="S", help=f"seconds between transcript requests (default {DEFAULT_DELAY:g}, or YTQA_REQUEST_DELAY)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summaries")
    _common(p, config, network=True)
    p.set_defaults(run=cmd_sync)

    p = sub.add_parser("collections", help="list added playlists and channels, or one with its videos")
    p.add_argument("collection", metavar="COLLECTION", nargs="?", help="its key, link or title")
    p.add_argument("--json", action="store_true")
    _common(p, config, model=False)
    p.set_defaults(run=cmd_collections)

    p = sub.add_parser("remove", help="forget an added playlist or channel (its videos stay)")
    p.add_argument("collection", metavar="COLLECTION")
    _common(p, config, model=False)
    p.set_defaults(run=cmd_remove)


def _library_commands(sub, config) -> None:
    """list, delete and postgres: the stored library and its server."""
    p = sub.add_parser("list", help="list stored videos")
    p.add_argument("--search", metavar="TEXT", help="only videos whose title or id contains TEXT")
    p.add_argument("--owners", action="store_true", help="say who holds each video, and whether it is shared")
    _common(p, config, model=False)
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("delete", help="remove a video and its indexes (with --user: from your library)")
    p.add_argument("video", metavar="VIDEO")
    _common(p, config, model=False)
    p.set_defaults(run=cmd_delete)
    _people_commands(sub, config)

    p = sub.add_parser("postgres", help="start or stop a local PostgreSQL server with pgvector, to try --store")
    p.add_argument("action", choices=["start", "stop", "url"])
    p.add_argument("folder", nargs="?", metavar="FOLDER", help="where the server keeps its data "
                   "(default: <data dir>/postgres)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--data-dir", default=config.data_dir, help=argparse.SUPPRESS)
    p.set_defaults(run=cmd_postgres)


def _people_commands(sub, config) -> None:
    """share, unshare and transfer: whose a video is, on a store many people use."""
    for name, help_ in (("share", "let everyone on the store (or a group) see a video (or playlist, channel) "
                                  "you added"),
                        ("unshare", "make a video (or playlist, channel) you shared private again")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("video", metavar="VIDEO", help="a video, or an added playlist or channel (its key or link)")
        if name == "share":
            p.add_argument("--group", metavar="NAME", help="share a video with this group of YTQA_GROUPS only "
                           "(its members see it), not with everyone")
        _common(p, config, model=False)
        p.set_defaults(run=cmd_share)
    p = sub.add_parser("transfer", help="give a video to another person (administrators only)")
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("person", metavar="PERSON")
    _common(p, config, model=False)
    p.set_defaults(run=cmd_transfer)


#: Arguments that are text (a path may hold any bytes; these must be UTF-8), as named in messages.
_TEXT_ARGUMENTS = {
    "video": "VIDEO", "question": "QUESTION", "links": "LINK", "link": "LINK",
    "collection": "COLLECTION", "lang": "--lang", "search": "--search", "model": "--model",
    "models": "--models", "backends": "--backends", "store": "--store", "proxy": "--proxy",
    "webshare_username": "--webshare-username", "webshare_password": "--webshare-password",
    "delay": "--delay", "chat_model": "--chat-model", "user": "--user", "person": "PERSON", "group": "--group",
}


def _check_text(args) -> None:
    for name, shown in _TEXT_ARGUMENTS.items():
        values = getattr(args, name, None)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and any("\udc80" <= c <= "\udcff" for c in value):
                if name == "webshare_password":
                    value = "*" * len(value)
                raise errors.NotText(shown, value)


class Stopped(BaseException):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so temporary files are removed on the way."""

    def __init__(self, signum: int):
        import signal

        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _on_signals():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum, frame):
        raise Stopped(signum)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGHUP)}

    def restore():
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore


class _OutputFailed(Exception):
    def __init__(self, error: OSError):
        self.error = error


class _OutputClosed(Exception):
    """The reader of stdout went away (``| head -1``): not an error, the end."""


class _GuardedOutput:
    """stdout, whose write errors (a full disk, /dev/full, a closed pipe) are told apart
    from the library's: only these are the output's, a library's OSError stays its own."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise _OutputClosed() from None
        except OSError as error:
            raise _OutputFailed(error) from None

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise _OutputClosed() from None
        except OSError as error:
            raise _OutputFailed(error) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _silence_stdout() -> None:
    """After a failed write, what stdout still buffers must not fail again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "k", 1) is not None and getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    restore = _on_signals()
    stdout = sys.stdout
    sys.stdout = _GuardedOutput(stdout)
    try:
        _check_text(args)
        code = args.run(args)
        sys.stdout.flush()
        return code
    except errors.YtqaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except _OutputClosed:  # as a command killed by SIGPIPE ends, quietly (141 in a shell)
        sys.stdout = stdout
        _silence_stdout()
        return 128 + signal.SIGPIPE
    except _OutputFailed as failed:
        sys.stdout = stdout
        _silence_stdout()
        cause = failed.error.strerror or str(failed.error)
        print(f"error: cannot write the output: {cause}. Send it to a file on a disk with room, "
              "or to a terminal.", file=sys.stderr)
        return 1
    except OSError as error:
        where = getattr(args, "store", None) or getattr(args, "data_dir", None)
        what = f"in the library at {errors.mask_credentials(str(where))}" if where else "in the library"
        print(f"error: {errors.CannotWrite.from_os_error(error, what)}", file=sys.stderr)
        return 1
    except Stopped as stopped:
        print(f"stopped by {stopped}: nothing half-written is kept; run the command again to finish",
              file=sys.stderr)
        return 128 + stopped.signum
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if isinstance(sys.stdout, _GuardedOutput):
            sys.stdout = stdout
        restore()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
