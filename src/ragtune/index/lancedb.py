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

The read view and its search are in ``ragtune.index.lancedb_snapshot``; the table schemas and the Arrow
tables a writer adds are in ``ragtune.index.lancedb_tables``.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ragtune.common import utc_now, write_text_atomic
from ragtune.config import IndexConfig
from ragtune.embeddings.base import EmbedderInfo
from ragtune.errors import ChunkNotFoundError, InputError, StoreError
from ragtune.index.base import ChunkRecord, DocRecord, DocumentChange, Filters, IndexManifest, IngestEvent
from ragtune.index.base import check_generation, check_query_vector, index_not_found, replacement_vectors
from ragtune.index.bm25 import BM25Index
from ragtune.index.lancedb_snapshot import IDS_FILE, Snapshot, load_lexical
from ragtune.index.lancedb_tables import (
    chunk_rows,
    chunk_schema,
    delete_documents,
    doc_rows,
    doc_schema,
    lexical_texts,
    open_committed,
    revectored,
)
from ragtune.index.names import check_index_name


class LanceDBStore:
    """Named indexes as LanceDB tables under ``<home>/indexes`` (see the module docstring)."""

    def __init__(self, home: Path, config: IndexConfig | None = None) -> None:
        self.root = Path(home) / "indexes"
        self.config = config or IndexConfig()
        self._snapshots: dict[str, Snapshot] = {}
        self._manifests: dict[str, tuple[tuple[int, int, int], IndexManifest]] = {}
        self._lock = threading.Lock()

    # -- paths and locking -------------------------------------------------
    def _dir(self, name: str) -> Path:
        return self.root / check_index_name(name)

    def _require(self, name: str) -> Path:
        folder = self._dir(name)
        if not (folder / "manifest.json").is_file():
            raise index_not_found(name, self.list_indexes())
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
            chunks = db.create_table("chunks", schema=chunk_schema(manifest.embedder.dimension), mode="overwrite")
            docs = db.create_table("docs", schema=doc_schema(), mode="overwrite")
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
        folder = self._require(name)
        with self._writer(name):
            manifest = self.manifest(name)
            chunks, docs = open_committed(self._db(name), manifest)
            delete_documents(chunks, docs, set(deletes) | {u.record.doc_id for u in upserts})
            rows = [u for u in upserts if u.chunks]
            if rows:
                chunks.add(chunk_rows(name, rows, manifest.embedder.dimension))
            if upserts:
                docs.add(doc_rows(upserts))
            ids, texts = lexical_texts(chunks)
            bm25_dir = folder / "bm25" / str(manifest.generation + 1)
            shutil.rmtree(bm25_dir, ignore_errors=True)
            BM25Index(self.config.stemmer).build(texts).save(bm25_dir)
            write_text_atomic(bm25_dir / IDS_FILE, json.dumps(ids))
            return self._finish(folder, manifest, chunks, docs, event)

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
        folder = self._require(name)
        vectors = replacement_vectors(embedder, chunk_ids, vectors)
        with self._writer(name):
            manifest = self.manifest(name)
            check_generation(name, manifest, generation)
            chunks, docs = open_committed(self._db(name), manifest)
            table = revectored(name, chunks.to_arrow(), chunk_ids, vectors, embedder.dimension)
            chunks.add(table, mode="overwrite")
            bm25_next = folder / "bm25" / str(manifest.generation + 1)
            shutil.rmtree(bm25_next, ignore_errors=True)
            shutil.copytree(folder / "bm25" / str(manifest.generation), bm25_next)
            manifest.embedder = embedder
            return self._finish(folder, manifest, chunks, docs, IngestEvent(embedder=embedder.spec))

    def _snapshot(self, name: str) -> Snapshot:
        for attempt in range(3):
            manifest = self._current(name)
            with self._lock:
                snap = self._snapshots.get(name)
                if snap is not None and snap.generation == manifest.generation:
                    return snap
            try:
                table = self._db(name).open_table("chunks")
                table.checkout(manifest.backend["chunks_version"])
                bm25, ids = load_lexical(self._dir(name) / "bm25" / str(manifest.generation))
                snap = Snapshot(manifest, table, bm25, ids, bool(manifest.backend.get("ann")))
            except (FileNotFoundError, ValueError, OSError, InputError):
                if attempt == 2:
                    raise
                continue  # a writer swapped generations under us: read the new manifest
            with self._lock:
                self._snapshots[name] = snap
            return snap
        raise StoreError(f"index '{name}' could not be read")  # pragma: no cover

    def search_dense(self, name: str, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        check_query_vector(name, self._current(name), vector)
        return self._snapshot(name).search_dense(vector, k, filters)

    def search_lexical(self, name: str, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        return self._snapshot(name).search_lexical(query, k, filters)

    def get_chunks(self, name: str, chunk_ids: Sequence[str]) -> list[ChunkRecord]:
        snap = self._snapshot(name)
        missing = [c for c in chunk_ids if c not in snap.row]
        if missing:
            raise ChunkNotFoundError(f"index '{name}' has no chunk {missing[0]!r}")
        return [snap.record(snap.row[c]) for c in chunk_ids]

    def all_chunks(self, name: str) -> list[ChunkRecord]:
        snap = self._snapshot(name)
        return [snap.record(i) for i in range(len(snap.ids))]
