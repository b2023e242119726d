"""Backends: same vectors from ONNX as from PyTorch, variants never mixed, no torch on the query path."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ytqa
from ytqa import Library
from conftest import ROOT, write_json_transcript

TEXTS = ["How do I invalidate a cache?", "Browsers keep copies of pages on disk.",
         "Mi gato duerme sobre el teclado."]


@pytest.fixture(scope="module")
def torch_vectors():
    return ytqa.Embedder("minilm", "torch").embed_documents(TEXTS)


def test_onnx_gives_the_same_vectors_as_pytorch(torch_vectors, model_cache):
    onnx = ytqa.Embedder("minilm", "onnx").embed_documents(TEXTS)
    cosine = (onnx * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.9999


def test_int8_vectors_are_close_but_not_equal(torch_vectors, model_cache):
    int8 = ytqa.Embedder("minilm", "onnx-int8").embed_documents(TEXTS)
    cosine = (int8 * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.95
    assert not np.allclose(int8, torch_vectors, atol=1e-4)


def test_the_onnx_export_is_made_once_and_reused(model_cache):
    embedder = ytqa.Embedder("minilm", "onnx")
    embedder.load()
    exported = embedder.onnx_folder / "model.onnx"
    stamp = exported.stat().st_mtime_ns
    ytqa.Embedder("minilm", "onnx").load()
    assert exported.stat().st_mtime_ns == stamp


def copied_export(tmp_path, monkeypatch):
    """The session's MiniLM export, and a copy of its folder in a model cache of this test's own."""
    import shutil

    made = ytqa.Embedder("minilm", "onnx")
    made.load()
    monkeypatch.setenv("YTQA_MODEL_CACHE", str(tmp_path / "models"))
    copy = ytqa.Embedder("minilm", "onnx").onnx_folder
    shutil.copytree(made.onnx_folder, copy)
    return made, copy


def test_a_truncated_export_is_noticed_and_made_again(tmp_path, model_cache, monkeypatch):
    made, copy = copied_export(tmp_path, monkeypatch)
    exported = copy / "model.onnx"
    size = exported.stat().st_size
    with open(exported, "r+b") as handle:  # as a full disk or a killed copy leaves it
        handle.truncate(size // 2)
    vectors = ytqa.Embedder("minilm", "onnx").embed_documents(TEXTS)
    assert exported.stat().st_size == size
    assert np.allclose(vectors, made.embed_documents(TEXTS), atol=1e-5)
    assert not [p.name for p in copy.iterdir() if p.name.endswith(".tmp")]


def test_an_older_export_is_removed_once_the_current_one_is_in_place(model_cache):
    embedder = ytqa.Embedder("minilm", "onnx")
    stale = model_cache / f"{embedder.model_tag}-onnx"
    stale.mkdir(exist_ok=True)
    (stale / "model.onnx").write_bytes(b"an export made by an earlier ytqa")
    embedder.load()
    assert not stale.exists()
    assert (embedder.onnx_folder / "model.onnx").exists()


def test_making_the_int8_model_leaves_logging_quiet(tmp_path, model_cache, monkeypatch):
    import logging
    import shutil

    fp32 = ytqa.Embedder("minilm", "onnx")
    fp32.load()
    monkeypatch.setenv("YTQA_MODEL_CACHE", str(tmp_path / "models"))
    fresh = ytqa.Embedder("minilm", "onnx-int8").onnx_folder
    fresh.mkdir(parents=True)
    shutil.copy(fp32.onnx_folder / "model.onnx", fresh)  # quantise only
    shutil.copy(fp32.onnx_folder / "checksums.json", fresh)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a plain `ytqa` process
    ytqa.Embedder("minilm", "onnx-int8").load()
    assert (fresh / "model-int8.onnx").exists()
    # onnxruntime's quantiser calls logging.basicConfig: every library's debug lines would follow.
    assert logging.getLogger().handlers == []


def test_each_backend_gets_its_own_index(tmp_path, model_cache):
    talk = write_json_transcript(tmp_path / "t.json", [("Caching makes pages fast.", 0, 5),
                                                      ("Invalidation is the hard part.", 30, 5)])
    for backend in ("onnx", "onnx-int8"):
        Library(tmp_path / "d", backend=backend).index("dQw4w9WgXcQ", transcript_file=talk)
    folders = list((tmp_path / "d" / "videos" / "dQw4w9WgXcQ" / "indexes").iterdir())
    keys = {json.loads((f / "meta.json").read_text())["model_key"] for f in folders}
    assert len(folders) == 2 and {k.rsplit("-", 1)[-1] for k in keys} == {"onnx", "int8"}


def test_asking_an_indexed_video_never_imports_torch(tmp_path, model_cache):
    talk = write_json_transcript(tmp_path / "t.json", [("Caching makes pages fast.", 0, 5),
                                                      ("Invalidation is the hard part.", 30, 5)])
    Library(tmp_path / "d").index("dQw4w9WgXcQ", transcript_file=talk)
    code = (
        "import sys, ytqa\n"
        f"moments = ytqa.Library({str(tmp_path / 'd')!r}).ask('dQw4w9WgXcQ', 'what is hard?')\n"
        "assert moments and moments[0].start == 30.0, moments\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ytqa.ModelUnavailable, match="torch, onnx, onnx-int8"):
        ytqa.Embedder("minilm", "tensorrt")


def test_a_hub_model_without_a_local_folder_runs_on_pytorch_by_default(monkeypatch):
    monkeypatch.delenv("YTQA_BACKEND", raising=False)
    assert ytqa.Embedder("multi-qa-mpnet").backend == "torch"
    assert ytqa.Embedder("minilm").backend == "onnx"


def test_a_hub_model_that_cannot_be_downloaded_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ytqa.ModelUnavailable) as caught:
        ytqa.Embedder("sentence-transformers/no-such-model-here").load()
    assert "packaged default" in str(caught.value)


def test_a_matrix_of_4bit_blocks_is_stored_as_them_bit_for_bit():
    from ytqa._onnx import as_4bit

    rng = np.random.default_rng(0)
    q = rng.integers(0, 16, size=(6, 64)).astype("float32")
    q[:, ::32] = 0  # each block's largest value is -8 * its scale, as in Q4_0
    scales = rng.normal(size=(6, 2)).astype("float16").astype("float32")
    matrix = (q - 8) * np.repeat(scales, 32, axis=1)
    packed, found = as_4bit(matrix)
    unpacked = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(6, 64)
    assert np.array_equal(unpacked, q) and np.array_equal(found, scales)


def test_a_matrix_that_is_not_4bit_is_left_alone():
    from ytqa._onnx import as_4bit

    rng = np.random.default_rng(0)
    assert as_4bit(rng.normal(size=(6, 64)).astype("float32")) is None
    assert as_4bit(np.ones((6, 48), "float32")) is None  # rows not in blocks of 32


def test_minilms_export_has_no_4bit_weights_to_keep(tmp_path, embedder):
    import onnx

    from ytqa import _onnx

    _onnx._compact(embedder.onnx_folder / "model.onnx", tmp_path / "model-q4.onnx")
    graph = onnx.load(str(tmp_path / "model-q4.onnx")).graph
    assert not [n for n in graph.node if n.domain == "com.microsoft"]
    assert Path(embedder.load().session._model_path).name == "model.onnx"


def test_an_export_that_onnxruntime_refuses_is_made_again_though_its_checksum_holds(tmp_path, model_cache,
                                                                                    monkeypatch):
    from ytqa import _onnx

    made, copy = copied_export(tmp_path, monkeypatch)
    exported = copy / "model.onnx"
    exported.write_bytes(b"not an ONNX graph, recorded as if it were one")  # as an older writer could leave it
    _onnx._record(exported)
    vectors = ytqa.Embedder("minilm", "onnx").embed_documents(TEXTS)
    assert np.allclose(vectors, made.embed_documents(TEXTS), atol=1e-5)
    assert _onnx._intact(exported) and exported.stat().st_size > 1_000_000


def test_an_export_damaged_at_its_recorded_size_is_never_used_and_is_made_again(tmp_path, model_cache,
                                                                               monkeypatch):
    """Weights damaged in place, the file at its recorded size (onnxruntime would load them
    happily), fail the export's checksum: it is made again and never gives a vector."""
    from ytqa import _onnx

    made, copy = copied_export(tmp_path, monkeypatch)
    exported = copy / "model.onnx"
    data = bytearray(exported.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = bytes(4096)  # as a bad sector leaves it
    exported.write_bytes(bytes(data))
    assert not _onnx._intact(exported) and exported.stat().st_size == len(data)
    vectors = ytqa.Embedder("minilm", "onnx").embed_documents(TEXTS)
    assert np.allclose(vectors, made.embed_documents(TEXTS), atol=1e-5)
    assert _onnx._intact(exported)
