"""Sign-in in the app, against a real OpenID Connect provider started here (the PyPI package
``oidc-provider-mock``: a real OIDC server, its sign-in form filled in the browser), and
Streamlit's own ``st.login``: nothing of ours is mocked. Several people in separate browser
contexts, one library."""

import contextlib
import os
import time

import pytest

import ytqa
from conftest import ROOT
from fake_model import WordHashEmbedder
from test_access import ANA_S, BOBS, OLD, talk
from test_browser import APP, ask, chromium, free_port, running_app

oidc = pytest.importorskip("oidc_provider_mock", reason="needs oidc-provider-mock (pip install '.[test]')")
pytest.importorskip("authlib", reason="st.login needs Authlib (pip install Authlib)")
ANA, BOB = "ana@example.org", "bob@example.org"


@contextlib.contextmanager
def app_signing_in(tmp_path):
    """The app on a free port of 127.0.0.1, its secrets.toml naming the provider running here."""
    with oidc.run_server_in_thread() as provider, \
            serving_with_sign_in(tmp_path, provider, {"YTQA_DATA_DIR": str(tmp_path / "data")}) as url:
        yield url


@contextlib.contextmanager
def serving_with_sign_in(folder, provider, env, launcher=APP):
    """One app process on a free port of 127.0.0.1 with ``env`` added, signing visitors in
    through ``provider`` (its secrets.toml written in ``folder``): its URL once it answers.
    ``launcher``: what python runs, given streamlit run's options (as for running_app)."""
    port = free_port()
    secrets = folder / f"secrets-{port}.toml"
    secrets.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{os.urandom(24).hex()}"
client_id = "ytqa"
client_secret = "ytqa-secret"
server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"
""")
    with running_app(env, (*launcher, "--secrets.files", str(secrets)), port=port) as url:
        yield url


@pytest.fixture
def shelf(tmp_path, embedder):
    """ana holds one video privately, bob one he shares; one was stored before sign-in."""
    model = WordHashEmbedder()
    for name, video in ((ANA, ANA_S), (BOB, BOBS), (None, OLD)):
        ytqa.Library(tmp_path / "data", embedder=model, user=name).index(video, transcript_file=talk(tmp_path, video))
    ytqa.Library(tmp_path / "data", user=BOB).access.share(BOBS)
    with app_signing_in(tmp_path) as url, chromium() as browser:
        yield url, browser, tmp_path / "data"


def signed_in(browser, url, who, size=(1280, 900), address="", width=None):
    """A new browser context (no cookie) of that size (or ``width`` x 900), signed in as ``who``
    through the provider's form; with ``address``, gone on to the app's page at that address."""
    size = (width, 900) if width else (size, 900) if isinstance(size, int) else size
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    sign_in(page, url, who)
    if address:  # the provider sends the browser back to the app's own address: go on from there
        page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
        page.goto(url + address)
        page.locator("[data-testid=stChatInputTextArea]:not([disabled])").wait_for(timeout=120_000)
    else:
        page.get_by_role("button", name="Open").first.wait_for(timeout=60_000)
    time.sleep(1)
    return page


def sign_in(page, url, who):
    """Through the sign-in screen and the provider's form, as ``who``."""
    page.goto(url)
    page.get_by_text("sign in to see yours").wait_for(timeout=60_000)
    assert page.get_by_label("YouTube link or video id").count() == 0  # nothing before signing in
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[type=text][name=sub]").fill(who)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(f"Signed in as {who.split('@')[0]}").wait_for(state="attached", timeout=60_000)


def sidebar_videos(page):
    text = page.get_by_test_id("stSidebar").inner_text()
    return sorted(v for v in (ANA_S, BOBS, OLD) if v in text)


def test_each_person_signs_in_and_sees_their_videos_and_the_shared_ones(shelf):
    url, browser, data = shelf
    ana, bob = signed_in(browser, url, ANA), signed_in(browser, url, BOB)
    assert sidebar_videos(ana) == sorted([ANA_S, BOBS, OLD])
    assert sidebar_videos(bob) == sorted([BOBS, OLD])


def test_only_a_videos_holder_is_offered_delete_and_share(shelf):
    url, browser, data = shelf
    ana = signed_in(browser, url, ANA)
    assert ana.get_by_role("button", name="Delete").count() == 1  # her own, not bob's nor the old one
    assert ana.get_by_text("Shared with everyone", exact=True).count() == 1
    entry = ana.locator(f".st-key-video-{ANA_S}")
    assert entry.get_by_role("button", name="Delete").count() == 1
    assert entry.get_by_text("Shared with everyone", exact=True).count() == 1


def test_a_video_shared_in_the_page_is_seen_by_the_others(shelf):
    url, browser, data = shelf
    ana = signed_in(browser, url, ANA)
    ana.locator(f".st-key-video-{ANA_S}").get_by_text("Shared with everyone", exact=True).click()
    deadline = time.time() + 30
    while ytqa.Library(data, user=BOB).count() < 3 and time.time() < deadline:
        time.sleep(0.3)
    assert sidebar_videos(signed_in(browser, url, BOB)) == sorted([ANA_S, BOBS, OLD])


def test_signing_out_returns_to_the_sign_in_screen(shelf):
    url, browser, data = shelf
    ana = signed_in(browser, url, ANA)
    ana.get_by_role("button", name="Sign out").click()
    ana.get_by_role("button", name="End session").click()  # the provider's own confirmation
    ana.get_by_text("sign in to see yours").wait_for(timeout=60_000)
    ana.goto(url)  # a new visit finds no one signed in
    ana.get_by_text("sign in to see yours").wait_for(timeout=60_000)
    assert ana.get_by_label("YouTube link or video id").count() == 0


def page_of_app(tmp_path, monkeypatch, secrets=None):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("YTQA_DATA_DIR", str(tmp_path / "data"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for name, value in (secrets or {}).items():
        app.secrets[name] = value
    return app.run()


def test_without_sign_in_configured_the_app_says_it_is_one_library_for_everyone(tmp_path, monkeypatch, embedder):
    app = page_of_app(tmp_path, monkeypatch)
    assert any(c.value.startswith("One library for everyone.") for c in app.sidebar.caption)
    assert "Sign in" not in [b.label for b in app.button] and app.text_input(key="link") is not None


def test_with_sign_in_configured_a_visitor_sees_the_sign_in_screen_and_nothing_else(tmp_path, monkeypatch):
    app = page_of_app(tmp_path, monkeypatch, {"auth": {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "ytqa",
        "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}})
    assert [b.label for b in app.button] == ["Sign in"] and not app.text_input and not app.sidebar.caption
    assert "sign in to see yours" in app.info[0].value


def test_on_a_server_with_sign_in_a_visitor_cannot_type_a_chat_model_billed_to_the_owner(shelf):
    url, browser, data = shelf
    ana = signed_in(browser, url, ANA)
    choice = ana.get_by_test_id("stSidebar").get_by_role("combobox", name="Answers in words")
    choice.click()
    ana.get_by_role("option").first.wait_for(timeout=10_000)
    offered = [o.inner_text() for o in ana.get_by_role("option").all()]
    assert offered and not any("Another chat model" in o for o in offered)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_persons_questions_follow_them_after_signing_out_into_a_new_browser(shelf, width):
    url, browser, data = shelf
    ana = signed_in(browser, url, ANA, width, address=f"/?v={ANA_S}")
    ask(ana, "What did the lighthouse keeper paint?")
    ana.context.close()  # signed out of this browser: its cookie and its address are gone
    again = signed_in(browser, url, ANA, width, address=f"/?v={ANA_S}")  # another token in the address
    again.get_by_test_id("stChatMessage").filter(has_text="What did the lighthouse keeper paint?").wait_for(
        timeout=60_000)
    bob = signed_in(browser, url, BOB, width, address=f"/?v={BOBS}")
    assert bob.get_by_text("What did the lighthouse keeper paint?").count() == 0


def test_a_persons_playlist_is_theirs_in_the_page_until_they_share_it(shelf):
    from fakes import PLAYLIST_URL, listing, youtube_dl

    url, browser, data = shelf
    ytqa.Collections(ytqa.Library(data, user=ANA), youtube_dl=youtube_dl(listing("ytdlp_playlist.json"))).add(
        PLAYLIST_URL)
    title = "Cloud, hardware and history: a test course"
    bob = signed_in(browser, url, BOB)
    assert bob.get_by_test_id("stSidebar").get_by_text(title).count() == 0
    ana = signed_in(browser, url, ANA)
    ana.get_by_test_id("stSidebar").get_by_text(title).click()
    ana.get_by_text("Yours, private.").wait_for(timeout=30_000)
    ana.get_by_role("button", name="Share with everyone").click()
    deadline = time.time() + 30
    while not ytqa.Collections(ytqa.Library(data, user=BOB)).all() and time.time() < deadline:
        time.sleep(0.3)
    bob = signed_in(browser, url, BOB)
    bob.get_by_test_id("stSidebar").get_by_text(title).click()
    bob.get_by_text("shared with everyone.").wait_for(timeout=30_000)
    assert bob.get_by_role("button", name="Sync").is_disabled()  # only ana (or an administrator) syncs it
    assert bob.get_by_role("button", name="Share with everyone").count() == 0
