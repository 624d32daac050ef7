"""Dense retrieval: cosine similarity of the query embedding to every chunk vector."""

from __future__ import annotations

import numpy as np

from ragtune.embeddings.base import Embedder
from ragtune.index.base import Filters, Store
from ragtune.retrieval.base import ScoredChunk


class DenseRetriever:
    """Embeds the query with the index's embedder and asks the store for the nearest chunks."""

    def __init__(self, store: Store, index: str, embedder: Embedder) -> None:
        self.store, self.index, self.embedder = store, index, embedder

    def ranked(self, query: str, k: int, filters: Filters | None = None, vector: np.ndarray | None = None) -> list[tuple[str, float]]:
        vec = self.embedder.embed_query(query) if vector is None else vector
        return self.store.search_dense(self.index, vec, k, filters)

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        ranked = self.ranked(query, k, filters)
        records = self.store.get_chunks(self.index, [c for c, _ in ranked])
        return [ScoredChunk(r, s, {"dense": s}) for r, (_, s) in zip(records, ranked)]
