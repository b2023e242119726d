"""The web app, driven offline by Streamlit's AppTest; only YouTube's HTTP is mocked."""

import json

import pytest
import responses
from streamlit.testing.v1 import AppTest

from conftest import ROOT, shared

WATCH = "https://www.youtube.com/watch"
PLAYER = "https://www.youtube.com/youtubei/v1/player"
TIMEDTEXT = "https://www.youtube.com/api/timedtext"


@pytest.fixture
def app(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    test.run()
    assert not test.exception
    return test


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


def open_video(app, link, upload=None):
    app.text_input(key="link").input(link).run()
    if upload:
        app.file_uploader(key="upload").set_value(upload)
        app.run()
    app.button(key="open").click().run()
    assert not app.exception
    return app


def ask(app, question):
    app.text_input(key="question").input(question)
    app.get("form")[0]
    [submit] = [b for b in app.button if b.label == "Ask"]
    submit.click().run()
    assert not app.exception
    return app


def markdown(app):
    return "\n".join(m.value for m in app.markdown)


def upload_of(video_id, lines=None):
    if lines is None:
        data = shared("transcripts", f"{video_id}.json").read_bytes()
    else:
        data = json.dumps([{"text": t, "start": s, "duration": d} for t, s, d in lines]).encode()
    return (f"{video_id}.json", data, "application/json")


def test_the_page_opens_with_a_link_box_and_no_error(app):
    assert app.text_input(key="link").label == "YouTube link or video id"
    assert not app.error


def test_a_link_is_fetched_indexed_and_answered_with_timestamps(app, youtube):
    serve_capture(youtube)
    open_video(app, "https://www.youtube.com/watch?v=eF8Qqp7rjDg&t=10s")
    assert not app.error
    assert app.subheader[0].value == "Halloween Infrastructure Update &#45; 27th October 2023"
    ask(app, "Which virtual machines were added to the free account?")
    text = markdown(app)
    assert 'href="https://www.youtube.com/watch?v=eF8Qqp7rjDg&amp;t=' in text
    assert "<mark>" in text
    assert len([b for b in app.button if b.label.startswith("▶ Play ")]) == 5


def test_playing_a_moment_starts_the_player_at_its_start_and_stops_at_its_end(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "What does it mean if my explanation is long-winded?")
    [play] = [b for b in app.button if b.label.startswith("▶ Play ")][:1]
    start, end = play.label.removeprefix("▶ Play ").split("–")
    play.click().run()
    video = app.get("video")[0].proto
    seconds = lambda stamp: sum(int(x) * 60 ** i for i, x in enumerate(reversed(stamp.split(":"))))
    assert video.start_time == seconds(start) > 0
    assert video.end_time == seconds(end) + 1
    assert "tkm0TNFzIeg" in video.url


def test_each_moment_shows_its_length_and_its_whole_text_on_demand(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "What does it mean if my explanation is long-winded?")
    plays = [b for b in app.button if b.label.startswith("▶ Play ")]
    expanders = [e for e in app.expander if e.label.startswith("The whole moment (")]
    assert len(expanders) == len(plays) >= 1, ([e.label for e in expanders], [b.label for b in plays])
    assert all(e.markdown for e in expanders)


def test_a_subtitle_upload_with_the_videos_link_is_answered(app):
    open_video(app, "https://youtu.be/tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    assert not app.error
    ask(app, "Who won a Nobel Prize?")
    assert "watch?v=tkm0TNFzIeg&amp;t=" in markdown(app)


def test_questions_accumulate_in_a_history_newest_first(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "first question about paper")
    ask(app, "second question about Feynman")
    questions = [m.value for m in app.markdown if m.value.startswith("**Q:")]
    assert questions == ["**Q: second question about Feynman**", "**Q: first question about paper**"]


def wait_for_full_index(data_dir, video_id, timeout=120):
    """The app answers from a quick index at once and builds the full one behind it."""
    import time

    indexes = data_dir / "videos" / video_id / "indexes"
    deadline = time.time() + timeout
    while time.time() < deadline:
        # A build in progress (".building-...") writes its meta.json before it is renamed.
        done = [f for f in indexes.glob("*-sv-*") if not f.name.startswith(".") and (f / "meta.json").exists()]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError("the full index was never built")


def test_opening_answers_from_a_quick_index_then_builds_the_full_one(app, tmp_path):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    indexes = tmp_path / "data" / "videos" / "tkm0TNFzIeg" / "indexes"
    assert list(indexes.glob("*-so-*"))  # the quick one, there as soon as the video opens
    wait_for_full_index(tmp_path / "data", "tkm0TNFzIeg")
    ask(app, "Who won a Nobel Prize?")
    assert "watch?v=tkm0TNFzIeg&amp;t=" in markdown(app)


def test_a_second_visit_opens_without_re_embedding(app, tmp_path):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    wait_for_full_index(tmp_path / "data", "tkm0TNFzIeg")
    indexes = tmp_path / "data" / "videos" / "tkm0TNFzIeg" / "indexes"
    built = {f.name: (f / "meta.json").read_text() for f in indexes.iterdir()}
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.run()
    [opener] = [b for b in again.button if b.key == "open-tkm0TNFzIeg"]
    opener.click().run()
    assert again.subheader[0].value == "tkm0TNFzIeg"
    ask(again, "Who won a Nobel Prize?")
    assert {f.name: (f / "meta.json").read_text() for f in indexes.iterdir()} == built


def test_the_library_lists_switches_and_deletes_videos(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    open_video(app, "eMRtxsj29aQ", upload_of("eMRtxsj29aQ"))
    sidebar = "\n".join(c.value for c in app.sidebar.caption)
    assert "1&#58;50" in sidebar and "4&#58;57" in sidebar and "passages" in sidebar
    assert app.subheader[0].value == "eMRtxsj29aQ"
    app.button(key="open-tkm0TNFzIeg").click().run()
    assert app.subheader[0].value == "tkm0TNFzIeg"
    app.button(key="delete-eMRtxsj29aQ").click().run()
    assert [b.key for b in app.button if (b.key or "").startswith("open-")] == ["open-tkm0TNFzIeg"]


def test_one_question_across_all_videos_names_the_video(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    open_video(app, "eMRtxsj29aQ", upload_of("eMRtxsj29aQ"))
    app.toggle(key="everywhere").set_value(True).run()
    ask(app, "ghost pepper contest")
    text = markdown(app)
    assert "watch?v=eMRtxsj29aQ" in text and " · eMRtxsj29aQ" in text


def test_an_invalid_link_shows_the_reason(app):
    app.text_input(key="link").input("https://vimeo.com/12345").run()
    assert "vimeo.com is not a YouTube address" in app.error[0].value
    assert app.button(key="open").disabled


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
    assert words in error.value
    assert "upload" in error.value or "unavailable" in words


def test_the_bot_check_error_mentions_proxy_and_upload(app, youtube):
    serve_capture(youtube, player="youtube_request_blocked.innertube.json.static")
    open_video(app, "eF8Qqp7rjDg")
    assert "YTQA_PROXY" in app.error[0].value and "upload it" in app.error[0].value


def test_a_bad_upload_names_the_file_and_the_problem(app):
    open_video(app, "tkm0TNFzIeg", ("broken.srt", b"\x00\x01\x02binary", "application/octet-stream"))
    assert "broken.srt" in app.error[0].value and "binary" in app.error[0].value


def test_an_empty_question_gets_a_message_not_a_traceback(app):
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    ask(app, "   ")
    assert "question is empty" in app.error[0].value


def test_transcript_text_renders_inert(app):
    # Escaped markup survives tag stripping and is decoded to literal text, as in
    # YouTube's caption XML.
    hostile = [
        ("&lt;script&gt;alert('xss')&lt;/script&gt; hello caching world", 0, 5),
        ("click [here](javascript:alert(1)) for caching tips", 5, 5),
        ("&lt;img src=x onerror=alert(2)&gt; **bold** caching", 10, 5),
    ]
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg", hostile))
    ask(app, "caching")
    text = markdown(app)
    assert "&#60;script&#62;" in text
    assert "<script" not in text and "<img" not in text
    assert "](javascript" not in text and "**bold**" not in text


def serve_surface_go(mock):
    mock.get(WATCH, body=shared("youtube_responses", "youtube.html.static").read_text())
    mock.post(PLAYER, body=shared("youtube_responses", "youtube.innertube.json.static").read_text(),
              content_type="application/json")
    mock.get(TIMEDTEXT, body=shared("youtube_responses", "transcript.xml.static").read_text())


def test_the_language_choice_lists_tracks_with_their_kind_and_translations(app, youtube):
    serve_surface_go(youtube)
    app.text_input(key="link").input("https://youtu.be/GJLlxj_dtq8").run()
    choice = app.selectbox(key="lang")
    labels = choice.options  # as shown to the person
    assert "English (manual)" in labels and "English (auto-generated)" in labels
    assert "German (manual)" in labels
    assert "French (YouTube translation)" in labels


def open_with_track(app, youtube, tmp_path, choice: str) -> dict:
    """Open the recorded video with one entry of the language menu; the stored transcript."""
    serve_surface_go(youtube)
    app.text_input(key="link").input("GJLlxj_dtq8").run()
    app.selectbox(key="lang").set_value(choice).run()
    app.button(key="open").click().run()
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


def test_an_unknown_custom_model_is_explained_and_the_default_used(app):
    app.selectbox(key="model_choice").set_value("custom").run()
    app.text_input(key="custom_model").input("./no/such/folder").run()
    assert not app.exception
    assert "Cannot load the embedding model" in app.sidebar.error[0].value
    open_video(app, "tkm0TNFzIeg", upload_of("tkm0TNFzIeg"))
    assert app.subheader[0].value == "tkm0TNFzIeg"


def test_a_big_library_is_listed_a_page_at_a_time_and_found_by_title(tmp_path, monkeypatch):
    import ytqa
    from ytqa._files_store import FileStore

    store = FileStore(tmp_path / "big")
    with store.batch():
        for i in range(45):
            store.save_transcript(ytqa.Transcript(f"v{i:010d}", (ytqa.Line("Hello there.", 0, 2),), "English", "en",
                                                  title=f"Lecture {i}"))
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "big"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    opens = lambda: [b.key for b in app.button if (b.key or "").startswith("open-")]
    assert len(opens()) == 20 and "45 videos" in "\n".join(c.value for c in app.sidebar.caption)
    app.number_input(key="library_page").set_value(3).run()
    assert opens() == [f"open-v{i:010d}" for i in range(40, 45)]
    app.text_input(key="library_search").input("Lecture 7").run()
    assert opens() == ["open-v0000000007"]
