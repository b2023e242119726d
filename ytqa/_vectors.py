"""The FAISS vector store: every vector of the file store goes through this module.

- One video's index: its chunk vectors in LangChain's ``FAISS`` store (an exact
  inner-product index, row i = chunk i), its sentence vectors beside it; saved as
  FAISS's own index file and a ``.npy`` read with ``allow_pickle=False``. We never use
  ``FAISS.load_local``: it unpickles, and a data folder copied from someone else must
  not be able to run code.
- The library: the chunk vectors of many videos in one FAISS index, searched at once.
  Exact (flat) while it is small, an inverted-file index (IVF) beyond ``FLAT_LIMIT``
  vectors; rows are grouped by index, so a search over some videos only is an
  ``IDSelector`` over their rows (or an exact search over just those rows when few).
  LangChain's FAISS store filters in Python after searching, so the library index
  calls FAISS directly.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

INDEX_FILE = "vectors.faiss"
SENTENCES_FILE = "sentences.npy"
#: Up to this many vectors, the library index is exact.
FLAT_LIMIT = 50_000
#: Beyond it, a question looks at the videos whose mean vector is nearest it, as many as
#: hold about this many vectors (recall@10 0.97 at 10,000 videos, in about 10 ms).
PROBE_VECTORS = 65_536
#: A search over some videos holding at most this many vectors is exact over their rows.
EXACT_SUBSET = 50_000
LIBRARY_FORMAT = 1


def _no_embeddings():
    """Stand-in embedding function: we always search by vector, never by text."""
    from langchain_core.embeddings import Embeddings

    class SearchByVectorOnly(Embeddings):
        def embed_documents(self, texts):  # pragma: no cover - never called
            raise RuntimeError("ytqa searches by vector")

        def embed_query(self, text):  # pragma: no cover - never called
            raise RuntimeError("ytqa searches by vector")

    return SearchByVectorOnly()


def preload() -> None:
    """Import FAISS and LangChain's store ahead of the first search (about 0.5 s)."""
    import faiss  # noqa: F401
    from langchain_community.docstore.in_memory import InMemoryDocstore  # noqa: F401
    from langchain_community.vectorstores import FAISS  # noqa: F401


class VectorIndex:
    """One index's chunk vectors in LangChain's FAISS store (made on the first search, so a
    new process reads an index while LangChain is still being imported beside it)."""

    def __init__(self, index):
        import threading

        self._index = index
        self._langchain = None
        self._lock = threading.Lock()

    @classmethod
    def build(cls, vectors: np.ndarray) -> "VectorIndex":
        """An exact inner-product index: transcripts are small, so exact search is fast."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype="float32")
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, path: Path, count: int) -> "VectorIndex":
        """Read FAISS's own file; the docstore is rebuilt from chunk numbers, not unpickled."""
        import faiss

        index = faiss.read_index(str(path))
        if index.ntotal != count:
            raise ValueError(f"index holds {index.ntotal} vectors, expected {count}")
        return cls(index)

    @classmethod
    def from_bytes(cls, data: bytes, count: int) -> "VectorIndex":
        """FAISS's own file format, from bytes already read (and checked) by the store."""
        return cls(_index_from_bytes(data, count))

    @property
    def _store(self):
        with self._lock:
            if self._langchain is None:
                self._langchain = _wrap(self._index)
            return self._langchain

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimensions(self) -> int:
        return int(self._index.d)

    def vectors(self) -> np.ndarray:
        return self._index.reconstruct_n(0, self.size)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest chunks as (chunk number, inner product), best first."""
        k = min(k, self.size)
        if k <= 0:
            return []
        hits = self._store.similarity_search_with_score_by_vector(vector.tolist(), k=k)
        return [(int(doc.metadata["chunk"]), float(score)) for doc, score in hits]


def _wrap(index):
    """LangChain's FAISS store over a FAISS index whose row i is chunk i."""
    from langchain_community.docstore.in_memory import InMemoryDocstore
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy
    from langchain_core.documents import Document

    ids = [str(i) for i in range(index.ntotal)]
    return FAISS(
        embedding_function=_no_embeddings(),
        index=index,
        docstore=InMemoryDocstore(
            {i: Document(page_content=i, metadata={"chunk": int(i)}, id=i) for i in ids}
        ),
        index_to_docstore_id=dict(enumerate(ids)),
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )


def inner_products(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each row's inner product with the query: the model's own similarity (cosine for a
    normalising model), for vectors held outside an index (a judge's passages)."""
    return np.asarray(vectors, dtype="float32") @ np.asarray(query, dtype="float32")


class FaissIndexVectors:
    """One video's vectors in memory: ``IndexVectors`` for the file store."""

    def __init__(self, chunks: VectorIndex, sentences: np.ndarray | None):
        self._chunks = chunks
        self._sentences = sentences

    @classmethod
    def build(cls, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray | None) -> "FaissIndexVectors":
        return cls(VectorIndex.build(chunk_vectors), sentence_vectors)

    @property
    def size(self) -> int:
        return self._chunks.size

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        return self._chunks.search(query, k)

    def sentence_scores(self, query: np.ndarray) -> np.ndarray | None:
        if self._sentences is None or not len(self._sentences):
            return None
        return self._sentences @ query

    def sentence_vectors(self) -> np.ndarray | None:
        return self._sentences

    @property
    def nbytes(self) -> int:
        """Memory its vectors take (the open-index cache is bounded by it)."""
        size = self._chunks.size * self._chunks.dimensions * 4
        return size + (int(self._sentences.nbytes) if self._sentences is not None else 0)

    def chunk_vectors(self) -> np.ndarray:
        return self._chunks.vectors()

    def save(self, folder: Path) -> list[str]:
        """Write the vector files into ``folder``; the names written."""
        self._chunks.save(folder / INDEX_FILE)
        names = [INDEX_FILE]
        if self._sentences is not None:
            with open(folder / SENTENCES_FILE, "wb") as handle:
                np.save(handle, self._sentences, allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            names.append(SENTENCES_FILE)
        return names

    @classmethod
    def load(cls, folder: Path, chunks: int, sentences: int) -> "FaissIndexVectors":
        index = VectorIndex.load(folder / INDEX_FILE, chunks)
        sentence_vectors = None
        if (folder / SENTENCES_FILE).exists():
            sentence_vectors = np.load(folder / SENTENCES_FILE, allow_pickle=False)
            if sentence_vectors.ndim != 2 or sentence_vectors.shape[0] != sentences:
                raise ValueError("sentence vectors do not match the sentences")
        return cls(index, sentence_vectors)


    @classmethod
    def from_files(cls, files: dict, chunks: int, sentences: int) -> "FaissIndexVectors":
        """From the bytes of the files the index lists (read once, checked by the store):
        a file it lists is always used, so a missing one is never "fewer vectors"."""
        import io

        index = VectorIndex.from_bytes(files[INDEX_FILE], chunks)
        sentence_vectors = None
        if SENTENCES_FILE in files:
            sentence_vectors = np.load(io.BytesIO(files[SENTENCES_FILE]), allow_pickle=False)
            if sentence_vectors.ndim != 2 or sentence_vectors.shape[0] != sentences \
                    or sentence_vectors.shape[1] != index.dimensions:
                raise ValueError("sentence vectors do not match the sentences")
            if not np.isfinite(sentence_vectors).all():
                raise ValueError("sentence vectors are not finite")
            sentence_vectors = np.ascontiguousarray(sentence_vectors, dtype="float32")
        return cls(index, sentence_vectors)


def _index_from_bytes(data: bytes, count: int):
    import faiss

    if not data:
        raise ValueError("the vectors file is empty")
    index = faiss.deserialize_index(np.frombuffer(data, dtype="uint8").copy())
    if index.ntotal != count:
        raise ValueError(f"index holds {index.ntotal} vectors, expected {count}")
    return index


def chunk_vectors_from(data: bytes, count: int) -> np.ndarray:
    """Only the chunk vectors, from a saved index file's bytes (for the library index)."""
    index = _index_from_bytes(data, count)
    return index.reconstruct_n(0, index.ntotal)


def read_chunk_vectors(folder: Path, count: int) -> np.ndarray:
    """Only the chunk vectors of a saved index (for the library index)."""
    import faiss

    index = faiss.read_index(str(folder / INDEX_FILE))
    if index.ntotal != count:
        raise ValueError(f"index holds {index.ntotal} vectors, expected {count}")
    return index.reconstruct_n(0, index.ntotal)


# --- the library: many videos' chunk vectors in one index --------------------------


@dataclass(frozen=True)
class Member:
    """One index's rows in the library index: [offset, offset + count)."""

    key: str
    video_id: str
    offset: int
    count: int


@contextlib.contextmanager
def _one_thread():
    """One query at a time is fastest on one thread: OpenMP's spinning threads cost more than
    they give (a flat search of 15,000 vectors: 2 ms on one thread, 30 ms on two busy cores)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class LibraryIndex:
    """Chunk vectors of many indexes in one FAISS index, rows grouped by index."""

    def __init__(self, index, members: Sequence[Member], nprobe: int = 0):
        self._index = index
        self.members = list(members)
        self._by_key = {m.key: m for m in self.members}
        self._starts = None
        self.nprobe = nprobe
        self._selector_cache: tuple | None = None

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        return "ivf" if self.nprobe else "flat"

    def keys(self) -> set[str]:
        return set(self._by_key)

    @classmethod
    def build(cls, parts: Iterable[tuple[str, str, np.ndarray]], dim: int,
              flat_limit: int = FLAT_LIMIT, total: int | None = None, count: int | None = None) -> "LibraryIndex":
        """From (key, video id, chunk vectors) parts. With ``total`` (vectors) and ``count``
        (parts) known up front, the parts are read one at a time, never all at once."""
        import faiss

        if total is None:
            parts = list(parts)
            total = sum(len(v) for _, _, v in parts)
            count = len(parts)
        members, offset = [], 0
        if total <= flat_limit:
            index = faiss.IndexFlatIP(dim)
            nprobe = 0
            for key, video_id, vectors in parts:
                index.add(np.ascontiguousarray(vectors, dtype="float32"))
                members.append(Member(key, video_id, offset, len(vectors)))
                offset += len(vectors)
            return cls(index, members)
        # An inverted file whose lists are the indexes themselves: a search looks at the
        # ``nprobe`` videos whose mean vector is nearest the query, then at every vector of
        # those, so building is adding (no training), and a video added or removed is one list.
        if count is None:
            raise ValueError("a library index over the flat limit needs the number of its parts")
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, max(1, count), faiss.METRIC_INNER_PRODUCT)
        index.is_trained = True
        for number, (key, video_id, vectors) in enumerate(parts):
            vectors = np.ascontiguousarray(vectors, dtype="float32")
            centre = vectors.mean(axis=0, keepdims=True)
            centre /= max(float(np.linalg.norm(centre)), 1e-12)
            quantizer.add(centre)
            lists = np.full(len(vectors), number, dtype="int64")
            index.add_core(len(vectors), faiss.swig_ptr(vectors), None, faiss.swig_ptr(lists))
            members.append(Member(key, video_id, offset, len(vectors)))
            offset += len(vectors)
        nprobe = min(max(1, count), max(16, round(PROBE_VECTORS * count / max(1, total))))
        index.nprobe = nprobe
        return cls(index, members, nprobe)

    # --- files ---------------------------------------------------------------

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(folder / "library.faiss"))
        with open(folder / "members.json", "w", encoding="utf-8") as handle:
            json.dump({"format": LIBRARY_FORMAT, "nprobe": self.nprobe,
                       "members": [[m.key, m.video_id, m.count] for m in self.members]}, handle)
            handle.flush()
            os.fsync(handle.fileno())

    @classmethod
    def load(cls, folder: Path) -> "LibraryIndex":
        import faiss

        from ._storage import kind_of, read_limited

        # Plain files only, read to a bound: never a link to a device, never a pickle.
        data = json.loads(read_limited(folder / "members.json", 1 << 30).decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != LIBRARY_FORMAT:
            raise ValueError("an older library index")
        members, offset = [], 0
        for key, video_id, count in data["members"]:
            if not (isinstance(key, str) and isinstance(video_id, str) and type(count) is int and count >= 0):
                raise ValueError("a member of the wrong shape")
            members.append(Member(key, video_id, offset, count))
            offset += count
        if kind_of(folder / "library.faiss") != "file":  # big: read by FAISS itself, a plain file only
            raise ValueError("the library index is not a plain file")
        index = faiss.read_index(str(folder / "library.faiss"))
        if index.ntotal != offset:
            raise ValueError(f"library index holds {index.ntotal} vectors, its members {offset}")
        nprobe = int(data.get("nprobe", 0))
        if nprobe:
            faiss.extract_index_ivf(index).nprobe = nprobe
        return cls(index, members, nprobe)

    # --- search --------------------------------------------------------------

    def rows_of(self, keys: Iterable[str]) -> np.ndarray:
        spans = [self._by_key[k] for k in keys if k in self._by_key]
        if not spans:
            return np.zeros(0, dtype="int64")
        return np.concatenate([np.arange(m.offset, m.offset + m.count, dtype="int64") for m in spans])

    def vectors_of(self, key: str) -> np.ndarray:
        member = self._by_key[key]
        if self.nprobe:
            self._direct_map()
            return self._index.reconstruct_batch(np.arange(member.offset, member.offset + member.count))
        return self._index.reconstruct_n(member.offset, member.count)

    def _direct_map(self) -> None:
        import faiss

        ivf = faiss.extract_index_ivf(self._index)
        if ivf.direct_map.type == faiss.DirectMap.NoMap:
            ivf.make_direct_map()

    def _hits(self, scores, rows, k) -> list[tuple[Member, int, float]]:
        if self._starts is None:
            self._starts = np.array([m.offset for m in self.members], dtype="int64")
        starts, members = self._starts, self.members
        found = []
        for score, row in zip(scores, rows):
            if row < 0:
                continue
            member = members[int(np.searchsorted(starts, row, side="right")) - 1]
            found.append((member, int(row - member.offset), float(score)))
        return found[:k]

    def search(self, query: np.ndarray, k: int, keys: set[str] | None = None) -> list[tuple[Member, int, float]]:
        """(member, chunk number, inner product) best first, over every member or those of ``keys``."""
        import faiss

        query = np.ascontiguousarray(query, dtype="float32").reshape(1, -1)
        if self.size == 0 or k <= 0:
            return []
        with _one_thread():
            return self._search(query, k, keys)

    def _search(self, query: np.ndarray, k: int, keys: set[str] | None) -> list[tuple[Member, int, float]]:
        import faiss

        if keys is not None and len(keys) < len(self._by_key):
            wanted = [self._by_key[key] for key in keys if key in self._by_key]
            count = sum(m.count for m in wanted)
            if count == 0:
                return []
            if count <= EXACT_SUBSET:
                # Few rows: score them all, exactly.
                rows = np.concatenate([np.arange(m.offset, m.offset + m.count) for m in wanted])
                if self.nprobe:
                    self._direct_map()
                    vectors = self._index.reconstruct_batch(rows)
                else:
                    vectors = np.vstack([self._index.reconstruct_n(m.offset, m.count) for m in wanted])
                scores = vectors @ query[0]
                top = np.argsort(-scores, kind="stable")[:k]
                return self._hits(scores[top], rows[top], k)
            selector = self._selector(tuple(sorted(m.key for m in wanted)), wanted)
            params = (faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe) if self.nprobe
                      else faiss.SearchParameters(sel=selector))
            scores, rows = self._index.search(query, min(k, count), params=params)
        else:
            scores, rows = self._index.search(query, min(k, self.size))
        return self._hits(scores[0], rows[0], k)

    def _selector(self, signature: tuple, wanted: list[Member]):
        import faiss

        if self._selector_cache is None or self._selector_cache[0] != signature:
            mask = np.zeros(self.size, dtype=bool)
            for m in wanted:
                mask[m.offset : m.offset + m.count] = True
            bits = np.packbits(mask, bitorder="little")
            self._selector_cache = (signature, bits, faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits)))
        return self._selector_cache[2]
