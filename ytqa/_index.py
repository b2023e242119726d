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


class VectorIndex:
    def __init__(self, store):
        self._store = store

    @classmethod
    def build(cls, vectors: np.ndarray) -> "VectorIndex":
        """An exact inner-product index: transcripts are small, so exact search is fast."""
        import faiss
        from langchain_community.docstore.in_memory import InMemoryDocstore
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy

        vectors = np.ascontiguousarray(vectors, dtype="float32")
        index = faiss.IndexFlatIP(vectors.shape[1])
        store = FAISS(
            embedding_function=_no_embeddings(),
            index=index,
            docstore=InMemoryDocstore(),
            index_to_docstore_id={},
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
        store.add_embeddings(
            text_embeddings=[(str(i), vector.tolist()) for i, vector in enumerate(vectors)],
            metadatas=[{"chunk": i} for i in range(len(vectors))],
            ids=[str(i) for i in range(len(vectors))],
        )
        return cls(store)

    @classmethod
    def load(cls, path: Path, count: int) -> "VectorIndex":
        """Read FAISS's own file; the docstore is rebuilt from chunk numbers, not unpickled."""
        import faiss
        from langchain_community.docstore.in_memory import InMemoryDocstore
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy
        from langchain_core.documents import Document

        index = faiss.read_index(str(path))
        if index.ntotal != count:
            raise ValueError(f"index holds {index.ntotal} vectors, expected {count}")
        ids = [str(i) for i in range(count)]
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
