"""The open video's player (at the moment being played, from its start to its end) and,
for a video fetched from YouTube, the menu of its transcript languages."""

from __future__ import annotations

import streamlit as st

import ytqa

from .opening import start_open
from .state import Page, PageState
from .words import safe

#: The player's times are 32-bit seconds.
PLAYER_LIMIT = 2**31 - 1
BEST = "Best available (manual over auto-generated)"


@st.cache_data(show_spinner=False, ttl=3600, max_entries=200)
def tracks_of(video_id: str) -> list[ytqa.Track]:
    try:
        return ytqa.YouTube().tracks(video_id)
    except ytqa.YtqaError:
        return []  # offline or refused: the transcript menu is left out


def play(state: PageState, video: str, start: float, end: float) -> None:
    """Play a moment (a callback): that video, from its start to its end."""
    state.video = video
    state.play = (start, end)
    state.show_video_in_address(video)


def player_times(play_at: tuple | None) -> tuple[int, int | None, bool]:
    """Where the player starts and stops (whole seconds) and whether the moment's times were
    beyond what it can play (then it starts at the beginning)."""
    start, end = play_at or (0, None)
    beyond = not (0 <= start < PLAYER_LIMIT) or (end is not None and not end < PLAYER_LIMIT)
    if beyond:
        start, end = 0, None
    # The moment being played: from its start, stopping where its answer ends.
    end = int(end) + 1 if end is not None and int(end) + 1 > int(start) else None
    return int(start), end, beyond


def track_options(tracks: list[ytqa.Track]) -> dict[str, str]:
    """The language menu: "code", "code|auto" or "code|translated" -> its label."""
    options = {"": BEST}
    for track in tracks:
        options[track.language_code + ("|auto" if track.is_generated else "")] = track.label
    best = next((x for x in tracks if x.translation_languages and not x.is_generated), None) or next(
        (x for x in tracks if x.translation_languages), None)
    if best:
        for code, name in best.translation_languages:
            if code not in options and f"{code}|auto" not in options:
                options[f"{code}|translated"] = f"{name} (YouTube translation)"
    return options


def reopen_in_language(page: Page, video: str) -> None:
    """The language menu's choice (a callback): the video opened again in that transcript."""
    code, _, mode = (page.state.lang or "").partition("|")
    start_open(page, video, [code] if code else [], prefer_generated=mode == "auto")


def draw(page: Page, index: ytqa.VideoIndex) -> None:
    """The title, the transcript's facts, the player and the language menu."""
    t, video = index.transcript, page.state.video
    st.subheader(safe(t.title or video))
    try:
        st.caption(safe(f"{ytqa.format_timestamp(t.duration)} · {t.language} ({t.kind}) · "
                        f"{len(index.chunking.chunks)} passages"))
    except (OverflowError, ValueError):
        st.caption(safe(f"{t.language} ({t.kind})"))
    start, end, beyond = player_times(page.state.play)
    if beyond:
        st.error("This moment's time is beyond what the player can play (the stored transcript may "
                 "be damaged); its link opens YouTube instead.")
    tracks = tracks_of(video) if t.source != "subtitle file" else []
    if tracks:  # above the player: on a phone it scrolls away with the title, the player stays
        options = track_options(tracks)
        st.selectbox("Transcript language", list(options), format_func=options.get, key="lang",
                     on_change=reopen_in_language, args=(page, video))
    st.video(ytqa.watch_url(video), start_time=start, end_time=end,
             autoplay=bool(page.state.play), alt=f"Player: {t.title or video}")

