"""The answers column: its heading (Export, Clear), the conversation, and each moment
(Play here, the best sentence in context, the whole passage, a link to copy)."""

from __future__ import annotations

import html
import re
import time

import streamlit as st

import ytqa

from . import written
from .conversation import Scope
from .history import Answer, excerpt_parts, markdown_export, notes
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


def excerpt(moment: ytqa.Moment) -> str:
    """The best sentence, marked, with the sentence before it and those after it (the answer
    often follows its setup), as inert markup."""
    cut_before, before, sentence, after, cut_after = excerpt_parts(moment)
    body = " ".join(part for part in (safe(before), f"<mark>{safe(sentence)}</mark>" if sentence else "",
                                      safe(after)) if part)
    return ("… " if cut_before else "") + body + (" …" if cut_after else "")


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
    by = entry.moments[0].answered_by if entry.moments else ""
    said = f" (answered by the {by})" if by else ""
    note = (f" · refining{said}: the best index is being built, this answer will be refreshed" if entry.refining
            else f" · refreshed from a better index{said}" if entry.refreshed else said.replace(" (", " · ")[:-1]
            if by else "")
    if entry.moments and entry.moments[0].caveat:
        note += f" · may miss: {entry.moments[0].caveat}"
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


def one_answer(page: Page, scope: Scope, number: int, entry: Answer, listed: dict) -> None:
    """A question, what its answer says about itself, then its moments."""
    with st.chat_message("user"):
        st.markdown(safe(entry.question))
    with st.chat_message("assistant"):
        st.caption(safe(about(entry, scope)))
        if entry.error:
            say("error", entry.error)
            return
        write_words = written.draw(page, number, entry)  # the answer in words, above the moments
        if not entry.moments:
            st.info("No passage matches this question.")
        for note in notes(entry):
            st.warning(safe(note), icon=":material/info:")
        for rank, moment in enumerate(entry.moments):
            try:
                moment_row(page, entry, number, rank, moment, listed)
            except (OverflowError, ValueError):
                st.warning("One moment has times the app cannot show (the stored transcript may be damaged).")
        write_words()  # a new answer in words is written once its moments are on screen


def conversation(page: Page, scope: Scope, answers: list[Answer], listed: dict) -> None:
    """The last answers, oldest first, each in its own block (``answer-<n>``, brought into view when new)."""
    shown = answers[-SHOWN:]
    if len(answers) > len(shown):
        st.caption(f"{len(answers) - len(shown)} older answers are in the Markdown export.")
    first = len(answers) - len(shown)
    for number, entry in enumerate(shown, start=first):
        with st.container(key=f"answer-{number}"):
            one_answer(page, scope, number, entry, listed)


def ask_clear(state, scope_key: str) -> None:
    state.confirm_clear = scope_key


def clear(state, scope_key: str | None) -> None:
    """Clear after Yes (a callback); with None, keep them."""
    if scope_key is not None:
        state.history.clear(scope_key)
    state.confirm_clear = None


def heading(page: Page, scope: Scope, answers: list[Answer]) -> None:
    """What the answers are about, with Export and Clear (which asks first) once there are some."""
    state = page.state
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"**Answers about {safe(scope.title)}**", width="stretch")
        if answers and state.confirm_clear != scope.key:
            st.download_button(
                "Export", lambda: markdown_export(f"Answers about {scope.title}", answers),  # as it is when clicked
                file_name=export_name(scope.key), mime="text/markdown",
                key="export", help="These answers as they are shown, with timestamp links (Markdown)",
                on_click="ignore", icon=":material/download:")
            st.button("Clear", key="clear_history", help="Forget these answers (asks first)",
                      icon=":material/delete:", on_click=ask_clear, args=(state, scope.key))
    if answers and state.confirm_clear == scope.key:
        with st.container(horizontal=True, vertical_alignment="center", key="confirm-clear"):
            st.markdown(safe(f"Forget the {len(answers)} answers about {scope.title}? This cannot be undone."),
                        width="stretch")
            st.button("Yes, clear", key="clear_yes", type="primary", on_click=clear, args=(state, scope.key))
            st.button("Keep them", key="keep_answers", on_click=clear, args=(state, None))
    if not state.history.saved:
        st.caption("The answers cannot be saved on the server (its data folder is not writable): "
                   "they last while this page is open.")


def draw(page: Page, scope: Scope, answers: list[Answer], hint: str | None, listed: dict) -> None:
    """The answers column: heading, the conversation, and last, just above the question box,
    the hint for a question that got no answer."""
    if scope.key:
        heading(page, scope, answers)
    if answers:
        conversation(page, scope, answers, listed)
    elif scope.key and not hint:
        st.caption("Ask below: each answer lists the moments that answer it, with Play.")
    if hint:
        with st.container(key="hint"):
            st.info(hint)


#: Brings the block ``.st-key-<key>`` into view: an answer from its top, below the header
#: and (stacked on a phone) the player; the hint at the bottom, just above the question box.
_INTO_VIEW = """<script>(() => {
  const doc = window.parent.document, key = "%s", nonce = %d;
  const place = (tries) => {
    const block = doc.querySelector(".st-key-" + key);
    if (!block) { if (tries > 0) { setTimeout(() => place(tries - 1), 100); } return; }
    const header = doc.querySelector('[data-testid="stHeader"]');
    let top = header ? header.getBoundingClientRect().bottom : 0;
    const column = doc.querySelector('div[data-testid="stColumn"]:has(.st-key-player)');
    const spot = block.getBoundingClientRect();
    if (column) {
      const c = column.getBoundingClientRect();
      if (c.left < spot.right && spot.left < c.right) {
        top = Math.max(top, (parseFloat(getComputedStyle(column).top) || 0) + column.offsetHeight);
      }
    }
    const bottom = doc.querySelector('[data-testid="stBottom"]');
    block.style.scrollMarginTop = (top + 8) + "px";
    block.style.scrollMarginBottom = ((bottom ? bottom.offsetHeight : 0) + 8) + "px";
    block.scrollIntoView({block: key === "hint" ? "end" : "start"});
  };
  [60, 400, 1000].forEach((wait) => setTimeout(() => place(20), wait));
})();</script>"""


def bring_into_view(page: Page) -> None:
    """The new answer (or the hint) brought into view, once, on the run that gave it."""
    if page.state.scroll_to:
        st.html(_INTO_VIEW % (page.state.scroll_to, time.time_ns() % 10**9), unsafe_allow_javascript=True)
        page.state.scroll_to = None
