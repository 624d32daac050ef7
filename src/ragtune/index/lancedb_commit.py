"""The segment side of a LanceDB commit: mark replaced rows deleted, write the new rows as a segment, merge.

A commit costs in proportion to what it changes: the rows of replaced or removed documents are added to
their segments' deletion lists (a new small file per touched segment), the new chunks become one new
segment, and the vectors of the new rows are assigned to the existing IVF partitions. Segments are merged at a
size ratio: when ``FACTOR`` segments share a size tier (tiers grow ``FACTOR``-fold from ``BASE_ROWS`` rows) they
become one, so each row is rewritten about once per tier and a query reads few segments; a segment with more
than ``MAX_DELETED`` of its rows deleted is rewritten alone. No merge writes more than ``MERGE_ROWS`` rows, which
bounds the work any one commit can be asked to do (a large index is then a few segments of that size).

The IVF partitioning is trained when the index passes ``ann_threshold`` chunks and again only when
``ragtune.index.ivf.needs_training`` says the data has outgrown it; then every segment is rewritten in the new
partition order, and how many partitions a query must read is measured again (``_calibrate``).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from ragtune.index.base import IndexManifest
from ragtune.index.ivf import BLOCK, CALIBRATION_QUERIES, calibrate, needs_training, partitions_for, train
from ragtune.index.lancedb_snapshot import open_segment
from ragtune.index.lexical import Analyzer
from ragtune.index.segment_write import (
    Partitioning,
    SegmentData,
    from_chunks,
    merged,
    new_segment_id,
    partitioned,
    save_array,
    write_segment,
)
from ragtune.index.segments import Segment, SegmentError, load_centroids

BASE_ROWS = 4096
FACTOR = 8
MAX_DELETED = 0.3
MERGE_ROWS = 262_144
"""No merge writes a segment of more live rows than this, so a commit's merging work is bounded."""
REBUILD_ROWS = MERGE_ROWS
"""A rebuild, or a new partitioning, writes segments of at most this many rows (bounded memory)."""
TRAINING_SAMPLE = 48
NEIGHBOURS = 10


class SegmentWriter:
    """The segments of the next generation, starting from the committed ones (``backend["segments"]``)."""

    def __init__(self, folder: Path, backend: dict, generation: int, analyzer: Analyzer, ann_threshold: int) -> None:
        self.folder, self.generation, self.analyzer = folder, generation, analyzer
        self.ann_threshold = ann_threshold
        self.entries: list[dict] = [dict(e) for e in backend.get("segments", [])]
        self.ivf: dict | None = dict(backend["ivf"]) if backend.get("ivf") else None
        self.segments: dict[str, Segment] = {}
        self.alive: dict[str, np.ndarray | None] = {}
        for entry in self.entries:
            self._open(entry)
        self._partitioning = None if self.ivf is None else Partitioning(
            self.ivf["id"], load_centroids(folder / "ivf" / f"{self.ivf['id']}.npy", self.ivf["partitions"], self.ivf.get("sum")))

    def _open(self, entry: dict) -> None:
        self.segments[entry["id"]], self.alive[entry["id"]] = open_segment(self.folder, entry)

    @property
    def live_rows(self) -> int:
        return sum(e["live"] for e in self.entries)

    def partitioning(self) -> Partitioning | None:
        """The IVF partitioning new rows are sorted by (None below ``ann_threshold``)."""
        return self._partitioning

    # -- a commit's changes ------------------------------------------------------------------------------------
    def delete(self, doc_ids: Sequence[str]) -> None:
        """Mark the rows of ``doc_ids`` deleted in every segment holding them."""
        if not doc_ids:
            return
        for entry in self.entries:
            segment, alive = self.segments[entry["id"]], self.alive[entry["id"]]
            rows = segment.rows_of_documents(doc_ids)
            if alive is not None:
                rows = rows[alive[rows]]
            if not len(rows):
                continue
            alive = np.ones(segment.rows, bool) if alive is None else alive.copy()
            alive[rows] = False
            name = f"{entry['id']}.{self.generation}.npy"
            checksum = save_array(self.folder / "deletes" / name, np.flatnonzero(~alive).astype(np.int32))
            self.alive[entry["id"]] = alive
            entry["deleted"], entry["deleted_sum"] = name, checksum
            entry["live"] -= len(rows)
            entry["tokens"] -= int(np.asarray(segment.postings.lengths)[rows].sum())

    def add(self, chunks, vectors: np.ndarray) -> None:
        """Write the Arrow chunk rows ``chunks`` with their ``vectors`` as a new segment."""
        if chunks.num_rows:
            self._write(from_chunks(chunks, vectors, self.analyzer), track_drift=True)

    def _write(self, data: SegmentData, track_drift: bool = False) -> SegmentData:
        """Write ``data`` as a new segment, sorted by partition first, and list it."""
        data = partitioned(data, self.partitioning())
        entry = {"id": new_segment_id(self.generation)}
        entry.update(write_segment(self.folder / "segments" / entry["id"], data))
        self.entries.append(entry)
        self._open(entry)
        if track_drift and self.ivf is not None and data.distance is not None:
            self.ivf["added_rows"] = self.ivf.get("added_rows", 0) + data.rows
            self.ivf["added_distance"] = self.ivf.get("added_distance", 0.0) + float(data.distance.sum())
        return data

    # -- upkeep ----------------------------------------------------------------------------------------------------
    def maintain(self) -> None:
        """Drop empty segments, train the partitioning when due, and merge segments at the size ratio."""
        self.entries = [e for e in self.entries if e["live"] > 0]
        if needs_training(self.ivf, self.live_rows, self.ann_threshold):
            self._train()
            return
        while (group := self._merge_group()) is not None:
            self._merge(group)

    def _merge_group(self) -> list[dict] | None:
        """The next segments to merge: one with too many deleted rows, or the smallest of a full tier (within
        ``MERGE_ROWS`` live rows, so that no commit rewrites more than that)."""
        for entry in self.entries:
            if entry["live"] < (1 - MAX_DELETED) * entry["rows"]:
                return [entry]
        tiers: dict[int, list[dict]] = {}
        for entry in self.entries:
            tiers.setdefault(_tier(entry["live"]), []).append(entry)
        for tier in sorted(tiers):
            if len(tiers[tier]) < FACTOR:
                continue
            group, size = [], 0
            for entry in sorted(tiers[tier], key=lambda e: e["live"]):
                if size + entry["live"] > MERGE_ROWS:
                    break
                group.append(entry)
                size += entry["live"]
            if len(group) >= 2:
                return group
        return None

    def _merge(self, group: list[dict]) -> None:
        data = merged([(self.segments[e["id"]], self.alive[e["id"]]) for e in group], self.ivf["id"] if self.ivf else None)
        gone = {e["id"] for e in group}
        self.entries = [e for e in self.entries if e["id"] not in gone]
        self._write(data)

    def _train(self) -> None:
        """Train a new partitioning on a sample of the live vectors and rewrite every segment in its order."""
        total = self.live_rows
        parts = partitions_for(total)
        sample = self._sample(min(total, parts * TRAINING_SAMPLE))
        centroids = train(sample, parts, seed=self.generation)
        ivf_id = new_segment_id(self.generation)
        checksum = save_array(self.folder / "ivf" / f"{ivf_id}.npy", centroids)
        self._partitioning = Partitioning(ivf_id, centroids)
        self.ivf = {"id": ivf_id, "partitions": len(centroids), "trained_rows": total, "distance": 0.0,
                    "added_rows": 0, "added_distance": 0.0, "sum": checksum}
        old, self.entries = self.entries, []
        distance, rows = 0.0, 0
        for group in _batches(old, REBUILD_ROWS):
            data = self._write(merged([(self.segments[e["id"]], self.alive[e["id"]]) for e in group]))
            if data.distance is not None:
                distance, rows = distance + float(data.distance.sum()), rows + data.rows
        self.ivf["distance"] = distance / max(rows, 1)
        self.ivf["nprobe"], self.ivf["recall"] = self._calibrate(centroids)

    def _calibrate(self, centroids: np.ndarray) -> tuple[int, float]:
        """Measure how many partitions a query must read (``ragtune.index.ivf.calibrate``) by an exact scan."""
        queries = self._sample(CALIBRATION_QUERIES, seed=self.generation + 1)
        best_scores = np.full((len(queries), NEIGHBOURS + 1), -np.inf, np.float32)
        best_parts = np.zeros((len(queries), NEIGHBOURS + 1), np.int64)
        for entry in self.entries:
            segment, alive = self.segments[entry["id"]], self.alive[entry["id"]]
            for start in range(0, segment.rows, BLOCK):
                scores = queries @ np.asarray(segment.vectors[start:start + BLOCK], np.float32).T
                if alive is not None:
                    scores[:, ~alive[start:start + BLOCK]] = -np.inf
                width = min(NEIGHBOURS + 1, scores.shape[1])
                picked = np.argpartition(-scores, width - 1, axis=1)[:, :width]
                rows = picked + start
                parts = np.searchsorted(np.asarray(segment.parts), rows, side="right") - 1 \
                    if segment.parts is not None else np.full(rows.shape, -1, np.int64)  # scanned whole
                merged_scores = np.concatenate([best_scores, np.take_along_axis(scores, picked, axis=1)], axis=1)
                merged_parts = np.concatenate([best_parts, parts], axis=1)
                keep = np.argsort(-merged_scores, axis=1, kind="stable")[:, :NEIGHBOURS + 1]
                best_scores = np.take_along_axis(merged_scores, keep, axis=1)
                best_parts = np.take_along_axis(merged_parts, keep, axis=1)
        # the first neighbour of a row is itself: leave it out
        return calibrate(centroids, queries, best_parts[:, 1:])

    def _sample(self, count: int, seed: int | None = None) -> np.ndarray:
        """``count`` live vectors drawn evenly from the segments."""
        rng = np.random.default_rng(self.generation if seed is None else seed)
        picks = []
        total = max(self.live_rows, 1)
        for entry in self.entries:
            segment, alive = self.segments[entry["id"]], self.alive[entry["id"]]
            live = np.arange(segment.rows) if alive is None else np.flatnonzero(alive)
            take = min(len(live), max(1, round(count * entry["live"] / total)))
            chosen = np.sort(rng.choice(live, take, replace=False))
            picks.append(np.asarray(segment.vectors[chosen], np.float32))
        return np.concatenate(picks)

    def rebuild(self, chunks, vectors: np.ndarray) -> None:
        """Segments for every row of ``chunks`` (the whole chunks table) with ``vectors``, from nothing."""
        for start in range(0, chunks.num_rows, REBUILD_ROWS):
            part = chunks.slice(start, REBUILD_ROWS)
            self._write(from_chunks(part, vectors[start:start + part.num_rows], self.analyzer))
        self.maintain()

    def backend(self) -> dict:
        """The manifest's record of the segments and the partitioning."""
        return {"segments": self.entries, "ivf": self.ivf,
                "lexical": {"stemmer": self.analyzer.tokenizer.stemmer_name,
                            "token_pattern": self.analyzer.tokenizer.token_pattern}}


def _tier(rows: int) -> int:
    return 0 if rows < BASE_ROWS else int(math.log(rows / BASE_ROWS, FACTOR)) + 1


def _batches(entries: list[dict], limit: int) -> list[list[dict]]:
    """``entries`` in consecutive groups of at most ``limit`` live rows (a larger segment forms a group alone)."""
    groups: list[list[dict]] = [[]]
    size = 0
    for entry in entries:
        if groups[-1] and size + entry["live"] > limit:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += entry["live"]
    return [g for g in groups if g]


def referenced(backend: dict) -> tuple[set[str], set[str], set[str]]:
    """The segment folders, deletion files and partitionings a manifest's backend names."""
    segments = backend.get("segments") or []
    ivf = backend.get("ivf") or {}
    return ({e["id"] for e in segments}, {e["deleted"] for e in segments if e.get("deleted")},
            {f"{ivf['id']}.npy"} if ivf else set())


def check_counts(manifest: IndexManifest) -> None:
    """``SegmentError`` unless the segments' live rows add up to the manifest's chunk count."""
    live = sum(e["live"] for e in manifest.backend.get("segments") or [])
    if live != manifest.chunks:
        raise SegmentError(f"the manifest counts {manifest.chunks} chunks, its segments {live} live rows")


def collect(folder: Path, *backends: dict) -> None:
    """Remove the segment, deletion and partitioning files none of ``backends`` names (and the old BM25 folder)."""
    keep_segments, keep_deletes, keep_ivf = set(), set(), set()
    for backend in backends:
        segments, deletes, ivf = referenced(backend)
        keep_segments |= segments
        keep_deletes |= deletes
        keep_ivf |= ivf
    for sub, keep in (("segments", keep_segments), ("deletes", keep_deletes), ("ivf", keep_ivf)):
        if (folder / sub).is_dir():
            for path in (folder / sub).iterdir():
                if path.name not in keep:
                    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    if all("segments" in b for b in backends):
        shutil.rmtree(folder / "bm25", ignore_errors=True)
