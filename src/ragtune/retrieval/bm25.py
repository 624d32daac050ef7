"""Lexical retrieval: BM25 over stemmed words, served by the store."""

from __future__ import annotations

from ragtune.index.base import Filters, Store
from ragtune.retrieval.base import ScoredChunk


class LexicalRetriever:
    """Ranks chunks by BM25; chunks sharing no query word are not returned."""

    def __init__(self, store: Store, index: str) -> None:
        self.store, self.index = store, index

    def ranked(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        return self.store.search_lexical(self.index, query, k, filters)

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        ranked = self.ranked(query, k, filters)
        records = self.store.get_chunks(self.index, [c for c, _ in ranked])
        return [ScoredChunk(r, s, {"lexical": s}) for r, (_, s) in zip(records, ranked)]
