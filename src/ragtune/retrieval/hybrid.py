"""Hybrid retrieval: lexical and dense rankings fused by weighted reciprocal rank fusion (RRF).

``score(chunk) = sum_m weight_m / (rrf_k + rank_m(chunk))`` over the methods that ranked the chunk in
their top ``candidates``.
"""

from __future__ import annotations

import numpy as np

from ragtune.config import RetrievalConfig
from ragtune.index.base import Filters
from ragtune.retrieval.base import ScoredChunk
from ragtune.retrieval.bm25 import LexicalRetriever
from ragtune.retrieval.dense import DenseRetriever


def rrf_fuse(rankings: dict[str, list[tuple[str, float]]], weights: dict[str, float], rrf_k: int) -> list[tuple[str, float, dict[str, float]]]:
    """Fuse named rankings of ``(id, score)``; returns ``(id, fused, per-method scores)`` best first."""
    fused: dict[str, float] = {}
    parts: dict[str, dict[str, float]] = {}
    for method, ranked in rankings.items():
        w = weights.get(method, 1.0)
        for rank, (cid, score) in enumerate(ranked, start=1):
            fused[cid] = fused.get(cid, 0.0) + w / (rrf_k + rank)
            parts.setdefault(cid, {})[method] = score
    order = sorted(fused, key=lambda c: (-fused[c], c))
    return [(c, fused[c], parts[c]) for c in order]


class HybridRetriever:
    """Runs lexical and dense retrieval and fuses them (see the module docstring)."""

    def __init__(self, lexical: LexicalRetriever, dense: DenseRetriever, config: RetrievalConfig | None = None) -> None:
        self.lexical, self.dense = lexical, dense
        self.config = config or RetrievalConfig()

    def ranked(self, query: str, k: int, filters: Filters | None = None, vector: np.ndarray | None = None) -> list[tuple[str, float, dict[str, float]]]:
        n = max(k, self.config.candidates)
        rankings = {"lexical": self.lexical.ranked(query, n, filters), "dense": self.dense.ranked(query, n, filters, vector)}
        weights = {"lexical": self.config.lexical_weight, "dense": self.config.dense_weight}
        return rrf_fuse(rankings, weights, self.config.rrf_k)[:k]

    def retrieve(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        ranked = self.ranked(query, k, filters)
        records = self.lexical.store.get_chunks(self.lexical.index, [c for c, _, _ in ranked])
        return [ScoredChunk(r, s, parts) for r, (_, s, parts) in zip(records, ranked)]
