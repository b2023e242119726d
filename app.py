"""ytqa's web app: widgets and layout only; everything else is the ytqa library.

Run with ``streamlit run app.py`` (or ``make run``).

The link box is drawn first, before anything touches the library or the model, so the
page takes a link at once however big the library is; the rest follows in the same run.
"""

from __future__ import annotations

import dataclasses
import html
import re
import threading

import streamlit as st

st.set_page_config(page_title="ytqa: ask a YouTube video", page_icon="🎬", layout="wide")

# The player column stays in view while the answers scroll (stacked on narrow screens, it
# stays at the top); the highlight reads in light and dark themes alike.
st.html("""<style>
div[data-testid="stColumn"]:has(.st-key-player) { position: sticky; top: 3.75rem; align-self: flex-start;
  z-index: 3; background: var(--ytqa-background, #fff); }
@media (max-width: 640px) { div[data-testid="stColumn"]:has(.st-key-player) { top: 2.9rem; } }
.ytqa-passage mark { background: rgba(255, 200, 0, 0.35); color: inherit; padding: 0 .1em; }
</style>
<script>
// The sticky player covers what scrolls under it with the theme's own background.
const app = window.parent.document.querySelector(".stApp") || document.querySelector(".stApp");
if (app) { document.documentElement.style.setProperty("--ytqa-background", getComputedStyle(app).backgroundColor); }
</script>""", unsafe_allow_javascript=True)

_SPECIAL = re.compile(r"""[<>&"'\[\]()*_`#~|\\!{}+\-:=$.@/]""")


def safe(text) -> str:
    """Untrusted text (transcripts, titles, file names, links, messages quoting them) as inert markup.

    Every character that HTML or Markdown could read as syntax (links, bold, autolinked
    ``www.`` and ``@`` addresses) becomes a numeric entity, in one pass so nothing is
    escaped twice: ``[x](javascript:...)`` shows as the characters it is.
    """
    return _SPECIAL.sub(lambda m: f"&#{ord(m.group())};", str(text))


st.title("Ask a YouTube video")
with st.form("open_form", border=False, enter_to_submit=True):
    link_col, button_col = st.columns([5, 1], vertical_alignment="bottom")
    link_col.text_input("YouTube link or video id", key="link", max_chars=2000,
                        placeholder="https://www.youtube.com/watch?v=...  (Enter opens it)")
    submitted = button_col.form_submit_button("Open video", type="primary", key="open", width="stretch")
upload_slot = st.empty()  # the upload section, drawn once the library is known
notice_slot = st.container()
threading.Event().wait(0.05)  # lets the server send the link box now, before the library is read below

import ytqa  # noqa: E402  (after the link box: the page takes a link while this loads)

CONFIG = ytqa.Config.from_env()
#: Videos listed in the sidebar at once; a bigger library is paged and searched.
PAGE = 20
#: Answers drawn per video (all are kept and exported).
SHOWN = 10
_MODELS = {
    "e5": "multilingual-e5-small: 100 languages, offline",
    "minilm": "all-MiniLM-L6-v2: English, fastest, offline",
    "multi-qa-mpnet": "multi-qa-mpnet-base-dot-v1: English, question-trained, downloads once",
}
# The default model first, marked as such.
MODEL_CHOICES = {ytqa.DEFAULT_MODEL: f"{_MODELS[ytqa.DEFAULT_MODEL]} (default)"}
MODEL_CHOICES.update({name: label for name, label in _MODELS.items() if name != ytqa.DEFAULT_MODEL})
MODEL_CHOICES["custom"] = "Another model from the Hugging Face Hub..."
#: The player's times are 32-bit seconds.
PLAYER_LIMIT = 2**31 - 1
def say(kind, error, where=st) -> None:
    """An error or notice in the app's words; user input in it stays inert."""
    getattr(where, kind)(safe(ytqa.app_words(error)))


@st.cache_resource(show_spinner=False)
def jobs_for(data_dir: str) -> ytqa.Jobs:
    """Indexing jobs of this server, shared by every page (a reload finds its job here)."""
    return ytqa.Jobs()


@st.cache_resource(show_spinner=False, max_entries=4)
def embedder_for(model: str) -> ytqa.Embedder:
    """One model per process (a few at most)."""
    return ytqa.Embedder(model)


@st.cache_resource(show_spinner=False, max_entries=4)
def library_for(data_dir: str, store: str | None, model: str) -> ytqa.Library:
    """The model and index libraries load in the background from the moment the page opens."""
    ytqa.resolve_model(model)  # an unknown model is reported now, not at the first question
    library = ytqa.Library(data_dir, store=store, embedder=lambda: embedder_for(model))
    # A moment later: the first page's own drawing goes first.
    warm = threading.Timer(1.0, _warm, args=(library,))
    warm.daemon = True
    warm.start()
    return library


def _warm(library: ytqa.Library) -> None:
    try:
        library.warm_up()
    except Exception:
        pass  # reported when the model is first used


@st.cache_data(show_spinner=False, ttl=60, max_entries=50)
def unreachable(model: str) -> str | None:
    """Why a model cannot be loaded now (checked in seconds, once a minute at most)."""
    return ytqa.unreachable_model(ytqa.resolve_model(model))


@st.cache_data(show_spinner=False, ttl=3600, max_entries=200)
def tracks_of(video_id: str) -> list[ytqa.Track]:
    try:
        return ytqa.YouTube().tracks(video_id)
    except ytqa.YtqaError:
        return []  # offline or refused: the transcript menu is left out


def highlighted(passage: str, sentence: str) -> str:
    body = safe(passage)
    mark = safe(sentence)
    if mark and mark in body:
        body = body.replace(mark, f"<mark>{mark}</mark>", 1)
    return body


def state():
    s = st.session_state
    for name, value in {"video": None, "play": None, "pending": None, "open_error": None,
                        "show_upload": False, "confirm_delete": None, "model_ok": ytqa.DEFAULT_MODEL,
                        "focus": False, "collection_job": None, "collection_result": None}.items():
        s.setdefault(name, value)
    if "history" not in s:
        token = st.query_params.get("h")
        if not ytqa.valid_token(token):
            token = ytqa.new_token()
        s.history = ytqa.History(CONFIG.data_dir + "/app/histories", token)
    st.query_params["h"] = s.history.token  # a reload finds this visitor's answers again
    return s


session = state()
jobs = jobs_for(CONFIG.data_dir)


# --- the model --------------------------------------------------------------------------


def chosen_model(wanted: str, custom: bool) -> tuple[str, str | None]:
    """The model to use and, when the wanted one cannot be, why (the last good one is kept)."""
    if wanted == session.model_ok:
        return wanted, None
    current = MODEL_CHOICES.get(session.model_ok, session.model_ok).split(":")[0]
    try:
        if custom:
            wanted = ytqa.check_model_choice(wanted, ytqa.KNOWN_MODELS)
        reason = unreachable(wanted)
    except ytqa.YtqaError as error:
        return session.model_ok, f"{ytqa.app_words(error)} The app keeps using {current}."
    if reason:
        name = MODEL_CHOICES.get(wanted, wanted).split(":")[0]
        return session.model_ok, (f"Cannot use {name}: {reason}. The app keeps using {current}; "
                                  "choose another under Embedding model, or ask the server's owner "
                                  "to download it once.")
    session.model_ok = wanted
    return wanted, None


with st.sidebar:
    st.header("Library")
    st.caption("Shared by everyone using this server: the videos here, and what they say, are "
               "visible to every visitor, who can also delete them. (Your questions are yours.)")
    choice = st.selectbox("Embedding model", list(MODEL_CHOICES), format_func=MODEL_CHOICES.get, key="model_choice")
    wanted = choice
    if choice == "custom":
        wanted = st.text_input("Hugging Face model id", placeholder="sentence-transformers/all-mpnet-base-v2",
                               key="custom_model", max_chars=200).strip() or session.model_ok
    model, model_error = chosen_model(wanted, custom=choice == "custom")
    if model_error:
        say("error", model_error)
    k = st.slider("Moments per answer", 1, 10, 5, key="k")
    try:
        library = library_for(CONFIG.data_dir, CONFIG.store, model)
    except ytqa.YtqaError as error:
        say("error", error)
        model = session.model_ok = ytqa.DEFAULT_MODEL
        library = library_for(CONFIG.data_dir, CONFIG.store, model)


def job_key(video_id: str) -> tuple:
    return ("open", video_id, model)


def full_key(video_id: str) -> tuple:
    return ("full", video_id, model)


def start_full(video_id: str) -> None:
    """The full index, built behind the questions; they switch to it when it is ready."""
    def work(progress):
        transcript = library.stored_transcript(video_id)
        if transcript is not None:
            library.index_transcript(transcript, progress)
        return video_id

    jobs.start(full_key(video_id), work)


def start_open(video_id: str, languages=(), prefer_generated: bool = False, upload=None) -> None:
    """Open a video in the background: the page shows the progress, a rerun or reload rejoins it."""
    data, name = (upload.getvalue(), upload.name) if upload is not None else (None, None)

    def work(progress):
        if data is not None:
            transcript = library.transcript_from_upload(video_id, data, name)
            index = library.index_transcript(transcript, progress, quick=True)
        else:
            index = library.index(video_id, languages=list(languages), progress=progress,
                                  prefer_generated=prefer_generated, quick=True)
        return index.video_id

    job = jobs.start(job_key(video_id), work)
    session.pending = job.key
    session.open_error = None
    st.query_params["v"] = video_id


def finish(job: ytqa.Job) -> None:
    """A job this page waited for has ended: open its video, or say why not."""
    session.pending = None
    if job.state == "done":
        session.video = job.result
        session.play = None
        session.show_upload = False
        session.focus = True
        start_full(job.result)
    elif job.state == "failed":
        session.open_error = ytqa.app_words(job.error)
        # The remedy for a transcript YouTube will not give is a subtitle file.
        session.show_upload = isinstance(job.error, ytqa.TranscriptUnavailable)
    elif job.cancelled:
        session.open_error = "Opening the video stopped: it was deleted from the library."
    else:
        session.open_error = "Opening the video stopped: the page was away too long. Open it again."


def is_quick(index: ytqa.VideoIndex) -> bool:
    return "-so-" in index.key


# --- the link box: what was submitted ---------------------------------------------------

link = (session.get("link") or "").strip()
video_id = None
pasted = None  # a playlist or channel
link_error = None
if link:
    try:
        video_id = ytqa.video_id(link)
    except ytqa.InvalidLink as error:
        link_error = error
    try:
        target = ytqa.parse_link(link)
        if target.kind != "video":
            pasted, link_error = target, None
    except ytqa.InvalidLink:
        pass

# A reload: the address names the video this page had open or was opening.
if session.video is None and session.pending is None:
    wanted_video = st.query_params.get("v")
    if wanted_video:
        try:
            wanted_video = ytqa.video_id(wanted_video)
        except ytqa.InvalidLink:
            wanted_video = None
    if wanted_video:
        running = jobs.get(job_key(wanted_video))
        if running is not None and running.running:
            session.pending = running.key
        elif library.stored_transcript(wanted_video) is not None:
            session.video = wanted_video
        else:
            del st.query_params["v"]

if session.pending is not None:
    job = jobs.get(session.pending)
    if job is None:
        session.pending = None
    elif not job.running:
        finish(job)


with upload_slot.container():
    with st.expander("No captions on YouTube, or YouTube blocks this server? Upload subtitles",
                     expanded=bool(session.show_upload)):
        generation = session.get("upload_gen", 0)  # a new key empties the box (another video opened)
        upload = st.file_uploader("Subtitle file (.srt, .vtt or youtube-transcript-api .json), 50 MB at most",
                                  type=["srt", "vtt", "json"], key="upload" if not generation else f"upload-{generation}")
        st.caption("Give the video's link above too, so timestamps open the right video; then Open video.")

with notice_slot:
    if submitted:
        if not link:
            st.warning("Paste a YouTube link or video id in the box above, then press Enter or Open video.")
        elif link_error is not None:
            say("error", link_error)
        elif video_id and (pasted is None or pasted.video_id):
            start_open(video_id, upload=upload)
    elif link_error is not None:
        say("error", link_error)

@st.fragment(run_every=0.5)
def opening() -> None:
    """The progress of the video being opened, until it is ready (then the page redraws)."""
    job = jobs.get(session.pending) if session.pending else None
    if job is None:
        return
    job.watch()
    if job.running:
        st.progress(job.fraction, text=job.label)
        st.caption("You can keep using the page, or come back to it: the video keeps opening.")
    else:
        st.rerun()


with notice_slot:
    if session.pending is not None:
        opening()
    if session.open_error:
        say("error", session.open_error)


# --- playlists and channels ---------------------------------------------------


@st.cache_data(show_spinner=False, ttl=600, max_entries=50)
def listing_of(url: str) -> ytqa.Collection:
    """A playlist's or channel's videos, listed once in a while (yt-dlp, nothing downloaded)."""
    return ytqa.list_collection(url, proxy=ytqa.ProxySettings.from_env())


def collections_of(library: ytqa.Library) -> ytqa.Collections:
    try:
        return ytqa.Collections(library)  # YTQA_REQUEST_DELAY spaces the transcript requests
    except ytqa.YtqaError as error:
        say("error", error, st.sidebar)
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
                mark = "▶ " if video.video_id == session.video else ""
                title_col.markdown(mark + safe(video.title or video.video_id))
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
        say("error", error)
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
            session.collection_result = ("error", ytqa.app_words(error), key)
        session.collection_job = None
    st.rerun()  # so the library lists what was indexed


def collection_result(collections: ytqa.Collections, result: tuple) -> None:
    """How the last run ended: the message, the overall bar and each video's state."""
    outcome, message, key = result
    (st.success if outcome == "success" else st.error)(safe(message))
    saved = collections.store.load(key)
    if saved is not None and saved.total:
        st.progress(saved.done / saved.total, text=f"{saved.done} of {saved.total} videos done")
        st.dataframe(state_rows(saved), hide_index=True, width="stretch")


# --- the library's videos: open and delete ----------------------------------------------


def open_stored(video: str) -> None:
    session.video = video
    session.play = None
    session.pending = None
    session.open_error = None
    session.confirm_delete = None
    session.focus = True
    # The other video's link and file are not this one's.
    session.link = ""
    session.upload_gen = session.get("upload_gen", 0) + 1
    st.query_params["v"] = video


def ask_delete(video: str) -> None:
    session.confirm_delete = video


def delete_stored(video: str) -> None:
    session.confirm_delete = None
    if not jobs.cancel_for(video):
        session.delete_error = "This video is being indexed right now; try deleting it again in a moment."
        return
    try:
        library.delete(video)
    except ytqa.NotStored:
        pass  # another visitor deleted it first: what was asked for is done
    except Exception as error:  # being indexed right now, or not all of it removed
        session.delete_error = ytqa.app_words(ytqa.in_words(error))
        return
    session.opened = None
    if session.video == video:
        session.video = None
        st.query_params.pop("v", None)


def cancel_delete() -> None:
    session.confirm_delete = None


collections = collections_of(library)
with st.sidebar:
    try:
        grouped = collection_groups(collections)
    except Exception as error:  # a damaged collection file must not take the page down
        say("error", ytqa.in_words(error))
        grouped = set()

with notice_slot:
    if pasted is not None:
        collection_panel(collections, pasted, link)
    if session.collection_job:
        run_collection_job(collections, session.collection_job)
    if session.collection_result:
        collection_result(collections, session.collection_result)
        session.collection_result = None


# --- the open video: player beside the conversation ------------------------------------

def opened(video: str) -> ytqa.VideoIndex:
    """The open video's index, kept for the page: a rerun reads no transcript again. A quick
    index is looked up again once its full build has ended (to switch to the full one)."""
    kept = session.get("opened")
    if kept is not None and kept[0] == (video, model):
        job = jobs.get(full_key(video))
        if not is_quick(kept[1]) or (job is not None and job.running):
            return kept[1]
    if not any(v.video_id == video and v.indexed for v in library.videos(search=video, limit=50)):
        # Not indexed with this model yet: built in the background with its progress, never in the page.
        start_open(video)
        return None
    index = library.open(video, quick=True)
    session.opened = ((video, model), index)
    return index


current = session.video
index = None
if current:
    try:
        index = opened(current)
        if index is None:
            current = session.video = None
            with notice_slot:
                opening()
    except ytqa.YtqaError as error:
        say("error", error)
    except Exception as error:
        say("error", ytqa.in_words(error))

total = library.count()
collections_scope = st.sidebar.container()
with collections_scope:
    everywhere = st.toggle("Search all videos in the library", key="everywhere", disabled=not total,
                           help="One question across every video in the shared library")
    scope = ask_scope(collections, everywhere)

if everywhere:
    scope_key, scope_title = "all", "all videos in the library"
elif scope:
    scope_key = f"collection:{scope}"
    scope_title = next((c.title for c in collections.all() if c.key == scope), scope)
elif index is not None:
    scope_key, scope_title = current, index.transcript.title or current
else:
    scope_key, scope_title = None, None

placeholder = ("Open a video first (or switch on Search all videos in the sidebar)" if scope_key is None
               else f"Ask about {scope_title[:60]}")
question = st.chat_input(placeholder, key="question", max_chars=500, disabled=scope_key is None,
                         submit_mode="disable")
listed = listed_titles(collections)


def answer(question: str) -> ytqa.Answer:
    entry = ytqa.Answer(question, scope_key)
    try:
        if everywhere:
            entry.moments = library.ask_all(question, k=k)
        elif scope:
            entry.moments = collections.ask(scope, question, k=k)
        else:
            entry.moments = index.ask(question, k=k)
            entry.refining = is_quick(index)
    except ytqa.YtqaError as error:
        entry.error = ytqa.app_words(error)
    entry.moments = [m if m.title or not listed.get(m.video_id) else dataclasses.replace(m, title=listed[m.video_id])
                     for m in entry.moments]
    return entry


hint = None
if question is not None:
    if scope_key is None:
        hint = "Open a video first (paste its link above), or switch on Search all videos in the sidebar."
    elif not question.strip() or not any(c.isalnum() for c in question):
        hint = "Type a question in words, for example: What does the speaker say about ...?"
    else:
        session.history.add(answer(" ".join(question.split())))


def refresh_refined() -> bool:
    """Answers given from the quick index, asked again once the full one is there; True while it is built."""
    if current is None or scope_key != current:
        return False
    waiting = [a for a in session.history.answers(current) if a.refining]
    job = jobs.get(full_key(current))
    if job is not None and job.running:
        job.watch()
        return True
    if waiting and index is not None and not is_quick(index):
        for entry in waiting:
            fresh = answer(entry.question)
            entry.moments, entry.error = fresh.moments, fresh.error
            entry.refining, entry.refreshed = False, True
        session.history.save()
    elif waiting and (job is None or job.state != "running") and index is not None and is_quick(index):
        start_full(current)  # the full build was dropped (the page was away): start it again
        return True
    return False


refining = refresh_refined()


def play(video: str, start: float, end: float) -> None:
    session.video = video
    session.play = (start, end)
    st.query_params["v"] = video


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


def moment_row(entry: ytqa.Answer, number: int, rank: int, moment: ytqa.Moment) -> None:
    """One moment: play it here, the best sentence in context, the whole passage, its link."""
    stamp = f"{ytqa.format_timestamp(moment.start)}–{ytqa.format_timestamp(moment.end)}"
    length = ytqa.format_timestamp(moment.end - moment.start)
    across = entry.scope != moment.video_id
    # One scale per answer, in the answer's order: within a video the fused score (1.0 =
    # first in every ranking); across videos the model's similarity, comparable between them.
    relevance = moment.similarity if across else moment.score
    where = f" · {safe(moment.title or listed.get(moment.video_id) or moment.video_id)}" if across else ""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(f"▶ Play {stamp}", key=f"play-{number}-{rank}", type="tertiary",
                  help="Plays this moment in the player, from its start to its end",
                  on_click=play, args=(moment.video_id, moment.start, moment.end))
        st.markdown(f"<small>{length} long{where} · relevance {relevance:.2f}</small>",
                    unsafe_allow_html=True, width="content")
        with st.popover("Link", icon=":material/link:", type="tertiary", help="Copy a link to this moment",
                        key=f"link-{number}-{rank}"):
            st.code(moment.url, language=None)
            st.markdown(f'<a href="{html.escape(moment.url)}" target="_blank" rel="noopener">'
                        f"Open on YouTube at {stamp.split('–')[0]}</a>", unsafe_allow_html=True)
    st.markdown(f'<div class="ytqa-passage">{excerpt(moment)}</div>', unsafe_allow_html=True)
    with st.expander(f"The whole moment ({length})"):
        st.markdown(f'<div class="ytqa-passage">{highlighted(moment.text, moment.sentence)}</div>',
                    unsafe_allow_html=True)


def conversation(answers: list[ytqa.Answer]) -> None:
    shown = answers[-SHOWN:]
    if len(answers) > len(shown):
        st.caption(f"{len(answers) - len(shown)} older answers are in the Markdown export.")
    first = len(answers) - len(shown)
    for number, entry in enumerate(shown, start=first):
        with st.chat_message("user"):
            st.markdown(safe(entry.question))
        with st.chat_message("assistant"):
            about = "all videos" if entry.scope == "all" else scope_title
            note = (" · refining: the full index is being built, this answer will be refreshed"
                    if entry.refining else " · refreshed from the full index" if entry.refreshed else "")
            st.caption(safe(f"About {about}{note}"))
            if entry.error:
                say("error", entry.error)
                continue
            if not entry.moments:
                st.info("No passage matches this question.")
            for rank, moment in enumerate(entry.moments):
                try:
                    moment_row(entry, number, rank, moment)
                except (OverflowError, ValueError):
                    st.warning("One moment has times the app cannot show (the stored transcript may be damaged).")


def player() -> None:
    t = index.transcript
    st.subheader(safe(t.title or current))
    try:
        st.caption(safe(f"{ytqa.format_timestamp(t.duration)} · {t.language} ({t.kind}) · "
                        f"{len(index.chunking.chunks)} passages"))
    except (OverflowError, ValueError):
        st.caption(safe(f"{t.language} ({t.kind})"))
    start, end = session.play or (0, None)
    if not (0 <= start < PLAYER_LIMIT) or (end is not None and not end < PLAYER_LIMIT):
        st.error("This moment's time is beyond what the player can play (the stored transcript may "
                 "be damaged); its link opens YouTube instead.")
        start, end = 0, None
    # The moment being played: from its start, stopping where its answer ends.
    end = int(end) + 1 if end is not None and int(end) + 1 > int(start) else None
    st.video(ytqa.watch_url(current), start_time=int(start), end_time=end,
             autoplay=bool(session.play), alt=f"Player: {t.title or current}")
    tracks = tracks_of(current) if t.source != "subtitle file" else []
    if tracks:
        options = {"": "Best available (manual over auto-generated)"}
        for track in tracks:
            options[track.language_code + ("|auto" if track.is_generated else "")] = track.label
        best = next((x for x in tracks if x.translation_languages and not x.is_generated), None) or next(
            (x for x in tracks if x.translation_languages), None)
        if best:
            for code, name in best.translation_languages:
                if code not in options and f"{code}|auto" not in options:
                    options[f"{code}|translated"] = f"{name} (YouTube translation)"
        st.selectbox("Transcript language", list(options), format_func=options.get, key="lang",
                     on_change=reopen_in_language)


def reopen_in_language() -> None:
    code, _, mode = (session.get("lang") or "").partition("|")
    if current:
        start_open(current, [code] if code else [], prefer_generated=mode == "auto")


answers = session.history.answers(scope_key) if scope_key else []
if index is not None or answers or scope_key:
    if index is not None:  # the player too when asking the library: Play opens that moment there
        left, right = st.columns([5, 6], gap="large")
        with left:
            with st.container(key="player"):
                player()
    else:
        right = st.container()
    with right:
        if scope_key:
            with st.container(horizontal=True, vertical_alignment="center"):
                st.markdown(f"**Answers about {safe(scope_title)}**", width="stretch")
                if answers:
                    st.download_button(
                        "Export", ytqa.markdown_export(f"Answers about {scope_title}", answers),
                        file_name=f"ytqa-{re.sub(r'[^A-Za-z0-9_-]', '-', scope_key)}.md", mime="text/markdown",
                        key="export", help="These answers as Markdown, with timestamp links", on_click="ignore",
                        icon=":material/download:")
                    st.button("Clear", key="clear_history", help="Forget these answers", icon=":material/delete:",
                              on_click=session.history.clear, args=(scope_key,))
            if not session.history.saved:
                st.caption("The answers cannot be saved on the server (its data folder is not writable): "
                           "they last while this page is open.")
        if hint:
            st.info(hint)
        if answers:
            conversation(answers)
        elif scope_key:
            st.caption("Ask below: each answer lists the moments that answer it, with Play.")
elif hint:
    st.info(hint)

if refining and current:
    @st.fragment(run_every=2)
    def refining_note() -> None:
        job = jobs.get(full_key(current))
        if job is not None and job.running:
            job.watch()
            st.caption(f"Building the full index for better answers: {job.label}")
        elif any(a.refining for a in session.history.answers(current)):
            st.rerun()

    with st.sidebar:
        refining_note()

if session.focus:
    # The question box, focused once a video opens (it is pinned in view at the bottom).
    st.html("<script>setTimeout(() => { const box = window.parent.document.querySelector("
            "'[data-testid=\"stChatInputTextArea\"]'); if (box) { box.focus(); } }, 300);</script>",
            unsafe_allow_javascript=True)
    session.focus = False


# --- sidebar, continued: the library's videos, a page at a time -------------------
# Listed last, so the link box does not wait for them.


def library_entry(info) -> None:
    damaged = info.damaged
    label = info.title or info.video_id
    with st.container(border=True):
        mark = "▶ " if info.video_id == session.video else ""
        st.markdown(f"**{mark}{safe(label)}**" + (" (open)" if mark else ""))
        if damaged:
            st.caption(safe(f"Damaged: {damaged}"))
        else:
            passages = "1 passage" if info.chunks == 1 else f"{info.chunks} passages"
            try:
                minutes = ytqa.format_timestamp(info.duration)
            except (OverflowError, ValueError):
                minutes = "?"
            st.caption(safe(f"{minutes} · {info.language_code} · {info.kind} · "
                            + (passages if info.indexed else "not yet indexed with the chosen model")))
        if session.confirm_delete == info.video_id:
            st.caption(safe(f"Delete {label} for everyone using this server?"))
            yes_col, no_col = st.columns(2)
            yes_col.button("Yes, delete", key=f"confirm-delete-{info.video_id}", type="primary",
                           width="stretch", on_click=delete_stored, args=(info.video_id,))
            no_col.button("Cancel", key=f"cancel-delete-{info.video_id}", width="stretch",
                          on_click=cancel_delete)
            return
        open_col, delete_col = st.columns(2)
        if not damaged:
            open_col.button("Open", key=f"open-{info.video_id}", width="stretch",
                            on_click=open_stored, args=(info.video_id,))
        delete_col.button("Delete", key=f"delete-{info.video_id}", width="stretch",
                          on_click=ask_delete, args=(info.video_id,))


with st.sidebar:
    if session.get("delete_error"):
        say("error", session.delete_error)
        session.delete_error = None
    find = st.text_input("Find a video", key="library_search", placeholder="title or id") if total > PAGE else ""
    try:
        matches = library.count(find) if find else total
        page = st.number_input(f"Page (of {-(-matches // PAGE)})", 1, max(1, -(-matches // PAGE)),
                               key="library_page") if matches > PAGE else 1
        if not total:
            st.caption("Videos anyone indexes appear here.")
        elif total > PAGE:
            st.caption(f"{matches} of {total} videos" if find else f"{total} videos")
        listing = library.videos(offset=(page - 1) * PAGE, limit=PAGE, search=find or None)
    except Exception as error:  # one bad stored entry must not take the page down
        say("error", ytqa.in_words(error))
        listing = []
    for info in listing:
        if info.video_id in grouped and not find:
            continue  # listed under its playlist or channel
        try:
            library_entry(info)
        except Exception:
            st.caption(safe(f"{info.video_id}: damaged entry"))
            st.button("Delete", key=f"delete-{info.video_id}", on_click=ask_delete, args=(info.video_id,))
