"""The embedded default store: LanceDB tables in the workspace, search segments beside them.

Layout of ``<home>/indexes/<name>/``: ``manifest.json`` (the committed state), ``lance/`` (tables ``chunks``
and ``docs``: the records, the source of truth), ``segments/<id>/`` (what search reads: records, vectors,
lexical postings; ``ragtune.index.segments``), ``deletes/`` (which segment rows later commits replaced),
``ivf/`` (the partitioning of large indexes), ``.lock`` (one writer at a time).

Atomicity: LanceDB versions every table write, and segment and deletion files are written once under fresh
names. The manifest names the table versions, segments and deletion files of the committed generation, and
readers open exactly those; a writer applies its changes, writes its new files, then swaps the manifest with one
``os.replace``. A writer that died part-way leaves table versions past the manifest and files no manifest names;
the next writer restores the manifest's versions first and removes the files.

A commit costs in proportion to what it changes (``ragtune.index.lancedb_commit``), and opening an index maps
its segments without reading them (``ragtune.index.lancedb_snapshot``). Search below ``ann_threshold`` chunks is
exact; above it dense search reads the IVF partitions nearest the query. A segment that is missing or damaged is
rebuilt from the tables automatically; where that fails too, the error names ``ragtune reindex``.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ragtune.common import utc_now
from ragtune.config import IndexConfig
from ragtune.embeddings.base import EmbedderInfo
from ragtune.errors import InputError, RagtuneError, StoreError
from ragtune.index.base import (
    document_facets,
    ChunkRecord,
    DocRecord,
    CommittedInterrupt,
    DocumentChange,
    Filters,
    IndexManifest,
    IngestEvent,
    check_generation,
    check_query_vector,
    index_not_found,
    replacement_vectors,
)
from ragtune.index.bm25 import TOKEN_PATTERN
from ragtune.index.lancedb_commit import SegmentWriter, check_counts, collect
from ragtune.index.lancedb_snapshot import Snapshot
from ragtune.index.lancedb_tables import (
    chunk_records,
    chunk_rows,
    chunk_schema,
    committed_table,
    delete_documents,
    doc_rows,
    doc_schema,
    open_committed,
    revectored,
    table_errors,
    vectors_of,
)
from ragtune.index.lexical import Analyzer
from ragtune.index.manifest_files import ManifestFiles, doctor_hint
from ragtune.index.names import check_index_name
from ragtune.index.segments import SegmentError
from ragtune.index.writer_lock import writer_lock

log = logging.getLogger("ragtune.index")


class LanceDBStore:
    """Named indexes as LanceDB tables and search segments under ``<home>/indexes`` (see the module docstring)."""

    embedded = True

    def __init__(self, home: Path, config: IndexConfig | None = None) -> None:
        self.root = Path(home) / "indexes"
        self.config = config or IndexConfig()
        self._snapshots: dict[str, Snapshot] = {}
        self._manifests: dict[str, tuple[tuple[int, int, int], IndexManifest, str]] = {}
        self._lock = threading.Lock()

    # -- paths and locking -------------------------------------------------
    def _dir(self, name: str) -> Path:
        return self.root / check_index_name(name)

    def _files(self, name: str) -> ManifestFiles:
        return ManifestFiles(self._dir(name))

    def _require(self, name: str) -> Path:
        files = self._files(name)
        if not files.visible():
            if files.has_data() and not files.abandoned() and not files.path.exists():
                raise StoreError(f"index '{name}' has data but no manifest.json; {doctor_hint(name)}")
            raise index_not_found(name, self.list_indexes())
        return files.folder

    @contextmanager
    def writing(self, name: str) -> Iterator[None]:
        """Hold the writer lock of ``name`` (``ragtune.index.writer_lock``): a sync holds it from reading the
        index's documents through its commit; creating, committing, dropping and repairing take it too."""
        with writer_lock(self.root / ".locks" / f"{check_index_name(name)}.lock", name, self.config.lock_timeout_s):
            yield

    _writer = writing

    def _db(self, name: str):
        import lancedb

        return lancedb.connect(str(self._dir(name) / "lance"))

    def _write_manifest(self, folder: Path, manifest: IndexManifest) -> None:
        ManifestFiles(folder).write(manifest)

    def _analyzer(self, manifest: IndexManifest) -> Analyzer:
        lexical = manifest.backend.get("lexical") or {}
        return Analyzer(lexical.get("stemmer", self.config.stemmer), lexical.get("token_pattern", TOKEN_PATTERN))

    # -- the Store protocol ------------------------------------------------
    def list_indexes(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith(".") and ManifestFiles(p).visible())

    def exists(self, name: str) -> bool:
        return self._files(name).visible()

    def damaged_indexes(self) -> dict[str, str]:
        """Indexes whose manifest is missing (with data left) or damaged, each with what is wrong and the way out."""
        found = {}
        for folder in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            files = ManifestFiles(folder)
            if folder.name.startswith(".") or not folder.is_dir() or files.abandoned():
                continue
            if not files.path.exists() and files.has_data():
                found[folder.name] = f"its manifest is missing; {doctor_hint(folder.name)}"
            elif files.path.exists():
                try:
                    files.read(folder.name)
                except StoreError:
                    found[folder.name] = f"its manifest is damaged; {doctor_hint(folder.name)}"
        return found

    def create(self, manifest: IndexManifest, provisional: bool = False) -> IndexManifest:
        """A new empty index. ``provisional``: seen only by this process until its first commit (a first ingest);
        if the process dies before, the next writer removes it (``ragtune.index.manifest_files``)."""
        files = self._files(manifest.name)
        with self.writing(manifest.name):
            if files.visible():
                raise InputError(f"index '{manifest.name}' already exists")
            if files.abandoned():
                log.warning("index '%s': removing what an interrupted first ingest left", manifest.name)
                shutil.rmtree(files.folder)
            elif files.has_data():
                raise StoreError(f"index '{manifest.name}' has data but no manifest.json, so it is not created over it; "
                                 f"{doctor_hint(manifest.name)}")
            try:
                files.begin_creation()
                db = self._db(manifest.name)
                chunks = db.create_table("chunks", schema=chunk_schema(manifest.embedder.dimension), mode="overwrite")
                docs = db.create_table("docs", schema=doc_schema(), mode="overwrite")
                manifest.backend = {"chunks_version": chunks.version, "docs_version": docs.version, "ann": False,
                                    "segments": [], "ivf": None,
                                    "lexical": {"stemmer": self.config.stemmer, "token_pattern": TOKEN_PATTERN}}
                self._write_manifest(files.folder, manifest)
            except BaseException as exc:
                files.forget()
                shutil.rmtree(files.folder, ignore_errors=True)
                if isinstance(exc, OSError):
                    raise StoreError(f"cannot write the workspace at {self.root}: {exc.strerror or exc}") from exc
                raise
            if not provisional:
                files.end_creation()
        return manifest

    def drop(self, name: str) -> None:
        with self.writing(name):
            folder = self._require(name)
            (folder / "manifest.json").unlink()
            self._files(name).forget()
            shutil.rmtree(folder, ignore_errors=True)
        self._snapshots.pop(name, None)

    def manifest(self, name: str) -> IndexManifest:
        return self._read_manifest(self._require(name))

    def _read_manifest(self, folder: Path) -> IndexManifest:
        try:
            return ManifestFiles(folder).read(folder.name)
        except FileNotFoundError:
            self._require(folder.name)
            raise

    def _current(self, name: str) -> IndexManifest:
        """The committed manifest (read-only: never mutate it; see ``_committed``)."""
        return self._committed(name)[0]

    def _committed(self, name: str) -> tuple[IndexManifest, str]:
        """The committed manifest and its snapshot key, parsed again only when the file changed.

        Every search checks the manifest to see a new generation; a commit replaces the file with a new
        one (a new inode), so the file's stat tells whether it changed.
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
            manifest = self._read_manifest(path.parent)
            cached = (key, manifest, _snapshot_key(manifest))
            self._manifests[name] = cached
        return cached[1], cached[2]

    def documents(self, name: str) -> list[DocRecord]:
        manifest = self._current(name)
        with table_errors(name):
            data = committed_table(self._db(name), manifest, "docs").to_arrow()
        columns = {c: data.column(c).to_pylist() for c in data.column_names}
        return [DocRecord(doc_id=d, source=s, origin=o, hash=h, version=v, chunks=n, doc_type=t,
                          metadata=json.loads(m or "{}"), updated_at=u)
                for d, s, o, h, v, n, t, m, u in zip(*(columns[c] for c in (
                    "doc_id", "source", "origin", "hash", "version", "chunks", "doc_type", "metadata", "updated_at")))]

    def commit(self, name: str, upserts: Sequence[DocumentChange], deletes: Sequence[str], event: IngestEvent) -> IndexManifest:
        with self._writer(name), table_errors(name):
            folder = self._require(name)
            manifest = self.manifest(name)
            chunks, docs = open_committed(self._db(name), manifest)
            segments = self._segment_writer(name, folder, manifest, chunks)
            segments.delete(delete_documents(chunks, docs, set(deletes) | {u.record.doc_id for u in upserts}))
            rows = [u for u in upserts if u.chunks]
            if rows:
                table, vectors = chunk_rows(name, rows, manifest.embedder.dimension)
                chunks.add(table)
                segments.add(table, vectors)
            if upserts:
                docs.add(doc_rows(upserts))
            segments.maintain()
            return self._finish(folder, manifest, chunks, docs, event, segments)

    def _segment_writer(self, name: str, folder: Path, manifest: IndexManifest, chunks) -> SegmentWriter:
        """The segments of the committed generation, ready for a commit; rebuilt from the tables when damaged."""
        generation = manifest.generation + 1
        if "segments" in manifest.backend:
            try:
                check_counts(manifest)
                return SegmentWriter(folder, manifest.backend, generation, self._analyzer(manifest),
                                     self.config.ann_threshold)
            except SegmentError as exc:
                log.warning("index '%s': %s; rebuilding its segments from the chunks table", name, exc)
        return self._rebuilt(folder, manifest, generation, chunks.to_arrow())

    def _rebuilt(self, folder: Path, manifest: IndexManifest, generation: int, data) -> SegmentWriter:
        """New segments for ``generation`` holding every row of ``data`` (the whole chunks table, as Arrow)."""
        segments = SegmentWriter(folder, {}, generation, self._analyzer(manifest), self.config.ann_threshold)
        segments.rebuild(data, vectors_of(data))
        return segments

    def _ann(self, segments: SegmentWriter, rows: int) -> bool:
        """Whether dense search of ``rows`` chunks in ``segments`` reads the nearest IVF partitions only."""
        return segments.ivf is not None and rows > self.config.ann_threshold

    def _finish(self, folder: Path, manifest: IndexManifest, chunks, docs, event: IngestEvent,
                segments: SegmentWriter) -> IndexManifest:
        """Publish the next generation with one manifest swap, then remove the files no manifest needs."""
        old = manifest.backend
        total = chunks.count_rows()
        if total != segments.live_rows:
            raise StoreError(f"index '{manifest.name}': the segments hold {segments.live_rows} rows, "
                             f"the chunks table {total}; nothing was committed")
        event.chunks = total
        manifest.generation += 1
        manifest.updated_at = utc_now()
        manifest.documents = docs.count_rows()
        manifest.facets = document_facets(json.loads(m or "{}") for m in docs.to_arrow().column("metadata").to_pylist())
        manifest.chunks = total
        event.apply_to(manifest)
        manifest.backend = {"chunks_version": chunks.version, "docs_version": docs.version,
                            "ann": self._ann(segments, total), **segments.backend()}
        files = ManifestFiles(folder)
        try:
            files.write(manifest)
        except KeyboardInterrupt as exc:
            if files.generation_on_disk() != manifest.generation:
                raise
            files.end_creation()
            raise CommittedInterrupt(manifest.name, manifest.generation) from exc
        try:
            files.end_creation()
            collect(folder, old, manifest.backend)
        except KeyboardInterrupt as exc:  # the commit is in; what is left to remove, the next writer removes
            files.end_creation()
            raise CommittedInterrupt(manifest.name, manifest.generation) from exc
        return manifest

    def replace_vectors(self, name: str, embedder: EmbedderInfo, chunk_ids: Sequence[str], vectors: np.ndarray,
                        generation: int) -> IndexManifest:
        """Swap every chunk's vector and the recorded embedder in one step (see ``ragtune.index.base``).

        The chunks table is rewritten as a new Lance version and the segments are rebuilt from it (the old
        ones stay readable until the manifest names the new ones).
        """
        folder = self._require(name)
        vectors = replacement_vectors(embedder, chunk_ids, vectors)
        with self._writer(name):
            manifest = self.manifest(name)
            check_generation(name, manifest, generation)
            chunks, docs = open_committed(self._db(name), manifest)
            table = revectored(name, chunks.to_arrow(), chunk_ids, vectors, embedder.dimension)
            chunks.add(table, mode="overwrite")
            segments = self._rebuilt(folder, manifest, manifest.generation + 1, table)
            manifest.embedder = embedder
            return self._finish(folder, manifest, chunks, docs, IngestEvent(embedder=embedder.spec), segments)

    # -- reading -----------------------------------------------------------------------------------------------
    def _snapshot(self, name: str) -> Snapshot:
        for _ in range(4):
            manifest, key = self._committed(name)
            with self._lock:
                snap = self._snapshots.get(name)
                if snap is not None and snap.key == key:
                    return snap
            if "segments" not in manifest.backend:
                self.rebuild_segments(name, "it was written before search segments", key)
                continue
            try:
                check_counts(manifest)
                snap = Snapshot(self._dir(name), manifest.backend, key, bool(manifest.backend.get("ann")),
                                self._analyzer(manifest))
            except SegmentError as exc:
                if self._committed(name)[1] == key:  # not a commit swapping files under us: damage
                    self.rebuild_segments(name, str(exc), key)
                continue
            with self._lock:
                self._snapshots[name] = snap
            return snap
        raise StoreError(f"index '{name}' kept changing while it was opened; try again")

    def rebuild_segments(self, name: str, why: str, key: str | None = None) -> None:
        """Rebuild the segments of the committed generation from the chunks table (same generation, new files); with
        ``key``, only while the manifest is still at that snapshot key."""
        folder = self._require(name)
        try:
            with self._writer(name):
                manifest = self.manifest(name)
                if key is not None and _snapshot_key(manifest) != key:
                    return  # another process committed or repaired it meanwhile
                log.warning("index '%s': %s; rebuilding its search segments from the chunks table", name, why)
                data = committed_table(self._db(name), manifest, "chunks").to_arrow()
                segments = self._rebuilt(folder, manifest, manifest.generation, data)
                old = manifest.backend
                manifest.backend = {**old, "ann": self._ann(segments, data.num_rows), **segments.backend()}
                manifest.chunks = data.num_rows
                self._write_manifest(folder, manifest)
                collect(folder, old, manifest.backend)
        except (OSError, RagtuneError, ValueError, RuntimeError) as exc:
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise StoreError(f"index '{name}': its search segments are missing or damaged ({why}) and could not be "
                             f"rebuilt from its tables ({first}); ragtune doctor --index {name} --repair repairs what it "
                             f"can and says what is left") from exc

    def search_dense(self, name: str, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        check_query_vector(name, self._current(name), vector)
        return self._snapshot(name).search_dense(vector, k, filters)

    def search_lexical(self, name: str, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        return self._snapshot(name).search_lexical(query, k, filters)

    def get_chunks(self, name: str, chunk_ids: Sequence[str]) -> list[ChunkRecord]:
        return self._snapshot(name).records(chunk_ids, name)

    def all_chunks(self, name: str) -> list[ChunkRecord]:
        manifest = self._current(name)
        with table_errors(name):
            return chunk_records(committed_table(self._db(name), manifest, "chunks"))


def _snapshot_key(manifest: IndexManifest) -> str:
    backend = manifest.backend
    return json.dumps([manifest.generation, backend.get("segments"), backend.get("ivf"), backend.get("ann")])
