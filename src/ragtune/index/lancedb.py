"""The embedded default store: LanceDB tables in the workspace, BM25 beside them.

Layout of ``<home>/indexes/<name>/``: ``manifest.json`` (the committed state), ``lance/`` (tables
``chunks`` and ``docs``), ``bm25/<generation>/`` (the lexical index), ``.lock`` (one writer at a time).

Atomicity: LanceDB versions every table write. The manifest names the table versions of the committed
generation, and readers check out exactly those versions; a writer applies its changes, builds the BM25
index for the next generation, then swaps the manifest with one ``os.replace``. A writer that died
part-way leaves table versions past the manifest; the next writer restores the manifest's versions first.
Re-embedding (``replace_vectors``) writes the chunks table whole as a new version, with the new dimension,
and swaps the manifest the same way.

Search below ``ann_threshold`` chunks is exact (a NumPy matrix product over cached vectors: faster
than a flat Lance scan at these sizes); above it an IVF-HNSW index in Lance serves dense queries.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ragtune.config import IndexConfig
from ragtune.embeddings.base import EmbedderInfo
from ragtune.common import utc_now, write_text_atomic
from ragtune.errors import ChunkNotFoundError, IndexNotFoundError, InputError, StoreError
from ragtune.index.base import (
    ChunkRecord,
    DocRecord,
    DocumentChange,
    Filters,
    IndexManifest,
    IngestEvent,
)
from ragtune.index.bm25 import BM25Index
from ragtune.index.names import check_index_name

def _chunk_schema(dim: int):
    import pyarrow as pa

    return pa.schema([
        ("chunk_id", pa.string()), ("doc_id", pa.string()), ("position", pa.int32()), ("text", pa.string()),
        ("start", pa.int64()), ("end", pa.int64()), ("page", pa.int32()), ("headings", pa.string()),
        ("source", pa.string()), ("doc_type", pa.string()), ("metadata", pa.string()),
        ("vector", pa.list_(pa.float32(), dim)),
    ])


def _doc_schema():
    import pyarrow as pa

    return pa.schema([
        ("doc_id", pa.string()), ("source", pa.string()), ("origin", pa.string()), ("hash", pa.string()),
        ("version", pa.int64()), ("chunks", pa.int64()), ("doc_type", pa.string()), ("metadata", pa.string()),
        ("updated_at", pa.string()),
    ])


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class _Snapshot:
    """An in-memory read view of one committed generation."""

    def __init__(self, manifest: IndexManifest, chunks_table, bm25: BM25Index, ann: bool) -> None:
        self.generation = manifest.generation
        self.ann = ann
        self.table = chunks_table
        cols = ["chunk_id", "doc_id", "position", "text", "start", "end", "page", "headings", "source", "doc_type", "metadata"]
        data = chunks_table.to_arrow() if not ann else chunks_table.search().select(cols).limit(None).to_arrow()
        self.ids: list[str] = data.column("chunk_id").to_pylist()
        self.row = {cid: i for i, cid in enumerate(self.ids)}
        self.columns = {c: data.column(c).to_pylist() for c in cols if c != "chunk_id"}
        self._meta_cache: list[dict[str, Any] | None] = [None] * len(self.ids)
        self.vectors = None
        if not ann and len(self.ids):
            flat = data.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            self.vectors = np.asarray(flat, dtype=np.float32).reshape(len(self.ids), -1)
        self.bm25 = bm25
        self.bm25_rows = np.asarray([self.row[c] for c in getattr(bm25, "ids", [])], dtype=np.int64)

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


def _top(scores: np.ndarray, k: int, mask: np.ndarray | None, positive_only: bool = False) -> list[tuple[int, float]]:
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


class LanceDBStore:
    """Named indexes as LanceDB tables under ``<home>/indexes`` (see the module docstring)."""

    def __init__(self, home: Path, config: IndexConfig | None = None) -> None:
        self.root = Path(home) / "indexes"
        self.config = config or IndexConfig()
        self._snapshots: dict[str, _Snapshot] = {}
        self._manifests: dict[str, tuple[tuple[int, int, int], IndexManifest]] = {}
        self._lock = threading.Lock()

    # -- paths and locking -------------------------------------------------
    def _dir(self, name: str) -> Path:
        return self.root / check_index_name(name)

    def _require(self, name: str) -> Path:
        folder = self._dir(name)
        if not (folder / "manifest.json").is_file():
            known = ", ".join(self.list_indexes()) or "none yet"
            raise IndexNotFoundError(f"no index named '{name}' (indexes: {known}; create one with: ragtune ingest PATH --index {name})")
        return folder

    @contextmanager
    def _writer(self, name: str) -> Iterator[None]:
        folder = self._dir(name)
        with open(folder / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _db(self, name: str):
        import lancedb

        return lancedb.connect(str(self._dir(name) / "lance"))

    def _write_manifest(self, folder: Path, manifest: IndexManifest) -> None:
        write_text_atomic(folder / "manifest.json", manifest.model_dump_json(indent=2), durable=True)

    # -- the Store protocol ------------------------------------------------
    def list_indexes(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "manifest.json").is_file())

    def exists(self, name: str) -> bool:
        return (self._dir(name) / "manifest.json").is_file()

    def create(self, manifest: IndexManifest) -> IndexManifest:
        folder = self._dir(manifest.name)
        if (folder / "manifest.json").is_file():
            raise InputError(f"index '{manifest.name}' already exists")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            db = self._db(manifest.name)
            chunks = db.create_table("chunks", schema=_chunk_schema(manifest.embedder.dimension), mode="overwrite")
            docs = db.create_table("docs", schema=_doc_schema(), mode="overwrite")
            BM25Index(self.config.stemmer).build([]).save(folder / "bm25" / "0")
            manifest.backend = {"chunks_version": chunks.version, "docs_version": docs.version, "ann": False}
            self._write_manifest(folder, manifest)
        except OSError as exc:
            raise StoreError(f"cannot write the workspace at {self.root}: {exc.strerror or exc}") from exc
        return manifest

    def drop(self, name: str) -> None:
        folder = self._require(name)
        with self._writer(name):
            (folder / "manifest.json").unlink()
        shutil.rmtree(folder, ignore_errors=True)
        self._snapshots.pop(name, None)

    def manifest(self, name: str) -> IndexManifest:
        return self._read_manifest(self._require(name))

    def _read_manifest(self, folder: Path) -> IndexManifest:
        try:
            return IndexManifest.model_validate_json((folder / "manifest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            self._require(folder.name)
            raise
        except ValueError as exc:
            raise StoreError(f"{folder / 'manifest.json'}: unreadable index manifest: {exc}") from exc

    def _current(self, name: str) -> IndexManifest:
        """The committed manifest, parsed again only when the file changed (read-only: never mutate it).

        Every search checks the manifest to see a new generation; a commit replaces the file with a new
        one (a new inode, and longer, as its history grows), so the file's stat tells whether it changed.
        """
        path = self._dir(name) / "manifest.json"
        try:
            st = path.stat()
        except FileNotFoundError:
            self._require(name)
            raise
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._manifests.get(name)
        if cached is None or cached[0] != key:
            cached = (key, self._read_manifest(path.parent))
            self._manifests[name] = cached
        return cached[1]

    def _docs_table(self, name: str, manifest: IndexManifest):
        table = self._db(name).open_table("docs")
        table.checkout(manifest.backend["docs_version"])
        return table

    def documents(self, name: str) -> list[DocRecord]:
        manifest = self._current(name)
        rows = self._docs_table(name, manifest).to_arrow().to_pylist()
        return [DocRecord(doc_id=r["doc_id"], source=r["source"], origin=r["origin"], hash=r["hash"], version=r["version"],
                          chunks=r["chunks"], doc_type=r["doc_type"], metadata=json.loads(r["metadata"] or "{}"),
                          updated_at=r["updated_at"]) for r in rows]

    def commit(self, name: str, upserts: Sequence[DocumentChange], deletes: Sequence[str], event: IngestEvent) -> IndexManifest:
        import pyarrow as pa

        folder = self._require(name)
        with self._writer(name):
            manifest = self.manifest(name)
            chunks, docs = self._open_committed(name, manifest)
            gone = sorted(set(deletes) | {u.record.doc_id for u in upserts})
            if gone:  # delete only what is stored: a first ingest of many documents then writes no empty deletes
                stored = docs.search().select(["doc_id"]).limit(None).to_arrow().column("doc_id").to_pylist()
                gone = sorted(set(gone).intersection(stored))
            for i in range(0, len(gone), 500):
                where = f"doc_id IN ({_sql_list(gone[i:i + 500])})"
                chunks.delete(where)
                docs.delete(where)
            dim = manifest.embedder.dimension
            rows = [u for u in upserts if u.chunks]
            if rows:
                chunk_rows = {
                    "chunk_id": [c.chunk_id for u in rows for c in u.chunks],
                    "doc_id": [c.doc_id for u in rows for c in u.chunks],
                    "position": [c.position for u in rows for c in u.chunks],
                    "text": [c.text for u in rows for c in u.chunks],
                    "start": [c.start for u in rows for c in u.chunks],
                    "end": [c.end for u in rows for c in u.chunks],
                    "page": [c.page for u in rows for c in u.chunks],
                    "headings": [json.dumps(list(c.headings)) for u in rows for c in u.chunks],
                    "source": [c.source for u in rows for c in u.chunks],
                    "doc_type": [c.doc_type for u in rows for c in u.chunks],
                    "metadata": [json.dumps(c.metadata, default=str) for u in rows for c in u.chunks],
                }
                vectors = np.ascontiguousarray(np.concatenate([u.vectors for u in rows]).astype(np.float32))
                if vectors.shape[1] != dim:
                    raise StoreError(f"index '{name}' holds {dim}-d vectors; got {vectors.shape[1]}-d")
                arrays = [pa.array(chunk_rows[f.name], type=f.type) for f in _chunk_schema(dim) if f.name != "vector"]
                arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim))
                chunks.add(pa.Table.from_arrays(arrays, schema=_chunk_schema(dim)))
            if upserts:
                docs.add(pa.Table.from_pylist([{
                    "doc_id": u.record.doc_id, "source": u.record.source, "origin": u.record.origin, "hash": u.record.hash,
                    "version": u.record.version, "chunks": len(u.chunks), "doc_type": u.record.doc_type,
                    "metadata": json.dumps(u.record.metadata, default=str), "updated_at": u.record.updated_at or utc_now(),
                } for u in upserts], schema=_doc_schema()))
            generation = manifest.generation + 1
            lexical = chunks.search().select(["chunk_id", "headings", "text"]).limit(None).to_arrow() if chunks.count_rows() else None
            ids = lexical.column("chunk_id").to_pylist() if lexical is not None else []
            texts = []
            if lexical is not None:
                for heads, text in zip(lexical.column("headings").to_pylist(), lexical.column("text").to_pylist()):
                    h = json.loads(heads or "[]")
                    texts.append((" / ".join(h) + "\n" + text) if h else text)
            bm25_dir = folder / "bm25" / str(generation)
            shutil.rmtree(bm25_dir, ignore_errors=True)
            bm25 = BM25Index(self.config.stemmer).build(texts)
            bm25.save(bm25_dir)
            (bm25_dir / "ids.json").write_text(json.dumps(ids))
            return self._finish(folder, manifest, chunks, docs, event)

    def _open_committed(self, name: str, manifest: IndexManifest):
        """The chunks and docs tables at the manifest's versions (a writer that died part-way left newer ones)."""
        db = self._db(name)
        chunks, docs = db.open_table("chunks"), db.open_table("docs")
        if chunks.version != manifest.backend["chunks_version"]:
            chunks.restore(manifest.backend["chunks_version"])
        if docs.version != manifest.backend["docs_version"]:
            docs.restore(manifest.backend["docs_version"])
        return chunks, docs

    def _finish(self, folder: Path, manifest: IndexManifest, chunks, docs, event: IngestEvent) -> IndexManifest:
        """Build the ANN index when the table is large, then publish the next generation with one manifest swap."""
        generation = manifest.generation + 1
        total = chunks.count_rows()
        ann = total > self.config.ann_threshold
        if ann:
            parts = max(1, int(total ** 0.5) // 4)
            chunks.create_index(metric="cosine", index_type="IVF_HNSW_SQ", num_partitions=parts, replace=True)
        event.chunks = total
        manifest.generation = generation
        manifest.updated_at = utc_now()
        manifest.documents = docs.count_rows()
        manifest.chunks = total
        manifest.history.append(event)
        manifest.backend = {"chunks_version": chunks.version, "docs_version": docs.version, "ann": ann}
        self._write_manifest(folder, manifest)
        for old in (folder / "bm25").iterdir():
            if old.name.isdigit() and int(old.name) < generation - 1:
                shutil.rmtree(old, ignore_errors=True)
        return manifest

    def replace_vectors(self, name: str, embedder: EmbedderInfo, chunk_ids: Sequence[str], vectors: np.ndarray,
                        generation: int) -> IndexManifest:
        """Swap every chunk's vector and the recorded embedder in one step (see ``ragtune.index.base``).

        The chunks table is rewritten as a new Lance version (the old one stays readable until the manifest
        names the new one); the lexical index is unchanged and carried over to the next generation.
        """
        import pyarrow as pa

        folder = self._require(name)
        vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        if vectors.ndim != 2 or len(vectors) != len(chunk_ids) or (len(chunk_ids) and vectors.shape[1] != embedder.dimension):
            raise InputError(f"replace_vectors: expected {len(chunk_ids)} vectors of {embedder.dimension} dimensions, "
                             f"got an array of shape {vectors.shape}")
        with self._writer(name):
            manifest = self.manifest(name)
            if manifest.generation != generation:
                raise InputError(f"index '{name}' changed while it was re-embedded (generation {generation} -> "
                                 f"{manifest.generation}); run the reindex again")
            chunks, docs = self._open_committed(name, manifest)
            data = chunks.to_arrow()
            ids = data.column("chunk_id").to_pylist()
            row = {cid: i for i, cid in enumerate(chunk_ids)}
            if len(row) != len(chunk_ids) or set(ids) != set(row):
                raise InputError(f"replace_vectors: the chunk ids given are not the {len(ids)} chunks of index '{name}'")
            dim = embedder.dimension
            order = np.asarray([row[c] for c in ids], dtype=np.int64)
            flat = vectors[order].reshape(-1) if len(ids) else np.zeros(0, dtype=np.float32)
            schema = _chunk_schema(dim)
            arrays = [data.column(f.name) for f in schema if f.name != "vector"]
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dim))
            chunks.add(pa.Table.from_arrays(arrays, schema=schema), mode="overwrite")
            bm25_next = folder / "bm25" / str(manifest.generation + 1)
            shutil.rmtree(bm25_next, ignore_errors=True)
            shutil.copytree(folder / "bm25" / str(manifest.generation), bm25_next)
            manifest.embedder = embedder
            return self._finish(folder, manifest, chunks, docs, IngestEvent(embedder=embedder.spec))

    def _snapshot(self, name: str) -> _Snapshot:
        for attempt in range(3):
            manifest = self._current(name)
            with self._lock:
                snap = self._snapshots.get(name)
                if snap is not None and snap.generation == manifest.generation:
                    return snap
            try:
                table = self._db(name).open_table("chunks")
                table.checkout(manifest.backend["chunks_version"])
                folder = self._dir(name) / "bm25" / str(manifest.generation)
                bm25 = BM25Index.load(folder)
                bm25.ids = json.loads((folder / "ids.json").read_text()) if (folder / "ids.json").exists() else []
                snap = _Snapshot(manifest, table, bm25, bool(manifest.backend.get("ann")))
            except (FileNotFoundError, ValueError, OSError):
                if attempt == 2:
                    raise
                continue  # a writer swapped generations under us: read the new manifest
            with self._lock:
                self._snapshots[name] = snap
            return snap
        raise StoreError(f"index '{name}' could not be read")  # pragma: no cover

    def search_dense(self, name: str, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        manifest = self._current(name)
        if len(vector) != manifest.embedder.dimension:
            raise InputError(f"query vector has {len(vector)} dimensions; index '{name}' holds {manifest.embedder.dimension}")
        snap = self._snapshot(name)
        if not snap.ids:
            return []
        mask = snap.mask(filters)
        if snap.ann:
            fetch = k * 10 if filters else k
            res = (snap.table.search(np.asarray(vector, dtype=np.float32)).distance_type("cosine").limit(fetch)
                   .nprobes(20).refine_factor(4).select(["chunk_id"]).to_arrow())
            out = []
            for cid, dist in zip(res.column("chunk_id").to_pylist(), res.column("_distance").to_pylist()):
                if mask is None or mask[snap.row[cid]]:
                    out.append((cid, 1.0 - float(dist)))
            return out[:k]
        scores = snap.vectors @ np.asarray(vector, dtype=np.float32)
        return [(snap.ids[i], s) for i, s in _top(scores, k, mask)]

    def search_lexical(self, name: str, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        snap = self._snapshot(name)
        if not snap.ids:
            return []
        raw = snap.bm25.scores(query)
        scores = np.zeros(len(snap.ids), dtype=np.float32)
        scores[snap.bm25_rows] = raw
        return [(snap.ids[i], s) for i, s in _top(scores, k, snap.mask(filters), positive_only=True)]

    def get_chunks(self, name: str, chunk_ids: Sequence[str]) -> list[ChunkRecord]:
        snap = self._snapshot(name)
        missing = [c for c in chunk_ids if c not in snap.row]
        if missing:
            raise ChunkNotFoundError(f"index '{name}' has no chunk {missing[0]!r}")
        return [snap.record(snap.row[c]) for c in chunk_ids]

    def all_chunks(self, name: str) -> list[ChunkRecord]:
        snap = self._snapshot(name)
        return [snap.record(i) for i in range(len(snap.ids))]
