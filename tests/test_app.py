"""The web app, driven offline by Streamlit's AppTest; only YouTube's HTTP is mocked (and,
where a test says so, the network at the socket)."""

import html
import json
import socket
import time

import pytest
import responses
from streamlit.testing.v1 import AppTest

from conftest import ROOT, shared

WATCH = "https://www.youtube.com/watch"
PLAYER = "https://www.youtube.com/youtubei/v1/player"
TIMEDTEXT = "https://www.youtube.com/api/timedtext"
LONG = "3zu317upAUA"  # the longest real transcript: opening it takes seconds


def new_page(query=None):
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if query:
        page.query_params.update(query)
    page.run()
    assert not page.exception
    return page


@pytest.fixture
def app(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    return new_page()


@pytest.fixture
def youtube():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def serve_capture(mock, player=None):
    folder = shared("youtube_responses", "dart_port_fixtures_eF8Qqp7rjDg")
    mock.get(WATCH, body=(folder / "youtube_page.html").read_text())
    if player:
        mock.post(PLAYER, body=shared("youtube_responses", player).read_text(), content_type="application/json")
    else:
        mock.post(PLAYER, body=(folder / "innertube_response.json").read_text(), content_type="application/json")
    mock.get(TIMEDTEXT, body=(folder / "transcript.xml").read_text())


def settle(app, timeout=180):
    """Rerun until the video being opened is open (the page polls its background job)."""
    deadline = time.time() + timeout
    while app.session_state["pending"] is not None:
        assert time.time() < deadline, "the video never opened"
        time.sleep(0.2)
        app.run()
        assert not app.exception
    return app


def upload_key(app):
    return next(u.key for u in app.get("file_uploader"))


def submit_link(app, link, upload=None):
    """Type a link (and choose a subtitle file first, if any), then Open video."""
    if upload:
        app.file_uploader(key=upload_key(app)).set_value(upload)
        app.run()
    app.text_input(key="link").input(link)
    app.button(key="open").click().run()
    assert not app.exception
    return app


def open_video(app, link, upload=None):
    return settle(submit_link(app, link, upload))


def ask(app, question):
    app.chat_input(key="question").set_value(question).run()
    assert not app.exception
    return app


def text(elements):
    return "\n".join(html.unescape(e.value) for e in elements)


def markdown(app):
    return "\n".join(m.value for m in app.markdown)


def questions(app):
    return [html.unescape(m.markdown[0].value) for m in app.get("chat_message") if m.name == "user"]


def plays(app):
    return [b for b in app.button if b.label.startswith("▶ Play ")]


def upload_of(video_id, lines=None, name=None):
    if lines is None:
        data = shared("transcripts", f"{video_id}.json").read_bytes()
    else:
        data = json.dumps([{"text": t, "start": s, "duration": d} for t, s, d in lines]).encode()
    return (name or f"{video_id}.json", data, "application/json")


def wait_for_full_index(data_dir, video_id, timeout=180):
    """The app answers from a quick index at once and builds the full one behind it."""
    indexes = data_dir / "videos" / video_id / "indexes"
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [f for f in indexes.glob("*-sv-*") if not f.name.startswith(".") and (f / "meta.json").exists()]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError("the full index was never built")


# --- the basic flow ----------------------------------------------------------------------


def test_the_page_opens_with_a_link_box_and_no_error(app):
    assert app.text_input(key="link").label == "YouTube link or video id"
    assert not app.error


def test_a_link_is_fetched_indexed_and_answered_with_timestamps(app, youtube):
    serve_capture(youtube)
    open_video(app, "https://www.youtube.com/watch?v=eF8Qqp7rjDg&t=10s")
    assert not app.error
    assert app.subheader[0].value == "Halloween Infrastructure Update &#45; 27th October 2023"
    ask(app, "Which virtual machines were added to the free account?")
    assert 'href="https://www.youtube.com/watch?v=eF8Qqp7rjDg&amp;t=' in markdown(app)
    assert "<mark>" in markdown(app)
    assert len(plays(app)) == 5


def test_playing_a_moment_starts_the_player_at_its_start_and_stops_at_its_end(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "What does it mean if my explanation is long-winded?")
    play = plays(app)[0]
    start, end = play.label.removeprefix("▶ Play ").split("–")
    play.click().run()
    video = app.get("video")[0].proto
    seconds = lambda stamp: sum(int(x) * 60 ** i for i, x in enumerate(reversed(stamp.split(":"))))
    assert video.start_time == seconds(start) > 0
    assert video.end_time == seconds(end) + 1
    assert "tkm0TNFzIeg" in video.url


def test_each_moment_shows_its_length_its_whole_text_on_demand_and_a_link_to_copy(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "What does it mean if my explanation is long-winded?")
    expanders = [e for e in app.expander if e.label.startswith("The whole moment (")]
    assert len(expanders) == len(plays(app)) >= 1
    assert all(e.markdown for e in expanders)
    links = [c.value for c in app.code]
    assert len(links) == len(plays(app)) and all(v.startswith("https://www.youtube.com/watch?v=tkm0TNFzIeg&t=")
                                                 for v in links)


def test_questions_and_answers_read_as_a_conversation_oldest_first(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "first question about paper")
    ask(app, "second question about Feynman")
    assert questions(app) == ["first question about paper", "second question about Feynman"]
    assert [m.name for m in app.get("chat_message")] == ["user", "assistant", "user", "assistant"]


def test_a_second_visit_opens_without_re_embedding(app, tmp_path):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    wait_for_full_index(tmp_path / "data", "tkm0TNFzIeg")
    indexes = tmp_path / "data" / "videos" / "tkm0TNFzIeg" / "indexes"
    built = {f.name: (f / "meta.json").read_text() for f in indexes.iterdir()}
    again = new_page()
    again.button(key="open-tkm0TNFzIeg").click().run()
    assert again.subheader[0].value == "tkm0TNFzIeg"
    ask(again, "Who won a Nobel Prize?")
    assert {f.name: (f / "meta.json").read_text() for f in indexes.iterdir()} == built


# --- opening in the background (11.2, 11.4) ---------------------------------------------


def test_opening_shows_a_progress_bar_while_the_page_stays_usable(app):
    submit_link(app, LONG, upload_of(LONG))
    [bar] = app.get("progress")
    assert bar.proto.text.split(":")[0].rstrip(".") in (
        "Waiting in line", "Waiting to start", "Fetching the transcript", "Cutting it into passages", "Embedding")
    app.slider(key="k").set_value(3).run()  # touching a control while it opens
    assert not app.exception and app.session_state["pending"] is not None
    settle(app)
    assert app.subheader[0].value == LONG


def test_a_rerun_or_reload_never_cancels_the_opening_and_a_second_page_joins_it(app, tmp_path):
    submit_link(app, LONG, upload_of(LONG))
    reloaded = new_page({"v": LONG})
    assert reloaded.session_state["pending"] == app.session_state["pending"]
    assert reloaded.get("progress")
    settle(reloaded)
    assert reloaded.subheader[0].value == LONG
    settle(app)
    quick = [f for f in (tmp_path / "data" / "videos" / LONG / "indexes").iterdir() if "-so-" in f.name]
    assert len(quick) == 1 and not quick[0].name.startswith(".")


def test_answers_from_the_quick_index_are_marked_and_refreshed_from_the_full_one(app, tmp_path):
    open_video(app, LONG, upload_of(LONG))
    ask(app, "what is this video about")
    assert "refining" in text(app.caption)
    wait_for_full_index(tmp_path / "data", LONG)
    time.sleep(0.5)
    app.run()
    assert "refreshed from a better index" in text(app.caption)
    assert "refining" not in text(app.caption)


# --- history (per video, across reloads) and export -------------------------------------


def test_each_video_keeps_its_own_answers_labelled_with_it(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "Who won a Nobel Prize?")
    open_video(app, "eMRtxsj29aQ", upload_of("eMRtxsj29aQ"))
    ask(app, "ghost pepper contest")
    assert questions(app) == ["ghost pepper contest"]
    assert "About eMRtxsj29aQ" in text(app.caption)
    app.button(key="open-tkm0TNFzIeg").click().run()
    assert questions(app) == ["Who won a Nobel Prize?"]
    assert "About tkm0TNFzIeg" in text(app.caption)


def test_answers_survive_a_page_reload(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "Who won a Nobel Prize?")
    reloaded = new_page({"h": app.query_params["h"], "v": "tkm0TNFzIeg"})
    assert reloaded.subheader[0].value == "tkm0TNFzIeg"
    assert questions(reloaded) == ["Who won a Nobel Prize?"]
    assert questions(new_page()) == []  # another visitor sees none of them


def test_clear_forgets_this_videos_answers_after_a_yes(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "Who won a Nobel Prize?")
    app.button(key="clear_history").click().run()
    assert questions(app) == ["Who won a Nobel Prize?"]  # asked first
    app.button(key="keep_answers").click().run()
    app.button(key="clear_history").click().run()
    app.button(key="clear_yes").click().run()
    assert questions(app) == []


def test_a_videos_answers_can_be_exported_as_markdown_with_timestamp_links(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "Who won a Nobel Prize?")
    [export] = [b for b in app.get("download_button")]
    assert export.proto.label == "Export"
    from ytqa.web.history import markdown_export

    exported = markdown_export("Answers", app.session_state["history"].answers("tkm0TNFzIeg"))
    assert "## Who won a Nobel Prize?" in exported
    assert "](https://www.youtube.com/watch?v=tkm0TNFzIeg&t=" in exported


# --- the library ------------------------------------------------------------------------


def test_the_library_lists_switches_and_deletes_after_a_confirmation(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    open_video(app, "eMRtxsj29aQ", upload_of("eMRtxsj29aQ"))
    sidebar = text(app.sidebar.caption)
    assert "1:50" in sidebar and "4:57" in sidebar and "passages" in sidebar
    assert app.subheader[0].value == "eMRtxsj29aQ"
    app.button(key="open-tkm0TNFzIeg").click().run()
    assert app.subheader[0].value == "tkm0TNFzIeg"
    app.button(key="delete-eMRtxsj29aQ").click().run()
    assert "open-eMRtxsj29aQ" not in [b.key for b in app.button]  # asks first
    assert "Delete eMRtxsj29aQ for everyone using this server?" in text(app.sidebar.caption)
    app.button(key="confirm-delete-eMRtxsj29aQ").click().run()
    deadline = time.monotonic() + 120
    while "being indexed" in text(app.sidebar.error) and time.monotonic() < deadline:
        # Its full index is still being built behind the questions: the page says so, and
        # the remedy it gives (try again in a moment) works.
        time.sleep(1)
        app.button(key="delete-eMRtxsj29aQ").click().run()
        app.button(key="confirm-delete-eMRtxsj29aQ").click().run()
    assert [b.key for b in app.button if (b.key or "").startswith("open-")] == ["open-tkm0TNFzIeg"]


def test_a_video_deleted_while_its_full_index_builds_stays_deleted_or_the_delete_is_refused(app, tmp_path):
    # A video is stored (and listed) once its quick index is saved; its full index is then
    # built behind the questions, and that is when a delete can race it.
    submit_link(app, LONG, upload_of(LONG))
    while "delete-" + LONG not in [b.key for b in app.button]:
        time.sleep(0.2)
        app.run()
    app.button(key=f"delete-{LONG}").click().run()
    app.button(key=f"confirm-delete-{LONG}").click().run()
    refused = "being indexed" in text(app.sidebar.error)
    settle(app)
    time.sleep(1)
    app.run()
    stored = (tmp_path / "data" / "videos" / LONG / "transcript.json").exists()
    assert stored == refused  # what the page said is what is stored
    assert (f"delete-{LONG}" in [b.key for b in app.button]) == refused
    assert not app.exception


def test_a_stored_video_not_indexed_with_the_chosen_model_opens_with_its_progress(tmp_path, monkeypatch):
    import ytqa
    from ytqa._files_store import FileStore

    transcript = ytqa.load_transcript_file(shared("transcripts", f"{LONG}.json"), LONG)
    FileStore(tmp_path / "data").save_transcript(transcript)
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    page = new_page()
    assert "not yet indexed with the chosen model" in text(page.sidebar.caption)
    page.button(key=f"open-{LONG}").click().run()
    assert page.get("progress")  # built in the background, its progress shown
    settle(page)
    assert page.subheader[0].value == LONG


def test_cancel_keeps_the_video(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    app.button(key="delete-tkm0TNFzIeg").click().run()
    app.button(key="cancel-delete-tkm0TNFzIeg").click().run()
    assert app.button(key="open-tkm0TNFzIeg")


def test_the_library_marks_the_open_video_and_counts_one_passage_in_the_singular(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg", [("Hello there, this is short.", 0, 3)]))
    assert "▶ tkm0TNFzIeg" in markdown(app.sidebar) and "(open)" in markdown(app.sidebar)
    assert "1 passage" in text(app.sidebar.caption) and "1 passages" not in text(app.sidebar.caption)


def test_the_library_says_it_is_shared_by_everyone_using_this_server(app):
    assert "Shared by everyone using this server" in text(app.sidebar.caption)


def test_switching_videos_clears_the_other_videos_link_and_file(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    open_video(app, "eMRtxsj29aQ", upload_of("eMRtxsj29aQ"))
    app.button(key="open-tkm0TNFzIeg").click().run()
    assert app.text_input(key="link").value == ""
    assert app.get("file_uploader")[0].value is None


def test_a_big_library_is_listed_a_page_at_a_time_and_found_by_title(tmp_path, monkeypatch):
    import ytqa
    from ytqa._files_store import FileStore

    store = FileStore(tmp_path / "big")
    with store.batch():
        for i in range(45):
            store.save_transcript(ytqa.Transcript(f"v{i:010d}", (ytqa.Line("Hello there.", 0, 2),), "English", "en",
                                                  title=f"Lecture {i}"))
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "big"))
    app = new_page()
    opens = lambda: [b.key for b in app.button if (b.key or "").startswith("open-")]
    assert len(opens()) == 20 and "45 videos" in text(app.sidebar.caption)
    app.number_input(key="library_page").set_value(3).run()
    assert opens() == [f"open-v{i:010d}" for i in range(40, 45)]
    app.text_input(key="library_search").input("Lecture 7").run()
    assert opens() == ["open-v0000000007"]


def test_one_question_across_all_videos_names_each_video_and_orders_by_one_relevance(app, youtube):
    serve_capture(youtube)
    open_video(app, "https://www.youtube.com/watch?v=eF8Qqp7rjDg")
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    open_video(app, "eMRtxsj29aQ", upload_of("eMRtxsj29aQ"))
    app.toggle(key="everywhere").set_value(True).run()
    ask(app, "free account virtual machines")
    rows = [html.unescape(m.value) for m in app.markdown if "relevance" in m.value]
    assert any("Halloween Infrastructure Update - 27th October 2023" in r for r in rows)
    scores = [float(r.rsplit("relevance ", 1)[1].split("<")[0]) for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_play_on_an_answer_across_the_library_plays_that_video_in_the_player(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    open_video(app, "eMRtxsj29aQ", upload_of("eMRtxsj29aQ"))
    app.toggle(key="everywhere").set_value(True).run()
    ask(app, "Richard Feynman Nobel Prize")
    play = next(b for b in plays(app))
    play.click().run()
    [video] = app.get("video")
    assert "tkm0TNFzIeg" in video.proto.url and video.proto.start_time > 0


# --- errors in the app's words ----------------------------------------------------------


def test_an_invalid_link_shows_the_reason_and_the_button_stays_put(app):
    submit_link(app, "https://vimeo.com/12345")
    assert "vimeo.com is not a YouTube address" in text(app.error)
    assert not app.button(key="open").disabled


def test_user_input_in_messages_renders_as_text(app):
    submit_link(app, "[click me](javascript:alert(1))")
    shown = app.error[0].value
    assert "](javascript" not in shown and "&#91;click me&#93;" in shown


def test_an_uploaded_files_name_renders_as_text(app):
    submit_link(app, "tkm0TNFzIeg", ("**bold** www.example.com [x](javascript:y).srt", b"\x00\x01binary", "text/plain"))
    settle(app)
    shown = app.error[0].value
    assert "**bold**" not in shown and "www.example" not in shown and "](javascript" not in shown


@pytest.mark.parametrize("player, words", [
    ("youtube_transcripts_disabled.innertube.json.static", "Captions are turned off"),
    ("youtube_request_blocked.innertube.json.static", "cloud hosts"),
    ("youtube_age_restricted.innertube.json.static", "age-restricted"),
    ("youtube_video_unavailable.innertube.json.static", "unavailable"),
])
def test_youtube_refusals_show_the_cause_and_the_remedy(app, youtube, player, words):
    serve_capture(youtube, player=player)
    open_video(app, "eF8Qqp7rjDg")
    [error] = app.error
    assert words in html.unescape(error.value)
    assert "--transcript" not in html.unescape(error.value)
    assert "Upload subtitles" in html.unescape(error.value) or "unavailable" in words


def test_when_uploading_is_the_remedy_the_upload_section_opens(app, youtube):
    serve_capture(youtube, player="youtube_transcripts_disabled.innertube.json.static")
    assert not app.expander[0].proto.expanded
    open_video(app, "eF8Qqp7rjDg")
    [upload_section] = [e for e in app.expander if "Upload subtitles" in e.label]
    assert upload_section.proto.expanded


def test_the_bot_check_error_names_the_proxy_setting_and_the_upload(app, youtube):
    serve_capture(youtube, player="youtube_request_blocked.innertube.json.static")
    open_video(app, "eF8Qqp7rjDg")
    assert "YTQA_PROXY" in text(app.error) and "upload them under Upload subtitles" in text(app.error)


def test_a_bad_upload_names_the_file_and_the_problem(app):
    open_video(app, "tkm0TNFzIeg", ("broken.srt", b"\x00\x01\x02binary", "application/octet-stream"))
    assert "broken.srt" in text(app.error) and "binary" in text(app.error)


def test_an_upload_the_parser_chokes_on_is_an_error_in_words_and_the_page_stays(app):
    open_video(app, "tkm0TNFzIeg", ("odd.json", b'[{"text": "\\ud800 lone", "start": 0, "duration": 1}]',
                                    "application/json"))
    assert not app.exception
    assert app.text_input(key="link")


def test_an_empty_question_gets_a_hint_and_no_card(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "   ")
    assert questions(app) == []
    assert "Type a question in words" in text(app.info)


def test_with_no_video_open_the_question_box_says_to_open_one(app):
    box = app.chat_input(key="question")
    assert box.disabled and "Open a video first" in box.proto.placeholder


def test_a_repeated_submit_keeps_the_question_once_with_its_answer(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "Who won a Nobel Prize?")
    app.run()  # the second click of a double click reruns with nothing new
    assert questions(app) == ["Who won a Nobel Prize?"]
    assert plays(app)


def test_transcript_text_renders_inert(app):
    hostile = [
        # JSON subtitle text is kept as written, markup and all: it must still show as text.
        ("<script>alert('xss')</script> hello caching world", 0, 5),
        ("click [here](javascript:alert(1)) for caching tips", 5, 5),
        ("<img src=x onerror=alert(2)> **bold** caching", 10, 5),
    ]
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg", hostile))
    ask(app, "caching")
    shown = markdown(app)
    assert "&#60;script&#62;" in shown
    assert "<script" not in shown and "<img" not in shown
    assert "](javascript" not in shown and "**bold**" not in shown


def test_an_upload_with_a_time_beyond_any_video_is_refused_in_words_and_the_page_stays(app):
    # 3e9 s is past what the player can seek to (2^31 s): refused when the file is read,
    # so no stored moment can ever ask the player for it.
    far = [("the opening words about gardens", 0, 5), ("a far away sentence about gardens", 3e9, 5)]
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg", far))
    assert not app.exception
    assert "past 24 hours" in text(app.error)
    assert not plays(app)


def test_a_data_folder_that_cannot_be_written_is_said_in_words(app, tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "videos").write_text("not a folder")
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    assert not app.exception
    assert "Cannot use the library" in text(app.error)
    assert str(tmp_path) not in text(app.error)


def test_a_stored_entry_the_listing_cannot_show_does_not_take_the_page_down(tmp_path, monkeypatch):
    import ytqa
    from ytqa._files_store import FileStore

    store = FileStore(tmp_path / "data")
    store.save_transcript(ytqa.Transcript("tkm0TNFzIeg", (ytqa.Line("Hello there.", 0, 2),), "English", "en"))
    catalog = json.loads((tmp_path / "data" / "catalog.json").read_text())
    catalog["videos"]["tkm0TNFzIeg"]["video"]["duration"] = 1e308
    (tmp_path / "data" / "catalog.json").write_text(json.dumps(catalog))
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    page = new_page()
    assert page.text_input(key="link")
    page.button(key="delete-tkm0TNFzIeg").click().run()
    page.button(key="confirm-delete-tkm0TNFzIeg").click().run()
    assert not page.exception and not [b for b in page.button if (b.key or "").startswith("delete-")]


def test_streamlit_shows_visitors_no_tracebacks_and_no_developer_menu():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "minimal"
    assert config["server"]["maxUploadSize"] == 50  # the command line's limit on a subtitle file


# --- models -----------------------------------------------------------------------------


def test_an_unreachable_model_is_found_out_fast_and_the_current_one_kept(app, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    started = time.perf_counter()
    app.selectbox(key="model_choice").set_value("multi-qa-mpnet").run()
    assert time.perf_counter() - started < 15
    [error] = app.sidebar.error
    assert "Cannot use multi-qa-mpnet-base-dot-v1" in text([error]) and "keeps using all-MiniLM-L6-v2" in text([error])
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "Who won a Nobel Prize?")
    assert plays(app)


def test_the_model_box_says_the_default_answers_at_once_and_e5_takes_over(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("YTQA_STRONG_MODEL", "e5")  # as a server runs it (the tests' default is none)
    said = new_page().selectbox(key="model_choice").help
    assert "answers at once with all-MiniLM-L6-v2 while multilingual-e5-small indexes the video" in said
    assert "each answer says which model answered" in said


def test_without_a_strong_model_the_model_box_promises_no_takeover(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("YTQA_STRONG_MODEL", "none")
    said = new_page().selectbox(key="model_choice").help
    assert said.startswith("all-MiniLM-L6-v2 answers by default") and "behind" not in said


def test_the_custom_model_box_takes_hub_ids_only_and_never_echoes_a_server_path(app, tmp_path):
    app.selectbox(key="model_choice").set_value("custom").run()
    app.text_input(key="custom_model").input(str(tmp_path)).run()
    assert not app.exception
    [error] = app.sidebar.error
    assert "Hugging Face id" in text([error]) and str(tmp_path) not in text([error])
    assert not (tmp_path / "data" / "models").exists() or not any((tmp_path / "data" / "models").iterdir())
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    assert app.subheader[0].value == "tkm0TNFzIeg"


# --- languages ----------------------------------------------------------------------------


def serve_surface_go(mock):
    mock.get(WATCH, body=shared("youtube_responses", "youtube.html.static").read_text())
    mock.post(PLAYER, body=shared("youtube_responses", "youtube.innertube.json.static").read_text(),
              content_type="application/json")
    mock.get(TIMEDTEXT, body=shared("youtube_responses", "transcript.xml.static").read_text())


def test_the_language_choice_lists_tracks_with_their_kind_and_translations(app, youtube):
    serve_surface_go(youtube)
    open_video(app, "https://youtu.be/GJLlxj_dtq8")
    labels = app.selectbox(key="lang").options
    assert "English (manual)" in labels and "English (auto-generated)" in labels
    assert "German (manual)" in labels
    assert "French (YouTube translation)" in labels


def open_with_track(app, youtube, tmp_path, choice: str) -> dict:
    """Open the recorded video, then choose one entry of its language menu; the stored transcript."""
    serve_surface_go(youtube)
    open_video(app, "GJLlxj_dtq8")
    app.selectbox(key="lang").set_value(choice).run()
    settle(app)
    assert not app.error
    return json.loads((tmp_path / "data" / "videos" / "GJLlxj_dtq8" / "transcript.json").read_text())


def test_choosing_the_auto_generated_track_indexes_that_track(app, youtube, tmp_path):
    stored = open_with_track(app, youtube, tmp_path, "en|auto")
    assert stored["language_code"] == "en" and stored["is_generated"] is True
    assert any("kind=asr" in call.request.url for call in youtube.calls)


def test_choosing_a_translation_indexes_youtubes_translated_track(app, youtube, tmp_path):
    stored = open_with_track(app, youtube, tmp_path, "fr|translated")
    assert stored["language_code"] == "fr" and stored["translated_from"] == "en"
    assert any("tlang=fr" in call.request.url for call in youtube.calls)
