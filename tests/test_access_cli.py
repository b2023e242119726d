"""The command line on a store many people use: ``--user`` (or YTQA_USER), and what an
administrator (YTQA_ADMINS) may do. Each command runs as a real process, ``python -m ytqa``."""

import os
import subprocess
import sys

import pytest

import ytqa
from conftest import ROOT
from fake_model import WordHashEmbedder
from test_access import ANA_S, BOBS, OLD, talk


def ytqa_cmd(*argv, **env):
    done = subprocess.run([sys.executable, "-m", "ytqa", *map(str, argv)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "YTQA_ADMINS": "zoe", **env}, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture(params=["files", "postgres"])
def where(request, tmp_path):
    """``--data-dir`` or ``--store`` of a library where ana holds one video, bob one, and one
    was stored before people were named."""
    if request.param == "files":
        place = ["--data-dir", tmp_path / "data"]
    else:
        place = ["--data-dir", tmp_path / "data", "--store", request.getfixturevalue("postgres_database")]
    model = WordHashEmbedder()
    for name, video in (("ana", ANA_S), ("bob", BOBS), (None, OLD)):
        ytqa.Library(place[1], store=place[3] if len(place) > 2 else None, embedder=model,
                     user=name).index(video, transcript_file=talk(tmp_path, video))
    return place


def listed(done):
    return [line.split()[0] for line in done.stdout.splitlines()]


def test_list_as_a_person_shows_their_videos_and_the_old_ones_with_who_holds_them(where):
    done = ytqa_cmd("list", "--owners", "--user", "bob", *where)
    assert done.returncode == 0 and listed(done) == sorted([BOBS, OLD])
    assert f"[bob]" in done.stdout and "[everyone's]" in done.stdout


def test_the_person_can_be_named_in_the_environment(where):
    assert listed(ytqa_cmd("list", *where, YTQA_USER="ana")) == sorted([ANA_S, OLD])


def test_an_administrator_lists_every_video_with_its_owners(where):
    done = ytqa_cmd("list", "--owners", "--user", "zoe", *where)
    assert listed(done) == sorted([ANA_S, BOBS, OLD])
    assert "[ana]" in done.stdout and "[bob]" in done.stdout


def test_a_shared_video_is_listed_for_others_until_it_is_unshared(where):
    done = ytqa_cmd("share", ANA_S, "--user", "ana", *where)
    assert done.returncode == 0 and done.stdout.strip() == f"{ANA_S} is shared with everyone"
    assert ANA_S in listed(ytqa_cmd("list", "--user", "bob", *where))
    assert "[ana (shared)]" in ytqa_cmd("list", "--owners", "--user", "bob", *where).stdout
    ytqa_cmd("unshare", ANA_S, "--user", "ana", *where)
    assert ANA_S not in listed(ytqa_cmd("list", "--user", "bob", *where))


def test_deleting_another_persons_video_is_refused_in_one_line_and_nothing_goes(where):
    ytqa_cmd("share", ANA_S, "--user", "ana", *where)
    done = ytqa_cmd("delete", ANA_S, "--user", "bob", *where)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: bob cannot delete {ANA_S}: it is not in their library")
    assert listed(ytqa_cmd("list", "--user", "zoe", *where)) == sorted([ANA_S, BOBS, OLD])


def test_a_person_deletes_their_own_video(where):
    done = ytqa_cmd("delete", BOBS, "--user", "bob", *where)
    assert done.returncode == 0 and done.stdout.strip() == f"deleted {BOBS} from bob's library"
    assert listed(ytqa_cmd("list", "--user", "zoe", *where)) == sorted([ANA_S, OLD])


def test_an_administrator_transfers_and_deletes_anyones_video(where):
    done = ytqa_cmd("transfer", ANA_S, "carol", "--user", "zoe", *where)
    assert done.returncode == 0 and done.stdout.strip() == f"{ANA_S} is carol's now"
    assert listed(ytqa_cmd("list", "--user", "carol", *where)) == sorted([ANA_S, OLD])
    assert ANA_S not in listed(ytqa_cmd("list", "--user", "ana", *where))
    assert ytqa_cmd("delete", OLD, "--user", "zoe", *where).stdout.strip() == f"deleted {OLD}"
    assert listed(ytqa_cmd("list", *where)) == sorted([ANA_S, BOBS])


def test_transfer_by_someone_not_an_administrator_is_refused(where):
    done = ytqa_cmd("transfer", ANA_S, "bob", "--user", "ana", *where)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ana cannot transfer a video: only an administrator may")
    assert "YTQA_ADMINS" in done.stderr


def test_a_name_that_cannot_be_a_persons_is_named(tmp_path):
    done = ytqa_cmd("list", "--data-dir", tmp_path, "--user", "ana,bob")
    assert done.returncode == 1 and "is not a person's name" in done.stderr and "--user NAME" in done.stderr


def test_indexing_through_the_command_line_as_a_person_makes_the_video_theirs_not_anothers(tmp_path, embedder):
    data = tmp_path / "data"
    done = ytqa_cmd("index", ANA_S, "--transcript", talk(tmp_path, ANA_S), "--data-dir", data, "--user", "ana")
    assert done.returncode == 0, done.stderr
    assert ytqa_cmd("list", "--data-dir", data, "--user", "bob").stdout.startswith(
        f"bob has no videos in {data} yet, and none is shared with them. Add one with 'ytqa index LINK --user bob'.")
    done = ytqa_cmd("index", ANA_S, "--data-dir", data, "--user", "bob")  # ana's own subtitle file: hers
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "bob cannot open" in done.stderr and "from their own subtitle file" in done.stderr
    assert "[ana]" in ytqa_cmd("list", "--owners", "--data-dir", data, "--user", "ana").stdout
