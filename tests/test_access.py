"""Whose is what: people on one store, each seeing their own videos and the shared ones.

Every rule runs on both stores (a folder of files, and a real PostgreSQL with pgvector),
through the Library as the front ends call it; the model is the word-hash stand-in."""

import random
from dataclasses import replace

import pytest

import ytqa
from conftest import write_json_transcript
from fake_model import WordHashEmbedder

FILLER = ("server cache request latency budget team design review database index query user "
          "screen button release test deploy monitor alert queue worker thread memory disk").split()
PLANTED = {
    "dQw4w9WgXcQ": ("The lighthouse keeper painted his boat bright orange.", "lighthouse keeper boat"),
    "nTgKbiWg-YY": ("The glassblower shaped a tall blue vase by the furnace.", "glassblower blue vase"),
    "XpxTrDDcpPE": ("The beekeeper lost the queen of her oldest hive.", "beekeeper queen hive"),
}
ANA_S, BOBS, OLD = PLANTED


def talk(folder, video_id, seed=0, planted=None):
    rng = random.Random(seed)
    rows = [(" ".join(rng.choice(FILLER) for _ in range(8)) + ".", i * 2.4, 2.4) for i in range(60)]
    rows[30] = (planted or PLANTED[video_id][0], 72.0, 2.4)
    return write_json_transcript(folder / f"{video_id}-{seed}.json", rows)


@pytest.fixture
def model():
    return WordHashEmbedder()


@pytest.fixture
def person(store, model, tmp_path):
    """``person(name)``: the library as that person (None: no one named) on the test's store."""
    def as_(name):
        return ytqa.Library(tmp_path, store=store, embedder=model, user=name)
    return as_


def fetched(folder, video_id, seed=0):
    """The talk as if fetched from YouTube (its captions: anyone may fetch them again)."""
    return replace(ytqa.load_transcript_file(talk(folder, video_id, seed), video_id), source="youtube")


@pytest.fixture
def stored(person, tmp_path):
    """ana holds one video privately, bob one (their captions fetched from YouTube); one was
    stored before people were named."""
    for name, video in (("ana", ANA_S), ("bob", BOBS), (None, OLD)):
        person(name).index_transcript(fetched(tmp_path, video))
    return person


def ids(library):
    return [v.video_id for v in library.videos()]


def test_a_person_sees_their_own_videos_and_those_stored_before_people_were_named(stored):
    assert ids(stored("ana")) == sorted([ANA_S, OLD])
    assert ids(stored("bob")) == sorted([BOBS, OLD])
    assert stored("ana").count() == 2 and stored("carol").count() == 1


def test_with_no_person_named_the_library_is_everyones_as_it_was(stored):
    everyone = stored(None)
    assert ids(everyone) == sorted(PLANTED)
    everyone.delete(ANA_S)
    assert ids(everyone) == sorted([BOBS, OLD])


def test_a_shared_video_is_seen_by_everyone_until_its_holder_unshares_it(stored):
    stored("ana").access.share(ANA_S)
    assert ANA_S in ids(stored("bob")) and ANA_S in ids(stored("carol"))
    assert [(h.person, h.shared) for h in stored("bob").access.holdings([ANA_S])] == [("ana", True)]
    stored("ana").access.share(ANA_S, False)
    assert ANA_S not in ids(stored("bob"))


def test_a_question_over_all_videos_covers_only_what_the_person_sees(stored):
    sentence, question = PLANTED[ANA_S]
    assert all(m.video_id != ANA_S for m in stored("bob").ask_all(question, k=5))
    assert all(m.video_id != ANA_S for m in stored("bob").ask_all(question, k=5, video_ids=[ANA_S]))
    assert stored("ana").ask_all(question, k=1)[0].sentence == sentence
    stored("ana").access.share(ANA_S)
    assert stored("bob").ask_all(question, k=1)[0].sentence == sentence


def test_a_store_whose_search_takes_no_person_is_searched_over_the_videos_the_person_sees(model, tmp_path):
    from ytqa._files_store import FileStore

    class OlderStore(FileStore):  # a store of another make: search(family, query, k, video_ids)
        def search(self, family, query, k, video_ids=None):
            return super().search(family, query, k, video_ids)

    store = OlderStore(tmp_path / "library")
    for name, video in (("ana", ANA_S), ("bob", BOBS)):
        ytqa.Library(tmp_path, store=store, embedder=model, user=name).index_transcript(fetched(tmp_path, video))
    sentence, question = PLANTED[ANA_S]
    bob = ytqa.Library(tmp_path, store=store, embedder=model, user="bob")
    assert all(m.video_id != ANA_S for m in bob.ask_all(question, k=5))
    assert ytqa.Library(tmp_path, store=store, embedder=model, user="ana").ask_all(question, k=1)[0].sentence == sentence


def test_adding_a_video_another_person_holds_makes_it_theirs_too_without_embedding_it_again(stored, model):
    embedded = model.embedded
    index = stored("bob").index(ANA_S)
    assert index.transcript.video_id == ANA_S and model.embedded == embedded
    assert ANA_S in ids(stored("bob"))
    assert [h.person for h in stored(None).access.holdings([ANA_S])] == ["ana", "bob"]
    assert ANA_S not in ids(stored("carol"))


def test_asking_a_video_by_its_id_adds_it_like_indexing_it(stored, model):
    embedded = model.embedded
    top = stored("carol").ask(BOBS, PLANTED[BOBS][1], k=1)[0]
    assert top.sentence == PLANTED[BOBS][0] and model.embedded == embedded
    assert ids(stored("carol")) == sorted([BOBS, OLD])


def test_opening_a_shared_or_old_video_does_not_make_it_the_persons(stored):
    stored("ana").access.share(ANA_S)
    stored("bob").open(ANA_S)
    stored("bob").open(OLD)
    assert [h.person for h in stored(None).access.holdings()] == ["ana", "bob"]


def test_another_persons_video_cannot_be_deleted_and_nothing_of_it_goes(stored):
    with pytest.raises(ytqa.NotStored):  # private: not even named as someone's
        stored("bob").delete(ANA_S)
    stored("ana").access.share(ANA_S)
    with pytest.raises(ytqa.NotYours, match="bob cannot delete dQw4w9WgXcQ.*YTQA_ADMINS"):
        stored("bob").delete(ANA_S)
    with pytest.raises(ytqa.NotYours, match="cannot delete XpxTrDDcpPE"):
        stored("bob").delete(OLD)  # stored before people were named: an administrator's
    assert ids(stored(None)) == sorted(PLANTED)
    assert stored("ana").ask_all(PLANTED[ANA_S][1], k=1)[0].video_id == ANA_S


def test_a_holders_delete_leaves_the_video_to_the_others_and_the_last_one_removes_it(stored):
    stored("bob").index(ANA_S)
    stored("ana").delete(ANA_S)
    assert ANA_S not in ids(stored("ana")) and ANA_S in ids(stored("bob"))
    assert stored("bob").ask_all(PLANTED[ANA_S][1], k=1)[0].video_id == ANA_S
    stored("bob").delete(ANA_S)
    assert ANA_S not in ids(stored(None)) and stored(None).access.holdings([ANA_S]) == []


def test_re_indexing_another_persons_video_with_another_transcript_is_refused(stored, tmp_path):
    before = stored(None).stored_transcript(ANA_S)
    other = talk(tmp_path, ANA_S, seed=7)
    with pytest.raises(ytqa.NotYours, match="bob cannot re-index dQw4w9WgXcQ"):
        stored("bob").index(ANA_S, transcript_file=other)
    assert stored(None).stored_transcript(ANA_S) == before
    assert stored("ana").index(ANA_S, transcript_file=other).transcript != before  # its holder may


def test_only_a_holder_shares_a_video(stored):
    with pytest.raises(ytqa.NotStored):
        stored("bob").access.share(ANA_S)
    with pytest.raises(ytqa.EveryonesAlready):
        stored(None).access.share(OLD)
    assert ANA_S not in ids(stored("bob"))


def test_an_administrator_sees_deletes_and_transfers_anyones_video(stored, monkeypatch):
    monkeypatch.setenv("YTQA_ADMINS", "root, zoe")
    zoe = stored("zoe")
    assert ids(zoe) == sorted(PLANTED)
    zoe.access.transfer(BOBS, "ana")
    assert [h.person for h in zoe.access.holdings([BOBS])] == ["ana"]
    assert BOBS in ids(stored("ana")) and BOBS not in ids(stored("bob"))
    zoe.access.transfer(OLD, "carol")  # an old video gets an owner: private to carol now
    assert OLD not in ids(stored("bob")) and OLD in ids(stored("carol"))
    zoe.delete(ANA_S)
    assert ANA_S not in ids(stored(None))


def test_only_an_administrator_transfers(stored):
    with pytest.raises(ytqa.NotAdministrator, match="ana cannot transfer a video: only an administrator"):
        stored("ana").access.transfer(ANA_S, "bob")
    assert [h.person for h in stored(None).access.holdings([ANA_S])] == ["ana"]


@pytest.mark.parametrize("name", ["", "   ", "a,b", "tab\there", "x" * 201])
def test_a_name_that_cannot_be_a_persons_is_refused(person, name):
    with pytest.raises(ytqa.InvalidPerson, match="is not a person's name"):
        person(name)


def test_a_damaged_list_of_holders_is_named_never_read_as_nobody_holds_anything(tmp_path, model):
    ana = ytqa.Library(tmp_path / "lib", embedder=model, user="ana")
    ana.index(ANA_S, transcript_file=talk(tmp_path, ANA_S))
    (tmp_path / "lib" / "people.json").write_text('{"format": 1, "videos": [')
    with pytest.raises(ytqa.StoreDamaged, match="people.json"):
        ytqa.Library(tmp_path / "lib", embedder=model, user="bob").videos()


def test_building_a_seen_videos_index_from_its_stored_transcript_is_no_re_index(stored, tmp_path):
    stored("ana").access.share(ANA_S)
    bob = stored("bob")
    bob.index_transcript(bob.stored_transcript(ANA_S))  # the app's full index, built behind the questions
    assert [h.person for h in stored(None).access.holdings([ANA_S])] == ["ana"]
    other = ytqa.load_transcript_file(talk(tmp_path, ANA_S, seed=7), ANA_S)
    with pytest.raises(ytqa.NotYours, match="bob cannot re-index"):
        bob.index_transcript(other)


def test_a_library_handed_to_a_person_sees_what_they_see_and_shares_the_open_indexes(stored):
    everyone = stored(None)
    bob = ytqa.acting_as(everyone, "bob")
    assert ids(bob) == sorted([BOBS, OLD]) and bob.progression is everyone.progression
    assert ytqa.acting_as(everyone, None) is everyone


class KeepsNoHolders:
    """A store of someone else's making, from before stores kept whose each video is."""

    location = "shelf://old"

    def videos(self, offset=0, limit=None, search=None):
        return []


def test_a_store_that_keeps_no_holders_is_named_when_a_person_is(model, tmp_path):
    with pytest.raises(ytqa.StoreUnavailable, match="shelf://old: it keeps no record of whose each video is"):
        ytqa.Library(tmp_path, store=KeepsNoHolders(), embedder=model, user="ana")
    assert ytqa.Library(tmp_path, store=KeepsNoHolders(), embedder=model).videos() == []


def test_a_video_added_privately_from_a_subtitle_file_is_not_opened_by_another_who_names_it(person, tmp_path,
                                                                                             model):
    person("ana").index(ANA_S, transcript_file=talk(tmp_path, ANA_S))  # her own file, kept private
    for attempt in (lambda bob: bob.index(ANA_S), lambda bob: bob.ask(ANA_S, PLANTED[ANA_S][1]),
                    lambda bob: bob.open(ANA_S)):
        with pytest.raises(ytqa.PrivateSubtitles, match="bob cannot open .*own subtitle file.*Ask them to share"):
            attempt(person("bob"))
    assert ids(person("bob")) == [] and not person("bob").access.sees_video(ANA_S)
    assert [h.person for h in person(None).access.holdings([ANA_S])] == ["ana"]
    person("ana").access.share(ANA_S)
    assert person("bob").ask(ANA_S, PLANTED[ANA_S][1], k=1)[0].sentence == PLANTED[ANA_S][0]
