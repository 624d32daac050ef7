"""What a search returns to its callers: ranked ``Hit``s, and a ``SearchResult`` that knows its query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragtune.retrieval.base import ScoredChunk
from ragtune.retrieval.self_query import QueryPlan


@dataclass
class Hit:
    """One search result: the chunk, where it comes from, and its scores."""

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    text: str
    source: str
    page: int | None
    start: int
    end: int
    headings: list[str]
    scores: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_scored(cls, rank: int, scored: ScoredChunk) -> "Hit":
        c = scored.chunk
        return cls(rank=rank, score=scored.score, chunk_id=c.chunk_id, doc_id=c.doc_id, text=c.text, source=c.source,
                   page=c.page, start=c.start, end=c.end, headings=list(c.headings), scores=scored.scores, metadata=c.metadata)

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": round(self.score, 6), "doc_id": self.doc_id, "chunk_id": self.chunk_id,
                "source": self.source, "page": self.page, "start": self.start, "end": self.end,
                "headings": self.headings, "text": self.text, "scores": {k: round(v, 6) for k, v in self.scores.items()}}


class SearchResult(list):
    """The hits of one search, best first (a list of ``Hit``), with the query, index and mode that produced them."""

    def __init__(self, query: str, index: str, mode: str, hits: list[Hit], plan: QueryPlan | None = None) -> None:
        super().__init__(hits)
        self.query, self.mode, self.plan = query, mode, plan
        self.index = index  # type: ignore[assignment,method-assign]  # the index searched: public, shadows list.index

    def to_json(self) -> dict[str, Any]:
        """The reply every face prints: ``{"query", "index", "mode", "hits": [...]}``, and ``trace.query_filter``
        when the question was read for constraints."""
        doc = {"query": self.query, "index": self.index, "mode": self.mode, "hits": [h.to_json() for h in self]}
        if self.plan is not None:
            doc["trace"] = {"query_filter": self.plan.to_json()}
        return doc
