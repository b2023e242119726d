"""The progression of a video's indexes, stage after stage: the cheapest answers first, a
better one is built behind it and opened once it is there, and nothing is embedded twice.

The stores are real (files); the models are the word-hash stand-in (fake_model), two of
them where a stage has a model of its own (the shape of a stronger model's stage)."""

import pytest

import ytqa
from ytqa._files_store import FileStore
from ytqa._open_indexes import OpenIndexes
from ytqa._stages import LazyModel, Progression, Stage, quick_then_full
from fake_model import WordHashEmbedder

ROWS = [(f"Sentence {i} about {w} in production systems.", i * 5.0, 5.0)
        for i, w in enumerate(["queues", "disks", "threads", "alerts", "caches", "budgets"] * 3)]


class OtherModel(WordHashEmbedder):
    key = "fake-words-other-v1"


@pytest.fixture
def transcript():
    return ytqa.Transcript("dQw4w9WgXcQ", tuple(ytqa.Line(text, start, duration) for text, start, duration in ROWS),
                           "English", "en")


@pytest.fixture
def store(tmp_path, transcript):
    store = FileStore(tmp_path / "data")
    store.save_transcript(transcript)
    return store


def progression(store, *stages):
    return Progression(store, stages, ytqa.ChunkSettings(), OpenIndexes())


def quiet(*_):
    pass


def test_the_quick_stage_answers_first_and_the_full_one_reuses_its_sentence_vectors(store, transcript):
    model = WordHashEmbedder()
    stages = progression(store, *quick_then_full("chunks+sentences", LazyModel(model)))
    quick = stages.open(transcript, quiet, quick=True, adopt=False)
    sentences = model.embedded
    full = stages.open(transcript, quiet, quick=False, adopt=False)
    assert quick.key.endswith("-so-f1") and full.key.endswith("-sv-f1")
    assert sentences == len(quick.chunking.sentences)
    assert model.embedded - sentences == len(full.chunking.chunks)  # the chunks only


def test_once_the_best_index_is_built_a_quick_open_returns_it(store, transcript):
    stages = progression(store, *quick_then_full("chunks+sentences", LazyModel(WordHashEmbedder())))
    best = stages.open(transcript, quiet, quick=False, adopt=False)
    assert stages.open(transcript, quiet, quick=True, adopt=False) is best
    assert stages.is_built(transcript)


def test_a_quick_open_returns_the_best_stage_built_so_far(store, transcript):
    cheap, strong = LazyModel(WordHashEmbedder()), LazyModel(OtherModel())
    stages = progression(store, Stage("sentences", cheap), Stage("chunks+sentences", cheap),
                         Stage("chunks+sentences", strong))
    middle = progression(store, *stages.stages[:2]).open(transcript, quiet, quick=False, adopt=False)
    assert stages.open(transcript, quiet, quick=True, adopt=False).key == middle.key
    assert not stages.is_built(transcript)


def test_a_stage_with_a_model_of_its_own_embeds_everything_itself(store, transcript):
    cheap, strong = WordHashEmbedder(), OtherModel()
    stages = progression(store, Stage("sentences", LazyModel(cheap)), Stage("chunks+sentences", LazyModel(strong)))
    stages.open(transcript, quiet, quick=True, adopt=False)
    best = stages.open(transcript, quiet, quick=False, adopt=False)
    assert best.embedder is strong and "fake-words-other-v1" in best.key
    assert strong.embedded == len(best.chunking.chunks) + len(best.chunking.sentences)


def test_the_built_index_of_a_video_is_never_built_by_asking_for_it(store, transcript):
    model = WordHashEmbedder()
    stages = progression(store, *quick_then_full("chunks+sentences", LazyModel(model)))
    assert stages.built(transcript.video_id) is None and model.embedded == 0
    quick = stages.open(transcript, quiet, quick=True, adopt=False)
    assert stages.built(transcript.video_id).key == quick.key


def test_a_stored_video_is_listed_with_its_best_index(store, transcript):
    stages = progression(store, *quick_then_full("chunks+sentences", LazyModel(WordHashEmbedder())))
    stages.open(transcript, quiet, quick=True, adopt=False)
    assert stages.stored_info(store.videos()[0]).mode == "sentences"
    stages.open(transcript, quiet, quick=False, adopt=False)
    assert stages.stored_info(store.videos()[0]).mode == "chunks+sentences"


def test_a_new_transcript_is_stored_only_once_its_index_is_built(store, transcript):
    stages = progression(store, *quick_then_full("chunks", LazyModel(WordHashEmbedder())))
    newer = ytqa.Transcript(transcript.video_id, transcript.lines[:6], "English", "en")
    with pytest.raises(ytqa.EmptyTranscript):
        stages.open(ytqa.Transcript(transcript.video_id, (), "English", "en"), quiet, False, adopt=True)
    assert store.transcript(transcript.video_id) == transcript
    stages.open(newer, quiet, quick=False, adopt=True)
    assert store.transcript(transcript.video_id) == newer


def test_a_library_of_one_vector_mode_has_one_stage():
    model = LazyModel(WordHashEmbedder())
    assert [s.mode for s in quick_then_full("chunks", model)] == ["chunks"]
    assert [s.mode for s in quick_then_full("chunks+sentences", model)] == ["sentences", "chunks+sentences"]
    with pytest.raises(ValueError, match="vectors must be one of"):
        quick_then_full("words", model)


def test_a_model_given_as_a_function_is_made_once_on_first_use():
    made = []
    model = LazyModel(lambda: made.append(1) or WordHashEmbedder())
    assert not model.made and made == []
    assert model.get() is model.get() and model.made and made == [1]
