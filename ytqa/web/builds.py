"""How this process runs the builds of the store's queue, whichever page or process asked:
an opening's quick index, a video's full index, a playlist's or channel's run. Each build
is plain data (``ytqa.Build``); its library is this process's for the build's model, seen
as the person it is for."""

from __future__ import annotations

import json

import ytqa

from .resources import library_for
from .state import Page
from .words import in_words


def runners(config: ytqa.Config) -> dict:
    """The runner of each kind of build, by kind."""

    def library(build: ytqa.Build) -> ytqa.Library:
        return ytqa.acting_as(library_for(config.data_dir, config.store, build.model), build.source.get("as"))

    def run_open(build: ytqa.Build, progress) -> str:
        youtube = build.source.get("youtube", {})
        return library(build).index(build.video_id, languages=list(youtube.get("languages", ())), progress=progress,
                                    prefer_generated=bool(youtube.get("prefer_generated")), quick=True).video_id

    def run_full(build: ytqa.Build, progress) -> str:
        transcript = library(build).stored_transcript(build.video_id)
        if transcript is not None:
            library(build).index_transcript(transcript, progress)
        return build.video_id

    def run_collection(build: ytqa.Build, progress) -> str:
        """Index a collection's videos (``sync``: list it again first); its per-video states
        are kept with the collection as it goes, the count and any note in the build."""
        collections = ytqa.Collections(library(build))

        def show(step: ytqa.Progress) -> None:
            progress(step.note or "indexing", step.done, step.total)

        run = collections.sync if build.source.get("sync") else collections.index
        return json.dumps({"new": len(run(build.video_id, show).new)})

    return {"open": run_open, "full": run_full, "collection": run_collection}


def serve_queue(page: Page) -> None:
    """Openings, full indexes and collection runs go through the store's queue from now on
    (once a process): this process runs its share of them."""
    if page.jobs.queue is None:
        page.jobs.use_queue(page.library.access.store.build_queue(), runners(page.config), words=in_words)
