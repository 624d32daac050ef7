"""Ranking metrics against graded relevance judgements (qrels), as BEIR computes them with pytrec_eval.

A *ranking* is a sequence of document ids, best first; *qrels* map a document id to its relevance grade
(``0`` or below counts as not relevant). ``ndcg_at_k`` uses linear gain (``grade / log2(rank + 1)``) and
the ideal ordering of every judged document, as trec_eval's ``ndcg_cut``; ``recall_at_k`` divides by all
relevant documents; ``mrr`` is the reciprocal rank of the first relevant document within ``k``.
``evaluate_rankings`` averages them over queries, skipping queries without judgements (as BEIR does).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from ragtune.documents.beir import read_qrels  # noqa: F401 - re-exported: qrels are read where BEIR folders are

Qrels = Mapping[str, int]
"""Relevance grade of each judged document of one query."""


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError("k must be at least 1")


def _unique(ranking: Sequence[str], k: int) -> list[str]:
    """The first ``k`` distinct ids of ``ranking`` (a repeated id keeps its best rank)."""
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in ranking:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
            if len(out) == k:
                break
    return out


def ndcg_at_k(ranking: Sequence[str], qrels: Qrels, k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top ``k`` (0.0 when nothing is relevant)."""
    _check_k(k)
    dcg = sum(max(qrels.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(_unique(ranking, k)))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranking: Sequence[str], qrels: Qrels, k: int = 100) -> float:
    """Share of the relevant documents found in the top ``k`` (0.0 when nothing is relevant)."""
    _check_k(k)
    relevant = {d for d, g in qrels.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_unique(ranking, k))) / len(relevant)


def mrr(ranking: Sequence[str], qrels: Qrels, k: int = 10) -> float:
    """Reciprocal rank of the first relevant document in the top ``k`` (0.0 if none is there)."""
    _check_k(k)
    for i, doc_id in enumerate(_unique(ranking, k), start=1):
        if qrels.get(doc_id, 0) > 0:
            return 1.0 / i
    return 0.0


def evaluate_rankings(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Qrels],
                      ndcg_k: Sequence[int] = (10,), recall_k: Sequence[int] = (100,),
                      mrr_k: Sequence[int] = (10,)) -> dict[str, float]:
    """Mean metrics over the judged queries: ``{"ndcg@10": …, "recall@100": …, "mrr@10": …}``.

    A judged query missing from ``rankings`` scores 0 on every metric; rankings of unjudged queries are ignored.
    """
    judged = [q for q, rels in qrels.items() if any(g > 0 for g in rels.values())]
    if not judged:
        raise ValueError("no query has a relevant document in the qrels")
    metrics = [(f"ndcg@{k}", ndcg_at_k, k) for k in ndcg_k] + [(f"recall@{k}", recall_at_k, k) for k in recall_k] \
        + [(f"mrr@{k}", mrr, k) for k in mrr_k]
    return {name: sum(fn(rankings.get(q, ()), qrels[q], k) for q in judged) / len(judged) for name, fn, k in metrics}
