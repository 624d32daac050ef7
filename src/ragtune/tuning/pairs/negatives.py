"""Hard negatives: candidates from an index (BM25 and dense, fused) or a corpus (BM25), the false-negative guard,
and filling pairs short of negatives with other queries' positives."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ragtune.embeddings.base import Embedder
from ragtune.errors import InputError
from ragtune.index.base import Store
from ragtune.retrieval.hybrid import rrf_fuse
from ragtune.tuning.pairs.base import Notify, Pair, words


@dataclass
class Candidate:
    """A retrieval candidate for a query: its id, document, text and the dense score where one is known."""

    id: str
    doc_id: str
    text: str
    dense: float | None = None


class CandidateSearch(Protocol):
    """Finds candidates for queries; ``dense_positive`` scores positives the way ``search`` scores candidates."""

    def size(self) -> tuple[int, int]: ...

    def search(self, queries: list[str], depth: int) -> list[tuple[list[Candidate], float | None]]: ...

    def dense_positive(self, queries: list[str], positives: list[str]) -> list[float] | None: ...


class IndexCandidates:
    """Candidates from an index through its ``Store``: BM25 and dense rankings fused by RRF."""

    def __init__(self, store: Store, index: str, embedder: Embedder) -> None:
        self.store, self.index, self.embedder = store, index, embedder

    def size(self) -> tuple[int, int]:
        m = self.store.manifest(self.index)
        return m.documents, m.chunks

    def search(self, queries: list[str], depth: int) -> list[tuple[list[Candidate], float | None]]:
        vectors: Any = self.embedder.embed_queries(queries) if queries else []
        out: list[tuple[list[Candidate], float | None]] = []
        for query, vector in zip(queries, vectors):
            dense = self.store.search_dense(self.index, vector, depth)
            lexical = self.store.search_lexical(self.index, query, depth)
            fused = rrf_fuse({"dense": dense, "lexical": lexical}, {}, 60)
            records = self.store.get_chunks(self.index, [cid for cid, _, _ in fused])
            candidates = [Candidate(r.chunk_id, r.doc_id, r.index_text, parts.get("dense"))
                          for r, (_, _, parts) in zip(records, fused)]
            out.append((candidates, dense[-1][1] if len(dense) >= depth else None))
        return out

    def dense_positive(self, queries: list[str], positives: list[str]) -> list[float] | None:
        q = self.embedder.embed_queries(queries)
        p = self.embedder.embed_documents(positives)
        return [float(s) for s in np.einsum("ij,ij->i", q, p)]


class CorpusCandidates:
    """Candidates from a corpus held in memory (a BEIR folder's), by BM25 alone."""

    def __init__(self, corpus: dict[str, str]) -> None:
        from ragtune.index.bm25 import BM25Index

        self.ids = list(corpus)
        self.texts = [corpus[i] for i in self.ids]
        self.bm25 = BM25Index().build(self.texts)

    def size(self) -> tuple[int, int]:
        return len(self.ids), len(self.ids)

    def search(self, queries: list[str], depth: int) -> list[tuple[list[Candidate], float | None]]:
        out: list[tuple[list[Candidate], float | None]] = []
        for query in queries:
            scores = self.bm25.scores(query)
            top = np.argsort(-scores, kind="stable")[:depth]
            out.append(([Candidate(self.ids[i], self.ids[i], self.texts[i]) for i in top if scores[i] > 0], None))
        return out

    def dense_positive(self, queries: list[str], positives: list[str]) -> list[float] | None:
        return None


def _normal(text: str) -> str:
    return " ".join(words(text))


def near_duplicate(a: str, b: str) -> bool:
    """True when one text contains the other or they share 80% of their words."""
    na, nb = _normal(a), _normal(b)
    if not na or not nb:
        return na == nb
    if na in nb or nb in na:
        return True
    wa, wb = set(na.split()), set(nb.split())
    return len(wa & wb) / len(wa | wb) >= 0.8


def mine_negatives(pairs: list[Pair], search: CandidateSearch, *, negatives: int, depth: int, margin: float,
                   notify: Notify | None = None) -> tuple[dict[str, list[Candidate]], dict[str, int]]:
    """Add up to ``negatives`` mined negatives to every pair (in place), with the false-negative guard.

    Returns each query's candidates (fused order, positives included) and counts of what the guard dropped.
    """
    docs, chunks = search.size()
    if chunks < negatives + 2 or docs < 2:
        raise InputError(f"the index to mine negatives from holds {docs} document(s) and {chunks} chunk(s): too few "
                         f"(at least 2 documents and {negatives + 2} chunks); add documents, or pass --negatives 0")
    by_query: dict[str, list[Pair]] = {}
    for p in pairs:
        by_query.setdefault(p.query_id, []).append(p)
    qids = list(by_query)
    pos_dense = search.dense_positive([p.query for p in pairs], [p.positive for p in pairs])
    pos_score = {id(p): s for p, s in zip(pairs, pos_dense)} if pos_dense is not None else {}
    found: dict[str, list[Candidate]] = {}
    counts: Counter[str] = Counter()
    step = 64
    for start in range(0, len(qids), step):
        batch = qids[start:start + step]
        results = search.search([by_query[q][0].query for q in batch], depth)
        for qid, (cands, floor) in zip(batch, results):
            group = by_query[qid]
            found[qid] = cands
            relevant_docs = {p.positive_doc for p in group if p.positive_doc}
            for p in group:
                limit = margin * pos_score[id(p)] if id(p) in pos_score else None
                kept = list(p.negatives)
                for c in cands:
                    if len(kept) >= max(negatives, len(p.negatives)):
                        break
                    if c.doc_id in relevant_docs or c.id in {q.positive_id for q in group}:
                        continue
                    if any(near_duplicate(c.text, q.positive) for q in group):
                        counts["guard_duplicate"] += 1
                        continue
                    score = c.dense if c.dense is not None else floor
                    if limit is not None and score is not None and score >= limit:
                        counts["guard_margin"] += 1
                        continue
                    if c.text not in kept:
                        kept.append(c.text)
                        counts["mined"] += 1
                p.negatives = kept
        if notify and len(qids) > step:
            notify(f"mining negatives: {min(start + step, len(qids))}/{len(qids)} queries")
    return found, dict(counts)


def fill_negatives(pairs: list[Pair], n: int, seed: int) -> int:
    """Give every pair exactly ``n`` negatives, filling with positives of other queries; returns how many were filled."""
    if n <= 0:
        for p in pairs:
            p.negatives = []
        return 0
    rng = random.Random(seed)
    filled = 0
    for p in pairs:
        p.negatives = p.negatives[:n]
        tries = 0
        while len(p.negatives) < n and tries < 50 and len(pairs) > 1:
            tries += 1
            other = rng.choice(pairs)
            if other.query_id != p.query_id and other.positive not in p.negatives and not near_duplicate(other.positive,
                                                                                                         p.positive):
                p.negatives.append(other.positive)
                filled += 1
    return filled
