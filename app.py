"""ytqa's web app: widgets and layout only; everything else is the ytqa library.

Run with ``streamlit run app.py`` (or ``make run``).
"""

from __future__ import annotations

import html
import re
import threading

import streamlit as st

import ytqa

CONFIG = ytqa.Config.from_env()
#: Videos listed in the sidebar at once; a bigger library is paged and searched.
PAGE = 20
MODEL_CHOICES = {
    "minilm": "MiniLM (fast, offline, default)",
    "multi-qa-mpnet": "multi-qa-mpnet (better on questions, slower, downloads once)",
    "custom": "Another sentence-transformers model...",
}
STAGES = {"fetching": "Fetching the transcript", "chunking": "Cutting it into passages",
          "embedding": "Embedding passages", "saving": "Saving the index"}

st.set_page_config(page_title="ytqa: ask a YouTube video", page_icon="🎬", layout="centered")


@st.cache_resource(show_spinner=False)
def embedder_for(model: str) -> ytqa.Embedder:
    """One model per process."""
    return ytqa.Embedder(model)


@st.cache_resource(show_spinner=False)
def library_for(data_dir: str, store: str | None, model: str) -> ytqa.Library:
    """The model and index libraries load in the background from the moment the page opens."""
    ytqa.resolve_model(model)  # an unknown model is reported now, not at the first question
    library = ytqa.Library(data_dir, store=store, embedder=lambda: embedder_for(model))
    threading.Thread(target=_warm, args=(library,), daemon=True).start()
    return library


def _warm(library: ytqa.Library) -> None:
    try:
        library.warm_up()
    except ytqa.YtqaError:
        pass  # reported when the model is first used


def complete_in_background(library: ytqa.Library, video_id: str) -> None:
    """Build the full index while the person reads and asks; questions switch to it when ready."""
    def run():
        try:
            library.complete(video_id)
        except ytqa.YtqaError:
            pass  # the quick index keeps answering

    threading.Thread(target=run, daemon=True).start()


@st.cache_data(show_spinner=False, ttl=3600, max_entries=200)
def tracks_of(video_id: str) -> list[ytqa.Track]:
    return ytqa.YouTube().tracks(video_id)


_SPECIAL = re.compile(r"""[<>&"'\[\]()*_`#~|\\!{}+\-:=$]""")


def safe(text: str) -> str:
    """Untrusted text (transcripts, titles, file names) as inert markup.

    Every character that HTML or Markdown could read as syntax becomes a numeric
    entity, in one pass so nothing is escaped twice: a caption can hold <script> or
    [x](javascript:...) and still show as the words it is.
    """
    return _SPECIAL.sub(lambda m: f"&#{ord(m.group())};", text)


def highlighted(passage: str, sentence: str) -> str:
    body = safe(passage)
    mark = safe(sentence)
    if mark and mark in body:
        body = body.replace(mark, f"<mark>{mark}</mark>", 1)
    return body


def state():
    s = st.session_state
    s.setdefault("history", [])
    s.setdefault("video", None)
    s.setdefault("play", None)
    return s


# --- sidebar: the library ---------------------------------------------------

session = state()

with st.sidebar:
    st.header("Library")
    choice = st.selectbox("Embedding model", list(MODEL_CHOICES), format_func=MODEL_CHOICES.get, key="model_choice")
    model = choice
    if choice == "custom":
        model = st.text_input("Model name or folder", placeholder="sentence-transformers/all-mpnet-base-v2",
                              key="custom_model").strip() or "minilm"
    k = st.slider("Moments per answer", 1, 10, 5, key="k")
    try:
        library = library_for(CONFIG.data_dir, CONFIG.store, model)
    except ytqa.YtqaError as error:
        st.error(str(error))
        library = library_for(CONFIG.data_dir, CONFIG.store, "minilm")

# --- main: a video ------------------------------------------------------------

st.title("Ask a YouTube video")
st.caption("Paste a link, ask in your own words, jump to the moment that answers.")

link = st.text_input("YouTube link or video id", key="link",
                     placeholder="https://www.youtube.com/watch?v=...")
video_id = None
link_error = None
if link.strip():
    try:
        video_id = ytqa.video_id(link)
    except ytqa.InvalidLink as error:
        link_error = str(error)
if link_error:
    st.error(link_error)

languages: list[str] = []
prefer_generated = False
if video_id:
    # Keys: "" (best), "en" (manual), "en|auto" (auto-generated), "fr|translated".
    options = {"": "Best available (manual over auto-generated)"}
    try:
        tracks = tracks_of(video_id)
        for track in tracks:
            options[track.language_code + ("|auto" if track.is_generated else "")] = track.label
        best = next((t for t in tracks if t.translation_languages and not t.is_generated), None) or next(
            (t for t in tracks if t.translation_languages), None)
        if best:
            for code, name in best.translation_languages:
                if code not in options and f"{code}|auto" not in options:
                    options[f"{code}|translated"] = f"{name} (YouTube translation)"
    except ytqa.YtqaError:
        pass  # the fetch below reports the problem with its remedy
    choice = st.selectbox("Transcript language", list(options), format_func=options.get, key="lang")
    code, _, mode = choice.partition("|")
    languages = [code] if code else []
    prefer_generated = mode == "auto"

with st.expander("No captions on YouTube, or YouTube blocks this machine? Upload subtitles"):
    upload = st.file_uploader("Subtitle file (.srt, .vtt or youtube-transcript-api .json)",
                              type=["srt", "vtt", "json"], key="upload")
    st.caption("Give the video's link above too, so timestamps open the right video.")

if st.button("Open video", type="primary", disabled=not video_id, key="open"):
    progress_bar = None
    with st.status("Preparing the video...", expanded=True) as status:
        def progress(stage: str, done: int, total: int) -> None:
            global progress_bar
            if stage == "embedding":
                if progress_bar is None:
                    progress_bar = st.progress(0.0)
                progress_bar.progress(done / max(total, 1), text=f"Embedding passages: {done}/{total}")
            else:
                status.update(label=STAGES[stage] + "...")

        try:
            # A quick index (sentences only) answers first; the full one is built behind it.
            if upload is not None:
                transcript = library.transcript_from_upload(video_id, upload.getvalue(), upload.name)
                index = library.index_transcript(transcript, progress, quick=True)
            else:
                index = library.index(video_id, languages=languages, progress=progress,
                                      prefer_generated=prefer_generated, quick=True)
            complete_in_background(library, index.video_id)
            session.video = index.video_id
            session.play = None
            status.update(label="Ready: ask a question below.", state="complete", expanded=False)
            opened = True
        except ytqa.YtqaError as error:
            status.update(label="Could not open the video", state="error", expanded=True)
            st.error(str(error))
            opened = False
    if opened:
        st.rerun()  # so the library lists it

current = session.video
if current:
    try:
        index = library.open(current, quick=True)
    except ytqa.YtqaError as error:
        st.error(str(error))
        index = None
    if index is not None:
        t = index.transcript
        st.subheader(safe(t.title or current))
        st.caption(safe(f"{ytqa.format_timestamp(t.duration)} · {t.language} ({t.kind}) · "
                        f"{len(index.chunking.chunks)} passages · source: {t.source}"))
        # The moment being played: from its start, stopping where its answer ends.
        start, end = session.play or (0, None)
        end = int(end) + 1 if end is not None and int(end) + 1 > int(start) else None
        st.video(ytqa.watch_url(current), start_time=int(start), end_time=end,
                 autoplay=bool(session.play))

# --- questions ---------------------------------------------------------------------

total = library.count()  # after the link box: a big library's catalog takes a moment to read
everywhere = st.toggle("Search all videos in my library", key="everywhere", disabled=not total)
with st.form("ask", clear_on_submit=True, border=False):
    question = st.text_input("Your question", key="question",
                             placeholder="What does the speaker say about ...?")
    asked = st.form_submit_button("Ask", disabled=not (current or everywhere))

if asked:
    entry = {"question": question, "video": None if everywhere else current, "moments": [], "error": None}
    try:
        if everywhere:
            entry["moments"] = library.ask_all(question, k=k)
        else:
            entry["moments"] = library.open(current, quick=True).ask(question, k=k)
    except ytqa.YtqaError as error:
        entry["error"] = str(error)
    session.history.insert(0, entry)


def play(video: str, start: float, end: float) -> None:
    session.video = video
    session.play = (start, end)


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


for number, entry in enumerate(session.history):
    with st.container(border=True):
        st.markdown(f"**Q: {safe(entry['question'])}**")
        if entry["error"]:
            st.error(entry["error"])
            continue
        if not entry["moments"]:
            st.info("No passage matches this question.")
        for rank, moment in enumerate(entry["moments"]):
            length = ytqa.format_timestamp(moment.end - moment.start)
            stamp = f"{moment.timestamp}–{ytqa.format_timestamp(moment.end)}"
            where = "" if entry["video"] else f" · {safe(moment.title or moment.video_id)}"
            st.markdown(
                f'<a href="{html.escape(moment.url)}" target="_blank" rel="noopener">{stamp}</a>'
                f" ({length}){where} · relevance {moment.score:.2f}",
                unsafe_allow_html=True,
            )
            st.markdown(f'<div class="ytqa-passage">{excerpt(moment)}</div>', unsafe_allow_html=True)
            with st.expander(f"The whole moment ({length})"):
                st.markdown(f'<div class="ytqa-passage">{highlighted(moment.text, moment.sentence)}</div>',
                            unsafe_allow_html=True)
            st.button(f"▶ Play {stamp}", key=f"play-{number}-{rank}", help="Plays the moment, from its start to its end",
                      on_click=play, args=(moment.video_id, moment.start, moment.end))


# --- sidebar, continued: the library's videos, a page at a time -------------------
# Listed last, so the link box does not wait for them.


def open_stored(video: str) -> None:
    session.video = video
    session.play = None


def delete_stored(video: str) -> None:
    library.delete(video)
    if session.video == video:
        session.video = None


with st.sidebar:
    find = st.text_input("Find a video", key="library_search", placeholder="title or id") if total > PAGE else ""
    matches = library.count(find) if find else total
    page = st.number_input(f"Page (of {-(-matches // PAGE)})", 1, max(1, -(-matches // PAGE)),
                           key="library_page") if matches > PAGE else 1
    if not total:
        st.caption("Videos you index appear here.")
    elif total > PAGE:
        st.caption(f"{matches} of {total} videos" if find else f"{total} videos")
    for info in library.videos(offset=(page - 1) * PAGE, limit=PAGE, search=find or None):
        minutes = ytqa.format_timestamp(info.duration)
        label = info.title or info.video_id
        with st.container(border=True):
            st.markdown(f"**{safe(label)}**")
            st.caption(safe(f"{minutes} · {info.language_code} · {info.kind} · "
                            + (f"{info.chunks} passages" if info.indexed else "not indexed with this model")))
            open_col, delete_col = st.columns(2)
            open_col.button("Open", key=f"open-{info.video_id}", use_container_width=True,
                            on_click=open_stored, args=(info.video_id,))
            delete_col.button("Delete", key=f"delete-{info.video_id}", use_container_width=True,
                              on_click=delete_stored, args=(info.video_id,))
