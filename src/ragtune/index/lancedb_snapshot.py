"""The read side of the LanceDB store: a view of one committed generation's segments, and search over them.

Opening a ``Snapshot`` maps the segment files the manifest names (``ragtune.index.segments``) and reads their
deletion lists; it reads no text, vector or posting, so it costs the same at any size. Search reads what it
needs: lexical search the postings of the query's words (BM25 with the whole index's statistics,
``ragtune.index.lexical``); dense search every vector (exact, below ``ann_threshold`` chunks) or the rows of the
IVF partitions nearest the query (``ragtune.index.ivf``), scored exactly; ``records`` the rows of the hits.
Filters are evaluated over the mapped columns (``Segment.mask``), once per filter and snapshot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from ragtune.errors import ChunkNotFoundError
from ragtune.index.base import ChunkRecord, Filters
from ragtune.index.ivf import probe, probes_for
from ragtune.index.lexical import Analyzer, LexicalPart, bm25, hash_strings
from ragtune.index.segments import Segment, SegmentError, load_array, load_centroids

_FILTER_CACHE = 8
_LOCATED = 100_000


def deleted_rows(folder: Path, name: str | None, checksum: str | None = None) -> np.ndarray | None:
    """The rows a deletion file lists (None when the segment has none)."""
    return load_array(folder / "deletes" / name, "the deletion list", checksum=checksum) if name else None


def open_segment(folder: Path, entry: dict) -> tuple[Segment, np.ndarray | None]:
    """The segment a manifest ``entry`` names, with its live rows; ``SegmentError`` unless its files are there, match
    their checksums, and hold the rows and live rows the entry counts."""
    segment = Segment(folder / "segments" / entry["id"], entry["rows"], entry.get("sums"))
    deleted = deleted_rows(folder, entry.get("deleted"), entry.get("deleted_sum"))
    if deleted is not None and len(deleted) and (deleted.min() < 0 or deleted.max() >= segment.rows):
        raise SegmentError(f"{segment.folder}: its deletion list names rows it does not hold")
    alive = alive_mask(segment.rows, deleted)
    live = segment.rows if alive is None else int(alive.sum())
    if entry.get("live") != live:
        raise SegmentError(f"{segment.folder}: the manifest counts {entry.get('live')} live rows, the segment holds {live}")
    return segment, alive


def alive_mask(rows: int, deleted: np.ndarray | None) -> np.ndarray | None:
    """Which of ``rows`` rows are live, given the deleted ones (None: all are)."""
    if deleted is None or not len(deleted):
        return None
    alive = np.ones(rows, bool)
    alive[deleted] = False
    return alive


class Snapshot:
    """A read view of one committed generation (see the module docstring)."""

    def __init__(self, folder: Path, backend: dict, key: str, ann: bool, analyzer: Analyzer) -> None:
        self.key = key
        self.segments: list[Segment] = []
        self.alive: list[np.ndarray | None] = []
        self.lexical: list[LexicalPart] = []
        for info in backend.get("segments", []):
            segment, alive = open_segment(folder, info)
            self.segments.append(segment)
            self.alive.append(alive)
            self.lexical.append(LexicalPart(segment.postings, alive, info["live"], info["tokens"]))
        self.analyzer = analyzer
        self.centroids = None
        ivf = backend.get("ivf")
        if ann and ivf:
            self.centroids = load_centroids(folder / "ivf" / f"{ivf['id']}.npy", ivf["partitions"], ivf.get("sum"))
            self.ivf_id = ivf["id"]
            self.nprobe = ivf.get("nprobe") or probes_for(len(self.centroids))
            # (segment, its partition bounds) for the segments sorted by this IVF; the others are scored whole
            self._partitioned = [(i, seg.parts) for i, seg in enumerate(self.segments)
                                 if seg.parts is not None and seg.ivf == self.ivf_id]
            self._plain = sorted(set(range(len(self.segments))) - {i for i, _ in self._partitioned})
        self._masks: OrderedDict[str, list[np.ndarray | None]] = OrderedDict()
        self._located: dict[str, tuple[int, int]] = {}
        self._guard = threading.Lock()

    def _filter_masks(self, filters: Filters | None) -> list[np.ndarray | None]:
        """Per segment, the rows that are live and pass ``filters`` (None: every row of a segment with no deletions)."""
        if not filters:
            return list(self.alive)
        key = repr((filters.source, tuple(filters.types), sorted((str(k), str(v)) for k, v in filters.metadata.items())))
        with self._guard:
            masks = self._masks.get(key)
            if masks is not None:
                self._masks.move_to_end(key)
                return masks
        masks = [seg.mask(filters) & (alive if alive is not None else True) for seg, alive in zip(self.segments, self.alive)]
        with self._guard:
            self._masks[key] = masks
            while len(self._masks) > _FILTER_CACHE:
                self._masks.popitem(last=False)
        return masks

    def _hits(self, found: list[tuple[int, np.ndarray, np.ndarray]], k: int) -> list[tuple[str, float]]:
        """The ``k`` best of per-segment ``(segment, rows, scores)``, as chunk ids with scores, best first."""
        if not found:
            return []
        seg = np.concatenate([np.full(len(r), i, np.int32) for i, r, _ in found])
        rows = np.concatenate([r for _, r, _ in found])
        scores = np.concatenate([s for _, _, s in found]).astype(np.float32)
        best = top(scores, k)
        ids: dict[int, str] = {}
        for i in np.unique(seg[best]).tolist():
            chosen = best[seg[best] == i]
            ids.update(zip(chosen.tolist(), self.segments[i].column("chunk_id", rows[chosen])))
        if len(self._located) > _LOCATED:
            self._located.clear()
        for i in best.tolist():
            self._located[ids[i]] = (int(seg[i]), int(rows[i]))
        return [(ids[i], float(scores[i])) for i in best.tolist()]

    def search_lexical(self, query: str, k: int, filters: Filters | None) -> list[tuple[str, float]]:
        """The ``k`` chunks with the highest BM25 score for ``query`` (above 0), best first."""
        terms = self.analyzer.query(query)
        if not len(terms) or not self.segments:
            return []
        masks = self._filter_masks(filters) if filters else None
        found = []
        for i, (rows, scores) in enumerate(bm25(self.lexical, terms)):
            keep = scores > 0
            mask = masks[i] if masks is not None else None
            if mask is not None:
                keep &= mask[rows]
            if keep.any():
                found.append((i, rows[keep], scores[keep]))
        return self._hits(found, k)

    def search_dense(self, vector: np.ndarray, k: int, filters: Filters | None) -> list[tuple[str, float]]:
        """The ``k`` chunks nearest ``vector`` (inner product), best first: exact, or over the nearest partitions."""
        if not self.segments or k <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        masks = self._filter_masks(filters)
        if self.centroids is None:
            return self._hits(self._exact(vector, k, masks, range(len(self.segments))), k)
        nprobe = self.nprobe
        while True:
            partitions = np.sort(probe(self.centroids, vector, nprobe))
            found = self._probed(vector, k, masks, partitions)
            if nprobe >= len(self.centroids) or sum(len(r) for _, r, _ in found) >= k:
                return self._hits(found, k)
            nprobe *= 4  # a filter left too few rows in the nearest partitions: read more of them

    def _exact(self, vector: np.ndarray, k: int, masks: Sequence[np.ndarray | None], which) -> list:
        found = []
        for i in which:
            seg = self.segments[i]
            if not seg.rows:
                continue
            scores = np.asarray(seg.vectors) @ vector
            mask = masks[i]
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            rows = top(scores, k)
            if len(rows):
                found.append((i, rows, scores[rows]))
        return found

    def _probed(self, vector: np.ndarray, k: int, masks: Sequence[np.ndarray | None], partitions: np.ndarray) -> list:
        found = self._exact(vector, k, masks, self._plain)
        for i, parts in self._partitioned:
            seg = self.segments[i]
            starts, stops = np.asarray(parts[partitions]), np.asarray(parts[partitions + 1])
            rows = _ranges(starts, stops)
            if not len(rows):
                continue
            # each partition's rows are contiguous: score them in place, without gathering a copy
            scores = np.concatenate([seg.vectors[a:b] @ vector for a, b in zip(starts.tolist(), stops.tolist()) if b > a])
            mask = masks[i]
            if mask is not None:
                scores = np.where(mask[rows], scores, -np.inf)
            best = top(scores, k)
            found.append((i, rows[best], scores[best]))
        return found

    def records(self, chunk_ids: Sequence[str], index: str) -> list[ChunkRecord]:
        """The live records of ``chunk_ids``, in that order (``ChunkNotFoundError`` for one the index does not hold)."""
        ids = list(dict.fromkeys(chunk_ids))
        located = ((c, self._located.get(c)) for c in ids)  # found by a search of this snapshot
        where = {c: at for c, at in located if at is not None}
        todo = [c for c in ids if c not in where]
        hashes = hash_strings(todo)  # once, for every segment
        for i, seg in enumerate(self.segments):
            if not todo:
                break
            left = []
            alive = self.alive[i]
            for j, (cid, row) in enumerate(zip(todo, seg.find(todo, hashes).tolist())):
                if row >= 0 and (alive is None or alive[row]):
                    where[cid] = (i, row)
                else:
                    left.append(j)
            todo, hashes = [todo[j] for j in left], hashes[left]
        missing = [c for c in chunk_ids if c not in where]
        if missing:
            raise ChunkNotFoundError(f"index '{index}' has no chunk {missing[0]!r}")
        fetched: dict[str, ChunkRecord] = {}
        for i in sorted({s for s, _ in where.values()}):
            wanted = [c for c in ids if where[c][0] == i]
            for cid, record in zip(wanted, self.segments[i].records(np.array([where[c][1] for c in wanted]))):
                fetched[cid] = record
        return [fetched[c] for c in chunk_ids]


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(start, stop)`` for each pair."""
    lengths = stops - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    out = np.ones(total, np.int64)
    out[0] = starts[0]
    nonempty = lengths > 0
    firsts = (ends - lengths)[nonempty][1:]
    out[firsts] = starts[nonempty][1:] - stops[nonempty][:-1] + 1
    return np.cumsum(out)


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best finite ``scores``, best first (ties: lower position first)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, np.int64)
    idx = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    idx = idx[np.lexsort((idx, -scores[idx]))]
    return idx[np.isfinite(scores[idx])]
