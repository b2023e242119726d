"""The sidebar's list of the library's videos, a page at a time (searchable when long):
each with what it is, Open, and Delete after a confirmation. Drawn last, so the link box
never waits for the library to be listed."""

from __future__ import annotations

import streamlit as st

import ytqa

from .opening import open_stored
from .state import Page, PageState
from .words import app_words, in_words, safe, say

#: Videos listed in the sidebar at once; a bigger library is paged and searched.
PAGE = 20


def pages(matches: int) -> int:
    """How many pages ``matches`` videos fill (one at least)."""
    return max(1, -(-matches // PAGE))


def facts(info) -> str:
    """A stored video's length, language, kind and passages (or why it cannot be used)."""
    if info.damaged:
        return f"Damaged: {info.damaged}"
    passages = "1 passage" if info.chunks == 1 else f"{info.chunks} passages"
    try:
        minutes = ytqa.format_timestamp(info.duration)
    except (OverflowError, ValueError):
        minutes = "?"
    if not info.indexed:
        return f"{minutes} · {info.language_code} · {info.kind} · not yet indexed with the chosen model"
    # Answered from a cheaper index until the best one is built (behind the questions).
    return (f"{minutes} · {info.language_code} · {info.kind} · {passages}"
            + ("" if info.ready else " · best index not built yet"))


def ask_delete(state: PageState, video: str) -> None:
    state.confirm_delete = video


def cancel_delete(state: PageState) -> None:
    state.confirm_delete = None


def delete_stored(page: Page, video: str) -> None:
    """Delete a video (a callback, after Yes): for everyone, its jobs stopped first; or, when
    others hold it too, from this visitor's library only, and their builds go on."""
    state = page.state
    state.confirm_delete = None
    try:
        if page.library.access.removes_data(video) and not page.jobs.cancel_for(video):
            state.delete_error = "This video is being indexed right now; try deleting it again in a moment."
            return
        page.library.delete(video)
    except ytqa.NotStored:
        pass  # another visitor deleted it first: what was asked for is done
    except Exception as error:  # being indexed right now, or not all of it removed
        state.delete_error = app_words(in_words(error))
        return
    state.opened = None
    if state.video == video:
        state.video = None
        state.forget_address_video()


def rights(page: Page, videos: list) -> dict[str, tuple[bool, object]]:
    """For each video: whether this visitor may delete it, and their hold on it (None: they
    do not hold it, so it is not theirs to share). With no sign-in: everyone may delete."""
    if page.person is None:
        return {}
    held: dict[str, list] = {}
    for holding in page.library.access.holdings([v.video_id for v in videos]):
        held.setdefault(holding.video_id, []).append(holding)
    admin = page.library.access.admin
    found = {}
    for info in videos:
        holders = held.get(info.video_id, [])
        mine = [h for h in holders if h.person == page.person]
        found[info.video_id] = (admin or bool(mine), mine[0] if mine else None)
    return found


def set_shared(page: Page, video: str) -> None:
    """The Share toggle (a callback): this visitor's video shared with everyone, or not."""
    try:
        page.library.access.share(video, bool(st.session_state.get(f"share-{video}")))
    except ytqa.YtqaError as error:
        page.state.delete_error = app_words(in_words(error))


def set_group(page: Page, video: str, was: str) -> None:
    """The group box (a callback): this visitor's video shared with the group named, or with
    no one when emptied; a group the server does not name is refused in words, the box as it was."""
    group = " ".join(str(st.session_state.get(f"group-{video}") or "").split())
    try:
        page.library.access.share(video, bool(group), group or None)
    except ytqa.YtqaError as error:
        page.state.delete_error = app_words(in_words(error))
        st.session_state[f"group-{video}"] = was  # the box says what is stored


def sharing(page: Page, video: str, holding) -> None:
    """Share with everyone (a toggle), else with a group the visitor names (when the server
    names groups): for a video this visitor holds."""
    st.toggle("Shared with everyone", value=holding.shared, key=f"share-{video}",
              on_change=set_shared, args=(page, video))
    if page.config.groups and not holding.shared:
        st.session_state.setdefault(f"group-{video}", holding.group or "")
        st.text_input("Shared with a group", key=f"group-{video}", placeholder="a group's name (empty: no group)",
                      max_chars=60, on_change=set_group, args=(page, video, holding.group or ""))


def entry(page: Page, info, may: tuple[bool, object] = (True, None)) -> None:
    """One stored video: its title (marked when open), its facts, Open and Delete (for who may),
    and Share (for who holds it, when people sign in)."""
    label = info.title or info.video_id
    may_delete, holding = may
    with st.container(border=True, key=f"video-{info.video_id}"):
        mark = "▶ " if info.video_id == page.state.video else ""
        st.markdown(f"**{mark}{safe(label)}**" + (" (open)" if mark else ""))
        st.caption(safe(facts(info)))
        if holding is not None:
            sharing(page, info.video_id, holding)
        if page.state.confirm_delete == info.video_id and may_delete:
            st.caption(safe(f"Delete {label} for everyone using this server?" if page.person is None
                            else f"Delete {label} from your library?"))
            yes_col, no_col = st.columns(2)
            yes_col.button("Yes, delete", key=f"confirm-delete-{info.video_id}", type="primary",
                           width="stretch", on_click=delete_stored, args=(page, info.video_id))
            no_col.button("Cancel", key=f"cancel-delete-{info.video_id}", width="stretch",
                          on_click=cancel_delete, args=(page.state,))
            return
        open_col, delete_col = st.columns(2)
        if not info.damaged:
            open_col.button("Open", key=f"open-{info.video_id}", width="stretch",
                            on_click=open_stored, args=(page, info.video_id))
        if may_delete:
            delete_col.button("Delete", key=f"delete-{info.video_id}", width="stretch",
                              on_click=ask_delete, args=(page.state, info.video_id))


def listing(page: Page, total: int) -> tuple[list, str]:
    """This page of the library (found by the search box when it is long), and the search."""
    find = st.text_input("Find a video", key="library_search", placeholder="title or id") if total > PAGE else ""
    try:
        matches = page.library.count(find) if find else total
        number = st.number_input(f"Page (of {pages(matches)})", 1, pages(matches),
                                 key="library_page") if matches > PAGE else 1
        if not total:
            st.caption("Videos anyone indexes appear here." if page.person is None
                       else "Videos you add, and those shared with everyone or your groups, appear here.")
        elif total > PAGE:
            st.caption(f"{matches} of {total} videos" if find else f"{total} videos")
        return page.library.videos(offset=(number - 1) * PAGE, limit=PAGE, search=find or None), find
    except Exception as error:  # one bad stored entry must not take the page down
        say("error", in_words(error))
        return [], find


#: Closes the sidebar on a narrow screen, where it covers the page (after a video was chosen).
CLOSE_ON_PHONES = """<script>(() => {
  const top = window.parent || window;
  if (top.innerWidth > 640) return;
  const button = top.document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (button) button.click();
})();</script>"""


def draw(page: Page, total: int, grouped: set) -> None:
    """The library's videos (those of a playlist or channel are listed under it instead)."""
    if page.state.close_sidebar:
        page.state.close_sidebar = False
        st.html(CLOSE_ON_PHONES, unsafe_allow_javascript=True)
    if page.state.delete_error:
        say("error", page.state.delete_error)
        page.state.delete_error = None
    videos, find = listing(page, total)
    allowed = rights(page, videos)
    for info in videos:
        if info.video_id in grouped and not find:
            continue  # listed under its playlist or channel
        try:
            entry(page, info, allowed.get(info.video_id, (True, None)))
        except Exception:
            st.caption(safe(f"{info.video_id}: damaged entry"))
            st.button("Delete", key=f"delete-{info.video_id}", on_click=ask_delete, args=(page.state, info.video_id))
