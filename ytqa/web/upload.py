"""The subtitle-file section: for a video without captions, or a server YouTube blocks.

A chosen file serves the one opening it was chosen for: while it opens no other link uses
it, and once its video is open the box empties (a file that failed stays beside its error);
a file named after its video (``<video id>.vtt``) needs no link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

import streamlit as st

import ytqa

from .state import PageState

LABEL = "No captions on YouTube, or YouTube blocks this server? Upload subtitles"


@dataclass(frozen=True)
class Chosen:
    """A subtitle file chosen for the next opening, and the title the visitor gave it."""

    name: str
    data: bytes
    title: str = ""
    fresh: bool = False  # chosen on this run: it opens its video without Open video

    @property
    def digest(self) -> str:
        """The file itself (its name and bytes): the opening it served is remembered by it."""
        return hashlib.sha256(self.name.encode() + b"\0" + self.data).hexdigest()

    @property
    def video_id(self) -> str | None:
        """The video the file's name names (``dQw4w9WgXcQ.vtt``, ``dQw4w9WgXcQ.en.srt``), if any."""
        try:
            return ytqa.video_id(PurePath(self.name).name.split(".")[0])
        except ytqa.InvalidLink:
            return None

    def title_for(self, video_id: str) -> str | None:
        """The title given, else the file's name when it says more than the video's id."""
        if self.title.strip():
            return self.title.strip()
        stem = PurePath(self.name).name.rsplit(".", 1)[0].replace("_", " ").strip()
        return None if not stem or stem.split(".")[0] == video_id else stem


def uploader_key(state: PageState) -> str:
    """The file box's key: a new one empties the box (once its file has served)."""
    return "upload" if not state.upload_gen else f"upload-{state.upload_gen}"


def chosen(state: PageState) -> None:
    """A file was chosen (a callback): it acts now, and the last opening's error goes."""
    state.upload_fresh = True
    state.open_error = None
    state.show_upload = True  # the section stays open beside its file until the file has served


def draw(state: PageState) -> Chosen | None:
    """The section, open when a file is the remedy; returns the chosen file (or None)."""
    with st.expander(LABEL, expanded=bool(state.show_upload)):
        upload = st.file_uploader("Subtitle file (.srt, .vtt or youtube-transcript-api .json), 50 MB at most",
                                  type=["srt", "vtt", "json"], key=uploader_key(state),
                                  on_change=chosen, args=(state,))
        title = st.text_input("Video title (optional)", key=f"upload-title-{state.upload_gen}", max_chars=200,
                              placeholder="YouTube's title when it can be reached, else the file's name")
        st.caption("Give the video's link above too, then Open video; or name the file after the "
                   "video's id (dQw4w9WgXcQ.vtt) and it opens as soon as it is chosen.")
    fresh, state.upload_fresh = state.upload_fresh, False
    if upload is None:
        return None
    chosen_file = Chosen(upload.name, upload.getvalue(), title, fresh)
    return None if chosen_file.digest == state.upload_served else chosen_file  # it served its opening
