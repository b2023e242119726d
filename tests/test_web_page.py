"""The web page's logic without a browser (ytqa/web): its state, what each section shows,
and what the page does with what was typed. The drawing is covered by test_app.py (AppTest)
and test_browser.py (Chromium)."""

import socket

import pytest

import ytqa
from ytqa.web import answers, collections, conversation, library_list, link_box, model_box, player
from ytqa.web.history import Answer, markdown_export, notes
from ytqa.web.jobs import Job
from ytqa.web.opening import finished
from ytqa.web.state import PageState
from ytqa.web.upload import uploader_key

FEYNMAN = ytqa.Moment("tkm0TNFzIeg", 74.0, 110.0, "He said it plainly. Richard Feynman won a Nobel Prize. Then he "
                      "went back to teaching.", 0.8, "Richard Feynman won a Nobel Prize.", "How to explain things",
                      0.61)


def page_state(session=None, address=None):
    return PageState({} if session is None else session, {} if address is None else address)


# --- the page's state --------------------------------------------------------------------


def test_a_new_page_starts_with_nothing_open_and_leaves_widget_values_to_streamlit():
    session = {}
    state = page_state(session)
    assert session["video"] is None and session["pending"] is None and session["model_ok"] == ytqa.DEFAULT_MODEL
    assert "link" not in session and "lang" not in session  # Streamlit's own, once drawn
    assert state.link == "" and state.upload_gen == 0


def test_the_state_reads_and_writes_the_session_under_its_own_names():
    session = {"video": "tkm0TNFzIeg", "link": "https://youtu.be/eMRtxsj29aQ"}
    state = page_state(session)
    state.play = (74.0, 110.0)
    assert state.video == "tkm0TNFzIeg" and state.link == "https://youtu.be/eMRtxsj29aQ"
    assert session["play"] == (74.0, 110.0)


def test_a_reload_finds_its_history_by_the_token_in_the_address(tmp_path):
    first = page_state()
    token = first.keep_history(str(tmp_path)).token
    address = {"h": token}
    again = page_state(address=address)
    assert again.keep_history(str(tmp_path)).token == token and address["h"] == token


def test_a_token_that_is_not_one_gets_a_new_history_never_a_path(tmp_path):
    address = {"h": "../../etc/passwd-xxxxxxxxxxxx"}
    history = page_state(address=address).keep_history(str(tmp_path))
    assert history.token != "../../etc/passwd-xxxxxxxxxxxx" and address["h"] == history.token
    assert history.key == history.token  # a record's key, never a path
    assert all(path.resolve().is_relative_to(tmp_path.resolve()) for path in tmp_path.rglob("*"))


@pytest.mark.parametrize("value, expected", [("https://youtu.be/tkm0TNFzIeg", "tkm0TNFzIeg"),
                                             ("tkm0TNFzIeg", "tkm0TNFzIeg"), ("not a video", None), (None, None)])
def test_the_video_in_the_address_is_read_as_a_video_id_or_not_at_all(value, expected):
    assert page_state(address={} if value is None else {"v": value}).address_video() == expected


def test_opening_another_video_gives_the_upload_box_a_new_empty_key():
    state = page_state()
    assert uploader_key(state) == "upload"
    state.upload_gen += 1
    assert uploader_key(state) == "upload-1"


# --- an opening that ended ---------------------------------------------------------------


def test_a_finished_opening_opens_its_video_and_focuses_the_question_box():
    state = page_state({"pending": ("open", "tkm0TNFzIeg", "minilm"), "show_upload": True})
    opened = finished(state, Job(("open", "tkm0TNFzIeg", "minilm"), state="done", result="tkm0TNFzIeg"))
    assert opened == "tkm0TNFzIeg" and state.video == "tkm0TNFzIeg" and state.pending is None
    assert state.focus and not state.show_upload and state.play is None


def test_a_transcript_youtube_refuses_opens_the_upload_section_with_the_reason_in_the_apps_words():
    state = page_state()
    job = Job(("open", "eF8Qqp7rjDg", "minilm"), state="failed", error=ytqa.TranscriptsDisabled("eF8Qqp7rjDg"))
    assert finished(state, job) is None
    assert state.show_upload and "Captions are turned off" in state.open_error
    assert "--transcript" not in state.open_error and "Upload subtitles" in state.open_error


@pytest.mark.parametrize("cancelled, words", [(True, "it was deleted from the library"),
                                              (False, "the page was away too long")])
def test_an_opening_that_stopped_says_why(cancelled, words):
    state = page_state()
    finished(state, Job(("open", "v", "m"), state="abandoned", cancelled=cancelled))
    assert words in state.open_error and state.video is None


# --- the link box ------------------------------------------------------------------------


def test_sending_an_empty_link_box_asks_for_a_link():
    assert link_box.action(link_box.read("   "), submitted=True) == ("warning", link_box.EMPTY)


def test_a_video_link_is_opened_when_sent_and_only_then():
    typed = link_box.read(" https://www.youtube.com/watch?v=tkm0TNFzIeg&t=10s ")
    assert typed.video_id == "tkm0TNFzIeg" and typed.collection is None and typed.error is None
    assert link_box.action(typed, submitted=True) == ("open", "tkm0TNFzIeg")
    assert link_box.action(typed, submitted=False) is None


def test_a_link_that_is_not_youtube_is_refused_with_its_reason_even_before_it_is_sent():
    typed = link_box.read("https://vimeo.com/12345")
    kind, error = link_box.action(typed, submitted=False)
    assert kind == "error" and "vimeo.com is not a YouTube address" in str(error)


def test_a_playlist_link_opens_no_video_and_is_kept_for_its_panel():
    typed = link_box.read("https://www.youtube.com/playlist?list=PLpl2c4yhX8XpKMm8cv_Jm0Fu9JxAgr5Pj")
    assert typed.collection is not None and typed.collection.kind == "playlist" and typed.error is None
    assert link_box.action(typed, submitted=True) is None


def test_a_watch_link_inside_a_playlist_opens_its_video():
    typed = link_box.read("https://www.youtube.com/watch?v=eF8Qqp7rjDg&list=PLpl2c4yhX8XpKMm8cv_Jm0Fu9JxAgr5Pj")
    assert typed.collection is not None and typed.collection.video_id == "eF8Qqp7rjDg"
    assert link_box.action(typed, submitted=True) == ("open", "eF8Qqp7rjDg")


# --- the question ------------------------------------------------------------------------


def test_with_nothing_open_the_question_box_says_to_open_a_video():
    scope = conversation.scope_of(False, "", {}, None, None)
    assert scope.key is None and scope.placeholder.startswith("Open a video first")
    assert conversation.hint("What is it about?", scope) == conversation.NO_SCOPE


def test_the_whole_library_and_a_collection_are_scopes_of_their_own():
    everything = conversation.scope_of(True, "playlist-x", {"playlist-x": "A course"}, "tkm0TNFzIeg", None)
    assert (everything.key, everything.title) == ("all", "all videos in the library")
    course = conversation.scope_of(False, "playlist-x", {"playlist-x": "A course"}, None, None)
    assert (course.key, course.title, course.placeholder) == ("collection:playlist-x", "A course", "Ask about A course")


@pytest.mark.parametrize("question", ["   ", "???!!!", ""])
def test_a_question_without_words_gets_the_hint_instead_of_an_answer(question):
    assert conversation.hint(question, conversation.Scope("all", "all videos")) == conversation.NO_WORDS


def test_a_question_in_words_is_answered():
    assert conversation.hint("Who won a Nobel Prize?", conversation.Scope("all", "all videos")) is None
    assert conversation.hint(None, conversation.Scope()) is None  # nothing sent


# --- the answers -------------------------------------------------------------------------


def test_a_moment_shows_its_best_sentence_marked_with_the_sentences_that_follow_it_and_inert():
    moment = ytqa.Moment("v", 0, 30, "Hello. " + " ".join(["word"] * 30) + ". The <b>answer</b> is here. "
                         "It was Guido van Rossum who asked. " + " ".join(["more"] * 80) + ".", 1.0,
                         "The <b>answer</b> is here.")
    shown = answers.excerpt(moment)
    assert shown.startswith("… ") and shown.endswith(" …")  # the long sentence before: its end only
    assert "<mark>The &#60;b&#62;answer&#60;&#47;b&#62; is here&#46;</mark> It was Guido van Rossum who asked" in shown
    assert len(shown.split()) <= 102


def test_the_export_reads_as_plain_text_with_what_the_page_shows():
    moment = ytqa.Moment("XpxTrDDcpPE", 74.0, 104.0, "I'm going to start with the history. It began with an "
                         "email from Guido van Rossum.", 0.9, "I'm going to start with the history.")
    weak = Answer("zzzz blorf?", "XpxTrDDcpPE", [moment], weak=True)
    exported = markdown_export("Answers about a talk", [weak])
    assert "- [1:14–1:44](https://www.youtube.com/watch?v=XpxTrDDcpPE&t=74s): I'm going to start with the " \
           "history. It began with an email from Guido van Rossum." in exported
    assert "No passage matches this question well" in exported and "\\." not in exported


def test_a_question_in_another_language_is_noted_unless_the_model_connects_languages():
    moment = FEYNMAN
    english_model = Answer("¿Quién ganó el Nobel?", "tkm0TNFzIeg", [moment], languages=("es", "en"))
    [note] = notes(english_model)
    assert "in Spanish, the video in English" in note and "e5" in note and "Embedding model" in note
    multilingual = Answer("¿Quién ganó el Nobel?", "tkm0TNFzIeg", [moment], languages=("es", "en"),
                          multilingual=True)
    assert notes(multilingual) == []
    assert conversation.languages_of("Who won the Nobel Prize?", None) is None


def test_a_question_longer_than_is_read_is_noted_on_its_answer():
    [note] = notes(Answer("why " * 600, "tkm0TNFzIeg", [FEYNMAN]))
    assert "first 2,000 characters" in note and "2,400" in note


def test_across_videos_a_moment_names_its_video_and_the_models_similarity():
    stamp, length, line = answers.facts(Answer("Who?", "all"), FEYNMAN, {})
    assert (stamp, length) == ("1:14–1:50", "0:36")
    assert "How to explain things" in line and "relevance 0.61" in line
    _, _, alone = answers.facts(Answer("Who?", "tkm0TNFzIeg"), FEYNMAN, {})
    assert "How to explain" not in alone and "relevance 0.80" in alone


def test_an_answer_says_what_it_was_asked_of_and_whether_it_is_refined():
    scope = conversation.Scope("tkm0TNFzIeg", "How to explain things")
    assert answers.about(Answer("Who?", "tkm0TNFzIeg", refining=True), scope).startswith(
        "About How to explain things · refining")
    assert answers.about(Answer("Who?", "all", refreshed=True), scope) == (
        "About all videos · refreshed from a better index")
    assert answers.export_name("collection:PL x/y") == "ytqa-collection-PL-x-y.md"


# --- the player --------------------------------------------------------------------------


def test_the_player_plays_a_moment_from_its_start_to_just_past_its_end():
    assert player.player_times((74.4, 110.2)) == (74, 111, False)
    assert player.player_times(None) == (0, None, False)


def test_a_moment_beyond_what_the_player_can_play_starts_the_video_at_its_beginning():
    assert player.player_times((3e9, 3e9 + 5)) == (0, None, True)


def test_the_language_menu_lists_each_track_with_its_kind_and_youtubes_translations():
    tracks = [ytqa.Track("English", "en", False, (("fr", "French"), ("en", "English"))),
              ytqa.Track("English (auto-generated)", "en", True)]
    options = player.track_options(tracks)
    assert options == {"": player.BEST, "en": "English (manual)", "en|auto": "English (auto-generated)",
                       "fr|translated": "French (YouTube translation)"}


def test_play_opens_the_moments_video_at_its_times_and_names_it_in_the_address():
    state = page_state()
    player.play(state, "tkm0TNFzIeg", 74.0, 110.0)
    assert (state.video, state.play, state.address["v"]) == ("tkm0TNFzIeg", (74.0, 110.0), "tkm0TNFzIeg")


# --- the library list and collections ----------------------------------------------------


def info(**changes):
    fields = dict(video_id="tkm0TNFzIeg", title=None, duration=110.0, language="English", language_code="en",
                  kind="manual", source="subtitle file", chunks=1, indexed=True)
    return ytqa.VideoInfo(**{**fields, **changes})


def test_a_stored_video_shows_its_length_language_and_passages_in_the_singular_when_one():
    assert library_list.facts(info(ready=True)) == "1:50 · en · manual · 1 passage"
    assert library_list.facts(info(chunks=7, indexed=False)).endswith("not yet indexed with the chosen model")
    assert library_list.facts(info(duration=float("inf"))).startswith("? · ")
    assert library_list.facts(info(damaged="its transcript cannot be read")) == "Damaged: its transcript cannot be read"


def test_a_stored_video_answered_from_a_cheaper_index_says_its_best_index_is_not_built_yet():
    assert library_list.facts(info(ready=False)) == "1:50 · en · manual · 1 passage · best index not built yet"
    assert "best index" not in library_list.facts(info(ready=True))


def test_the_library_is_listed_twenty_videos_a_page():
    assert [library_list.pages(n) for n in (0, 20, 21, 45)] == [1, 1, 2, 3]


def test_a_collection_names_its_failed_videos_and_counts_the_rest():
    videos = tuple(ytqa.SavedVideo(f"v{i:010d}", f"Talk {i}", state="failed", reason="members-only")
                   for i in range(23)) + (ytqa.SavedVideo("tkm0TNFzIeg", "How to explain", state="indexed"),)
    saved = ytqa.SavedCollection("k", "playlist", "PL", "A course", "src", "url", videos)
    note = collections.failed_note(saved)
    assert note.startswith("Not indexed: Talk 0 (members-only); Talk 1") and note.endswith("; and 3 more")
    assert collections.state_rows(saved)[-1] == {"Video": "How to explain", "State": "indexed"}


# --- the model box -----------------------------------------------------------------------


def test_the_model_in_use_is_kept_without_a_check():
    assert model_box.chosen_model(page_state(), ytqa.DEFAULT_MODEL, custom=False) == (ytqa.DEFAULT_MODEL, None)


def test_a_typed_folder_is_refused_and_the_model_in_use_kept(tmp_path):
    state = page_state()
    model, error = model_box.chosen_model(state, str(tmp_path), custom=True)
    assert model == ytqa.DEFAULT_MODEL and state.model_ok == ytqa.DEFAULT_MODEL
    assert str(tmp_path) not in error and error.endswith("The app keeps using all-MiniLM-L6-v2.")


def test_a_hub_model_that_cannot_be_reached_is_refused_in_seconds(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    model, error = model_box.chosen_model(page_state(), "sentence-transformers/all-mpnet-base-v2-ytqa-test",
                                          custom=True)
    assert model == ytqa.DEFAULT_MODEL and error.startswith("Cannot use sentence-transformers/all-mpnet")
