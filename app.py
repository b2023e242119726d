"""ytqa's web app: widgets and layout only; everything else is the ytqa library.

Run with ``streamlit run app.py`` (or ``make run``).

The link box is drawn first, before anything touches the library or the model, so the
page takes a link at once however big the library is; the rest follows in the same run.
"""

from __future__ import annotations

import threading

import streamlit as st

st.set_page_config(page_title="ytqa: ask a YouTube video", page_icon="🎬", layout="wide")
from ytqa.web import signin  # noqa: E402

person = signin.gate()  # where the server asks visitors to sign in: the sign-in screen, until they have

# The player column stays in view while the answers scroll (stacked on narrow screens, it
# stays at the top, its title scrolled away under the header); the highlight reads in light
# and dark themes alike.
st.html("""<style>
div[data-testid="stColumn"]:has(.st-key-player) { position: sticky; top: 3.75rem; align-self: flex-start;
  z-index: 3; background: var(--ytqa-background, #fff); }
@media (max-width: 640px) { div[data-testid="stColumn"]:has(.st-key-player) {
  top: calc(2.9rem - var(--ytqa-lead, 0px)); } }
.ytqa-passage mark { background: rgba(255, 200, 0, 0.35); color: inherit; padding: 0 .1em; }
/* An answer in words reads as one paragraph, its [n] buttons inline in the text. */
div[class*="st-key-words-"] { display: block !important; line-height: 1.6; }
div[class*="st-key-words-"] [data-testid="stElementContainer"]:has([data-testid="stMarkdown"]),
div[class*="st-key-words-"] [data-testid="stMarkdown"], div[class*="st-key-words-"] [data-testid="stMarkdown"] > div,
div[class*="st-key-words-"] [data-testid="stMarkdown"] [data-testid="stMarkdownContainer"],
div[class*="st-key-words-"] [data-testid="stMarkdown"] p { display: inline !important; width: auto !important; margin: 0; }
div[class*="st-key-words-"] [data-testid="stElementContainer"]:has([data-testid="stButton"]) {
  display: inline-block !important; width: auto !important; vertical-align: baseline; margin: 0 .15em; }
div[class*="st-key-words-"] button { min-height: 0; padding: 0 .1em; color: #1c83e1; }
.ytqa-length-note { position: fixed; z-index: 100; padding: .5rem .75rem; border-radius: .5rem; font-size: .875rem;
  background: var(--ytqa-background, #fff); color: var(--ytqa-text, inherit); border: 1px solid rgba(255, 160, 0, .9); }
</style>
<script>(() => {
  // The sticky player covers what scrolls under it with the theme's own background.
  const doc = window.parent.document, app = doc.querySelector(".stApp");
  if (app) { doc.documentElement.style.setProperty("--ytqa-background", getComputedStyle(app).backgroundColor);
             doc.documentElement.style.setProperty("--ytqa-text", getComputedStyle(app).color); }
  if (window.ytqaLead) { return; }
  // How far the player's title and facts reach above it (they scroll away on a phone).
  window.ytqaLead = setInterval(() => {
    const column = doc.querySelector('div[data-testid="stColumn"]:has(.st-key-player)');
    const video = column && column.querySelector('[data-testid="stVideo"]');
    if (video) { column.style.setProperty("--ytqa-lead",
      Math.max(0, video.getBoundingClientRect().top - column.getBoundingClientRect().top - 8) + "px"); }
  }, 300);
})();</script>""", unsafe_allow_javascript=True)

# The link box, drawn and sent first: the page takes a link before anything touches the
# library or the model (ytqa.web.link_box reads what was typed once they are there).
st.title("Ask a YouTube video")
with st.form("open_form", border=False, enter_to_submit=True):
    link_col, button_col = st.columns([5, 1], vertical_alignment="bottom")
    link_col.text_input("YouTube link or video id", key="link", max_chars=2000,
                        placeholder="https://www.youtube.com/watch?v=...  (Enter opens it)")
    submitted = button_col.form_submit_button("Open video", type="primary", key="open", width="stretch")
upload_slot = st.empty()  # the upload section, drawn once the library is known
notice_slot = st.container()  # under the link box: what became of it
threading.Event().wait(0.05)  # lets the server send the link box now, before the library is read below

# After the link box: the page takes a link while these load.
from ytqa.web import answers, collections, conversation, library_list, link_box  # noqa: E402
from ytqa.web import model_box, opening, player, upload, written  # noqa: E402
from ytqa.web.state import Page  # noqa: E402

page = Page.start(person)  # the settings, this visitor's state and answers, the server's jobs
with st.sidebar:
    model_box.draw(page)  # the model (and so the library) and moments per answer
    written.sidebar(page)  # the chat model that answers in words, and where it sends the question
typed = link_box.read(page.state.link)
opening.resume(page)  # a reload rejoins its video; an opening that ended opens its video
with upload_slot.container():
    subtitle_file = upload.draw(page.state)
with notice_slot:
    link_box.notices(page, typed, submitted, subtitle_file)
    opening.notices(page)

shelf = collections.collections_of(page.library)  # the library's playlists and channels
with st.sidebar:
    grouped = collections.sidebar(page, shelf)
with notice_slot:
    collections.notices(page, shelf, typed.collection, typed.text)
index = opening.open_index(page, notice_slot)  # the open video's index, if one is open

# The question: asked of the open video, a playlist or channel, or the whole library.
total = page.library.count()
with st.sidebar.container():
    scope = conversation.scope_box(page, shelf, index, total)
listed = collections.listed_titles(shelf)
hint, refining = conversation.question_box(page, scope, index, shelf, listed)

# The open video's player beside the conversation (stacked on narrow screens). The player
# shows when asking the library too: Play opens that moment there.
answered = page.state.history.answers(scope.key) if scope.key else []
if index is not None or answered or scope.key:
    if index is not None:
        left, right = st.columns([5, 6], gap="large")
        with left, st.container(key="player"):
            player.draw(page, index)
    else:
        right = st.container()
    with right:
        answers.draw(page, scope, answered, hint, listed)
elif hint:
    st.info(hint)
if refining:
    with st.sidebar:
        conversation.refining_note(page, scope.key)
conversation.focus_question_box(page)
conversation.watch_question_length()  # a question longer than is read, said while it is typed
answers.bring_into_view(page)  # the new answer from its top, or the hint beside the question box

# Listed last, so the link box does not wait for them: the library's videos, a page at a time.
with st.sidebar:
    library_list.draw(page, total, grouped)
