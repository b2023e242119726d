"""The app's words: any failure as a message for the person at the page, the app's
controls named instead of the command line's flags, and anything a visitor typed (or a
transcript, a title, a file name) shown as the characters it is."""

from __future__ import annotations

import errno
import logging
import re

import streamlit as st

from ytqa import StoreUnavailable, TranscriptFileError, YtqaError

from .._errors import PROXY_SETTINGS

log = logging.getLogger("ytqa.app")

_SPECIAL = re.compile(r"""[<>&"'\[\]()*_`#~|\\!{}+\-:=$.@/]""")
#: Where Markdown's autolinking starts (after entities are read back): ``://``, ``www.``, ``@``.
_AUTOLINK = re.compile(r"(?<=://)|(?<=@)|(?=www\.)", re.IGNORECASE)
#: U+2060 WORD JOINER: invisible, and not a character after which a link may start.
_JOINER = "\u2060"


def safe(text) -> str:
    """Untrusted text (transcripts, titles, file names, links, messages quoting them) as inert markup.

    Every character that HTML or Markdown could read as syntax (links, bold, autolinked
    ``www.`` and ``@`` addresses) becomes a numeric entity, in one pass so nothing is
    escaped twice: ``[x](javascript:...)`` shows as the characters it is. Markdown links
    bare addresses after reading entities back, so an invisible word joiner goes where one
    would start (after ``://`` and ``@``, before ``www.``): a typed address stays text.
    """
    text = _AUTOLINK.sub(_JOINER, str(text))
    return _SPECIAL.sub(lambda m: f"&#{ord(m.group())};", text)


def say(kind: str, error, where=st) -> None:
    """An error or notice in the app's words; user input in it stays inert."""
    getattr(where, kind)(safe(app_words(error)))


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
    (r", with --chat-model \(or YTQA_CHAT_MODEL\)", ", under Answers in words in the sidebar"),
    (r"Set a valid key in YTQA_CHAT_API_KEY \(for OpenAI also OPENAI_API_KEY\)",
     "The server's owner sets a valid key (YTQA_CHAT_API_KEY)"),
    (r"and check its address in YTQA_CHAT_BASE_URL", "and the server's owner checks its address (YTQA_CHAT_BASE_URL)"),
    (r"or allow longer with YTQA_CHAT_TIMEOUT \(seconds\)", "or ask the server's owner to allow longer (YTQA_CHAT_TIMEOUT)"),
    (r"Install it with pip install 'ytqa\[llm\]' \(a GGUF file run in ytqa: pip install 'ytqa\[llm-local\]'\)",
     "The server's owner installs it (pip install 'ytqa[llm]'), or choose another model under Answers in words"),
]


def app_words(error) -> str:
    """A ytqa message with the app's controls named instead of the command line's flags."""
    message = str(error)
    for pattern, replacement in _APP_WORDS:
        message = re.sub(pattern, replacement, message)
    return message
