"""Named groups: a holder shares a video with a group YTQA_GROUPS names, and its members see
it; nobody else does. On both stores (files and a real PostgreSQL), through the Library as the
front ends call it; the model is the word-hash stand-in."""

import json

import pytest

import ytqa
from test_access import ANA_S, BOBS, OLD, PLANTED, ids, model, person, stored, talk  # noqa: F401 (fixtures)
from test_access_cli import listed, where, ytqa_cmd  # noqa: F401 (where: a fixture)

GROUPS = "physics=bob,carol; lab = dan"


@pytest.fixture
def groups(monkeypatch):
    monkeypatch.setenv("YTQA_GROUPS", GROUPS)


def test_a_video_shared_with_a_group_is_seen_by_its_members_and_nobody_else(stored, groups):
    stored("ana").access.share(ANA_S, group="physics")
    assert ANA_S in ids(stored("bob")) and ANA_S in ids(stored("carol"))
    assert ANA_S not in ids(stored("dan")) and ANA_S not in ids(stored("erin"))
    assert [(h.person, h.shared, h.group) for h in stored("carol").access.holdings([ANA_S])] == [
        ("ana", False, "physics")]


def test_a_question_over_all_videos_covers_the_groups_videos_for_its_members_only(stored, groups):
    sentence, question = PLANTED[ANA_S]
    stored("ana").access.share(ANA_S, group="physics")
    assert stored("carol").ask_all(question, k=1)[0].sentence == sentence
    assert all(m.video_id != ANA_S for m in stored("dan").ask_all(question, k=5))


def test_sharing_with_everyone_or_unsharing_replaces_the_group(stored, groups):
    ana = stored("ana").access
    ana.share(ANA_S, group="physics")
    ana.share(ANA_S)
    assert ANA_S in ids(stored("dan")) and stored(None).access.holdings([ANA_S])[0].group is None
    ana.share(ANA_S, group="lab")
    assert ANA_S in ids(stored("dan")) and ANA_S not in ids(stored("bob"))
    ana.share(ANA_S, False)
    assert ANA_S not in ids(stored("dan")) and stored(None).access.holdings([ANA_S])[0].group is None


def test_a_group_member_may_not_delete_or_share_a_video_shared_with_the_group(stored, groups):
    stored("ana").access.share(ANA_S, group="physics")
    with pytest.raises(ytqa.NotYours, match="bob cannot delete"):
        stored("bob").delete(ANA_S)
    with pytest.raises(ytqa.NotYours, match="bob cannot share"):
        stored("bob").access.share(ANA_S)
    assert ANA_S in ids(stored(None)) and ANA_S not in ids(stored("dan"))


def test_an_unknown_group_is_refused_in_words_and_nothing_changes(stored, groups):
    with pytest.raises(ytqa.UnknownGroup, match="no group called 'chemistry' .the groups are lab, physics"):
        stored("ana").access.share(ANA_S, group="chemistry")
    assert [(h.shared, h.group) for h in stored(None).access.holdings([ANA_S])] == [(False, None)]


def test_with_no_groups_configured_sharing_with_a_group_says_so(stored):
    with pytest.raises(ytqa.UnknownGroup, match="this server names no groups.*YTQA_GROUPS"):
        stored("ana").access.share(ANA_S, group="physics")


@pytest.mark.parametrize("setting, part", [("physics", "physics"), ("=bob", "=bob"),
                                           ("a=x;a=y", "a=y"), ("phy sics=bob", "phy sics=bob")])
def test_groups_that_cannot_be_read_are_named_with_the_way_to_write_them(stored, monkeypatch, setting, part):
    monkeypatch.setenv("YTQA_GROUPS", setting)
    with pytest.raises(ytqa.InvalidGroups, match=f"YTQA_GROUPS cannot be read: '{part}'.*NAME=person,person"):
        stored("bob").videos()


def test_a_transfer_keeps_the_video_shared_with_its_group(stored, groups, monkeypatch):
    monkeypatch.setenv("YTQA_ADMINS", "zoe")
    stored("ana").access.share(ANA_S, group="lab")
    stored("zoe").access.transfer(ANA_S, "bob")
    assert [(h.person, h.group) for h in stored(None).access.holdings([ANA_S])] == [("bob", "lab")]
    assert ANA_S in ids(stored("dan"))


def test_a_list_of_holders_written_before_groups_is_read_as_it_was(tmp_path, model):
    ana = ytqa.Library(tmp_path / "lib", embedder=model, user="ana")
    ana.index(ANA_S, transcript_file=talk(tmp_path, ANA_S))
    (tmp_path / "lib" / "people.json").write_text(json.dumps(
        {"format": 1, "videos": {ANA_S: {"ana": {"shared": True}}}}))
    assert ids(ytqa.Library(tmp_path / "lib", embedder=model, user="bob")) == [ANA_S]


def test_a_database_made_before_groups_gets_its_column_in_place_and_keeps_its_holders(postgres_database, model,
                                                                                      tmp_path, monkeypatch):
    import psycopg

    monkeypatch.setenv("YTQA_GROUPS", GROUPS)
    ytqa.Library(tmp_path, store=postgres_database, embedder=model, user="ana").index(
        ANA_S, transcript_file=talk(tmp_path, ANA_S))
    with psycopg.connect(postgres_database, autocommit=True) as conn:  # as a database from before groups
        conn.execute("ALTER TABLE public.ytqa_holdings DROP COLUMN shared_group")
    ana = ytqa.Library(tmp_path, store=postgres_database, embedder=model, user="ana")
    ana.access.share(ANA_S, group="physics")
    carol = ytqa.Library(tmp_path, store=postgres_database, embedder=model, user="carol")
    assert ids(carol) == [ANA_S] and [h.person for h in carol.access.holdings()] == ["ana"]


def test_the_cli_shares_a_video_with_a_group_whose_members_list_it(where):
    done = ytqa_cmd("share", ANA_S, "--group", "physics", "--user", "ana", *where, YTQA_GROUPS=GROUPS)
    assert done.returncode == 0 and done.stdout.strip() == f"{ANA_S} is shared with the group physics"
    assert ANA_S in listed(ytqa_cmd("list", "--user", "carol", *where, YTQA_GROUPS=GROUPS))
    assert ANA_S not in listed(ytqa_cmd("list", "--user", "dan", *where, YTQA_GROUPS=GROUPS))
    owners = ytqa_cmd("list", "--owners", "--user", "ana", *where, YTQA_GROUPS=GROUPS).stdout
    assert "[ana (shared with physics)]" in owners


def test_the_cli_refuses_an_unknown_group_in_words(where):
    done = ytqa_cmd("share", ANA_S, "--group", "chemistry", "--user", "ana", *where, YTQA_GROUPS=GROUPS)
    assert done.returncode == 1 and "no group called 'chemistry'" in done.stderr and "lab, physics" in done.stderr
    assert ANA_S not in listed(ytqa_cmd("list", "--user", "bob", *where, YTQA_GROUPS=GROUPS))
