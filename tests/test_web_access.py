"""The page's Delete for signed-in people, without a browser (ytqa/web/library_list): a
holder's delete that only takes a video out of their library leaves everyone's builds of it
running; the delete that removes its data stops them first. Real jobs (ytqa.web.jobs) on a
real library of files; the model is the word-hash stand-in."""

import threading
import time

import pytest

import ytqa
from fake_model import WordHashEmbedder
from test_access import ANA_S, fetched
from ytqa.web import library_list
from ytqa.web.jobs import Jobs
from ytqa.web.state import Page, PageState


@pytest.fixture
def shelf(tmp_path):
    """ana's video, which bob added too; ``as_(name)``: the page of that signed-in person."""
    model = WordHashEmbedder()
    ytqa.Library(tmp_path, embedder=model, user="ana").index_transcript(fetched(tmp_path, ANA_S))
    ytqa.Library(tmp_path, embedder=model, user="bob").index(ANA_S)
    jobs = Jobs()

    def as_(name):
        return Page(PageState({}, {}), ytqa.Config(data_dir=str(tmp_path)), jobs,
                    library=ytqa.Library(tmp_path, embedder=model, user=name), person=name)
    return as_


def a_build_of(page, video_id):
    """A build of the video in this server's jobs, embedding until it is told to stop."""
    stop = threading.Event()

    def work(progress):
        while not stop.wait(0.02):
            progress("embedding", 1, 10)  # where a cancelled job stops (Abandoned)
        return video_id

    job = page.jobs.start(("full", video_id, "fake"), work)
    while job.stage != "embedding":
        time.sleep(0.01)
    return job, stop


def test_a_holders_delete_from_their_own_library_leaves_the_others_build_running(shelf):
    ana, bob = shelf("ana"), shelf("bob")
    job, stop = a_build_of(bob, ANA_S)
    library_list.delete_stored(ana, ANA_S)
    assert ana.state.delete_error is None and [v.video_id for v in ana.library.videos()] == []
    assert job.running and not job.cancelled
    assert [v.video_id for v in bob.library.videos()] == [ANA_S]
    stop.set()


def test_the_last_holders_delete_stops_the_videos_builds_before_its_data_goes(shelf):
    ana, bob = shelf("ana"), shelf("bob")
    library_list.delete_stored(ana, ANA_S)
    job, stop = a_build_of(bob, ANA_S)
    library_list.delete_stored(bob, ANA_S)
    assert bob.state.delete_error is None and job.cancelled and job.state == "abandoned"
    assert ytqa.Library(bob.config.data_dir).videos() == []
    stop.set()


def test_a_delete_of_a_video_the_visitor_may_not_delete_stops_nothing(shelf):
    carol = shelf("carol")
    job, stop = a_build_of(shelf("bob"), ANA_S)
    library_list.delete_stored(carol, ANA_S)
    assert job.running and not job.cancelled
    assert len(ytqa.Library(carol.config.data_dir).videos()) == 1
    stop.set()
