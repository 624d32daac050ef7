"""The ``Retriever`` seam: a query in, ``ScoredChunk``s out, best first.

``retrieve(query, k, filters)`` returns at most ``k`` chunks; each carries its fused ``score`` and the
per-method scores that produced it (``scores``: e.g. ``{"lexical": 7.1, "dense": 0.62}``).
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
