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
    """One ONNX export for the whole run, wherever a test keeps its data."""
    path = tmp_path_factory.mktemp("models")
    os.environ["YTQA_MODEL_CACHE"] = str(path)
    return path


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
