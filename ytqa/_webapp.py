"""What the web app keeps beyond one page run: background jobs, answer histories, and the
checks on what a visitor may choose. ``app.py`` lays out widgets; this module decides.

    Jobs      work that outlives the page that asked for it (indexing a video): one thread
              per job, keyed by what it makes (video and model), so a rerun or a reload
              finds it and a second request joins it; abandoned when no page has watched
              it for a while (a closed tab stops costing the server)
    History   each video's questions and answers, kept in the data folder under a token
              the page carries in its address (so a reload keeps them; visitors never
              see each other's), exported as Markdown with timestamp links
    checks    a model name a visitor typed (known names and Hub ids only, never a server
              folder), whether a Hub model can be reached before loading it (seconds, not
              minutes), and a storage failure in the app's words
"""

from __future__ import annotations

import errno
import json
import logging
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import _storage as storage
from ._errors import PROXY_SETTINGS, ModelUnavailable, StoreUnavailable, TranscriptFileError, YtqaError
from ._links import format_timestamp, watch_url
from ._search import Moment

log = logging.getLogger("ytqa.app")

STAGES = {"waiting": "Waiting to start", "fetching": "Fetching the transcript",
          "chunking": "Cutting it into passages", "embedding": "Embedding passages",
          "saving": "Saving the index"}
#: Where each stage starts and ends on the progress bar (embedding is the slow part).
_SPAN = {"waiting": (0.0, 0.0), "fetching": (0.0, 0.05), "chunking": (0.05, 0.1),
         "embedding": (0.1, 0.95), "saving": (0.95, 1.0)}
#: Seconds a job may go unwatched (no page showing its progress) before it is dropped.
ABANDON_AFTER = 120.0


class Abandoned(Exception):
    """Raised inside a job's progress when no page has watched it for too long."""


@dataclass
class Job:
    key: tuple
    stage: str = "waiting"
    done: int = 0
    total: int = 0
    state: str = "running"  # running, done, failed, abandoned
    result: Any = None
    error: YtqaError | None = None
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)
    abandon_after: float = ABANDON_AFTER
    cancelled: bool = False

    @property
    def running(self) -> bool:
        return self.state == "running"

    def watch(self) -> "Job":
        """A page shows this job: keep it alive."""
        self.seen = time.monotonic()
        return self

    def progress(self, stage: str, done: int, total: int) -> None:
        if self.cancelled or time.monotonic() - self.seen > self.abandon_after:
            raise Abandoned()
        self.stage, self.done, self.total = stage, done, total

    @property
    def fraction(self) -> float:
        low, high = _SPAN.get(self.stage, (0.0, 1.0))
        part = self.done / self.total if self.total else 0.0
        return min(1.0, max(0.0, low + (high - low) * part))

    @property
    def label(self) -> str:
        words = STAGES.get(self.stage, self.stage)
        if self.stage == "embedding" and self.total:
            return f"{words}: {self.done:,} of {self.total:,}"
        return words + "..."


class Jobs:
    """Background jobs by key; one thread each; a finished job stays until forgotten."""

    def __init__(self, abandon_after: float = ABANDON_AFTER, keep: int = 200):
        self.abandon_after = abandon_after
        self.keep = keep
        self._jobs: dict[tuple, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: tuple, work: Callable[[Callable[[str, int, int], None]], Any],
              where: str = "the library's folder") -> Job:
        """Run ``work(progress)`` in the background, or join the job already running for ``key``."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.running:
                return job.watch()
            job = self._jobs[key] = Job(key, abandon_after=self.abandon_after)
            finished = [k for k, j in self._jobs.items() if not j.running]
            for old in finished[: max(0, len(self._jobs) - self.keep)]:
                del self._jobs[old]

        def run() -> None:
            try:
                job.result = work(job.progress)
                job.state = "done"
            except Abandoned:
                job.state = "abandoned"
            except Exception as error:  # the page shows every failure in words, never a traceback
                job.error = in_words(error, where)
                job.state = "failed"

        threading.Thread(target=run, daemon=True, name=f"ytqa-job-{key}").start()
        return job

    def get(self, key: tuple) -> Job | None:
        return self._jobs.get(key)

    def running_for(self, video_id: str) -> list[Job]:
        return [j for j in list(self._jobs.values()) if j.running and video_id in j.key]

    def cancel_for(self, video_id: str) -> bool:
        """Stop the video's jobs before it is deleted; False when one is past stopping (it is
        fetching or saving, and would store the video again): then try again in a moment."""
        jobs = self.running_for(video_id)
        if any(job.stage in ("waiting", "fetching", "saving") for job in jobs):
            return False
        for job in jobs:
            job.cancelled = True
        deadline = time.monotonic() + 10
        while any(job.running for job in jobs) and time.monotonic() < deadline:
            time.sleep(0.05)  # the next batch of vectors is the next chance to stop
        return not any(job.running for job in jobs)

    def forget(self, key: tuple) -> None:
        with self._lock:
            self._jobs.pop(key, None)


def in_words(error: BaseException, where: str = "the library's folder") -> YtqaError:
    """Any failure as a message for the person at the page (server paths left out)."""
    if isinstance(error, YtqaError):
        return error
    if isinstance(error, OSError):
        return storage_error(error, where)
    log.error("unexpected failure", exc_info=error)
    if isinstance(error, (ValueError, OverflowError, UnicodeError)):
        return TranscriptFileError("the subtitle file", "it holds values ytqa cannot read "
                                   f"({type(error).__name__})")
    return YtqaError("Something went wrong on the server while preparing the video "
                     f"({type(error).__name__}). Try again; if it keeps failing, tell the "
                     "server's owner (the server's log has the details).")


def storage_error(error: OSError, where: str = "the library's folder") -> StoreUnavailable:
    causes = {errno.EROFS: "it is read-only", errno.ENOSPC: "the disk is full",
              errno.EDQUOT: "the disk quota is used up", errno.EACCES: "the server may not write there",
              errno.EPERM: "the server may not write there"}
    cause = causes.get(error.errno, f"it cannot be written ({error.strerror or type(error).__name__})")
    return StoreUnavailable(where, cause, "Videos already in the library can still be asked. Tell "
                            "the server's owner: the data folder must be writable and have free space.")


#: What the command line says, and what the app says instead (its controls, not flags).
_APP_WORDS = [
    (re.escape(PROXY_SETTINGS), "The server's owner can set a proxy (YTQA_PROXY, or Webshare's "
     "YTQA_WEBSHARE_USERNAME and YTQA_WEBSHARE_PASSWORD)."),
    (r"download the subtitles yourself and pass the file with --transcript \(in the app: upload it\)",
     "download the subtitles yourself and upload them under Upload subtitles"),
    (r"pass a subtitle file with --transcript( \(in the app: upload it\))?",
     "upload a subtitle file under Upload subtitles"),
    (r"pass (it|the file)( for it)? with --transcript( \(in the app: upload it\))?",
     r"upload \1 under Upload subtitles"),
    (r"Run 'ytqa index [^']*' \(it fetches from YouTube\), or upload a subtitle file under Upload subtitles\.",
     "Open it with Open video (it fetches from YouTube), or upload a subtitle file under Upload subtitles."),
    (r"Ask for one of these with --lang\.", "Choose one of these under Transcript language."),
    (r"Use the packaged default \(--model minilm, works offline\)",
     "Choose all-MiniLM-L6-v2 under Embedding model (works offline)"),
    (r", a local folder with a sentence-transformers model, or connect to the internet once so the "
     r"model can be downloaded from the Hugging Face Hub\.", ", or ask the server's owner to download it once."),
    (r"'ytqa sync [^']*' \(in the app: Index all\)", "Index all"),
    (r"a longer --delay \(YTQA_REQUEST_DELAY\)", "a longer YTQA_REQUEST_DELAY on the server"),
    (r"\(in the app: upload it\)", "(upload it under Upload subtitles)"),
]


def app_words(error) -> str:
    """A ytqa message with the app's controls named instead of the command line's flags."""
    message = str(error)
    for pattern, replacement in _APP_WORDS:
        message = re.sub(pattern, replacement, message)
    return message


# --- histories ----------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Answers kept per video and videos per history (the oldest are dropped).
MAX_ANSWERS = 50
MAX_VIDEOS = 200


def new_token() -> str:
    return secrets.token_urlsafe(18)


def valid_token(token) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


def moment_json(moment: Moment) -> dict:
    return {**moment.to_json(), "title": moment.title, "similarity": round(float(moment.similarity), 4)}


def moment_from_json(data: dict) -> Moment:
    return Moment(str(data["video_id"]), float(data["start"]), float(data["end"]), str(data["text"]),
                  float(data["score"]), str(data["sentence"]), data.get("title"),
                  float(data.get("similarity", 0.0)))


@dataclass
class Answer:
    """One question and what came back; ``scope`` is a video id, "all" or "collection:<key>"."""

    question: str
    scope: str
    moments: list[Moment] = field(default_factory=list)
    error: str | None = None
    #: Answered from the quick index while the full one is built: refreshed when it is done.
    refining: bool = False
    refreshed: bool = False
    asked: float = field(default_factory=time.time)

    def to_json(self) -> dict:
        return {"question": self.question, "scope": self.scope, "error": self.error,
                "refining": self.refining, "refreshed": self.refreshed, "asked": self.asked,
                "moments": [moment_json(m) for m in self.moments]}

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        return cls(str(data["question"]), str(data["scope"]),
                   [moment_from_json(m) for m in data.get("moments", [])], data.get("error"),
                   bool(data.get("refining")), bool(data.get("refreshed")), float(data.get("asked", 0)))


class History:
    """One visitor's answers, by scope, newest last; saved under ``<folder>/<token>.json``.

    A folder that cannot be written keeps the answers for this page only (``saved`` says so).
    """

    def __init__(self, folder: str | Path, token: str):
        if not valid_token(token):
            raise ValueError("not a history token")
        self.path = Path(folder) / f"{token}.json"
        self.token = token
        self.saved = True
        self.scopes: dict[str, list[Answer]] = {}
        data = storage.read_json(self.path)
        if isinstance(data, dict):
            for scope, answers in data.items():
                try:
                    self.scopes[str(scope)] = [Answer.from_json(a) for a in answers]
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue  # a damaged entry is dropped, the rest kept

    def answers(self, scope: str) -> list[Answer]:
        return self.scopes.get(scope, [])

    def add(self, answer: Answer) -> None:
        answers = self.scopes.setdefault(answer.scope, [])
        answers.append(answer)
        del answers[:-MAX_ANSWERS]
        self.scopes[answer.scope] = self.scopes.pop(answer.scope)  # most recent scope last
        while len(self.scopes) > MAX_VIDEOS:
            self.scopes.pop(next(iter(self.scopes)))
        self.save()

    def clear(self, scope: str) -> None:
        self.scopes.pop(scope, None)
        self.save()

    def save(self) -> None:
        data = {scope: [a.to_json() for a in answers] for scope, answers in self.scopes.items()}
        try:
            storage.write_atomic(self.path, json.dumps(data, ensure_ascii=False))
            self.saved = True
        except OSError:
            self.saved = False


def markdown_export(title: str, answers: list[Answer]) -> str:
    """The answers as Markdown: each question, then its moments with timestamp links."""
    def text(value: str) -> str:  # Markdown-inert
        return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", " ".join(value.split()))

    lines = [f"# {text(title)}", ""]
    for answer in answers:
        lines += [f"## {text(answer.question)}", ""]
        if answer.error:
            lines += [text(answer.error), ""]
            continue
        if not answer.moments:
            lines += ["No passage matches this question.", ""]
        for moment in answer.moments:
            stamp = f"{format_timestamp(moment.start)}–{format_timestamp(moment.end)}"
            where = f" ({text(moment.title or moment.video_id)})" if answer.scope != moment.video_id else ""
            lines.append(f"- [{stamp}]({watch_url(moment.video_id, moment.start)}){where}: "
                         f"{text(moment.sentence or moment.text)}")
        lines.append("")
    return "\n".join(lines)


# --- what a visitor may choose ------------------------------------------------------



def check_model_choice(name: str, known: dict) -> str:
    """A model a visitor typed: a known short name, a Hugging Face Hub id, or a folder the
    server's owner offers (YTQA_MODEL_FOLDERS), as ``allowed_model`` decides.

    Any other folder on the server is never loaded from the page (the command line's
    --model takes one), and the message never repeats what was typed.
    """
    from ._embeddings import allowed_model

    try:
        return allowed_model(name)
    except ModelUnavailable:
        raise ModelUnavailable("the typed model", "the app takes a known model name ("
                               + ", ".join(known) + ") or a Hugging Face id such as "
                               "sentence-transformers/all-mpnet-base-v2; folders on the server "
                               "only when its owner offers them (YTQA_MODEL_FOLDERS), otherwise "
                               "from the command line (ytqa --model FOLDER)") from None


HUB_HOST = ("huggingface.co", 443)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers within ``timeout`` seconds."""
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(HUB_HOST, timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)  # a name lookup that hangs counts as unreachable
    return bool(result and result[0])


def unreachable_model(spec, timeout: float = 3.0) -> str | None:
    """Why a model cannot be loaded now, found in seconds; None when it can be tried.

    A model on this machine (packaged, rebuilt or already downloaded) can; a Hub model
    needs the Hub, which is probed with a short timeout instead of a download that hangs.
    """
    if spec.is_local:
        return None
    try:
        from huggingface_hub import constants, try_to_load_from_cache

        if isinstance(try_to_load_from_cache(spec.hub_id, "config.json"), str):
            return None  # downloaded before
        if constants.HF_HUB_OFFLINE:
            return "this server works offline (HF_HUB_OFFLINE) and has not downloaded it"
    except Exception:  # an old or missing huggingface_hub: the probe decides
        pass
    if hub_reachable(timeout):
        return None
    return "it is not on this server and the Hugging Face Hub cannot be reached to download it"
