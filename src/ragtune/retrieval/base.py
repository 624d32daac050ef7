"""The ``Retriever`` and ``Reranker`` seams: a query in, ``ScoredChunk``s out, best first.

``Retriever.retrieve(query, k, filters)`` returns at most ``k`` chunks; each carries its fused ``score`` and
the per-method scores that produced it (``scores``: e.g. ``{"lexical": 7.1, "dense": 0.62}``).

``Reranker.rerank(query, candidates, k)`` scores each candidate against the query (a cross-encoder reads
both together) and returns at most ``k`` of them, best first: ``score`` becomes the reranker's score, and
``scores`` keeps the retrieval scores with ``"rerank"`` added. An empty candidate list gives an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ragtune.index.base import ChunkRecord, Filters


@dataclass
class ScoredChunk:
    """A retrieved chunk with its score and the scores of each method that found it."""

    chunk: ChunkRecord
    score: float
    scores: dict[str, float] = field(default_factory=dict)


class Retriever(Protocol):
    """Finds the chunks that best match a query."""

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]: ...


class Reranker(Protocol):
    """Reorders retrieved candidates for a query (see the module docstring)."""

    def rerank(self, query: str, candidates: list[ScoredChunk], k: int) -> list[ScoredChunk]: ...
