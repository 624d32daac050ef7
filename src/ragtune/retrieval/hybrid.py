"""Hybrid retrieval: lexical and dense rankings of the top ``candidates`` fused into one.

Two fusions (``RetrievalConfig.fusion``):

- ``convex``: each method's scores are min-max normalised over its own candidates (best 1, worst 0; a
  chunk the method did not return counts 0), then ``score = lexical_weight * lexical + dense_weight * dense``.
  It keeps how far apart the scores are, which ranks alone lose.
- ``rrf``: reciprocal rank fusion, ``score = sum_m weight_m / (rrf_k + rank_m)`` over the methods that
  ranked the chunk.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ragtune.config import FusionMethod, RetrievalConfig
from ragtune.index.base import Filters
from ragtune.retrieval.base import Retriever, ScoredChunk, fetch_scored
from ragtune.retrieval.bm25 import LexicalRetriever
from ragtune.retrieval.dense import DenseRetriever

Rankings = dict[str, list[tuple[str, float]]]
"""Named rankings of ``(chunk_id, score)``, best first."""
Fused = list[tuple[str, float, dict[str, float]]]
"""``(chunk_id, fused score, per-method raw scores)``, best first (ties broken by id)."""


def _collect(rankings: Rankings, contribution) -> Fused:
    fused: dict[str, float] = {}
    parts: dict[str, dict[str, float]] = {}
    for method, ranked in rankings.items():
        for cid, score, share in contribution(method, ranked):
            fused[cid] = fused.get(cid, 0.0) + share
            parts.setdefault(cid, {})[method] = score
    order = sorted(fused, key=lambda c: (-fused[c], c))
    return [(c, fused[c], parts[c]) for c in order]


def rrf_fuse(rankings: Rankings, weights: dict[str, float], rrf_k: int) -> Fused:
    """Weighted reciprocal rank fusion of named rankings."""
    def contribution(method, ranked):
        w = weights.get(method, 1.0)
        return [(cid, score, w / (rrf_k + rank)) for rank, (cid, score) in enumerate(ranked, start=1)]

    return _collect(rankings, contribution)


def convex_fuse(rankings: Rankings, weights: dict[str, float]) -> Fused:
    """Weighted sum of min-max normalised scores of named rankings (absent from a ranking: 0 for it)."""
    def contribution(method, ranked):
        if not ranked:
            return []
        w = weights.get(method, 1.0)
        scores = [s for _, s in ranked]
        low, span = min(scores), max(scores) - min(scores)
        return [(cid, s, w * ((s - low) / span if span > 0 else 1.0)) for cid, s in ranked]

    return _collect(rankings, contribution)


class HybridRetriever(Retriever):
    """Runs lexical and dense retrieval and fuses them (see the module docstring)."""

    def __init__(self, lexical: LexicalRetriever, dense: DenseRetriever, config: RetrievalConfig | None = None) -> None:
        self.lexical, self.dense = lexical, dense
        self.config = config or RetrievalConfig()

    def ranked(self, query: str, k: int, filters: Filters | None = None, vector: np.ndarray | None = None) -> Fused:
        n = max(k, self.config.candidates)
        rankings = {"lexical": self.lexical.ranked(query, n, filters), "dense": self.dense.ranked(query, n, filters, vector)}
        weights = {"lexical": self.config.lexical_weight, "dense": self.config.dense_weight}
        if self.config.fusion is FusionMethod.rrf:
            return rrf_fuse(rankings, weights, self.config.rrf_k)[:k]
        return convex_fuse(rankings, weights)[:k]

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        return fetch_scored(self.lexical.store, self.lexical.index, self.ranked(query, k, filters))

    def retrieve_batch(self, queries: Sequence[str], k: int, filters: Filters | None = None) -> list[list[ScoredChunk]]:
        vectors = self.dense.query_vectors(queries)
        return [fetch_scored(self.lexical.store, self.lexical.index, self.ranked(query, k, filters, vector))
                for query, vector in zip(queries, vectors)]
