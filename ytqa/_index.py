"""The vector store, behind one small class so it can be swapped.

FAISS through LangChain's ``FAISS`` vector store. It is saved as FAISS's own index
file; chunk texts live in our JSON. We never use ``FAISS.load_local``: it unpickles,
and a data folder copied from someone else must not be able to run code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INDEX_FILE = "vectors.faiss"


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
    """Import FAISS and LangChain's store ahead of the first index (about 0.5 s)."""
    import faiss  # noqa: F401
    from langchain_community.docstore.in_memory import InMemoryDocstore  # noqa: F401
    from langchain_community.vectorstores import FAISS  # noqa: F401


class VectorIndex:
    def __init__(self, store):
        self._store = store

    @classmethod
    def build(cls, vectors: np.ndarray) -> "VectorIndex":
        """An exact inner-product index: transcripts are small, so exact search is fast."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype="float32")
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls._wrap(index)

    @classmethod
    def load(cls, path: Path, count: int) -> "VectorIndex":
        """Read FAISS's own file; the docstore is rebuilt from chunk numbers, not unpickled."""
        import faiss

        index = faiss.read_index(str(path))
        if index.ntotal != count:
            raise ValueError(f"index holds {index.ntotal} vectors, expected {count}")
        return cls._wrap(index)

    @classmethod
    def _wrap(cls, index) -> "VectorIndex":
        """LangChain's FAISS store over a FAISS index whose row i is chunk i."""
        from langchain_community.docstore.in_memory import InMemoryDocstore
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy
        from langchain_core.documents import Document

        ids = [str(i) for i in range(index.ntotal)]
        store = FAISS(
            embedding_function=_no_embeddings(),
            index=index,
            docstore=InMemoryDocstore(
                {i: Document(page_content=i, metadata={"chunk": int(i)}, id=i) for i in ids}
            ),
            index_to_docstore_id=dict(enumerate(ids)),
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
        return cls(store)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._store.index, str(path))

    @property
    def size(self) -> int:
        return int(self._store.index.ntotal)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest chunks as (chunk number, inner product), best first."""
        k = min(k, self.size)
        if k <= 0:
            return []
        hits = self._store.similarity_search_with_score_by_vector(vector.tolist(), k=k)
        return [(int(doc.metadata["chunk"]), float(score)) for doc, score in hits]
