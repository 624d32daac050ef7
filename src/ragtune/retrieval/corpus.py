"""No retrieval: every chunk of the index, in document order, for the ``prompt`` variant's whole-corpus context."""

from __future__ import annotations

from typing import Sequence

from ragtune.index.base import ChunkRecord, Filters, Store
from ragtune.retrieval.base import Retriever, ScoredChunk


class CorpusRetriever(Retriever):
    """Returns the whole corpus whatever the query: documents in id order, chunks in position order, score 1.

    ``k`` is ignored on purpose: the point of this retriever is that nothing is chosen; whether the corpus fits the
    model's window is the caller's check (``ragtune.decide`` skips the candidate when it does not).
    """

    def __init__(self, store: Store, index: str) -> None:
        self.store, self.index = store, index

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        return self._scored(self._corpus())

    def retrieve_batch(self, queries: Sequence[str], k: int, filters: Filters | None = None) -> list[list[ScoredChunk]]:
        """The corpus once per query, read from the store once."""
        chunks = self._corpus() if queries else []
        return [self._scored(chunks) for _ in queries]

    def _corpus(self) -> list[ChunkRecord]:
        return sorted(self.store.all_chunks(self.index), key=lambda c: (c.doc_id, c.position))

    @staticmethod
    def _scored(chunks: list[ChunkRecord]) -> list[ScoredChunk]:
        return [ScoredChunk(c, 1.0, {"corpus": 1.0}) for c in chunks]
