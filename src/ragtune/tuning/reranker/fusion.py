"""Choosing a tuned reranker's share of the final order on its held-out queries.

Each held-out query's first-stage candidates (retrieval order, relevance known) are scored by the trained
cross-encoder; nDCG@10 is measured for the retrieval order, the reranker's order, and their weighted RRF at
each weight of a grid. The best weight goes on the card (``scores.fusion``) and ``--rerank tuned:NAME`` uses it,
so a reranker that learned the domain only partly adds to retrieval instead of overruling it.
"""

from __future__ import annotations

from typing import Any, Sequence

from ragtune.evaluation.retrieval import evaluate_rankings
from ragtune.retrieval.rerank import fuse_with_retrieval

WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))


def calibrate_fusion(lists: Sequence[tuple[Sequence[bool], Sequence[float]]], weights: Sequence[float] = WEIGHTS,
                     rrf_k: int = 60) -> dict[str, Any]:
    """The best weight for ``lists`` of ``(relevant flags in retrieval order, reranker scores)``, with every score.

    Ties go to the smaller weight: the reranker gets no share it has not earned. Lists without a relevant candidate are left out.
    """
    judged = [(flags, scores) for flags, scores in lists if any(flags)]
    if not judged:
        raise ValueError("no held-out query has a relevant first-stage candidate")
    qrels = {str(q): {str(i): 1 for i, rel in enumerate(flags) if rel} for q, (flags, _) in enumerate(judged)}
    orders = [sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i)) for _, scores in judged]

    def ndcg(rankings: dict[str, list[str]]) -> float:
        return round(evaluate_rankings(rankings, qrels, ndcg_k=(10,), recall_k=(), mrr_k=())["ndcg@10"], 4)

    grid = {}
    for w in weights:
        grid[str(w)] = ndcg({str(q): [str(i) for i, _ in fuse_with_retrieval(order, w, rrf_k)] for q, order in enumerate(orders)})
    best = max(weights, key=lambda w: (grid[str(w)], -w))
    return {"weight": best, "rrf_k": rrf_k, "queries": len(judged), "candidates_per_query": round(sum(len(f) for f,
                                                                                                      _ in judged) / len(judged),
                                                                                                      1),
            "first_stage_ndcg@10": ndcg({str(q): [str(i) for i in range(len(flags))] for q, (flags, _) in enumerate(judged)}),
            "reranker_ndcg@10": ndcg({str(q): [str(i) for i in order] for q, order in enumerate(orders)}),
            "fused_ndcg@10": grid[str(best)], "grid": grid}
