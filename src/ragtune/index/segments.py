"""Index segments: immutable sets of chunk rows with everything search needs, memory-mapped by readers.

A segment is a folder ``segments/<id>/`` written once and never changed:

- ``rows.arrow``: the chunk records (Arrow IPC file: ids, text, citation fields, metadata as JSON and as
  ``key\\x1fvalue`` strings for filters), read by memory map: a hit's record is read, no other;
- ``vectors.npy``: the vectors, one float32 row per chunk (rows sorted by IVF partition when ``parts.npy``
  gives each partition's offsets);
- ``keys.npy`` / ``keyrows.npy``: the 64-bit hashes of the chunk ids, sorted, and the row of each;
- the lexical postings (``ragtune.index.lexical``) and ``meta.json`` (format, row count, partitioning).

Rows deleted by later commits are listed in a deletion file the manifest names per segment (sorted row
numbers); a segment is never edited. The manifest records a CRC-32 of every segment file, deletion file and
partitioning; the first time a process maps a file it reads it once to check it (``verify_file``; a file
already checked, unchanged since, is not read again). Opening a segment checks that its files are there,
match their checksums, and agree with each other and with the manifest; any fault raises ``SegmentError``.
"""

from __future__ import annotations

import json
import threading
import zlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ragtune.errors import SegmentError
from ragtune.index.base import ChunkRecord, Filters, glob_regex
from ragtune.index.lexical import POSTING_FILES, Postings, hash_strings

RECORD_COLUMNS = ["chunk_id", "doc_id", "position", "text", "start", "end", "page", "headings", "source", "doc_type",
                  "metadata"]
FORMAT = 1
KV_SEPARATOR = "\x1f"


_verified: set[tuple] = set()
_verified_guard = threading.Lock()


def file_checksum(path: Path) -> str:
    """The CRC-32 of the file ``path`` as ``crc32:<hex>``."""
    value = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            value = zlib.crc32(block, value)
    return f"crc32:{value:08x}"


def folder_checksums(folder: Path) -> dict[str, str]:
    """The checksum of each file of a segment folder, by file name."""
    return {p.name: file_checksum(p) for p in sorted(folder.iterdir()) if p.is_file()}


def verify_file(path: Path, expected: str | None, what: str | None = None) -> None:
    """``SegmentError`` unless ``path`` matches ``expected`` (None: nothing recorded, nothing to check); read once per
    process while the file is unchanged."""
    if expected is None:
        return
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise SegmentError(f"{path.parent}: {what or path.name} is missing") from exc
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, expected)
    with _verified_guard:
        if key in _verified:
            return
    if file_checksum(path) != expected:
        raise SegmentError(f"{path.parent}: {what or path.name} does not match its checksum")
    with _verified_guard:
        _verified.add(key)


def load_array(path: Path, what: str | None = None, *, mmap: bool = False, checksum: str | None = None) -> np.ndarray:
    """The array of the ``.npy`` file ``path`` (memory-mapped with ``mmap``); ``SegmentError`` naming ``what`` (by
    default the file in its folder) when it is missing, unreadable or does not match ``checksum``."""
    where, what = (path, what) if what else (path.parent, path.name)
    verify_file(path, checksum, what)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError as exc:
        raise SegmentError(f"{where}: {what} is missing") from exc
    except (ValueError, OSError, EOFError) as exc:
        raise SegmentError(f"{where}: {what} is unreadable ({exc})") from exc


def _npy(folder: Path, name: str, rows: int | None = None) -> np.ndarray:
    array = load_array(folder / f"{name}.npy", mmap=True)
    if rows is not None and len(array) != rows:
        raise SegmentError(f"{folder}: {name}.npy holds {len(array)} rows, the segment {rows}")
    return array


class Segment:
    """A read view of one segment folder (memory-mapped; see the module docstring)."""

    def __init__(self, folder: Path, rows: int, checksums: dict[str, str] | None = None) -> None:
        import pyarrow as pa

        self.folder, self.rows = folder, rows
        if checksums is not None:
            if not (folder / "meta.json").is_file():
                raise SegmentError(f"{folder}: the segment is missing")
            for name, expected in checksums.items():
                verify_file(folder / name, expected)
        try:
            self.meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SegmentError(f"{folder}: the segment is missing") from exc
        except (ValueError, OSError) as exc:
            raise SegmentError(f"{folder}: meta.json is unreadable ({exc})") from exc
        if self.meta.get("rows") != rows or self.meta.get("format") != FORMAT:
            raise SegmentError(f"{folder}: meta.json describes {self.meta.get('rows')} rows, the manifest {rows}")
        try:
            self.table = pa.ipc.open_file(pa.memory_map(str(folder / "rows.arrow"))).read_all()
        except FileNotFoundError as exc:
            raise SegmentError(f"{folder}: rows.arrow is missing") from exc
        except (pa.ArrowException, OSError) as exc:
            raise SegmentError(f"{folder}: rows.arrow is unreadable ({exc})") from exc
        self._batches: list | None = None
        self._starts = np.zeros(1, np.int64)
        if self.table.num_rows != rows:
            raise SegmentError(f"{folder}: rows.arrow holds {self.table.num_rows} rows, the manifest {rows}")
        self.vectors = _npy(folder, "vectors", rows)
        self.keys, self.keyrows = _npy(folder, "keys", rows), _npy(folder, "keyrows", rows)
        arrays = {name: _npy(folder, name) for name in POSTING_FILES}
        self.postings = Postings(**arrays)
        if len(self.postings.lengths) != rows or len(self.postings.offsets) != len(self.postings.terms) + 1 or \
                len(self.postings.rows) != len(self.postings.tfs) or \
                (len(self.postings.offsets) and int(self.postings.offsets[-1]) != len(self.postings.rows)):
            raise SegmentError(f"{folder}: the lexical postings do not agree with each other or with the rows")
        self.parts = _npy(folder, "parts") if (folder / "parts.npy").exists() or self.meta.get("ivf") else None
        if self.parts is not None and (not len(self.parts) or int(self.parts[-1]) != rows):
            raise SegmentError(f"{folder}: parts.npy does not cover the segment's rows")

    @property
    def ivf(self) -> str | None:
        """The id of the partitioning the rows are sorted by (None: not partitioned)."""
        return self.meta.get("ivf")

    def find(self, chunk_ids: Sequence[str], hashes: np.ndarray | None = None) -> np.ndarray:
        """The row of each chunk id (-1 where this segment does not hold it); ``hashes``: the ids' ``hash_strings``,
        when the caller has them."""
        if not chunk_ids or not self.rows:
            return np.full(len(chunk_ids), -1, np.int64)
        wanted = hash_strings(chunk_ids) if hashes is None else hashes
        at = np.minimum(np.searchsorted(self.keys, wanted), self.rows - 1)
        rows = np.where(self.keys[at] == wanted, self.keyrows[at], -1).astype(np.int64)
        found = np.flatnonzero(rows >= 0)
        if len(found):  # hashes are 64-bit: check the ids themselves
            stored = self.column("chunk_id", rows[found])
            rows[found[[a != chunk_ids[i] for a, i in zip(stored, found.tolist())]]] = -1
        return rows

    def _take(self, columns: Sequence[str], rows: np.ndarray) -> dict[str, list[Any]]:
        """The values of ``columns`` at ``rows``, in that order, read batch by batch (a take over the whole table
        would first join its batches: a copy of every column)."""
        rows = np.asarray(rows, np.int64)
        if self._batches is None:
            self._batches = self.table.to_batches()
            self._starts = np.cumsum([0] + [b.num_rows for b in self._batches])
        out: dict[str, list[Any]] = {c: [None] * len(rows) for c in columns}
        which = np.searchsorted(self._starts, rows, side="right") - 1
        for b in np.unique(which).tolist():
            at = np.flatnonzero(which == b)
            part = self._batches[b].select(list(columns)).take(_indices(rows[at] - self._starts[b]))
            for c in columns:
                values = part.column(c).to_pylist()
                target = out[c]
                for i, v in zip(at.tolist(), values):
                    target[i] = v
        return out

    def column(self, name: str, rows: np.ndarray) -> list[Any]:
        """The values of one column at ``rows``."""
        return self._take([name], rows)[name]

    def records(self, rows: np.ndarray) -> list[ChunkRecord]:
        """The chunk records at ``rows``, in that order."""
        return records_from_columns(self._take(RECORD_COLUMNS, rows))

    def rows_of_documents(self, doc_ids: Sequence[str]) -> np.ndarray:
        """The rows of the chunks of ``doc_ids``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not doc_ids or not self.rows:
            return np.zeros(0, np.int64)
        hit = pc.is_in(self.table.column("doc_id"), value_set=pa.array(list(doc_ids), pa.string()))
        return np.flatnonzero(hit.to_numpy(zero_copy_only=False))

    def mask(self, filters: Filters) -> np.ndarray:
        """Which rows ``filters`` keep, computed over the mapped columns (``ragtune.index.base.Filters.matches``)."""
        keep = np.ones(self.rows, bool)
        if filters.source:
            keep &= _glob_mask(self.table.column("source"), filters.source)
        if filters.types:
            import pyarrow as pa
            import pyarrow.compute as pc

            keep &= pc.is_in(self.table.column("doc_type"), value_set=pa.array([str(t) for t in filters.types])) \
                .to_numpy(zero_copy_only=False)
        for key, want in filters.metadata.items():
            keep &= self._metadata_mask(str(key), str(want))
        return keep

    def _metadata_mask(self, key: str, want: str) -> np.ndarray:
        import pyarrow.compute as pc

        pairs = self.table.column("meta_kv")
        flat = pc.list_flatten(pairs).to_numpy(zero_copy_only=False)
        parents = pc.list_parent_indices(pairs).to_numpy(zero_copy_only=False)
        keep = np.zeros(self.rows, bool)
        keep[parents[flat == f"{key}{KV_SEPARATOR}{want}"]] = True
        if want == "None":  # a missing key reads as None, as in Filters.matches
            has = np.zeros(self.rows, bool)
            has[parents[np.char.startswith(flat.astype(str), f"{key}{KV_SEPARATOR}")]] = True
            keep |= ~has
        return keep


def records_from_columns(columns: dict[str, list[Any]]) -> list[ChunkRecord]:
    """The chunk records of the values of ``RECORD_COLUMNS`` (headings and metadata as JSON), row by row.

    Each distinct JSON text is parsed once; every record gets its own metadata (the same text parsed again when
    it holds lists or objects), so changing one record's changes no other's.
    """
    headings: dict[str | None, tuple[str, ...]] = {}
    metadata: dict[str | None, tuple[dict[str, Any], bool]] = {}

    def own_metadata(text: str | None) -> dict[str, Any]:
        if text not in metadata:
            value = json.loads(text or "{}")
            metadata[text] = value, all(not isinstance(v, (dict, list)) for v in value.values())
        value, flat = metadata[text]
        return dict(value) if flat else json.loads(text or "{}")

    c = columns
    for text in c["headings"]:
        if text not in headings:
            headings[text] = tuple(json.loads(text or "[]"))
    return [ChunkRecord(chunk_id=c["chunk_id"][i], doc_id=c["doc_id"][i], position=c["position"][i], text=c["text"][i],
                        start=c["start"][i], end=c["end"][i], page=c["page"][i], headings=headings[c["headings"][i]],
                        source=c["source"][i], doc_type=c["doc_type"][i], metadata=own_metadata(c["metadata"][i]))
            for i in range(len(c["chunk_id"]))]


def load_centroids(path: Path, partitions: int, checksum: str | None = None) -> np.ndarray:
    """The centroids of an IVF partitioning (``SegmentError`` when missing, damaged or not the manifest's)."""
    centroids = load_array(path, "the IVF partitioning", checksum=checksum)
    if centroids.ndim != 2 or len(centroids) != partitions:
        raise SegmentError(f"{path}: the IVF partitioning holds {len(centroids)} centroids, the manifest {partitions}")
    return centroids


def _glob_mask(source, pattern: str) -> np.ndarray:
    """Rows whose source, or its last path part, matches the glob ``pattern`` (as ``fnmatch`` does)."""
    import pyarrow.compute as pc

    regex = glob_regex(pattern)
    whole = pc.match_substring_regex(source, pattern=regex)
    base = pc.match_substring_regex(pc.replace_substring_regex(source, pattern="(?s)^.*/", replacement=""), pattern=regex)
    return pc.or_(whole, base).to_numpy(zero_copy_only=False)


def metadata_pairs(metadata_json: Sequence[str | None]) -> list[list[str]]:
    """The ``key\\x1fvalue`` strings of each row's metadata (values as ``str`` gives them), for filters."""
    cache: dict[str | None, list[str]] = {}
    out = []
    for text in metadata_json:
        pairs = cache.get(text)
        if pairs is None:
            pairs = [f"{k}{KV_SEPARATOR}{v}" for k, v in json.loads(text or "{}").items()]
            cache[text] = pairs
        out.append(pairs)
    return out


def _indices(rows: np.ndarray):
    """``rows`` as an Arrow int64 array over the same memory. ``pa.array`` would do, but it imports pandas to check
    its argument (a third of a second on every cold search)."""
    import pyarrow as pa

    rows = np.ascontiguousarray(rows, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(rows), [None, pa.py_buffer(rows)])
