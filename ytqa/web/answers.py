"""The answers column: its heading (Export, Clear), the conversation, and each moment
(Play here, the best sentence in context, the whole passage, a link to copy)."""

from __future__ import annotations

import html
import re

import streamlit as st

import ytqa

from .conversation import Scope
from .history import Answer, markdown_export
from .player import play
from .state import Page
from .words import safe, say

#: Answers drawn per video (all are kept and exported).
SHOWN = 10


def highlighted(passage: str, sentence: str) -> str:
    """The passage as inert markup, its best sentence marked."""
    body = safe(passage)
    mark = safe(sentence)
    if mark and mark in body:
        body = body.replace(mark, f"<mark>{mark}</mark>", 1)
    return body


def excerpt(moment: ytqa.Moment, words: int = 45) -> str:
    """The best sentence with a little of what comes before and after it."""
    text, sentence = moment.text, moment.sentence
    at = text.find(sentence)
    if at < 0 or len(text.split()) <= words:
        return highlighted(text, sentence)
    before = text[:at].split()
    after = text[at + len(sentence):].split()
    room = max(0, words - len(sentence.split()))
    left = before[-(room // 3):] if room // 3 else []
    right = after[: room - len(left)]
    body = " ".join(left + [sentence] + right)
    return ("… " if len(left) < len(before) else "") + highlighted(body, sentence) + (
        " …" if len(right) < len(after) else "")


def facts(entry: Answer, moment: ytqa.Moment, listed: dict) -> tuple[str, str, str]:
    """A moment's times ("1:14–1:50"), its length, and the line beside Play (markup)."""
    stamp = f"{ytqa.format_timestamp(moment.start)}–{ytqa.format_timestamp(moment.end)}"
    length = ytqa.format_timestamp(moment.end - moment.start)
    across = entry.scope != moment.video_id
    # One scale per answer, in the answer's order: within a video the fused score (1.0 =
    # first in every ranking); across videos the model's similarity, comparable between them.
    relevance = moment.similarity if across else moment.score
    where = f" · {safe(moment.title or listed.get(moment.video_id) or moment.video_id)}" if across else ""
    return stamp, length, f"<small>{length} long{where} · relevance {relevance:.2f}</small>"


def about(entry: Answer, scope: Scope) -> str:
    """The line under a question: what it was asked of, and whether it is being refined."""
    what = "all videos" if entry.scope == "all" else scope.title
    note = (" · refining: the full index is being built, this answer will be refreshed"
            if entry.refining else " · refreshed from the full index" if entry.refreshed else "")
    return f"About {what}{note}"


def export_name(scope_key: str) -> str:
    return f"ytqa-{re.sub(r'[^A-Za-z0-9_-]', '-', scope_key)}.md"


def moment_row(page: Page, entry: Answer, number: int, rank: int, moment: ytqa.Moment, listed: dict) -> None:
    """One moment: play it here, the best sentence in context, the whole passage, its link."""
    stamp, length, line = facts(entry, moment, listed)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(f"▶ Play {stamp}", key=f"play-{number}-{rank}", type="tertiary",
                  help="Plays this moment in the player, from its start to its end",
                  on_click=play, args=(page.state, moment.video_id, moment.start, moment.end))
        st.markdown(line, unsafe_allow_html=True, width="content")
        with st.popover("Link", icon=":material/link:", type="tertiary", help="Copy a link to this moment",
                        key=f"link-{number}-{rank}"):
            st.code(moment.url, language=None)
            st.markdown(f'<a href="{html.escape(moment.url)}" target="_blank" rel="noopener">'
                        f"Open on YouTube at {stamp.split('–')[0]}</a>", unsafe_allow_html=True)
    st.markdown(f'<div class="ytqa-passage">{excerpt(moment)}</div>', unsafe_allow_html=True)
    with st.expander(f"The whole moment ({length})"):
        st.markdown(f'<div class="ytqa-passage">{highlighted(moment.text, moment.sentence)}</div>',
                    unsafe_allow_html=True)


def conversation(page: Page, scope: Scope, answers: list[Answer], listed: dict) -> None:
    """The last answers, oldest first: each question, then its moments."""
    shown = answers[-SHOWN:]
    if len(answers) > len(shown):
        st.caption(f"{len(answers) - len(shown)} older answers are in the Markdown export.")
    first = len(answers) - len(shown)
    for number, entry in enumerate(shown, start=first):
        with st.chat_message("user"):
            st.markdown(safe(entry.question))
        with st.chat_message("assistant"):
            st.caption(safe(about(entry, scope)))
            if entry.error:
                say("error", entry.error)
                continue
            if not entry.moments:
                st.info("No passage matches this question.")
            for rank, moment in enumerate(entry.moments):
                try:
                    moment_row(page, entry, number, rank, moment, listed)
                except (OverflowError, ValueError):
                    st.warning("One moment has times the app cannot show (the stored transcript may be damaged).")


def heading(page: Page, scope: Scope, answers: list[Answer]) -> None:
    """What the answers are about, with Export and Clear once there are some."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"**Answers about {safe(scope.title)}**", width="stretch")
        if answers:
            st.download_button(
                "Export", markdown_export(f"Answers about {scope.title}", answers),
                file_name=export_name(scope.key), mime="text/markdown",
                key="export", help="These answers as Markdown, with timestamp links", on_click="ignore",
                icon=":material/download:")
            st.button("Clear", key="clear_history", help="Forget these answers", icon=":material/delete:",
                      on_click=page.state.history.clear, args=(scope.key,))
    if not page.state.history.saved:
        st.caption("The answers cannot be saved on the server (its data folder is not writable): "
                   "they last while this page is open.")


def draw(page: Page, scope: Scope, answers: list[Answer], hint: str | None, listed: dict) -> None:
    """The answers column: heading, the hint for a question that got none, the conversation."""
    if scope.key:
        heading(page, scope, answers)
    if hint:
        st.info(hint)
    if answers:
        conversation(page, scope, answers, listed)
    elif scope.key:
        st.caption("Ask below: each answer lists the moments that answer it, with Play.")
