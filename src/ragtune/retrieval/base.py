"""The ``Retriever`` and ``Reranker`` seams: a query in, ``ScoredChunk``s out, best first.

``Retriever.retrieve(query, k, filters)`` returns at most ``k`` chunks; each carries its fused ``score`` and
the per-method scores that produced it (``scores``: e.g. ``{"lexical": 7.1, "dense": 0.62}``).
``Retriever.retrieve_batch(queries, k, filters)`` returns one such list per query, in the order of the queries,
each equal to what ``retrieve`` returns for that query; retrievers that embed queries embed them all in one
batch (an embedder may differ in the last float digits between a batch and a single text). Implementations
subclass ``Retriever`` to inherit the default ``retrieve_batch``, which calls ``retrieve`` for each query.

``Reranker.rerank(query, candidates, k)`` scores each candidate against the query (a cross-encoder reads
both together) and returns at most ``k`` of them, best first: ``score`` becomes the reranker's score, and
``scores`` keeps the retrieval scores with ``"rerank"`` added. An empty candidate list gives an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from ragtune.index.base import ChunkRecord, Filters, Store


@dataclass
class ScoredChunk:
    """A retrieved chunk with its score and the scores of each method that found it."""

    chunk: ChunkRecord
    score: float
    scores: dict[str, float] = field(default_factory=dict)


class Retriever(Protocol):
    """Finds the chunks that best match a query (see the module docstring)."""

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]: ...

    def retrieve_batch(self, queries: Sequence[str], k: int, filters: Filters | None = None) -> list[list[ScoredChunk]]:
        """``retrieve`` for each of ``queries``, in order."""
        return [self.retrieve(query, k, filters) for query in queries]


def fetch_scored(store: Store, index: str, ranked: Sequence[tuple[str, float, dict[str, float]]]) -> list[ScoredChunk]:
    """The chunks of ``(chunk_id, score, per-method scores)`` rankings, read from the store, in the same order."""
    records = store.get_chunks(index, [cid for cid, _, _ in ranked])
    return [ScoredChunk(record, score, parts) for record, (_, score, parts) in zip(records, ranked)]


class Reranker(Protocol):
    """Reorders retrieved candidates for a query (see the module docstring)."""

    def rerank(self, query: str, candidates: list[ScoredChunk], k: int) -> list[ScoredChunk]: ...
