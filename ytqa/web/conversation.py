"""The question: what it is asked of (the open video, a playlist or channel, or the whole
library), the box it is typed in, its answer (kept in the visitor's history), and the
answers given from a quick index, asked again once the full index is built."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import streamlit as st

import ytqa

from . import written
from .collections import scope_names
from .history import Answer
from .opening import is_quick, start_full
from .state import Page
from .words import app_words

NO_SCOPE = "Open a video first (paste its link above), or switch on Search all videos in the sidebar."
NO_WORDS = "Type a question in words, for example: What does the speaker say about ...?"


@dataclass(frozen=True)
class Scope:
    """What a question is asked of: ``key`` names its answers in the history (a video id,
    "all" or "collection:<key>"), None when there is nothing to ask yet."""

    key: str | None = None
    title: str | None = None
    everywhere: bool = False
    collection: str = ""  # the playlist's or channel's key, "" for the open video

    @property
    def placeholder(self) -> str:
        if self.key is None:
            return "Open a video first (or switch on Search all videos in the sidebar)"
        return f"Ask about {self.title[:60]}"


def scope_of(everywhere: bool, collection: str, titles: dict, video: str | None,
             index: ytqa.VideoIndex | None) -> Scope:
    """The scope chosen in the sidebar (``titles``: the collections' titles by key)."""
    if everywhere:
        return Scope("all", "all videos in the library", everywhere=True)
    if collection:
        return Scope(f"collection:{collection}", titles.get(collection, collection), collection=collection)
    if index is not None:
        return Scope(video, index.transcript.title or video)
    return Scope()


def hint(question: str | None, scope: Scope) -> str | None:
    """Why a sent question gets no answer (nothing to ask yet, or no words); None to answer it."""
    if question is None:
        return None
    if scope.key is None:
        return NO_SCOPE
    if not question.strip() or not any(c.isalnum() for c in question):
        return NO_WORDS
    return None


def scope_box(page: Page, collections: ytqa.Collections, index: ytqa.VideoIndex | None, total: int) -> Scope:
    """The sidebar's choice of what to ask: the open video, one collection, or everything."""
    everywhere = st.toggle("Search all videos in the library", key="everywhere", disabled=not total,
                           help="One question across every video in the shared library")
    names = scope_names(collections)
    collection = ""
    if names:
        collection = st.selectbox("Ask within", list(names), format_func=names.get, key="scope",
                                  disabled=everywhere)
        collection = "" if everywhere else collection
    titles = {c.key: c.title for c in collections.all()} if collection else {}
    return scope_of(everywhere, collection, titles, page.state.video, index)


def languages_of(question: str, index: ytqa.VideoIndex | None) -> tuple[str, str] | None:
    """The question's and the video's languages where they differ (the open video only)."""
    spoken = (index.transcript.language_code or "").split("-")[0].lower() if index is not None else ""
    if not spoken or spoken == "und":
        return None
    asked = ytqa.question_language(question, spoken)
    return (asked, spoken) if asked != spoken else None


def answer(page: Page, scope: Scope, question: str, index, collections, listed: dict) -> Answer:
    """The moments that answer ``question`` in ``scope`` (or why there are none, in words),
    and whether they match only weakly or the question is in another language."""
    entry = Answer(question, scope.key)
    try:
        if scope.everywhere:
            entry.moments = page.library.ask_all(question, k=page.k)
        elif scope.collection:
            entry.moments = collections.ask(scope.collection, question, k=page.k)
        else:
            entry.moments = index.ask(question, k=page.k)
            entry.refining = is_quick(index)
            entry.languages, entry.multilingual = languages_of(question, index), index.multilingual
        entry.weak = ytqa.weak_match(entry.moments, page.library.embedder)
    except ytqa.YtqaError as error:
        entry.error = app_words(error)
    entry.moments = [m if m.title or not listed.get(m.video_id) else dataclasses.replace(m, title=listed[m.video_id])
                     for m in entry.moments]
    return entry


def refresh_refined(page: Page, scope: Scope, index: ytqa.VideoIndex | None, ask) -> bool:
    """Answers given from the quick index, asked again (``ask(question)``) once the full one is
    there; True while it is being built."""
    if index is None or scope.everywhere or scope.collection:
        return False  # the open video's own answers only
    video = scope.key
    waiting = [a for a in page.state.history.answers(video) if a.refining]
    job = page.jobs.get(page.full_key(video))
    if job is not None and job.running:
        job.watch()
        return True
    if waiting and not is_quick(index):
        for entry in waiting:
            fresh = ask(entry.question)
            entry.moments, entry.error = fresh.moments, fresh.error
            entry.refining, entry.refreshed = False, True
            if entry.written or entry.words_error:  # it cited the quick index's moments: written again
                entry.written = entry.words_error = None
                written.start_writing(page, entry)
        page.state.history.save()
    elif waiting and (job is None or job.state != "running") and is_quick(index):
        start_full(page, video)  # the full build was dropped (the page was away): start it again
        return True
    return False


def question_box(page: Page, scope: Scope, index, collections: ytqa.Collections,
                 listed: dict) -> tuple[str | None, bool]:
    """The question box (pinned at the bottom): a sent question is answered and kept, or
    gets a hint why not (returned); then whether the full index is still being built."""
    # Longer than ytqa reads is said while it is typed (watch_question_length) and on the answer.
    question = st.chat_input(scope.placeholder, key="question", max_chars=20 * ytqa.MAX_QUESTION_CHARS,
                             disabled=scope.key is None, submit_mode="disable")

    def ask(text: str) -> Answer:
        return answer(page, scope, text, index, collections, listed)

    why_not = hint(question, scope)
    if question is not None and why_not is None:
        entry = ask(" ".join(question.split()))
        page.state.history.add(entry)
        written.start_writing(page, entry)
        page.state.scroll_to = f"answer-{len(page.state.history.answers(scope.key)) - 1}"
    elif why_not is not None:
        page.state.scroll_to = "hint"
    return why_not, refresh_refined(page, scope, index, ask)


@st.fragment(run_every=2)
def refining_note(page: Page, video: str) -> None:
    """While the full index is built: how far it is; when it is done, the answers are refreshed."""
    job = page.jobs.get(page.full_key(video))
    if job is not None and job.running:
        job.watch()
        st.caption(f"Building the full index for better answers: {job.label}")
    elif any(a.refining for a in page.state.history.answers(video)):
        st.rerun()


def focus_question_box(page: Page) -> None:
    """The question box, focused once a video opens (it is pinned in view at the bottom)."""
    if page.state.focus:
        st.html("<script>setTimeout(() => { const box = window.parent.document.querySelector("
                "'[data-testid=\"stChatInputTextArea\"]'); if (box) { box.focus(); } }, 300);</script>",
                unsafe_allow_javascript=True)
        page.state.focus = False


#: A question longer than ytqa reads, said beside the question box while it is typed.
_LENGTH_WATCH = """<script>(() => {
  if (window.ytqaLengthWatch) { return; }
  window.ytqaLengthWatch = true;
  const doc = window.parent.document, limit = %d;
  const update = () => {
    const box = doc.querySelector('[data-testid="stChatInputTextArea"]');
    const bottom = doc.querySelector('[data-testid="stBottom"]');
    let note = doc.getElementById("ytqa-length-note");
    if (!box || !bottom || box.value.length <= limit) { if (note) { note.remove(); } return; }
    if (!note) {
      note = doc.createElement("div");
      note.id = "ytqa-length-note";
      note.setAttribute("role", "status");
      note.className = "ytqa-length-note";
      doc.body.appendChild(note);
    }
    const room = box.getBoundingClientRect(), edge = bottom.getBoundingClientRect();
    note.style.left = room.left + "px";
    note.style.width = room.width + "px";
    note.style.bottom = (window.innerHeight - edge.top + 4) + "px";
    note.textContent = "This question is " + box.value.length.toLocaleString("en") + " characters long; only " +
      "the first " + limit.toLocaleString("en") + " are read. Shorten it, or ask the rest as another question.";
  };
  doc.addEventListener("input", update, true);
  setInterval(update, 500);
})();</script>"""


def watch_question_length() -> None:
    """Says, beside the question box, when a question being typed is longer than ytqa reads."""
    st.html(_LENGTH_WATCH % ytqa.MAX_QUESTION_CHARS, unsafe_allow_javascript=True)
