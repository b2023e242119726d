"""Model names and exports: what a visitor may choose, and exports that heal or say why not."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ytqa
from ytqa import ModelUnavailable, allowed_model, resolve_model
from ytqa._config import Config
from conftest import ROOT, write_json_transcript

VIDEO = "dQw4w9WgXcQ"


def packaged_minilm() -> Path:
    return Path(resolve_model("minilm").location)


# --- what a visitor of the app may choose -----------------------------------------


@pytest.mark.parametrize("name, chosen", [
    ("minilm", "minilm"), ("", "minilm"), ("  ", "minilm"), ("e5", "e5"),
    ("sentence-transformers/all-MiniLM-L6-v2", "minilm"),
    ("sentence-transformers/all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"),
])
def test_a_visitor_may_choose_a_known_name_or_a_hub_id(name, chosen, monkeypatch):
    monkeypatch.delenv("YTQA_MODEL_FOLDERS", raising=False)
    assert allowed_model(name) == chosen


def test_a_visitor_naming_server_folders_gets_the_same_answer_whether_they_exist_or_not(tmp_path, monkeypatch):
    monkeypatch.delenv("YTQA_MODEL_FOLDERS", raising=False)
    answers = set()
    for name in ["~/.ssh", "/etc", "/no/such/folder", str(packaged_minilm()), "../../etc", str(tmp_path)]:
        with pytest.raises(ModelUnavailable) as caught:
            allowed_model(name)
        message = str(caught.value)
        assert "not a model this server offers" in message and "YTQA_MODEL_FOLDERS" in message
        answers.add(re.sub(r"model '.*?': it", "model NAME: it", message))
    assert len(answers) == 1


def test_a_rejected_model_name_imports_nothing_and_writes_nothing(tmp_path):
    code = ("import sys, ytqa\n"
            "try:\n    ytqa.allowed_model(sys.argv[1])\nexcept ytqa.ModelUnavailable:\n    pass\n"
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'onnxruntime') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(Path.home() / ".ssh")], capture_output=True, text=True,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT), YTQA_DATA_DIR="data"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []


def test_a_folder_the_owner_lists_is_offered_by_its_path_or_its_name(monkeypatch):
    folder = packaged_minilm()
    monkeypatch.setenv("YTQA_MODEL_FOLDERS", f"/srv/none{os.pathsep}{folder}")
    assert allowed_model(str(folder)) == str(folder.resolve())
    assert allowed_model(folder.name) == str(folder.resolve())
    with pytest.raises(ModelUnavailable, match=rf"Choose one of minilm, multi-qa-mpnet, e5, none, {folder.name}"):
        allowed_model(str(folder.parent))


def test_the_model_folders_setting_is_read_with_the_rest_of_the_environment():
    config = Config.from_env({"YTQA_MODEL_FOLDERS": f"/srv/a{os.pathsep} {os.pathsep}/srv/b "})
    assert config.model_folders == ("/srv/a", "/srv/b")


def test_the_command_line_still_takes_any_model_folder():
    assert resolve_model(str(packaged_minilm())).location == str(packaged_minilm().resolve())


# --- names that are not models ---------------------------------------------------


@pytest.mark.parametrize("name", [" ", ""])
def test_a_blank_model_name_is_the_default_never_the_current_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_model(name).name == "minilm"
    assert Config.from_env({"YTQA_MODEL": name}).model is None


def test_a_folder_that_holds_no_model_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    monkeypatch.setenv("YTQA_MODEL_CACHE", str(tmp_path / "models"))
    with pytest.raises(ModelUnavailable, match="the folder holds no model"):
        ytqa.Embedder(str(empty))
    assert not (tmp_path / "models").exists()


def test_a_failed_export_leaves_no_empty_model_folder(tmp_path, monkeypatch):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text('{"no": "model_type"}')
    monkeypatch.setenv("YTQA_MODEL_CACHE", str(tmp_path / "models"))
    embedder = ytqa.Embedder(str(broken), "onnx")
    with pytest.raises(ModelUnavailable, match="ONNX export or load failed"):
        embedder.load()
    assert list((tmp_path / "models").iterdir()) == []


def test_an_unknown_backend_in_the_environment_is_named_as_a_setting(monkeypatch):
    monkeypatch.setenv("YTQA_BACKEND", "tensorrt")
    with pytest.raises(ytqa.YtqaError) as caught:
        ytqa.Embedder("minilm")
    message = str(caught.value)
    assert message.startswith("YTQA_BACKEND is set to 'tensorrt'") and "torch, onnx, onnx-int8" in message
    assert "packaged default" not in message


# --- exports that cannot be rebuilt say why --------------------------------------


def test_a_damaged_export_that_cannot_be_rebuilt_names_the_read_only_folder(tmp_path, model_cache, embedder):
    import shutil

    if os.geteuid() != 0 or not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode:
        pytest.skip("a read-only mount needs root and a mount namespace (unshare -m)")
    cache = tmp_path / "models"
    shutil.copytree(embedder.onnx_folder, cache / embedder.onnx_folder.name)
    exported = cache / embedder.onnx_folder.name / "model.onnx"
    with open(exported, "r+b") as handle:
        handle.truncate(exported.stat().st_size // 2)
    talk = write_json_transcript(tmp_path / "talk.json", [("The hardest part of caching is invalidation.", 0, 5)])
    command = (f"mount --bind {cache} {cache} && mount -o remount,ro,bind {cache} {cache} && "
               f"{sys.executable} -m ytqa index {VIDEO} --transcript {talk} --data-dir {tmp_path / 'd'} -q")
    done = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), YTQA_MODEL_CACHE=str(cache)), timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "read-only file system" in done.stderr and "YTQA_MODEL_CACHE" in done.stderr
    assert "packaged default" not in done.stderr


def test_an_export_stopped_midway_leaves_no_temporary_files(tmp_path):
    cache = tmp_path / "models"
    talk = write_json_transcript(tmp_path / "talk.json", [("The hardest part of caching is invalidation.", 0, 5)])
    process = subprocess.Popen([sys.executable, "-m", "ytqa", "index", VIDEO, "--transcript", str(talk),
                                "--data-dir", str(tmp_path / "d"), "-q"], cwd=ROOT, stderr=subprocess.PIPE,
                               text=True, env=dict(os.environ, PYTHONPATH=str(ROOT), YTQA_MODEL_CACHE=str(cache)))
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and not list(cache.glob("*/.*.tmp")):
        time.sleep(0.02)
    assert list(cache.glob("*/.*.tmp")), "the export was not caught mid-way"
    process.terminate()
    err = process.stderr.read()
    assert process.wait(60) == 143 and "stopped by SIGTERM" in err
    assert not list(cache.rglob("*.tmp"))
    assert not [folder for folder in cache.iterdir() if folder.is_dir()]  # nothing finished: no folder


def test_a_message_for_visitors_loses_this_machines_paths():
    message = ("Unrecognized model in /root/.cache/huggingface/hub/models--x/snapshots/abc. Should have a "
               "`model_type` key; see '/srv/ytqa/data/models' or ~/.ssh/id_rsa, https://huggingface.co/x/y")
    assert ytqa.without_paths(message) == (
        "Unrecognized model in … Should have a `model_type` key; see '…' or …, https://huggingface.co/x/y")


def test_an_export_onto_a_full_disk_names_the_full_disk_and_leaves_nothing(tmp_path):
    import shutil

    if os.geteuid() != 0 or not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode:
        pytest.skip("a small full file system needs root and a mount namespace (unshare -m)")
    cache = tmp_path / "models"
    cache.mkdir()
    talk = write_json_transcript(tmp_path / "talk.json", [("The hardest part of caching is invalidation.", 0, 5)])
    command = (f"mount -t tmpfs -o size=2m tmpfs {cache} && {sys.executable} -m ytqa index {VIDEO} "
               f"--transcript {talk} --data-dir {tmp_path / 'd'} -q; echo rc=$?; ls -A {cache}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), YTQA_MODEL_CACHE=str(cache)), timeout=300)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "no space left on the device" in done.stderr and "YTQA_MODEL_CACHE" in done.stderr
    assert done.stdout.strip() == "rc=1"  # and nothing left in the cache
