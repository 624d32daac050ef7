"""Syncing sources into an index: load, compare content hashes, chunk and embed what changed, commit once.

Unchanged documents cost nothing; changed ones are replaced; documents that vanished from a folder or
JSONL file that was ingested again are removed. A file, row or folder that cannot be read is a skipped entry
with its reason (an error with ``strict``), and the documents stored from it are kept. A document id held by
another source is never replaced: a file's id grows by its parent folders until it is free (see
``ragtune.documents.discovery``), and a JSONL row whose id another source holds is skipped. Everything is prepared
in memory first and written in one atomic ``Store.commit``, so an error or Ctrl-C before the commit leaves the index as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Protocol, Sequence

import numpy as np

from ragtune.config import IngestConfig
from ragtune.documents import Chunk, Chunker, Document, JsonlFields, discover, loader_for, supported_suffixes
from ragtune.documents.base import chunk_documents
from ragtune.documents.discovery import Skip, SourceFile
from ragtune.embeddings.base import Embedder
from ragtune.common import utc_now
from ragtune.errors import InputError
from ragtune.index.base import (ChunkRecord, CommittedInterrupt, DocRecord, DocumentChange, IngestEvent, Store,
                                pending_removals)

Progress = Callable[[str, int, int], None]
"""Progress callback: ``(stage, done, total)``."""


@dataclass
class IngestReport:
    """What an ingest did: counts per outcome and the sources it skipped, with why."""

    index: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    generation: int = 0

    def to_json(self) -> dict:
        return {"index": self.index, "added": self.added, "updated": self.updated, "removed": self.removed,
                "unchanged": self.unchanged, "skipped": self.skipped, "chunks": self.chunks}


def _under(source: str, folder: str) -> bool:
    path = os.path.abspath(source.split("#", 1)[0])
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def sync_sources(store: Store, index: str, embedder: Embedder, chunker: Chunker, paths: Sequence[str],
                 *, include: Sequence[str] = (), exclude: Sequence[str] = (), strict: bool = False,
                 jsonl_fields: JsonlFields | None = None, progress: Progress | None = None,
                 limits: IngestConfig | None = None, engine: SyncEngine | None = None) -> IngestReport:
    """Bring ``index`` in line with ``paths`` (see the module docstring); ``limits`` caps file sizes. An ``engine``
    loads the files and chunks and embeds the changed documents elsewhere (other processes, other machines); the
    comparison, the counts and the one commit stay here, so the outcome is the same.

    The index's writer lock (``Store.writing``) is held from reading its documents through the commit, so another
    ingest cannot change the ids, owners and hashes this one compares against."""
    files, skipped = discover(paths, include, exclude, supported_suffixes())
    with store.writing(index):
        return _sync_files(store, index, embedder, chunker, files, skipped, strict=strict, jsonl_fields=jsonl_fields,
                           progress=progress, limits=limits or IngestConfig(), engine=engine)


def _sync_files(store: Store, index: str, embedder: Embedder, chunker: Chunker, files: Sequence[SourceFile],
                skipped: Sequence[Skip], *, strict: bool, jsonl_fields: JsonlFields | None, progress: Progress | None,
                limits: IngestConfig, engine: SyncEngine | None) -> IngestReport:
    report = IngestReport(index=index)
    sync = _Sync(report, {d.doc_id: d for d in store.documents(index)}, strict, jsonl_fields, limits)
    sync.keep_unreadable(skipped)
    loaded = engine.load(files, sync.first_ids(files), sync.existing, strict, jsonl_fields, limits) if engine else None
    sync.read(files, progress, loaded)
    removed = sync.removed({f.origin for f in files})
    report.removed = len(removed)
    if engine is not None:
        chunks, vectors = engine.prepare(chunker, [doc for doc, _, _ in sync.changed])
        upserts, report.chunks = _changes(sync.changed, chunks, vectors), len(vectors)
    else:
        upserts, report.chunks = _prepare(embedder, chunker, sync.changed, progress)
    if upserts or removed:
        if progress:
            progress("commit", 0, 1)
        manifest = store.manifest(index)
        added = [doc for doc, _, version in sync.changed if version == 1]
        event = IngestEvent(added=report.added, updated=report.updated, removed=report.removed, unchanged=report.unchanged,
                            removed_hashes=[sync.existing[d].hash for d in removed],
                            restored_hashes=_restored(manifest.history, added))
        before = manifest.generation
        try:
            report.generation = store.commit(index, upserts, removed, event).generation
            if progress:
                progress("commit", 1, 1)
        except CommittedInterrupt:
            raise
        except KeyboardInterrupt as exc:  # Ctrl-C around the commit: say whether it is in
            if (now := store.manifest(index).generation) > before:
                raise CommittedInterrupt(index, now) from exc
            raise
    return report


def _restored(history: Sequence[IngestEvent], added: Sequence[Document]) -> list[str]:
    """Content hashes of the ``added`` documents that put back content an earlier event removed."""
    pending = pending_removals(history)
    restored = []
    for doc in added:
        if pending[doc.content_hash] > 0:
            pending[doc.content_hash] -= 1
            restored.append(doc.content_hash)
    return restored


LINES_NAMED = 5
"""Most JSONL lines a skipped entry for a repeated document id names."""


def _repeats(count: int, lines: Sequence[int]) -> str:
    """`` (3 documents with this id were skipped: lines 4, 9, 12)`` for an id taken ``count`` times (lines: the first
    few, when rows of a JSONL file)."""
    where = ""
    if lines:
        more = ", ..." if count > len(lines) else ""
        where = f"{': line' if len(lines) == 1 else ': lines'} {', '.join(map(str, lines))}{more}"
    if count > 1:
        return f" ({count:,} documents with this id were skipped{where})"
    return f" (skipped{where})" if where else ""


class _Read(NamedTuple):
    """A loaded document as a sync compares it: the document itself only when it is not the stored one."""

    doc_id: str
    source: str
    document: Document | None
    line: int | None = None  # the JSONL line it came from, for reports


class _Sync:
    """One sync's reading pass: which stored documents are unchanged, changed, kept, or gone."""

    def __init__(self, report: IngestReport, existing: dict[str, DocRecord], strict: bool,
                 jsonl_fields: JsonlFields | None, limits: IngestConfig) -> None:
        self.report, self.existing, self.strict = report, existing, strict
        self.jsonl_fields, self.limits = jsonl_fields, limits
        self.kept: set[str] = set()  # stored documents that were not read again but have not vanished either
        self.owners = {d: rec.origin for d, rec in existing.items()}
        self.seen: set[str] = set()
        self.taken: dict[tuple[str, str], list] = {}  # (id, who holds it) -> [first source skipped, how many, first lines]
        self.changed: list[tuple[Document, str, int]] = []

    def skip(self, source: str, why: str) -> None:
        if self.strict:
            raise InputError(f"{source}: {why}")
        self.report.skipped.append({"source": source, "error": why})

    def keep_unreadable(self, skipped: Sequence[Skip]) -> None:
        """Report the paths discovery could not read; the stored documents under an unreadable folder are kept."""
        for entry in skipped:
            if entry.notice:  # left out on purpose: reported, not an error
                self.report.skipped.append({"source": entry.path, "error": entry.reason})
                continue
            self.skip(entry.path, entry.reason)
            if entry.origin is not None:
                folder = os.path.abspath(entry.path)
                self.kept.update(d for d, rec in self.existing.items()
                                 if rec.origin == entry.origin and _under(rec.source, folder))

    def first_ids(self, files: Sequence[SourceFile]) -> list[str | None]:
        """The id each file takes unless one read before it in this ingest takes it first (what an engine loads under)."""
        return [next((c for c in f.id_candidates() if self.owners.get(c, f.origin) == f.origin), None) for f in files]

    def read(self, files: Sequence[SourceFile], progress: Progress | None, loaded: Sequence[Loaded | None] | None = None) -> None:
        """Load each file in order (or take what an engine ``loaded`` under the same id) and compare its documents."""
        for done, file in enumerate(files, start=1):
            doc_id = next((c for c in file.id_candidates()
                           if self.owners.get(c, file.origin) == file.origin and c not in self.seen), None)
            if doc_id is None:
                self.skip(str(file.path), "every document id this path gives is held by another source")
                continue
            ready = loaded[done - 1] if loaded is not None else None
            docs = self._take(ready) if ready is not None and ready.doc_id == doc_id else self._load(file, doc_id)
            if docs is None:
                continue
            self._compare(docs, file.origin)
            if progress:
                progress("load", done, len(files))
        for (doc_id, user), (source, count, lines) in self.taken.items():  # one entry per id, however often it came
            self.report.skipped.append({"source": f"{source.rsplit('#', 1)[0]}:{lines[0]}" if lines else source,
                                        "error": f"document id '{doc_id}' is already used by {user}"
                                                 f"{_repeats(count, lines)}"})

    def _load(self, file: SourceFile, doc_id: str) -> list[_Read] | None:
        """The documents in ``file``; None when it cannot be read (its stored documents are then kept)."""
        def skip_row(where: str, why: str, row_id: str | None, origin: str = file.origin) -> None:
            self.report.skipped.append({"source": where, "error": why})
            if row_id is not None and self.owners.get(row_id) == origin:
                self.kept.add(row_id)  # a stored row that is unreadable now is kept, not removed

        try:
            size = file.path.stat().st_size
            if size > self.limits.max_file_bytes:
                raise InputError(f"{file.path}: {size} bytes, above the limit of {self.limits.max_file_bytes} bytes "
                                 "(ingest.max_file_mb)")
            loader = loader_for(file.path, self.jsonl_fields, None if self.strict else skip_row, self.limits)
            return [self._read(doc) for doc in loader.load(file.path, doc_id)]
        except Exception as exc:  # noqa: BLE001 - any loader failure on one file is that file's problem
            error = exc if isinstance(exc, InputError) else InputError(f"{file.path}: cannot read: {type(exc).__name__}: {exc}")
            if self.strict or file.explicit:
                raise error from exc
            self.report.skipped.append({"source": str(file.path), "error": str(error)})
            # A file that fails to load keeps its stored documents: it has not vanished.
            self.kept.update(d for d, rec in self.existing.items() if rec.origin == file.origin and
                             (rec.source == str(file.path) or rec.source.startswith(f"{file.path}#") or d == doc_id))
            return None

    def _take(self, loaded: Loaded) -> list[_Read] | None:
        """What an engine loaded, with the skipped rows and kept documents it found, as ``_load`` would give them."""
        if loaded.error is not None:
            raise loaded.error
        self.report.skipped.extend(loaded.skipped)
        self.kept.update(loaded.kept)
        return loaded.docs

    def _read(self, doc: Document) -> _Read:
        """What comparing needs of a loaded document; the document itself only when it differs from the stored one
        (a large corpus re-ingested is mostly unchanged documents, and only their ids are kept)."""
        old = self.existing.get(doc.doc_id)
        return _Read(doc.doc_id, doc.source, None if old is not None and old.hash == doc.content_hash else doc, doc.line)

    def _compare(self, docs: list[_Read], origin: str) -> None:
        """Count each document as unchanged, updated or added; keep the changed ones with their next version."""
        for doc in docs:
            holder = self.owners.get(doc.doc_id, origin)
            if doc.doc_id in self.seen or holder != origin:
                user = "another document in this ingest" if doc.doc_id in self.seen else "a document from another source"
                if self.strict:
                    self.skip(doc.source, f"document id '{doc.doc_id}' is already used by {user}")
                entry = self.taken.setdefault((doc.doc_id, user), [doc.source, 0, []])
                entry[1] += 1
                if doc.line is not None and len(entry[2]) < LINES_NAMED:
                    entry[2].append(doc.line)
                continue
            self.owners[doc.doc_id] = origin
            self.seen.add(doc.doc_id)
            if doc.document is None:  # the stored one, as ``_read`` found
                self.report.unchanged += 1
                continue
            old = self.existing.get(doc.doc_id)
            self.changed.append((doc.document, origin, (old.version + 1) if old else 1))
            if old is None:
                self.report.added += 1
            else:
                self.report.updated += 1

    def removed(self, origins: set[str]) -> list[str]:
        """Stored documents of the sources read again that were neither seen nor kept."""
        return [d for d, rec in self.existing.items() if rec.origin in origins and d not in self.seen and d not in self.kept]


def _prepare(embedder: Embedder, chunker: Chunker, changed: Sequence[tuple[Document, str, int]],
             progress: Progress | None) -> tuple[list[DocumentChange], int]:
    """Chunk and embed the changed documents: their ``DocumentChange``s and how many chunks they hold."""
    chunked = chunk_documents(chunker, [doc for doc, _, _ in changed])
    pieces = [(doc, origin, version, chunks) for (doc, origin, version), chunks in zip(changed, chunked)]
    texts = [c.index_text for *_, chunks in pieces for c in chunks]
    total = len(texts)
    done_count = [0]

    def on_embedded(n: int) -> None:
        done_count[0] += n
        if progress:
            progress("embed", done_count[0], total)

    vectors = embedder.embed_documents(texts, on_embedded) if texts else np.zeros((0, embedder.info.dimension), np.float32)
    return _changes(changed, [chunks for *_, chunks in pieces], vectors), total


def _changes(changed: Sequence[tuple[Document, str, int]], chunked: Sequence[Sequence[Chunk]],
             vectors: np.ndarray) -> list[DocumentChange]:
    """The ``DocumentChange`` of each changed document from its chunks and their vectors (in chunk order)."""
    upserts: list[DocumentChange] = []
    row = 0
    now = utc_now()
    for (doc, origin, version), chunks in zip(changed, chunked):
        records = [ChunkRecord.of(c, doc.source, doc.doc_type, doc.metadata) for c in chunks]
        upserts.append(DocumentChange(
            record=DocRecord(doc_id=doc.doc_id, source=doc.source, origin=origin, hash=doc.content_hash, version=version,
                             chunks=len(records), doc_type=doc.doc_type, metadata=doc.metadata, updated_at=now),
            chunks=records, vectors=vectors[row:row + len(records)]))
        row += len(records)
    return upserts


@dataclass
class Loaded:
    """One file as an engine loaded it under ``doc_id``: its documents (None: unreadable, its stored documents kept),
    the rows it skipped and the stored documents it keeps, or the error that stops a strict ingest."""

    doc_id: str
    docs: list[_Read] | None
    skipped: list[dict[str, str]] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    error: InputError | None = None


def load_source(file: SourceFile, doc_id: str, existing: dict[str, DocRecord], strict: bool,
                jsonl_fields: JsonlFields | None, limits: IngestConfig) -> Loaded:
    """Load one file exactly as the reading pass does, in any process (``existing``: the index's documents)."""
    sync = _Sync(IngestReport(index=""), existing, strict, jsonl_fields, limits)
    try:
        docs = sync._load(file, doc_id)
    except InputError as exc:
        return Loaded(doc_id, None, error=exc)
    return Loaded(doc_id, docs, sync.report.skipped, sync.kept)


class SyncEngine(Protocol):
    """Where a sync loads files and chunks and embeds documents when not in this process (``ragtune.distributed``)."""

    def load(self, files: Sequence[SourceFile], doc_ids: Sequence[str | None], existing: dict[str, DocRecord], strict: bool,
             jsonl_fields: JsonlFields | None, limits: IngestConfig) -> list[Loaded | None]:
        """Each file loaded (``load_source``) under its id, in order; None for a file with no id."""
        ...

    def prepare(self, chunker: Chunker, docs: Sequence[Document]) -> tuple[list[list[Chunk]], np.ndarray]:
        """Each document's chunks and the vectors of all of them, in order."""
        ...
