"""The link box: what was typed in it, and the notices under it once it is sent.

The box itself is drawn by ``app.py`` before ytqa is imported (the page takes a link at
once); this module reads it and answers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import ytqa

from . import opening
from .state import Page
from .upload import Chosen
from .words import safe, say

#: The link box's own hint ("Press Enter to submit form · 43/2000") sits over the link's end on
#: phones and for long links: hidden (the box's placeholder says Enter opens it).
STYLE = "<style>.st-key-link [data-testid='InputInstructions'] { display: none; }</style>"
EMPTY = "Paste a YouTube link or video id in the box above, then press Enter or Open video."


@dataclass(frozen=True)
class Typed:
    """What the link box holds: a video to open, a playlist or channel, or why neither."""

    text: str
    video_id: str | None = None
    collection: ytqa.Link | None = None  # a playlist or channel (a watch link in one names a video too)
    error: ytqa.InvalidLink | None = None


def read(text: str | None) -> Typed:
    """The link box's text as a video, a playlist or channel, or the reason it is neither."""
    text = (text or "").strip()
    if not text:
        return Typed(text)
    video_id = collection = error = None
    try:
        video_id = ytqa.video_id(text)
    except ytqa.InvalidLink as invalid:
        error = invalid
    try:
        target = ytqa.parse_link(text)
        if target.kind != "video":
            collection, error = target, None
    except ytqa.InvalidLink:
        pass
    return Typed(text, video_id, collection, error)


def action(typed: Typed, submitted: bool, upload: Chosen | None = None) -> tuple[str, object] | None:
    """What the page does with the box (and a subtitle file): ("warning", words), ("error",
    why), ("open", video id) or nothing. A file just chosen acts as Open video does; a file
    named after its video opens it with the box empty, and never another video."""
    named = upload.video_id if upload is not None else None
    if upload is not None and upload.fresh and (named or typed.video_id or typed.error):
        submitted = True
    if not submitted:
        return ("error", typed.error) if typed.error is not None else None
    if not typed.text:
        return ("open", named) if named else ("warning", EMPTY)
    if typed.error is not None:
        return "error", typed.error
    if typed.video_id and (typed.collection is None or typed.collection.video_id):
        if named and named != typed.video_id:
            return "warning", mismatch(upload.name, named, typed.video_id)
        return "open", typed.video_id
    return None  # a playlist or channel: its panel follows


def mismatch(name: str, named: str, linked: str) -> str:
    return (f"The subtitle file {name} is named after the video {named}, but the link is for {linked}. "
            f"A file opens only its own video: choose {linked}'s subtitles, or empty the link box to "
            f"open {named} with this file.")


def notices(page: Page, typed: Typed, submitted: bool, upload: Chosen | None) -> None:
    """Under the link box: why a link cannot be opened, or the opening started."""
    st.html(STYLE)
    todo = action(typed, submitted, upload)
    if todo is None:
        return
    kind, what = todo
    if kind == "open":
        opening.start_open(page, str(what), upload=upload)
    elif kind == "warning":
        st.warning(safe(str(what)))
    else:
        say("error", what)
