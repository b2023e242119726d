"""The app on the PostgreSQL store (YTQA_STORE=postgresql://...) in a real browser (Chromium,
Playwright, 1280x900 and 400x850, the console listened to): a subtitle file opens its video,
a question gets its moments, the library lists it, and nothing is kept in the data folder.
The embedded PostgreSQL server of conftest, a database of its own for each test."""

import pytest

from test_browser import PLAY, ask, chromium, open_upload, running_app, seconds

VIDEO = "tkm0TNFzIeg"  # how to learn anything (Feynman's technique); the Nobel Prize at 78-88 s


@pytest.mark.parametrize("size", [pytest.param((1280, 900), id="wide"), pytest.param((400, 850), id="phone")])
def test_the_app_on_postgresql_opens_a_video_and_answers_with_its_moments(postgres_database, tmp_path, embedder,
                                                                          size):
    data = tmp_path / "data"
    with running_app({"YTQA_DATA_DIR": str(data), "YTQA_STORE": postgres_database}) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_upload(page, url, VIDEO)
        page.get_by_role("heading", name=VIDEO).wait_for(timeout=120_000)
        ask(page, "Richard Feynman Nobel Prize")
        first = page.get_by_role("button", name=PLAY).first
        assert 70 <= seconds(first.inner_text().split("Play ")[1].split("–")[0]) <= 88
        if size[0] < 640:
            page.get_by_test_id("stExpandSidebarButton").click()
        page.get_by_test_id("stSidebar").locator(f".st-key-open-{VIDEO}").wait_for(timeout=30_000)
        assert not (data / "videos" / VIDEO).exists()  # kept in PostgreSQL, not in files
        assert errors == []
