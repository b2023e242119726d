"""A model or a store of one's own is added by registering it, without editing ytqa, and the
library then uses it like a built-in one; the registries look plug-ins up by name, alias or
URL scheme and name the known ones for an unknown name."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ytqa
from ytqa._files_store import FileStore
from conftest import ROOT, write_json_transcript
from fake_model import WordHashEmbedder

VIDEO = "dQw4w9WgXcQ"
TALK = [
    ("Welcome everyone, today I will talk about caching in web applications.", 0, 6),
    ("Now let me tell you about my cat, Professor Whiskers.", 40, 5),
    ("He sleeps on the keyboard whenever I try to write code.", 45, 6),
    ("A time to live, or TTL, bounds how stale a cached copy can get.", 91, 6),
    ("Thanks for listening, and see you at the next conference.", 130, 5),
]


class WordsModel(ytqa.EmbeddingModel):
    """A user's own model: the word-hash stand-in behind the plug-in interface."""

    description = "word hashes, for tests"
    encoded = 0

    def encode(self, texts):
        WordsModel.encoded += len(texts)
        return np.vstack([WordHashEmbedder().embed(t) for t in texts])


class ShelfStore(FileStore):
    """A user's own store: ``shelf://NAME`` is a library folder on a shelf of them."""

    shelf: Path

    def __init__(self, location: str):
        super().__init__(self.shelf / location.removeprefix("shelf://"))
        self.location = location


@pytest.fixture
def registered(tmp_path):
    ShelfStore.shelf = tmp_path / "shelf"
    ytqa.register_model("words", WordsModel, aliases=("word-hash",))
    ytqa.register_store("shelf", ShelfStore, schemes=("shelf",))
    yield
    ytqa.MODELS.unregister("words")
    ytqa.STORES.unregister("shelf")


def test_a_registered_model_and_store_answer_through_the_library(registered, tmp_path):
    path = write_json_transcript(tmp_path / "talk.json", TALK)
    library = ytqa.Library("shelf://talks", model="word-hash")
    library.index(VIDEO, transcript_file=path)
    moments = library.ask(VIDEO, "what does his cat do on the keyboard?", k=1)
    assert isinstance(library.store, ShelfStore) and WordsModel.encoded > 0
    assert moments[0].start == 40 and library.embedder.key.endswith("-own")
    assert (tmp_path / "shelf" / "talks" / "videos" / VIDEO).is_dir()


def test_a_registered_model_s_index_is_listed_by_a_library_that_has_not_made_the_model(registered, tmp_path):
    ytqa.Library("shelf://talks", model="words").index(VIDEO, transcript_file=write_json_transcript(
        tmp_path / "talk.json", TALK))
    listing = ytqa.Library("shelf://talks", model="words")
    assert [(v.video_id, v.indexed) for v in listing.videos()] == [(VIDEO, True)]
    assert not listing.model.made
    assert [v.indexed for v in ytqa.Library("shelf://talks", embedder=WordHashEmbedder()).videos()] == [False]


def test_a_registered_model_is_resolved_by_name_and_alias_with_its_traits(registered):
    spec = ytqa.resolve_model("word-hash")
    assert (spec.name, spec.description, spec.plugin, spec.is_local) == ("words", "word hashes, for tests",
                                                                         WordsModel, True)
    assert ytqa.allowed_model("word-hash") == "words"


def test_the_built_in_models_keep_their_short_names_and_hub_aliases():
    for short, (hub_id, _, _) in ytqa.KNOWN_MODELS.items():
        assert ytqa.resolve_model(hub_id).name == ytqa.resolve_model(hub_id.split("/")[-1]).name == short
    assert ytqa.MODELS.names()[:3] == ["minilm", "multi-qa-mpnet", "e5"]


def test_only_an_embedding_model_subclass_can_be_registered_as_a_model():
    with pytest.raises(TypeError, match="EmbeddingModel"):
        ytqa.register_model("not-a-model", WordHashEmbedder)
    assert ytqa.MODELS.find("not-a-model") is None


def test_a_name_or_scheme_already_taken_is_refused(registered):
    with pytest.raises(ValueError, match="'minilm'"):
        ytqa.register_model("minilm", WordsModel)
    with pytest.raises(ValueError, match="'postgres'"):
        ytqa.register_store("mine", ShelfStore, schemes=("postgres",))
    assert ytqa.STORES.find("mine") is None


def test_an_unknown_plugin_is_refused_naming_the_known_ones():
    with pytest.raises(ytqa.UnknownPlugin) as refused:
        ytqa.STORES.get("mysql")
    assert str(refused.value) == ("There is no store named 'mysql'. Choose one of files, postgresql, "
                                  "or register one of your own with ytqa.register_store.")


def test_a_location_is_opened_by_the_store_of_its_scheme_else_as_a_folder(tmp_path):
    registry = ytqa.Registry("store", "ytqa.register_store")
    registry.register("postgresql", "ytqa._postgres:PostgresStore", aliases=("postgres",),
                      schemes=("postgresql", "postgres"))
    assert registry.for_url("postgres://u@h/db").__name__ == "PostgresStore"
    assert registry.find("postgres") is registry.get("postgresql")
    assert registry.for_url(str(tmp_path)) is None and registry.for_url("mysql://h/db") is None
    assert isinstance(ytqa.Library(tmp_path / "data").store, FileStore)


def test_opening_a_folder_library_never_imports_the_server_store(tmp_path):
    code = ("import sys, ytqa\n"
            f"ytqa.Library({str(tmp_path / 'data')!r}).videos()\n"
            "assert 'ytqa._postgres' not in sys.modules, 'the store factory imported the server store'\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_unregistering_removes_the_name_its_aliases_and_its_schemes():
    registry = ytqa.Registry("store", "ytqa.register_store")
    registry.register("shelf", ShelfStore, aliases=("shelves",), schemes=("shelf",))
    registry.unregister("shelves")
    assert registry.names() == [] and registry.find("shelf") is None and registry.for_url("shelf://x") is None


def test_a_chat_model_provider_of_your_own_is_registered_by_name_and_alias():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    def mine(spec, options):
        return FakeListChatModel(responses=["It is cached [1]."])

    ytqa.register_chat_model("mine", mine, aliases=("my-llm",))
    try:
        assert ytqa.parse_chat_model("my-llm:small").provider == "mine"
        assert ytqa.CHAT_MODELS.get("my-llm") is mine
    finally:
        ytqa.CHAT_MODELS.unregister("mine")
    assert ytqa.CHAT_MODELS.find("my-llm") is None


def test_a_chat_model_provider_an_installed_package_declares_is_found_by_the_setting_alone(tmp_path):
    site = tmp_path / "site"
    (site / "canned_chat-1.0.dist-info").mkdir(parents=True)
    (site / "canned_chat-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: canned-chat\nVersion: 1.0\n")
    (site / "canned_chat-1.0.dist-info" / "entry_points.txt").write_text("[ytqa.chat_models]\ncanned = canned_chat:canned\n")
    (site / "canned_chat.py").write_text(
        "from langchain_core.language_models.fake_chat_models import FakeListChatModel\n\n"
        "def canned(spec, options):\n"
        "    return FakeListChatModel(responses=['Stale data is the hard part [1].'])\n")
    code = ("import ytqa\n"
            "moment = ytqa.Moment('dQw4w9WgXcQ', 1.0, 30.0, 'Stale data is hard.', 1.0, 'Stale data is hard.')\n"
            "written = ytqa.Answerer('canned:any').answer('what is hard?', [moment])\n"
            "print(written.text, written.citations, written.verified)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(site)})
    assert run.stdout.strip() == "Stale data is the hard part [1]. (0,) True", run.stderr
