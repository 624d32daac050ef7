"""Lexical retrieval: BM25 over stemmed words, served by the store."""

from __future__ import annotations

from ragtune.index.base import Filters, Store
from ragtune.retrieval.base import Retriever, ScoredChunk, fetch_scored


class LexicalRetriever(Retriever):
    """Ranks chunks by BM25; chunks sharing no query word are not returned.

    ``retrieve_batch`` is the default: each query is one store search (there is nothing to embed).
    """

    def __init__(self, store: Store, index: str) -> None:
        self.store, self.index = store, index

    def ranked(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        return self.store.search_lexical(self.index, query, k, filters)

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        ranked = self.ranked(query, k, filters)
        return fetch_scored(self.store, self.index, [(cid, score, {"lexical": score}) for cid, score in ranked])
