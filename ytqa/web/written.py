"""Answers in words: the sidebar's choice of chat model (and where it sends the question),
the answer streamed in above the moments, shown as text, each [n] a control that plays
moment n in the player; and when the model fails, why, with the moments kept.

The model's text is shown as the characters it is (a caption that holds markup or a link
cannot put one on the page); every time and link comes from ytqa's moments.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

import streamlit as st

import ytqa

from .history import Answer, answer_id, model_label, words_summary
from .player import play
from .state import Page
from .words import app_words, safe, say

log = logging.getLogger("ytqa.app")

OTHER = "other"
NONE_LABEL = "None: the moments are the answer"
PLACEHOLDER = "ollama:llama3.2 or openai:gpt-4o-mini"


@st.cache_resource(show_spinner=False, max_entries=4)
def answerer_for(setting: str, base_url: str | None, _config: ytqa.Config) -> ytqa.Answerer:
    """One answerer per chat model (and server address) for the whole server: a GGUF file
    is loaded once."""
    return ytqa.Answerer.from_config(_config, setting)


def check_typed(setting: str) -> str:
    """A chat model a visitor typed: provider:model; never a file on the server (a GGUF
    file is the server owner's choice, in YTQA_CHAT_MODEL)."""
    if ytqa.parse_chat_model(setting).provider == "llamacpp":
        raise ytqa.UnknownChatModel("the typed model", "a GGUF file on the server is chosen by the "
                                    "server's owner (YTQA_CHAT_MODEL), not from the page")
    return setting


def sent_line(spec: ytqa.ChatModelSpec) -> str:
    """Which model writes answers in words and where the question and passages go."""
    name = model_label(spec.setting)
    host = spec.sends_to
    if host is None:
        return f"Answers in words are written by {name}, on this server: the question and its passages stay here."
    return (f"Answers in words are written by {name}, a remote model: each question and the passages "
            f"found for it are sent to {host}.")


def sidebar(page: Page) -> None:
    """The choice of chat model (none: the moments are the answer), and the line saying
    which one writes answers and where it sends them."""
    configured = page.config.chat_model or ""
    options = {"": NONE_LABEL}
    if configured:
        options[configured] = f"{model_label(configured)} (this server's)"
    if page.person is None:  # one person or a trusted group; a server for a group offers its owner's only
        options[OTHER] = "Another chat model..."
    choice = st.selectbox("Answers in words", list(options), index=1 if configured else 0,
                          format_func=options.get, key="chat_choice",
                          help="A chat model writes a short answer from the moments, citing them as [1], [2]")
    setting = choice
    if choice == OTHER:
        setting = st.text_input("Chat model (provider:model)", key="chat_typed", max_chars=200,
                                placeholder=PLACEHOLDER).strip()
    page.answerer = None
    if not setting:
        if choice == OTHER:
            st.caption(f"Type a chat model as provider:model, such as {PLACEHOLDER}.")
        return
    try:
        typed = setting if setting == configured else check_typed(setting)
        page.answerer = answerer_for(typed, page.config.chat_base_url, page.config)
    except ytqa.YtqaError as error:
        say("error", error)
        return
    st.caption(safe(sent_line(page.answerer.spec)))


def start_writing(page: Page, entry: Answer) -> None:
    """A new answer gets its answer in words on this run (when a chat model is chosen)."""
    if page.answerer is not None and not entry.error:
        page.state.writing = (*page.state.writing, answer_id(entry))


def write(page: Page, entry: Answer) -> None:
    """The answer in words, streamed as it is written, then kept with the answer."""
    stream = page.answerer.stream(entry.question[:ytqa.MAX_QUESTION_CHARS], entry.moments, weak=entry.weak)
    try:
        st.caption(safe(f"Writing with {model_label(page.answerer.name)}..."))
        st.write_stream(safe(piece) for piece in stream)
        entry.written = dataclasses.asdict(stream.result)
    except ytqa.AnswerUnavailable as error:
        entry.words_error = app_words(error)
    except Exception as error:  # a failure ytqa does not know: said, and logged by its kind only
        log.error("the chat model failed: %s", type(error).__name__)  # (its words could quote a key)
        entry.words_error = (f"No answer in words from {model_label(page.answerer.name)}: it failed "
                             f"({type(error).__name__}). The moments below are the answer as usual.")


def citation(page: Page, number: int, at: int, label: str, moment: ytqa.Moment, scope: str) -> None:
    """[n]: a small button that plays moment n in the player."""
    stamp = ytqa.format_timestamp(moment.start)
    where = f" of {moment.title or moment.video_id}" if scope != moment.video_id else ""
    st.button(label, key=f"cite-{number}-{at}", type="tertiary",
              help=safe(f"Plays moment {label.strip('[]')}{where}, from {stamp}"),
              on_click=play, args=(page.state, moment.video_id, moment.start, moment.end))


def show(page: Page, number: int, entry: Answer) -> None:
    """The answer in words as text, each valid [n] a control playing moment n; unverified
    or not answered said plainly."""
    words = entry.words
    st.caption(safe(f"Answer in words by {model_label(words.model)}, from the moments below"))
    if words.not_answered:
        st.info(safe(words.text), icon=":material/help:")
    else:
        with st.container(horizontal=True, gap="small", vertical_alignment="center", key=f"words-{number}"):
            for at, (text, index) in enumerate(words.pieces()):
                if index is not None and index < len(entry.moments):
                    citation(page, number, at, text, entry.moments[index], entry.scope)
                elif text.strip():
                    st.markdown(safe(text.strip()), width="content")
    summary = words_summary(words)
    if summary:
        st.warning(safe(summary), icon=":material/warning:")
    for note in words.notes:
        st.caption(safe(note))


def kept(page: Page, number: int, entry: Answer) -> None:
    """The answer in words as it is kept, or why the chat model wrote none."""
    if entry.words_error:
        st.warning(safe(entry.words_error), icon=":material/error:")
    elif entry.words is not None:
        show(page, number, entry)


def draw(page: Page, number: int, entry: Answer) -> Callable[[], None]:
    """Above the moments: the answer in words. Returns what writes a new one there, to be
    called once its moments are drawn (they show while it is written)."""
    key, slot = answer_id(entry), st.empty()
    with slot.container():
        kept(page, number, entry)
    if key not in page.state.writing or page.answerer is None:
        return lambda: None

    def write_here() -> None:
        with slot.container():  # the text as it is written, replaced by the answer once done
            write(page, entry)
        page.state.writing = tuple(k for k in page.state.writing if k != key)
        page.state.history.save()
        with slot.container():
            kept(page, number, entry)
    return write_here
