"""Playlists and channels: a pasted one (its title, how many videos, Index all), the run
that indexes them (an overall bar and each video's state), and the sidebar's groups."""

from __future__ import annotations

import json
import threading

import streamlit as st

import ytqa

from .opening import open_stored
from .state import Page, PageState
from .words import app_words, in_words, safe, say


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


def listed_titles(collections: ytqa.Collections) -> dict:
    """Titles from the listings, for videos whose transcript has none."""
    return {v.video_id: v.title for c in collections.all() for v in c.videos if v.title}


def state_rows(saved: ytqa.SavedCollection) -> list[dict]:
    """Each video of a playlist or channel and its state (why, when it failed)."""
    return [{"Video": v.title or v.video_id,
             "State": v.state + (f": {v.reason}" if v.reason and v.state == "failed" else "")}
            for v in saved.videos]


def failed_note(saved: ytqa.SavedCollection, shown: int = 20) -> str | None:
    """The videos that could not be indexed, and why (the first ``shown`` named)."""
    failed = [v for v in saved.videos if v.state == "failed"]
    if not failed:
        return None
    return ("Not indexed: " + "; ".join(f"{v.title or v.video_id} ({v.reason})" for v in failed[:shown])
            + (f"; and {len(failed) - shown} more" if len(failed) > shown else ""))


def listing_caption(listing: ytqa.Collection) -> str:
    """A listed playlist or channel: what it is and how many of its videos can be indexed."""
    what = "Channel" if listing.kind == "channel" else "Playlist"
    if listing.tab:
        what += f" ({listing.tab})"
    cannot = len(listing.videos) - len(listing.available)
    return (f"{what} · {len(listing.videos)} videos"
            + (f" · {cannot} cannot be indexed (private, members-only or not yet streamed)" if cannot else ""))


def scope_names(collections: ytqa.Collections) -> dict[str, str]:
    """What a question can be asked within: the open video, or a collection with indexed videos."""
    added = [c for c in collections.all() if c.count("indexed")]
    if not added:
        return {}
    return {"": "The open video", **{c.key: f"{c.title} ({c.count('indexed')} videos)" for c in added}}


def group(page: Page, collections: ytqa.Collections, saved: ytqa.SavedCollection) -> set:
    """One playlist or channel in the sidebar, with its indexed videos; returns their ids."""
    state, shown = page.state, set()
    with st.expander(safe(saved.title)):
        st.caption(safe(f"{'channel' if saved.kind == 'channel' else 'playlist'} · {saved.summary()}"))
        for video in saved.videos:
            if video.state != "indexed":
                continue
            shown.add(video.video_id)
            title_col, open_col = st.columns([3, 1])
            mark = "▶ " if video.video_id == state.video else ""
            title_col.markdown(mark + safe(video.title or video.video_id))
            open_col.button("Open", key=f"open-{saved.key}-{video.video_id}",
                            on_click=open_stored, args=(page, video.video_id))
        note = failed_note(saved)
        if note:
            st.caption(safe(note))
        buttons(page, collections, saved)
    return shown


def owner_note(collections: ytqa.Collections, saved: ytqa.SavedCollection) -> str | None:
    """Whose a collection is, where people are named (None where the library is everyone's)."""
    if collections.person is None:
        return None
    if saved.owner is None:
        return "Everyone's (added before people were named)."
    whose = "Yours" if saved.owner == collections.person else f"Added by {saved.owner}"
    return whose + (", shared with everyone." if saved.shared else ", private.")


def buttons(page: Page, collections: ytqa.Collections, saved: ytqa.SavedCollection) -> None:
    """Sync and Index all, for its owner or an administrator; Share for its owner."""
    state, mine = page.state, collections.may_change(saved)
    if note := owner_note(collections, saved):
        st.caption(safe(note))
    why = None if mine else "Only the person who added it, or an administrator, may sync it"
    sync_col, resume_col = st.columns(2)
    if sync_col.button("Sync", key=f"sync-{saved.key}", width="stretch", disabled=not mine,
                       help=why or "Look for new videos and index them"):
        state.collection_job = {"key": saved.key, "sync": True}
    if mine and pending(saved) and resume_col.button("Index all", key=f"resume-{saved.key}", width="stretch"):
        state.collection_job = {"key": saved.key, "sync": False}
    if mine and collections.person is not None and saved.owner is not None:
        label = "Make private" if saved.shared else "Share with everyone"
        st.button(label, key=f"share-{saved.key}", on_click=share, args=(collections, saved))


def share(collections: ytqa.Collections, saved: ytqa.SavedCollection) -> None:
    try:
        collections.share(saved.key, not saved.shared)
    except ytqa.YtqaError as error:
        say("error", error, st.sidebar)


def sidebar(page: Page, collections: ytqa.Collections) -> set:
    """The sidebar's playlists and channels; returns the ids of the videos listed under them."""
    try:
        shown = set()
        for saved in collections.all():
            shown |= group(page, collections, saved)
        return shown
    except Exception as error:  # a damaged collection file must not take the page down
        say("error", in_words(error))
        return set()


def panel(state: PageState, collections: ytqa.Collections, target: ytqa.Link, source: str) -> None:
    """A pasted playlist or channel: its title, how many videos, and Index all."""
    if target.video_id and state.listing != target.url:
        st.caption("This video is part of a playlist.")
        if st.button("Show the playlist", key="show_playlist"):
            state.listing = target.url
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
        st.caption(safe(listing_caption(listing)))
        saved = collections.known(listing)
        if saved is not None:
            st.caption(safe(f"Added before: {saved.summary()}"))
        if st.button("Index all", key="index_all", type="primary", disabled=not listing.available):
            state.collection_job = {"listing": listing, "source": source}


def queue_run(page: Page, collections: ytqa.Collections, job: dict) -> tuple[tuple, str]:
    """A collection's run, put in the store's queue (any process of the server runs it):
    its job's key and the collection's."""
    if "listing" in job:
        key = collections.save(job["listing"], job["source"]).key
    else:
        key = job["key"]
    as_person = {"as": page.person} if page.person else {}
    build = ytqa.Build(kind="collection", video_id=key, model=page.model,
                       person=page.person or page.state.history.token,
                       source={"sync": bool(job.get("sync"))} | as_person)
    job_key = ("collection", key, page.model) + ((page.person,) if page.person else ())
    page.jobs.queued(job_key, build, bounded=False)
    return job_key, key


def run(page: Page, collections: ytqa.Collections, job: dict) -> None:
    """Index a collection's videos one after another: an overall bar and each video's state,
    read from the queue and the collection while the run goes on (in this process or another)."""
    state = page.state
    try:
        job_key, key = queue_run(page, collections, job)
    except ytqa.YtqaError as error:
        state.collection_result = ("error", app_words(error), job.get("key") or ytqa.collection_key(job["listing"]))
        state.collection_job = None
        st.rerun()
    with st.container(border=True):
        bar = st.progress(0.0, text="Starting...")
        note = st.empty()
        table = st.empty()
        running = page.jobs.get(job_key)
        while running is not None and running.running:
            show_run(running, collections.store.load(key), bar, note, table)
            threading.Event().wait(0.3)  # not time.sleep: the run's own waits are its own
            running = page.jobs.get(job_key)
    state.collection_result = ended(running, collections.store.load(key), job, key)
    state.collection_job = None
    st.rerun()  # so the library lists what was indexed


def show_run(running, saved: ytqa.SavedCollection | None, bar, note, table) -> None:
    """The run as it now is: the overall bar (or its place in line), any note, each video's state."""
    if not running.begun:
        bar.progress(0.0, text=running.label)
    elif saved is not None:
        bar.progress(saved.done / max(saved.total, 1), text=f"{saved.done} of {saved.total} videos done")
    if running.begun and running.stage not in ("waiting", "indexing"):
        note.info(running.stage)  # a wait YouTube asked for
    else:
        note.empty()
    if saved is not None:
        table.dataframe(state_rows(saved), hide_index=True, width="stretch")


def ended(running, saved: ytqa.SavedCollection | None, job: dict, key: str) -> tuple:
    """How the run ended, as the page says it: (outcome, message, collection key)."""
    if running is None or saved is None or running.state != "done":
        why = running.error if running is not None and running.error is not None else "The run stopped."
        return "error", app_words(why), key
    new = f"{json.loads(running.result or '{}').get('new', 0)} new · " if job.get("sync") else ""
    return "success", f"{saved.title}: {new}{saved.summary()}", key


def result(collections: ytqa.Collections, outcome: tuple) -> None:
    """How the last run ended: the message, the overall bar and each video's state."""
    kind, message, key = outcome
    (st.success if kind == "success" else st.error)(safe(message))
    saved = collections.visible(key)
    if saved is not None and saved.total:
        st.progress(saved.done / saved.total, text=f"{saved.done} of {saved.total} videos done")
        st.dataframe(state_rows(saved), hide_index=True, width="stretch")


def notices(page: Page, collections: ytqa.Collections, pasted: ytqa.Link | None, source: str) -> None:
    """Under the link box: a pasted playlist or channel, the run indexing one, how it ended."""
    state = page.state
    if pasted is not None:
        panel(state, collections, pasted, source)
    if state.collection_job:
        run(page, collections, state.collection_job)
    if state.collection_result:
        result(collections, state.collection_result)
        state.collection_result = None
