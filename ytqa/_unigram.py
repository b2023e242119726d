"""A question's token ids from a Unigram tokenizer without building the whole tokenizer.

``tokenizers`` builds a trie of every piece of a Unigram vocabulary when it loads one:
for e5's 250,002 pieces that is about 0.6 s of one core, more than the rest of e5's load,
spent again in every new process (``ytqa ask``). A question needs only the pieces inside
it. So the vocabulary is kept once in a compact file beside the model's export (its
scores, then its pieces), read in a few hundredths of a second, and a question is cut by
the same search as tokenizers' (``models/unigram/model.rs``: ``encode_optimized``, then
``tokenize``), after tokenizers' own normaliser and pre-tokeniser (built from the
tokenizer's file without its vocabulary, in milliseconds) and before its template.
A text it cannot promise to cut the same way (a special token written out in it, or
longer than the model reads) gets None: the caller uses the whole tokenizer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from . import _storage as storage

#: The compact file, in the export folder; part of its name is its layout's version.
FILE = "unigram-v1.bin"
#: tokenizers' penalty below the lowest piece score for a character no piece covers.
_UNK_PENALTY = 10.0


@dataclass(frozen=True)
class Encoding:
    """What the embedding code reads of tokenizers' ``Encoding``."""

    ids: list
    type_ids: list


class QuestionTokenizer:
    """Token ids of short texts, exactly as the tokenizer file's whole tokenizer gives them."""

    def __init__(self, header: dict, scores: list, pieces: list):
        from tokenizers import Tokenizer

        skeleton = dict(header["skeleton"])
        # The pipeline around the model, with a one-piece model standing in for the vocabulary.
        skeleton["model"] = {**skeleton["model"], "vocab": [[pieces[header["unk_id"]], 0.0]], "unk_id": 0}
        pipeline = Tokenizer.from_str(json.dumps(skeleton))
        self._normalizer, self._pre_tokenizer = pipeline.normalizer, pipeline.pre_tokenizer
        self._ids = dict(zip(pieces, range(len(pieces))))  # a piece twice: its last id, as tokenizers
        self._scores, self._unk_id = scores, header["unk_id"]
        self._unk_score = min(scores) - _UNK_PENALTY
        self._longest = max(map(len, pieces))
        self._added = header["added"]
        self._template = header["template"]

    def encode(self, text: str, max_length: int) -> Encoding | None:
        """The ids and type ids the whole tokenizer (truncating at ``max_length``) gives,
        or None where this cannot promise the same."""
        normalized = self._normalizer.normalize_str(text) if self._normalizer else text
        if any(token in text or token in normalized for token in self._added):
            return None  # tokenizers splits special tokens off first
        words = ([w for w, _ in self._pre_tokenizer.pre_tokenize_str(normalized)] if self._pre_tokenizer
                 else [normalized])
        sequence = [i for word in words for i in self._cut(word)]
        ids, type_ids = [], []
        for kind, value, type_id in self._template:
            part = sequence if kind == "sequence" else value
            ids += part
            type_ids += [type_id] * len(part)
        if len(ids) > max_length:
            return None
        return Encoding(ids, type_ids)

    def _cut(self, word: str) -> list[int]:
        """The best segmentation of one pre-token (Viterbi over its substrings that are
        pieces, ties to the first found), unknown characters in a row fused into one."""
        if not word:
            return []
        size, ids, scores = len(word), self._ids, self._scores
        best = [0.0] * (size + 1)
        start_of: list = [None] * (size + 1)
        id_of = [0] * (size + 1)
        for start in range(size):
            here, single = best[start], False
            for end in range(start + 1, min(size, start + self._longest) + 1):
                piece = ids.get(word[start:end])
                if piece is None:
                    continue
                score = scores[piece] + here
                if start_of[end] is None or score > best[end]:
                    best[end], start_of[end], id_of[end] = score, start, piece
                single = single or end == start + 1
            if not single:
                score = self._unk_score + here
                if start_of[start + 1] is None or score > best[start + 1]:
                    best[start + 1], start_of[start + 1], id_of[start + 1] = score, start, self._unk_id
        return self._backtrack(word, start_of, id_of)

    def _backtrack(self, word: str, start_of: list, id_of: list) -> list[int]:
        texts, unknown, end = [], [], len(word)
        while end > 0:
            start = start_of[end]
            if id_of[end] == self._unk_id:
                unknown.append(word[start:end])
            else:
                if unknown:
                    texts.append("".join(reversed(unknown)))
                    unknown = []
                texts.append(word[start:end])
            end = start
        if unknown:
            texts.append("".join(reversed(unknown)))
        return [self._ids.get(t, self._unk_id) for t in reversed(texts)]


def _layout(tokenizer: dict) -> dict | None:
    """The header of the compact file for a tokenizer file's contents (None: not one it serves)."""
    model, post = tokenizer.get("model") or {}, tokenizer.get("post_processor")
    if model.get("type") != "Unigram" or model.get("unk_id") is None or model.get("byte_fallback"):
        return None
    if not post or post.get("type") != "TemplateProcessing":
        return None
    template = []
    for item in post["single"]:
        if "Sequence" in item:
            template.append(("sequence", None, item["Sequence"]["type_id"]))
        else:
            token = item["SpecialToken"]
            template.append(("special", post["special_tokens"][token["id"]]["ids"], token["type_id"]))
    skeleton = {key: value for key, value in tokenizer.items() if key not in ("model", "added_tokens")}
    skeleton["model"] = {key: value for key, value in model.items() if key != "vocab"}
    return {"unk_id": model["unk_id"], "added": [t["content"] for t in tokenizer.get("added_tokens") or []],
            "template": template, "skeleton": skeleton}


def write(tokenizer_file: Path, path: Path) -> bool:
    """Write the compact file for ``tokenizer_file`` at ``path`` (atomically); False when
    the tokenizer is not one this module serves."""
    import numpy as np

    tokenizer = json.loads(Path(tokenizer_file).read_bytes())
    header = _layout(tokenizer)
    vocab = tokenizer["model"]["vocab"]
    pieces = [piece for piece, _ in vocab]
    if header is None or any("\n" in piece for piece in pieces):
        return False
    body = np.asarray([score for _, score in vocab], dtype="<f8").tobytes() + "\n".join(pieces).encode()
    stat = Path(tokenizer_file).stat()
    header.update(count=len(pieces), source=[stat.st_size, stat.st_mtime_ns],
                  sha256=hashlib.sha256(body).hexdigest())
    storage.write_atomic(path, json.dumps(header).encode() + b"\n" + body)
    return True


def read(tokenizer_file: Path, path: Path) -> QuestionTokenizer | None:
    """The question tokenizer from the compact file, or None when it is missing, damaged,
    or was made from another tokenizer file than this one."""
    import numpy as np

    try:
        data = Path(path).read_bytes()
        stat = Path(tokenizer_file).stat()
        cut = data.index(b"\n")
        header, body = json.loads(data[:cut]), memoryview(data)[cut + 1:]
        if header["source"] != [stat.st_size, stat.st_mtime_ns] or hashlib.sha256(body).hexdigest() != header["sha256"]:
            return None
        count = header["count"]
        scores = np.frombuffer(body, "<f8", count).tolist()
        pieces = bytes(body[8 * count:]).decode().split("\n")
        if len(pieces) != count:
            return None
        return QuestionTokenizer(header, scores, pieces)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
