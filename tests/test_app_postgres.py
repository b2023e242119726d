"""The app on the PostgreSQL store (YTQA_STORE=postgresql://...): a subtitle file opens its
video, a question is answered, the library lists it; the embedded server of conftest."""

import time

from streamlit.testing.v1 import AppTest

from conftest import ROOT, shared


def test_the_app_on_the_postgresql_store_opens_an_upload_and_answers_from_it(postgres_database, monkeypatch,
                                                                             tmp_path, embedder):
    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("YTQA_STORE", postgres_database)
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    page.run()
    assert not page.exception
    data = shared("transcripts", "tkm0TNFzIeg.json").read_bytes()
    uploader = next(u for u in page.get("file_uploader"))
    page.file_uploader(key=uploader.key).set_value(("tkm0TNFzIeg.json", data, "application/json"))
    page.run()
    page.text_input(key="link").input("https://youtu.be/tkm0TNFzIeg")
    page.button(key="open").click().run()
    deadline = time.time() + 180
    while page.session_state["pending"] is not None:
        assert time.time() < deadline, "the video never opened"
        time.sleep(0.2)
        page.run()
    assert not page.exception and not page.error
    page.chat_input(key="question").set_value("Richard Feynman Nobel Prize").run()
    assert not page.exception
    plays = [b for b in page.button if b.label.startswith("▶ Play ")]
    assert plays, [e.value for e in page.error]
    assert "tkm0TNFzIeg" in "\n".join(m.value for m in page.sidebar.markdown)
