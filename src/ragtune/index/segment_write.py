"""Writing segments: a new one from a commit's chunks, or one merged from the live rows of others.

Everything of a segment is built in memory (``SegmentData``), ordered (by IVF partition when a partitioning is
given and the segment is large enough to be worth it), then written file by file and flushed to disk before the
manifest names it. A folder left by a writer that died is named by no manifest and is removed by the next writer.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ragtune.common import write_text_atomic
from ragtune.documents.base import CONTEXT_KEY, index_text
from ragtune.index.ivf import assign
from ragtune.index.lexical import POSTING_FILES, Analyzer, Postings, hash_strings
from ragtune.index.segments import FORMAT, RECORD_COLUMNS, Segment, file_checksum, folder_checksums, metadata_pairs

PARTITIONED_ROWS = 4096
"""Segments below this many rows are not sorted by partition: a query scans them whole."""
BATCH_ROWS = 65_536


@dataclass
class Partitioning:
    """A trained IVF partitioning: its id and unit centroids."""

    id: str
    centroids: np.ndarray


@dataclass
class SegmentData:
    """A segment in memory, rows aligned across ``table``, ``vectors``, ``keys`` and the postings' rows."""

    table: Any  # pyarrow.Table: RECORD_COLUMNS and meta_kv
    vectors: np.ndarray
    keys: np.ndarray
    postings: Postings
    parts: np.ndarray | None = None
    ivf: str | None = None
    distance: np.ndarray | None = None  # cosine distance of each row to its centroid, when partitioned
    labels: np.ndarray | None = None  # each row's partition in ``ivf``, when known before partitioning

    @property
    def rows(self) -> int:
        return len(self.keys)


def _context(metadata_json: str | None) -> str:
    """The context header recorded in a chunk's metadata JSON ('' without one)."""
    if not metadata_json or CONTEXT_KEY not in metadata_json:
        return ""
    return str(json.loads(metadata_json).get(CONTEXT_KEY) or "")


def from_chunks(chunks, vectors: np.ndarray, analyzer: Analyzer) -> SegmentData:
    """A segment of the Arrow chunk rows ``chunks`` (the chunks table's columns) with ``vectors`` (aligned)."""
    import pyarrow as pa

    table = chunks.select(RECORD_COLUMNS)
    kv = metadata_pairs(table.column("metadata").to_pylist())
    table = table.append_column("meta_kv", pa.array(kv, pa.list_(pa.string())))
    texts = [index_text(t, json.loads(h or "[]"), _context(m))
             for h, t, m in zip(table.column("headings").to_pylist(), table.column("text").to_pylist(),
                                table.column("metadata").to_pylist())]
    lengths, rows, hashes = analyzer.tokens(texts)
    keys = hash_strings(table.column("chunk_id").to_pylist())
    return SegmentData(table=table, vectors=np.ascontiguousarray(vectors, np.float32), keys=keys,
                       postings=Postings.build(lengths, rows, hashes))


def merged(sources: Sequence[tuple[Segment, np.ndarray | None]], ivf: str | None = None) -> SegmentData:
    """One segment of the live rows of ``sources`` (each a segment and its live-row mask, None: all live).

    When every source is sorted by the partitioning ``ivf``, the rows keep their partitions (no new assignment).
    """
    import pyarrow as pa

    tables, vectors, keys, triples, lengths, labels = [], [], [], [], [], []
    offset = 0
    for segment, alive in sources:
        live = np.arange(segment.rows) if alive is None else np.flatnonzero(alive)
        new_row = np.full(segment.rows, -1, np.int64)
        new_row[live] = np.arange(offset, offset + len(live))
        tables.append(segment.table.take(pa.array(live)))
        vectors.append(np.asarray(segment.vectors[live], np.float32))
        by_row = np.empty(segment.rows, np.uint64)
        by_row[np.asarray(segment.keyrows)] = segment.keys
        keys.append(by_row[live])
        triples.append(segment.postings.triples(alive, new_row))
        lengths.append(np.asarray(segment.postings.lengths)[live])
        if ivf is not None and segment.ivf == ivf and segment.parts is not None:
            labels.append((np.searchsorted(np.asarray(segment.parts), live, side="right") - 1).astype(np.int32))
        offset += len(live)
    hashes, rows, tfs = (np.concatenate([t[i] for t in triples]) for i in range(3))
    table = pa.concat_tables(tables).combine_chunks() if tables else None
    return SegmentData(table=table, vectors=np.concatenate(vectors), keys=np.concatenate(keys),
                       postings=Postings.build(np.concatenate(lengths), rows, hashes.astype(np.uint64), tfs),
                       ivf=ivf, labels=np.concatenate(labels) if len(labels) == len(sources) else None)


def partitioned(data: SegmentData, ivf: Partitioning | None) -> SegmentData:
    """``data`` with its rows sorted by nearest centroid of ``ivf`` (unchanged without one, or when small)."""
    import pyarrow as pa

    if ivf is None or data.rows < PARTITIONED_ROWS:
        return replace(data, parts=None, ivf=None, distance=None, labels=None)
    if data.labels is not None and data.ivf == ivf.id:
        labels, distance = data.labels, None  # merged from segments sorted by this partitioning
    else:
        labels, distance = assign(data.vectors, ivf.centroids)
    order = np.argsort(labels, kind="stable")
    new_row = np.empty(data.rows, np.int64)
    new_row[order] = np.arange(data.rows)
    hashes, rows, tfs = data.postings.triples(None, new_row)
    postings = Postings.build(np.asarray(data.postings.lengths)[order], rows, hashes, tfs)
    counts = np.bincount(labels, minlength=len(ivf.centroids))
    parts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return SegmentData(table=data.table.take(pa.array(order)), vectors=data.vectors[order], keys=data.keys[order],
                       postings=postings, parts=parts, ivf=ivf.id, distance=None if distance is None else distance[order])


def new_segment_id(generation: int) -> str:
    """A fresh segment name: the generation it was written for and a random part."""
    return f"{generation:08d}-{uuid.uuid4().hex[:12]}"


def write_segment(folder: Path, data: SegmentData) -> dict:
    """Write ``data`` into the new folder ``folder``, flushed to disk; its manifest entry (without ``id``)."""
    import pyarrow as pa

    folder.mkdir(parents=True)
    with pa.OSFile(str(folder / "rows.arrow"), "wb") as sink, pa.ipc.new_file(sink, data.table.schema) as writer:
        writer.write_table(data.table, max_chunksize=BATCH_ROWS)
    _sync(folder / "rows.arrow")
    order = np.argsort(data.keys, kind="stable")
    arrays = {"vectors": data.vectors, "keys": data.keys[order], "keyrows": order.astype(np.int32)}
    arrays.update({name: getattr(data.postings, name) for name in POSTING_FILES})
    if data.parts is not None:
        arrays["parts"] = data.parts
    for name, array in arrays.items():
        save_array(folder / f"{name}.npy", array)
    tokens = int(np.asarray(data.postings.lengths, np.int64).sum())
    meta = {"format": FORMAT, "rows": data.rows, "ivf": data.ivf}
    write_text_atomic(folder / "meta.json", json.dumps(meta), durable=True)
    _sync(folder)
    return {"rows": data.rows, "live": data.rows, "tokens": tokens, "deleted": None, "sums": folder_checksums(folder)}


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_array(path: Path, array: np.ndarray) -> str:
    """Write one ``.npy`` file durably (a deletion list, a partitioning's centroids); its checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    return file_checksum(path)
