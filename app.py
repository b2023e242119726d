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
_MODELS = {
    "e5": "multilingual-e5-small: 100 languages, offline",
    "minilm": "all-MiniLM-L6-v2: English, fastest, offline",
    "multi-qa-mpnet": "multi-qa-mpnet-base-dot-v1: English, question-trained, downloads once",
}
# The default model first, marked as such.
MODEL_CHOICES = {ytqa.DEFAULT_MODEL: f"{_MODELS[ytqa.DEFAULT_MODEL]} (default)"}
MODEL_CHOICES.update({name: label for name, label in _MODELS.items() if name != ytqa.DEFAULT_MODEL})
MODEL_CHOICES["custom"] = "Another sentence-transformers model..."
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
    s.setdefault("collection_job", None)
    s.setdefault("collection_result", None)
    return s


def open_stored(video: str) -> None:
    session.video = video
    session.play = None


def delete_stored(video: str) -> None:
    try:
        library.delete(video)
    except ytqa.NotStored:
        pass  # another visitor deleted it first
    except ytqa.YtqaError as error:  # being indexed right now, or not all of it removed
        st.error(str(error))
        return
    if session.video == video:
        session.video = None


# --- playlists and channels ---------------------------------------------------


@st.cache_data(show_spinner=False, ttl=600, max_entries=50)
def listing_of(url: str) -> ytqa.Collection:
    """A playlist's or channel's videos, listed once in a while (yt-dlp, nothing downloaded)."""
    return ytqa.list_collection(url, proxy=ytqa.ProxySettings.from_env())


def collections_of(library: ytqa.Library) -> ytqa.Collections:
    try:
        return ytqa.Collections(library)  # YTQA_REQUEST_DELAY spaces the transcript requests
    except ytqa.YtqaError as error:
        st.sidebar.error(str(error))
        return ytqa.Collections(library, delay=ytqa.request_delay(None, {}))


def pending(saved: ytqa.SavedCollection) -> bool:
    return any(v.state in ("waiting", "fetching") for v in saved.videos)


def collection_groups(collections: ytqa.Collections) -> set:
    """The sidebar's playlists and channels, each with its indexed videos; returns their ids."""
    shown = set()
    for saved in collections.all():
        with st.expander(safe(saved.title)):
            st.caption(safe(f"{'channel' if saved.kind == 'channel' else 'playlist'} · {saved.summary()}"))
            for video in saved.videos:
                if video.state != "indexed":
                    continue
                shown.add(video.video_id)
                title_col, open_col = st.columns([3, 1])
                title_col.markdown(safe(video.title or video.video_id))
                open_col.button("Open", key=f"open-{saved.key}-{video.video_id}",
                                on_click=open_stored, args=(video.video_id,))
            failed = [v for v in saved.videos if v.state == "failed"]
            if failed:
                st.caption(safe("Not indexed: " + "; ".join(
                    f"{v.title or v.video_id} ({v.reason})" for v in failed[:20])
                    + (f"; and {len(failed) - 20} more" if len(failed) > 20 else "")))
            sync_col, resume_col = st.columns(2)
            if sync_col.button("Sync", key=f"sync-{saved.key}", width="stretch",
                               help="Look for new videos and index them"):
                session.collection_job = {"key": saved.key, "sync": True}
            if pending(saved) and resume_col.button("Index all", key=f"resume-{saved.key}",
                                                    width="stretch"):
                session.collection_job = {"key": saved.key, "sync": False}
    return shown


def collection_in(text: str, video_error: str | None):
    """The playlist or channel a pasted link names, if any, and the error left to show."""
    try:
        target = ytqa.parse_link(text)
    except ytqa.InvalidLink:
        return None, video_error
    if target.kind == "video":
        return None, video_error
    return target, None


def collection_panel(collections: ytqa.Collections, target: ytqa.Link, source: str) -> None:
    """A pasted playlist or channel: its title, how many videos, and Index all."""
    if target.video_id and session.get("listing") != target.url:
        st.caption("This video is part of a playlist.")
        if st.button("Show the playlist", key="show_playlist"):
            session.listing = target.url
            st.rerun()
        return
    try:
        with st.spinner("Listing its videos..."):
            listing = listing_of(target.url)
    except ytqa.YtqaError as error:
        st.error(str(error))
        return
    with st.container(border=True):
        st.markdown(f"**{safe(listing.title)}**")
        what = "Channel" if listing.kind == "channel" else "Playlist"
        if listing.tab:
            what += f" ({listing.tab})"
        cannot = len(listing.videos) - len(listing.available)
        st.caption(safe(f"{what} · {len(listing.videos)} videos"
                        + (f" · {cannot} cannot be indexed (private, members-only or not yet streamed)"
                           if cannot else "")))
        saved = collections.store.load(ytqa.collection_key(listing))
        if saved is not None:
            st.caption(safe(f"Added before: {saved.summary()}"))
        if st.button("Index all", key="index_all", type="primary", disabled=not listing.available):
            session.collection_job = {"listing": listing, "source": source}


def ask_scope(collections: ytqa.Collections, everywhere: bool) -> str:
    """The playlist or channel a question goes to ("" for the open video)."""
    added = [c for c in collections.all() if c.count("indexed")]
    if not added:
        return ""
    names = {"": "The open video", **{c.key: f"{c.title} ({c.count('indexed')} videos)" for c in added}}
    choice = st.selectbox("Ask within", list(names), format_func=names.get, key="scope",
                          disabled=everywhere)
    return "" if everywhere else choice


def listed_titles(collections: ytqa.Collections) -> dict:
    """Titles from the listings, for videos whose transcript has none."""
    return {v.video_id: v.title for c in collections.all() for v in c.videos if v.title}


def state_rows(saved: ytqa.SavedCollection) -> list[dict]:
    return [{"Video": v.title or v.video_id, "State": v.state + (f": {v.reason}" if v.reason and v.state == "failed" else "")}
            for v in saved.videos]


def run_collection_job(collections: ytqa.Collections, job: dict) -> None:
    """Index a collection's videos one after another: an overall bar and each video's state."""
    with st.container(border=True):
        bar = st.progress(0.0, text="Starting...")
        note = st.empty()
        table = st.empty()

        def show(progress: ytqa.Progress) -> None:
            bar.progress(progress.done / max(progress.total, 1),
                         text=f"{progress.done} of {progress.total} videos done")
            if progress.note:
                note.info(progress.note)
            else:
                note.empty()
            table.dataframe(state_rows(progress.collection), hide_index=True, width="stretch")

        try:
            if "listing" in job:
                saved = collections.save(job["listing"], job["source"])
                report = collections.index(saved.key, show)
            else:
                report = (collections.sync if job["sync"] else collections.index)(job["key"], show)
            saved = report.collection
            new = f"{len(report.new)} new · " if job.get("sync") else ""
            session.collection_result = ("success", f"{saved.title}: {new}{saved.summary()}", saved.key)
        except ytqa.YtqaError as error:
            key = job.get("key") or ytqa.collection_key(job["listing"])
            session.collection_result = ("error", str(error), key)
        session.collection_job = None
    st.rerun()  # so the library lists what was indexed


def collection_result(collections: ytqa.Collections, result: tuple) -> None:
    """How the last run ended: the message, the overall bar and each video's state."""
    outcome, message, key = result
    (st.success if outcome == "success" else st.error)(message)
    saved = collections.store.load(key)
    if saved is not None and saved.total:
        st.progress(saved.done / saved.total, text=f"{saved.done} of {saved.total} videos done")
        st.dataframe(state_rows(saved), hide_index=True, width="stretch")


# --- sidebar: the library ---------------------------------------------------

session = state()

with st.sidebar:
    st.header("Library")
    choice = st.selectbox("Embedding model", list(MODEL_CHOICES), format_func=MODEL_CHOICES.get, key="model_choice")
    model = choice
    if choice == "custom":
        model = st.text_input("Model name or folder", placeholder="sentence-transformers/all-mpnet-base-v2",
                              key="custom_model").strip() or ytqa.DEFAULT_MODEL
    k = st.slider("Moments per answer", 1, 10, 5, key="k")
    try:
        library = library_for(CONFIG.data_dir, CONFIG.store, model)
    except ytqa.YtqaError as error:
        st.error(str(error))
        library = library_for(CONFIG.data_dir, CONFIG.store, ytqa.DEFAULT_MODEL)
    collections = collections_of(library)
    grouped = collection_groups(collections)

# --- main: a video ------------------------------------------------------------

st.title("Ask a YouTube video")
st.caption("Paste a link, ask in your own words, jump to the moment that answers.")

link = st.text_input("YouTube link or video id", key="link",
                     placeholder="https://www.youtube.com/watch?v=...")
video_id = None
link_error = None
pasted = None  # a playlist or channel
if link.strip():
    try:
        video_id = ytqa.video_id(link)
    except ytqa.InvalidLink as error:
        link_error = str(error)
    pasted, link_error = collection_in(link, link_error)
if link_error:
    st.error(link_error)
if pasted is not None:
    collection_panel(collections, pasted, link)
if session.collection_job:
    run_collection_job(collections, session.collection_job)
if session.collection_result:
    collection_result(collections, session.collection_result)
    session.collection_result = None

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
scope = ask_scope(collections, everywhere)
with st.form("ask", clear_on_submit=True, border=False):
    question = st.text_input("Your question", key="question",
                             placeholder="What does the speaker say about ...?")
    asked = st.form_submit_button("Ask", disabled=not (current or everywhere or scope))

if asked:
    entry = {"question": question, "video": None if everywhere or scope else current, "moments": [], "error": None}
    try:
        if everywhere:
            entry["moments"] = library.ask_all(question, k=k)
        elif scope:
            entry["moments"] = collections.ask(scope, question, k=k)
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


listed = listed_titles(collections)
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
            where = "" if entry["video"] else f" · {safe(moment.title or listed.get(moment.video_id) or moment.video_id)}"
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
        if info.video_id in grouped and not find:
            continue  # listed under its playlist or channel
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
