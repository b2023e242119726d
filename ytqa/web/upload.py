"""The subtitle-file section: for a video without captions, or a server YouTube blocks."""

from __future__ import annotations

import streamlit as st

from .state import PageState

LABEL = "No captions on YouTube, or YouTube blocks this server? Upload subtitles"


def uploader_key(state: PageState) -> str:
    """The file box's key: a new one empties the box (when another video is opened)."""
    return "upload" if not state.upload_gen else f"upload-{state.upload_gen}"


def draw(state: PageState):
    """The section, open when a file is the remedy; returns the chosen file (or None)."""
    with st.expander(LABEL, expanded=bool(state.show_upload)):
        upload = st.file_uploader("Subtitle file (.srt, .vtt or youtube-transcript-api .json), 50 MB at most",
                                  type=["srt", "vtt", "json"], key=uploader_key(state))
        st.caption("Give the video's link above too, so timestamps open the right video; then Open video.")
    return upload
