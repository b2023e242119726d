"""Opening a video in the background: the page shows its progress, a rerun or a reload
rejoins it, and when it ends the video opens (its full index then built behind the
questions) or the page says why not."""

from __future__ import annotations

import threading
from dataclasses import replace

import streamlit as st

import ytqa

from .jobs import Job, TooManyJobs
from .state import Page, PageState
from .words import app_words, in_words, say


def is_quick(index: ytqa.VideoIndex) -> bool:
    """An index answered from while the video's best one is built (quick, or the cheap model's)."""
    return not index.best


def build_of(page: Page, kind: str, video_id: str, source: dict, owner: str | None = None) -> ytqa.Build:
    """What the store's queue keeps of a build this page asks for (``as``: the signed-in
    person the video becomes theirs for)."""
    return ytqa.Build(kind=kind, video_id=video_id, model=page.model, person=owner, watched=True,
                      source=source | ({"as": page.person} if page.person else {}))


def start_full(page: Page, video_id: str) -> None:
    """The full index, built behind the questions; they switch to it when it is ready."""
    library = page.library
    if page.jobs.queue is not None:
        page.jobs.queued(page.full_key(video_id), build_of(page, "full", video_id, {"stored": True}))
        return

    def work(progress):
        transcript = library.stored_transcript(video_id)
        if transcript is not None:
            library.index_transcript(transcript, progress)
        return video_id

    page.jobs.start(page.full_key(video_id), work)


def start_open(page: Page, video_id: str, languages=(), prefer_generated: bool = False, upload=None) -> None:
    """Open a video in the background: the page shows the progress, a rerun or reload rejoins it.
    A subtitle file (``upload``) serves this opening only: the file box empties."""
    library = page.library

    def work(progress):
        if upload is not None:
            transcript = library.transcript_from_upload(video_id, upload.data, upload.name)
            title = upload.title_for(video_id) or youtube_title(video_id)
            if title:
                transcript = replace(transcript, title=" ".join(title.split())[:200])  # cleaned when read
            index = library.index_transcript(transcript, progress, quick=True)
        else:
            index = library.index(video_id, languages=list(languages), progress=progress,
                                  prefer_generated=prefer_generated, quick=True)
        return index.video_id

    if upload is not None:
        page.state.upload_served = upload.digest  # the file is this opening's: no other link uses it
    owner = page.person or page.state.history.token
    current = page.jobs.get(page.job_key(video_id))
    try:
        if current is not None and current.running:  # being opened already (from a file, or by another page)
            job = current.watch()
        elif upload is None and page.jobs.queue is not None:  # any process may open it from YouTube
            source = {"youtube": {"languages": list(languages), "prefer_generated": prefer_generated}}
            job = page.jobs.queued(page.job_key(video_id), build_of(page, "open", video_id, source, owner))
        else:  # the file is this process's: opened here
            job = page.jobs.start(page.job_key(video_id), work, owner=owner)
    except TooManyJobs as busy:
        page.state.open_error = str(busy)
        return
    except Exception as error:  # the queue cannot be written (a read-only folder, the server away)
        page.state.open_error = app_words(in_words(error))
        return
    page.state.pending = job.key
    page.state.open_error = None
    page.state.show_video_in_address(video_id)


def youtube_title(video_id: str, wait: float = 3.0) -> str | None:
    """The video's title on YouTube, when YouTube answers within ``wait`` seconds."""
    found: list[str | None] = []

    def ask() -> None:
        try:
            youtube = ytqa.YouTube()
            youtube.tracks(video_id)
            found.append(youtube.title)
        except Exception:  # offline, blocked, no captions: the file's name stands
            pass

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(wait)
    return found[0] if found else None


def finished(state: PageState, job: Job) -> str | None:
    """A job this page waited for has ended: its video opens (returned), or the page says why not."""
    state.pending = None
    if state.upload_served is not None:
        if job.state == "done":
            state.upload_gen += 1  # the file served its video: the box empties
        state.upload_served = None  # a file that failed stays beside its error, to try again
    if job.state == "done":
        state.video = job.result
        state.opened = None  # the transcript just opened (another file, another language), not the one kept
        state.play = None
        state.show_upload = False
        state.focus = True
        return job.result
    if job.state == "failed":
        state.open_error = app_words(job.error)
        # The remedy for a transcript YouTube will not give is a subtitle file.
        state.show_upload = isinstance(job.error, ytqa.TranscriptUnavailable)
    elif job.cancelled:
        state.open_error = "Opening the video stopped: it was deleted from the library."
    else:
        state.open_error = "Opening the video stopped: the page was away too long. Open it again."
    return None


def resume(page: Page) -> None:
    """A reload rejoins the video its address names (being opened, or open); an opening that
    has ended opens its video."""
    state = page.state
    if state.video is None and state.pending is None:
        wanted = state.address_video()
        if wanted:
            running = page.jobs.get(page.job_key(wanted))
            if running is not None and running.running:
                state.pending = running.key
            elif page.library.access.sees_video(wanted) and page.library.stored_transcript(wanted) is not None:
                state.video = wanted
            else:
                state.forget_address_video()
    if state.pending is not None:
        job = page.jobs.get(state.pending)
        if job is None:
            state.pending = None
        elif not job.running and finished(state, job):
            start_full(page, state.video)


@st.fragment(run_every=0.5)
def progress(page: Page) -> None:
    """The progress of the video being opened, until it is ready (then the page redraws)."""
    job = page.jobs.get(page.state.pending) if page.state.pending else None
    if job is None:
        return
    job.watch()
    if job.running:
        st.progress(job.fraction, text=job.label)
        st.caption("You can keep using the page, or come back to it: the video keeps opening.")
    else:
        st.rerun()


def open_stored(page: Page, video: str) -> None:
    """A video of the library opened from the sidebar (a callback)."""
    state = page.state
    state.video = video
    state.play = None
    state.pending = None
    state.open_error = None
    state.confirm_delete = None
    state.focus = True
    state.close_sidebar = True  # on a phone the library covers the page: it closes
    # The other video's link and file are not this one's.
    state.link = ""
    state.upload_gen = state.upload_gen + 1
    state.show_video_in_address(video)


def opened(page: Page, video: str) -> ytqa.VideoIndex | None:
    """The open video's index, kept for the page: a rerun reads no transcript again. A quick
    index is looked up again once its full build has ended (to switch to the full one)."""
    kept = page.state.opened
    if kept is not None and kept[0] == (video, page.model):
        job = page.jobs.get(page.full_key(video))
        if not is_quick(kept[1]) or (job is not None and job.running):
            return kept[1]
    if not any(v.video_id == video and v.indexed for v in page.library.videos(search=video, limit=50)):
        # Not indexed with this model yet: built in the background with its progress, never in the page.
        start_open(page, video)
        return None
    index = page.library.open(video, quick=True)
    page.state.opened = ((video, page.model), index)
    return index


def notices(page: Page) -> None:
    """Under the link box: the opening's progress, or why it failed."""
    if page.state.pending is not None:
        progress(page)
    if page.state.open_error:
        say("error", page.state.open_error)


def open_index(page: Page, notice_slot) -> ytqa.VideoIndex | None:
    """The index of the open video; None when none is open, or it is still being opened
    (its progress then shows under the link box), or it cannot be (said in words)."""
    if not page.state.video:
        return None
    try:
        index = opened(page, page.state.video)
        if index is None:
            page.state.video = None
            with notice_slot:
                progress(page)
        return index
    except ytqa.YtqaError as error:
        say("error", error)
    except Exception as error:
        say("error", in_words(error))
    return None
