"""The read side of the LanceDB store: an in-memory view of one committed generation, and search over it.

A ``Snapshot`` holds the chunk columns of the table version the manifest names, the vectors (below the ANN
threshold) and the generation's BM25 index with the chunk id of each of its rows. Dense search is a NumPy
matrix product over the cached vectors, or the table's IVF-HNSW index above the threshold; lexical search
scores every row with BM25 and keeps the chunks that share a query word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ragtune.common import read_json
from ragtune.index.base import ChunkRecord, Filters, IndexManifest
from ragtune.index.bm25 import BM25Index

_COLUMNS = ["chunk_id", "doc_id", "position", "text", "start", "end", "page", "headings", "source", "doc_type", "metadata"]
IDS_FILE = "ids.json"
"""Beside a generation's BM25 index: the chunk id of each of its rows."""


def load_lexical(folder: Path) -> tuple[BM25Index, list[str]]:
    """The BM25 index saved in ``folder`` and the chunk id of each of its rows (none saved: no rows)."""
    bm25 = BM25Index.load(folder)
    ids = read_json(folder / IDS_FILE, "lexical row ids file") if (folder / IDS_FILE).exists() else []
    return bm25, ids


class Snapshot:
    """An in-memory read view of one committed generation."""

    def __init__(self, manifest: IndexManifest, chunks_table, bm25: BM25Index, lexical_ids: list[str], ann: bool) -> None:
        self.generation = manifest.generation
        self.ann = ann
        self.table = chunks_table
        data = chunks_table.to_arrow() if not ann else chunks_table.search().select(_COLUMNS).limit(None).to_arrow()
        self.ids: list[str] = data.column("chunk_id").to_pylist()
        self.row = {cid: i for i, cid in enumerate(self.ids)}
        self.columns = {c: data.column(c).to_pylist() for c in _COLUMNS if c != "chunk_id"}
        self._meta_cache: list[dict[str, Any] | None] = [None] * len(self.ids)
        self.vectors = None
        if not ann and len(self.ids):
            flat = data.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            self.vectors = np.asarray(flat, dtype=np.float32).reshape(len(self.ids), -1)
        self.bm25 = bm25
        self.bm25_rows = np.asarray([self.row[c] for c in lexical_ids], dtype=np.int64)

    def metadata(self, i: int) -> dict[str, Any]:
        if self._meta_cache[i] is None:
            self._meta_cache[i] = json.loads(self.columns["metadata"][i] or "{}")
        return self._meta_cache[i]  # type: ignore[return-value]

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        if not filters:
            return None
        src, typ = self.columns["source"], self.columns["doc_type"]
        return np.fromiter((filters.matches(src[i], typ[i], self.metadata(i)) for i in range(len(self.ids))),
                           dtype=bool, count=len(self.ids))

    def record(self, i: int) -> ChunkRecord:
        c = self.columns
        return ChunkRecord(
            chunk_id=self.ids[i], doc_id=c["doc_id"][i], position=c["position"][i], text=c["text"][i],
            start=c["start"][i], end=c["end"][i], page=c["page"][i], headings=tuple(json.loads(c["headings"][i] or "[]")),
            source=c["source"][i], doc_type=c["doc_type"][i], metadata=self.metadata(i),
        )

    def search_dense(self, vector: np.ndarray, k: int, filters: Filters | None) -> list[tuple[str, float]]:
        """The ``k`` chunks nearest ``vector`` by cosine, best first."""
        if not self.ids:
            return []
        mask = self.mask(filters)
        if self.ann:
            fetch = k * 10 if filters else k
            res = (self.table.search(np.asarray(vector, dtype=np.float32)).distance_type("cosine").limit(fetch)
                   .nprobes(20).refine_factor(4).select(["chunk_id"]).to_arrow())
            out = []
            for cid, dist in zip(res.column("chunk_id").to_pylist(), res.column("_distance").to_pylist()):
                if mask is None or mask[self.row[cid]]:
                    out.append((cid, 1.0 - float(dist)))
            return out[:k]
        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        return [(self.ids[i], s) for i, s in top(scores, k, mask)]

    def search_lexical(self, query: str, k: int, filters: Filters | None) -> list[tuple[str, float]]:
        """The ``k`` chunks with the highest BM25 score for ``query`` (above 0), best first."""
        if not self.ids:
            return []
        raw = self.bm25.scores(query)
        scores = np.zeros(len(self.ids), dtype=np.float32)
        scores[self.bm25_rows] = raw
        return [(self.ids[i], s) for i, s in top(scores, k, self.mask(filters), positive_only=True)]


def top(scores: np.ndarray, k: int, mask: np.ndarray | None, positive_only: bool = False) -> list[tuple[int, float]]:
    """Row numbers and scores of the ``k`` best finite ``scores`` (within ``mask``), best first."""
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    if positive_only:
        scores = np.where(scores > 0, scores, -np.inf)
    k = min(k, len(scores))
    if k <= 0:
        return []
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx if np.isfinite(scores[i])]
