"""What every page of this server shares (``st.cache_resource``): the background jobs, the
models and the libraries. The model and index libraries load in the background from the
moment the first page opens."""

from __future__ import annotations

import threading

import streamlit as st

import ytqa

from .jobs import Jobs


@st.cache_resource(show_spinner=False)
def jobs_for(data_dir: str) -> Jobs:
    """Indexing jobs of this server, shared by every page (a reload finds its job here)."""
    return Jobs()


@st.cache_resource(show_spinner=False, max_entries=4)
def _store_at(location: str) -> ytqa.Store:
    return ytqa.open_store(location)


def history_records(data_dir: str, store: str | None):
    """The visitors' histories: the store's records (one set for every process using it);
    while the store cannot be opened, the library folder's (this machine's only)."""
    try:
        opened = _store_at(store or data_dir)
    except ytqa.YtqaError:
        opened = None
    return opened.records("histories") if hasattr(opened, "records") else data_dir + "/app/histories"


@st.cache_resource(show_spinner=False, max_entries=4)
def embedder_for(model: str) -> ytqa.Embedder:
    """One model per process (a few at most)."""
    return ytqa.Embedder(model)


@st.cache_resource(show_spinner=False, max_entries=4)
def library_for(data_dir: str, store: str | None, model: str) -> ytqa.Library:
    """The model and index libraries load in the background from the moment the page opens."""
    ytqa.resolve_model(model)  # an unknown model is reported now, not at the first question
    library = ytqa.Library(data_dir, store=store, embedder=lambda: embedder_for(model),
                           strong=ytqa.default_strong(model))
    library.progression.upgrades.automatic = True  # stored videos' best indexes, one at a time
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
