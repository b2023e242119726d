"""The page's state in one typed object: what a page remembers across reruns (in
``st.session_state``) and what its address says (``st.query_params``), and ``Page``, what
every section of one run works with.

Both take any mapping, so the page's logic is tested with plain dicts, without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, MutableMapping, TypeVar

import streamlit as st

import ytqa

from .history import History, new_token, valid_token
from .jobs import Jobs
from .resources import history_records, jobs_for

T = TypeVar("T")


class Kept(Generic[T]):
    """One value of the page's state, kept in the session under the attribute's name.

    A ``widget``'s value is Streamlit's: the page reads it, and resets it only in a callback.
    """

    def __init__(self, default: T, widget: bool = False):
        self.default, self.widget = default, widget
        self.name = ""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, state, owner=None) -> T:
        if state is None:
            return self  # type: ignore[return-value]
        return state.session.get(self.name, self.default)

    def __set__(self, state, value: T) -> None:
        state.session[self.name] = value


@dataclass
class PageState:
    """What this page remembers across reruns, and the video and history its address names."""

    session: MutableMapping[str, Any]
    address: MutableMapping[str, Any]

    video = Kept[str | None](None)              # the open video
    play = Kept[tuple | None](None)             # (start, end) of the moment in the player
    pending = Kept[tuple | None](None)          # the key of the job opening a video
    open_error = Kept[str | None](None)         # why the last opening failed
    show_upload = Kept(False)                   # the upload section open (its file is the remedy)
    confirm_delete = Kept[str | None](None)     # the video whose Delete waits for a Yes
    delete_error = Kept[str | None](None)       # why the last delete did not happen
    model_ok = Kept(ytqa.DEFAULT_MODEL)         # the last model that could be used
    focus = Kept(False)                         # focus the question box once, on this run
    collection_job = Kept[dict | None](None)    # a playlist or channel to index on this run
    collection_result = Kept[tuple | None](None)  # how its run ended: (outcome, message, key)
    listing = Kept[str | None](None)            # the playlist shown for a watch link inside it
    opened = Kept[tuple | None](None)           # ((video, model), index): no transcript read twice
    upload_gen = Kept(0)                        # a new number empties the upload box
    upload_fresh = Kept(False)                  # a file was chosen on this run (it acts at once)
    upload_served = Kept[str | None](None)      # the file the opening in progress reads (no other uses it)
    close_sidebar = Kept(False)                 # a video was chosen in the sidebar (closed on phones)
    history = Kept[History | None](None)        # this visitor's answers
    confirm_clear = Kept[str | None](None)      # the answers (their scope) whose Clear waits for a Yes
    scroll_to = Kept[str | None](None)          # what this run brings into view: "answer-<n>" or "hint"
    writing = Kept[tuple](())                   # the answers (their ids) a chat model writes on this run
    link = Kept("", widget=True)                # the link box
    lang = Kept("", widget=True)                # the transcript language menu

    def __post_init__(self) -> None:
        for kept in vars(type(self)).values():
            if isinstance(kept, Kept) and not kept.widget:
                self.session.setdefault(kept.name, kept.default)

    def keep_history(self, source, person: str | None = None) -> History:
        """This visitor's answers: a signed-in person's own, else found again by the token in
        the address, or a new one. ``source``: the store's records of histories (or a folder)."""
        if self.history is None or self.history.person != person:
            token = self.address.get("h")
            self.history = History(source, token if valid_token(token) else new_token(), person)
        self.address["h"] = self.history.token  # a reload finds this visitor's answers again
        return self.history

    def address_video(self) -> str | None:
        """The video the address names (a reload of a page that had it open), if valid."""
        try:
            return ytqa.video_id(self.address.get("v")) if self.address.get("v") else None
        except ytqa.InvalidLink:
            return None

    def show_video_in_address(self, video: str) -> None:
        self.address["v"] = video

    def forget_address_video(self) -> None:
        self.address.pop("v", None)


@dataclass
class Page:
    """What every section of one run works with: the state, the settings, this server's
    jobs and, once the model box is drawn, the library, the model, moments per answer and
    the chat model."""

    state: PageState
    config: ytqa.Config
    jobs: Jobs
    library: ytqa.Library = None  # type: ignore[assignment]
    model: str = ytqa.DEFAULT_MODEL
    k: int = 5
    #: The chat model that writes answers in words (the sidebar's choice), None for none.
    answerer: ytqa.Answerer | None = None
    #: The signed-in visitor, whose library this is (None: no sign-in, one library for everyone).
    person: str | None = None

    @classmethod
    def start(cls, person: str | None = None) -> "Page":
        config = ytqa.Config.from_env()
        state = PageState(st.session_state, st.query_params)
        state.keep_history(history_records(config.data_dir, config.store), person)
        return cls(state, config, jobs_for(config.data_dir), person=person)

    def job_key(self, video_id: str) -> tuple:
        """The job opening ``video_id`` with this page's model (for this person: it becomes theirs)."""
        return ("open", video_id, self.model) + ((self.person,) if self.person else ())

    def full_key(self, video_id: str) -> tuple:
        """The job building ``video_id``'s full index behind the questions."""
        return ("full", video_id, self.model)
