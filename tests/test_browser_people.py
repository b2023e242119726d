"""Many people, one server, for real: two app processes (two ``streamlit run app.py``, each with
a data folder of its own, as on two machines) serve one library from one embedded PostgreSQL;
visitors sign in through one local OpenID Connect provider (``oidc-provider-mock``), each in a
browser context of their own (Chromium, 1280x900 and 400x850), the console listened to.

ana holds a video privately, bob one he shares with the group physics (bob and carol, in
YTQA_GROUPS), dan one he shares with everyone; erin holds nothing and is in no group."""

import contextlib
import os
import re
import time

import pytest
from playwright.sync_api import expect

import ytqa
from conftest import ROOT, fresh_database
from fake_model import WordHashEmbedder
from test_access import PLANTED, talk
from test_browser import chromium, uploaded
from test_signin import serving_with_sign_in, sign_in

oidc = pytest.importorskip("oidc_provider_mock", reason="needs oidc-provider-mock (pip install '.[test]')")
pytest.importorskip("authlib", reason="st.login needs Authlib (pip install Authlib)")

ANA, BOB, CAROL, DAN, ERIN = (f"{name}@example.org" for name in ("ana", "bob", "carol", "dan", "erin"))
GROUPS = f"physics={BOB},{CAROL}"
ANAS, BOBS, DANS = PLANTED  # ana's private video, bob's (physics), dan's (everyone)
NEW = "tkm0TNFzIeg"  # added by bob through the second server
WIDE, PHONE = (1280, 900), (400, 850)


@pytest.fixture(scope="module")
def database(postgres_url):
    with fresh_database(postgres_url, "ytqa_people") as url:
        yield url


def as_person(database, folder, name):
    return ytqa.Library(folder, store=database, embedder=WordHashEmbedder(), user=name)


@pytest.fixture(scope="module")
def servers(database, tmp_path_factory, embedder):
    """The shelf stored, then two app processes on it and Chromium: (first URL, second URL, browser)."""
    folder = tmp_path_factory.mktemp("people")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("YTQA_GROUPS", GROUPS)
        for name, video in ((ANA, ANAS), (BOB, BOBS), (DAN, DANS)):
            library = as_person(database, folder, name)
            library.index(video, transcript_file=talk(folder, video))
            library.store.close()
        for name, video, group in ((BOB, BOBS, "physics"), (DAN, DANS, None)):
            library = as_person(database, folder, name)
            library.access.share(video, group=group)
            library.store.close()
    settings = {"YTQA_STORE": database, "YTQA_GROUPS": GROUPS}
    with oidc.run_server_in_thread() as provider, \
            serving_with_sign_in(folder, provider, {**settings, "YTQA_DATA_DIR": str(folder / "one")}) as one, \
            serving_with_sign_in(folder, provider, {**settings, "YTQA_DATA_DIR": str(folder / "two")}) as two, \
            chromium() as browser:
        yield one, two, browser, folder, database


@pytest.fixture
def visitors(servers):
    """``visit(server, who, size)``: a page of that server, signed in as ``who`` in a context of
    its own, its library in view; every page's console errors fail the test at the end."""
    one, two, browser, _, _ = servers
    contexts, errors = [], []

    def visit(url, who, size, before=None):
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        contexts.append(context)
        # The provider's sign-in form takes its style sheet from a CDN; offline here, it is empty.
        context.route("https://cdn.jsdelivr.net/**", lambda r: r.fulfill(status=200, content_type="text/css", body=""))
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        if before is not None:
            before(page)
        sign_in(page, url, who)
        library_in_view(page)
        return page

    yield visit
    for context in contexts:
        context.close()
    assert errors == []


def library_in_view(page):
    if page.viewport_size["width"] < 640 and page.get_by_test_id("stExpandSidebarButton").is_visible():
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for(timeout=60_000)
    page.locator(f".st-key-video-{DANS}").wait_for(timeout=60_000)  # everyone's: in every list
    # ... but not drawn last (the store lists by id, and in the C collation "X..." comes before
    # "d..."): the run that drew it has ended, the whole list drawn.
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(timeout=60_000)
    time.sleep(1)


def listed(page):
    text = page.get_by_test_id("stSidebar").inner_text()
    return sorted(v for v in (ANAS, BOBS, DANS, NEW) if v in text)


def deletable(page):
    return sorted(v for v in (ANAS, BOBS, DANS, NEW)
                  if page.locator(f".st-key-video-{v}").get_by_role("button", name="Delete").count())


def test_a_crafted_request_to_delete_another_persons_video_is_refused(servers, visitors):
    one, two, _, folder, database = servers
    forgery = Forgery(ANAS, DANS)
    ana = visitors(one, ANA, WIDE, before=lambda page: page.route_web_socket(re.compile(r"/_stcore/stream"),
                                                                            forgery.route))
    assert DANS in listed(ana) and deletable(ana) == [ANAS]  # dan's: seen, no Delete offered
    forgery.armed = True
    for _ in range(3):  # a click that lands while the page reruns sends nothing: ask again
        yes = ana.get_by_role("button", name="Yes, delete")
        if not yes.is_visible():
            ana.locator(f".st-key-video-{ANAS}").get_by_role("button", name="Delete").click()
            yes.wait_for(timeout=30_000)
        yes.click()
        deadline = time.time() + 15
        while not forgery.sent and time.time() < deadline:
            time.sleep(0.1)
        if forgery.sent:
            break
    assert forgery.unforgeable == [] and forgery.sent and forgery.sent[0].endswith(f"confirm-delete-{DANS}")
    time.sleep(3)  # the server's answer to the forged request
    everyone = ytqa.Library(folder, store=database, embedder=WordHashEmbedder())
    try:
        assert {ANAS, DANS} <= set(everyone.store.video_ids())
        assert [h.person for h in everyone.access.holdings([DANS])] == [DAN]
    finally:
        everyone.store.close()
    assert DANS in listed(visitors(two, ERIN, PHONE))


def test_each_person_sees_their_own_their_groups_and_everyones_videos_on_either_server(servers, visitors):
    one, two, _, _, _ = servers
    ana, bob = visitors(one, ANA, WIDE), visitors(two, BOB, PHONE)
    carol, erin = visitors(one, CAROL, PHONE), visitors(two, ERIN, WIDE)
    assert listed(ana) == sorted([ANAS, DANS]) and deletable(ana) == [ANAS]
    assert listed(bob) == sorted([BOBS, DANS]) and deletable(bob) == [BOBS]
    assert listed(carol) == sorted([BOBS, DANS]) and deletable(carol) == []  # her group's: not hers
    assert listed(erin) == [DANS] and deletable(erin) == []


def test_a_video_added_through_one_server_and_shared_with_a_group_is_seen_through_the_other(servers, visitors):
    one, two, _, folder, database = servers
    bob = visitors(two, BOB, PHONE)
    bob.get_by_test_id("stSidebarCollapseButton").locator("button").click()
    bob.get_by_text("Upload subtitles").click()
    subtitles = talk(folder, NEW, planted="The falconer fed the owl.")
    bob.locator("input[type=file]").set_input_files(str(subtitles))
    uploaded(bob, subtitles.name)
    bob.get_by_label("YouTube link or video id").fill(f"https://youtu.be/{NEW}")
    bob.get_by_label("YouTube link or video id").press("Enter")
    bob.get_by_role("heading", name=NEW).wait_for(timeout=120_000)
    library_in_view(bob)
    group = bob.locator(f".st-key-video-{NEW}").get_by_label("Shared with a group")
    group.fill("chemistry")
    group.press("Enter")
    bob.get_by_text("There is no group called 'chemistry' (the groups are physics)").wait_for(timeout=30_000)
    expect(group).to_have_value("", timeout=10_000)  # refused: the box says what is stored
    group.fill("physics")
    group.press("Enter")
    shared_with(database, folder, NEW, "physics")
    carol, erin = visitors(one, CAROL, WIDE), visitors(one, ERIN, PHONE)
    assert NEW in listed(carol) and NEW not in listed(erin)


def shared_with(database, folder, video, group):
    """Waits (30 s at most) until the store says ``video`` is shared with ``group``."""
    library = ytqa.Library(folder, store=database, embedder=WordHashEmbedder())
    deadline = time.time() + 30
    try:
        while [h.group for h in library.access.holdings([video])] != [group]:
            assert time.time() < deadline, f"{video} was not shared with {group}"
            time.sleep(0.3)
    finally:
        library.store.close()


class Forgery:
    """Between ana's page and its server (the app's websocket): once armed, her click on Yes
    for her own video is rewritten into the request for another's, the widget's id forged
    exactly as Streamlit computes it (checked against her own button's)."""

    def __init__(self, mine: str, theirs: str):
        self.mine, self.theirs, self.armed, self.sent, self.unforgeable = mine, theirs, False, [], []

    def route(self, ws) -> None:
        server = ws.connect_to_server()

        def outgoing(message):
            pattern = rb"\$\$ID-[0-9a-f]{32}-confirm-delete-" + re.escape(self.mine.encode())
            if self.armed and isinstance(message, bytes) and (found := re.search(pattern, message)):
                forged = self.forged(found.group(0).decode())
                message = message.replace(found.group(0), forged.encode())  # as long: the frame holds
                self.sent.append(forged)
            server.send(message)

        ws.on_message(outgoing)
        server.on_message(lambda message: ws.send(message))

    def forged(self, original: str) -> str:
        from streamlit.elements.lib.utils import _compute_element_id
        from streamlit.util import calc_hash

        for script in {str(ROOT / "app.py"), os.path.realpath(ROOT / "app.py")}:
            page = calc_hash(script)
            if _compute_element_id("button", f"confirm-delete-{self.mine}", active_script_hash=page) == original:
                return _compute_element_id("button", f"confirm-delete-{self.theirs}", active_script_hash=page)
        self.unforgeable.append(original)
        return original
