"""Dense retrieval: cosine similarity of the query embedding to every chunk vector."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ragtune.embeddings.base import Embedder
from ragtune.index.base import Filters, Store
from ragtune.retrieval.base import Retriever, ScoredChunk, fetch_scored


class DenseRetriever(Retriever):
    """Embeds the query with the index's embedder and asks the store for the nearest chunks."""

    def __init__(self, store: Store, index: str, embedder: Embedder) -> None:
        self.store, self.index, self.embedder = store, index, embedder

    def ranked(self, query: str, k: int, filters: Filters | None = None, vector: np.ndarray | None = None) -> list[tuple[str,
                                                                                                                         float]]:
        vec = self.embedder.embed_query(query) if vector is None else vector
        return self.store.search_dense(self.index, vec, k, filters)

    def query_vectors(self, queries: Sequence[str]) -> list[np.ndarray]:
        """The embedding of each query, computed in one batch."""
        return list(self.embedder.embed_queries(list(queries))) if queries else []

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        return self._scored(self.ranked(query, k, filters))

    def retrieve_batch(self, queries: Sequence[str], k: int, filters: Filters | None = None) -> list[list[ScoredChunk]]:
        vectors = self.query_vectors(queries)
        return [self._scored(self.ranked(query, k, filters, vector)) for query, vector in zip(queries, vectors)]

    def _scored(self, ranked: list[tuple[str, float]]) -> list[ScoredChunk]:
        return fetch_scored(self.store, self.index, [(cid, score, {"dense": score}) for cid, score in ranked])
