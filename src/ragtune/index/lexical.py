"""Lexical postings for index segments, and BM25 scored over all live segments as if they were one index.

Texts are cut, stop-worded and stemmed by ``ragtune.index.bm25.Tokenizer`` (as the BM25 index cuts them), and
each stem is kept as a 64-bit hash. A segment's postings are sorted arrays: ``terms`` (stem hashes, ascending),
``offsets`` (where each term's postings start), ``rows`` and ``tfs`` (the row and the term's count in it, for
each posting), and ``lengths`` (tokens per row). They are saved as ``.npy`` files and memory-mapped by readers,
so opening an index reads none of them.

Scoring is bm25s's Lucene variant (k1 1.5, b 0.75) with the statistics of the whole index at query time:
the number of live rows ``N``, their mean length, and each query term's document frequency counted over the
live postings of every segment (rows deleted by later commits are masked). So a query ranks the same as over
one index rebuilt from the live rows, whatever the segments; a repeated query word counts once per occurrence,
as in bm25s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ragtune.index.bm25 import TOKEN_PATTERN, Tokenizer

K1 = 1.5
B = 0.75
POSTING_FILES = ("terms", "offsets", "rows", "tfs", "lengths")


def term_hash(term: str) -> int:
    """The stable 64-bit hash a stem is stored under."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")


def hash_strings(values: Sequence[str]) -> np.ndarray:
    """``term_hash`` of each value, as a uint64 array."""
    return np.fromiter((term_hash(v) for v in values), dtype=np.uint64, count=len(values))


class Analyzer:
    """Cuts texts and queries into stem hashes (``ragtune.index.bm25.Tokenizer``'s stems, each hashed)."""

    def __init__(self, stemmer: str = "english", token_pattern: str = TOKEN_PATTERN) -> None:
        self.tokenizer = Tokenizer(stemmer, token_pattern)

    def tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For ``texts``: tokens per text (int32), and for each token its text's row (int32) and stem hash (uint64)."""
        if not texts:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint64)
        ids, vocab = self.tokenizer.texts(texts)
        lengths = np.fromiter((len(t) for t in ids), dtype=np.int32, count=len(ids))
        by_id = np.zeros(len(vocab), dtype=np.uint64)
        for stem, i in vocab.items():
            by_id[i] = term_hash(stem)
        flat = np.fromiter((i for t in ids for i in t), dtype=np.int64, count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(ids), dtype=np.int32), lengths)
        return lengths, rows, by_id[flat]

    def query(self, query: str) -> np.ndarray:
        """The stem hashes of ``query`` (repeats kept)."""
        return hash_strings([s for s in self.tokenizer.query(query) if s])


@dataclass
class Postings:
    """One segment's lexical index (see the module docstring)."""

    terms: np.ndarray
    offsets: np.ndarray
    rows: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray

    @classmethod
    def build(cls, lengths: np.ndarray, rows: np.ndarray, hashes: np.ndarray, tfs: np.ndarray | None = None) -> Postings:
        """Postings from ``(row, stem hash)`` pairs, each counting ``tfs`` (default 1); pairs may repeat."""
        tfs = np.ones(len(rows), np.int32) if tfs is None else np.asarray(tfs, np.int32)
        order = np.lexsort((rows, hashes))
        h, r, t = hashes[order], rows[order], tfs[order]
        if len(h):
            first = np.flatnonzero(np.r_[True, (h[1:] != h[:-1]) | (r[1:] != r[:-1])])
            h, r, t = h[first], r[first], np.add.reduceat(t, first).astype(np.int32)
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]]) if len(h) else np.zeros(0, np.int64)
        return cls(terms=h[starts].astype(np.uint64), offsets=np.append(starts, len(h)).astype(np.int64),
                   rows=r.astype(np.int32), tfs=t, lengths=np.asarray(lengths, np.int32))

    def triples(self, keep: np.ndarray | None, new_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every posting as ``(stem hash, new row, tf)``, rows renumbered by ``new_row``; only rows in ``keep``."""
        hashes = np.repeat(self.terms, np.diff(self.offsets))
        rows, tfs = np.asarray(self.rows), np.asarray(self.tfs)
        if keep is not None:
            live = keep[rows]
            hashes, rows, tfs = hashes[live], rows[live], tfs[live]
        return hashes, new_row[rows].astype(np.int32), tfs

    def lookup(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding ``term`` and its count in each (empty arrays when absent)."""
        i = int(np.searchsorted(self.terms, np.uint64(term)))
        if i >= len(self.terms) or int(self.terms[i]) != term:
            return _EMPTY_I, _EMPTY_I
        start, stop = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.rows[start:stop], self.tfs[start:stop]


_EMPTY_I = np.zeros(0, np.int32)


@dataclass
class LexicalPart:
    """What scoring needs of one segment: its postings and which of its rows are live (None: all)."""

    postings: Postings
    alive: np.ndarray | None
    live_rows: int
    live_tokens: int


def bm25(parts: Sequence[LexicalPart], query: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """BM25 of ``query`` (stem hashes) over the live rows of ``parts``: per part, the rows with a score and the scores."""
    n = sum(p.live_rows for p in parts)
    found: list[list[tuple[np.ndarray, np.ndarray, float]]] = [[] for _ in parts]
    if n == 0 or not len(query):
        return [_part_scores(p, [], 1.0) for p in parts]
    avgdl = sum(p.live_tokens for p in parts) / n
    terms, counts = np.unique(query, return_counts=True)
    for term, count in zip(terms.tolist(), counts.tolist()):
        hits = []
        for i, part in enumerate(parts):
            rows, tfs = part.postings.lookup(term)
            if part.alive is not None and len(rows):
                live = part.alive[rows]
                rows, tfs = rows[live], tfs[live]
            if len(rows):
                hits.append((i, rows, tfs))
        df = sum(len(rows) for _, rows, _ in hits)
        idf = float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        for i, rows, tfs in hits:
            found[i].append((rows, tfs, count * idf))
    return [_part_scores(part, lists, avgdl) for part, lists in zip(parts, found)]


def _part_scores(part: LexicalPart, lists: list, avgdl: float) -> tuple[np.ndarray, np.ndarray]:
    if not lists:
        return _EMPTY_I, np.zeros(0, np.float32)
    rows = np.concatenate([r for r, _, _ in lists])
    tfs = np.concatenate([t for _, t, _ in lists]).astype(np.float32)
    weights = np.concatenate([np.full(len(r), w, np.float32) for r, _, w in lists])
    lengths = np.asarray(part.postings.lengths)[rows].astype(np.float32)
    contrib = weights * tfs / (tfs + np.float32(K1) * (np.float32(1 - B) + np.float32(B) * lengths / np.float32(avgdl)))
    size = len(part.postings.lengths)
    if len(rows) * 16 >= size:  # many postings: add them up over every row of the segment
        total = np.bincount(rows, weights=contrib, minlength=size)
        hit = np.flatnonzero(total)
        return hit.astype(np.int32), total[hit].astype(np.float32)
    uniq, inverse = np.unique(rows, return_inverse=True)
    return uniq.astype(np.int32), np.bincount(inverse, weights=contrib).astype(np.float32)
