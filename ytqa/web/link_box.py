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
from .words import say

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


def action(typed: Typed, submitted: bool) -> tuple[str, object] | None:
    """What the page does with the box: ("warning", words), ("error", why), ("open", video id) or nothing."""
    if not submitted:
        return ("error", typed.error) if typed.error is not None else None
    if not typed.text:
        return "warning", EMPTY
    if typed.error is not None:
        return "error", typed.error
    if typed.video_id and (typed.collection is None or typed.collection.video_id):
        return "open", typed.video_id
    return None  # a playlist or channel: its panel follows


def notices(page: Page, typed: Typed, submitted: bool, upload) -> None:
    """Under the link box: why a link cannot be opened, or the opening started."""
    todo = action(typed, submitted)
    if todo is None:
        return
    kind, what = todo
    if kind == "open":
        opening.start_open(page, str(what), upload=upload)
    elif kind == "warning":
        st.warning(str(what))
    else:
        say("error", what)
