"""Syncing sources into an index: load, compare content hashes, chunk and embed what changed, commit once.

Unchanged documents cost nothing; changed ones are replaced; documents that vanished from a folder or
JSONL file that was ingested again are removed. Everything is prepared in memory first and written in
one atomic ``Store.commit``, so an error or Ctrl-C before the commit leaves the index as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ragtune.documents import Chunker, Document, JsonlFields, discover, loader_for, supported_suffixes
from ragtune.embeddings.base import Embedder
from ragtune.errors import InputError
from ragtune.index.base import ChunkRecord, DocRecord, DocumentChange, IngestEvent, Store, utc_now

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


def sync_sources(store: Store, index: str, embedder: Embedder, chunker: Chunker, paths: Sequence[str],
                 *, include: Sequence[str] = (), exclude: Sequence[str] = (), strict: bool = False,
                 jsonl_fields: JsonlFields | None = None, progress: Progress | None = None) -> IngestReport:
    """Bring ``index`` in line with ``paths`` (see the module docstring)."""
    report = IngestReport(index=index)
    files, skipped = discover(paths, include, exclude, supported_suffixes())
    for path, why in skipped:
        if strict:
            raise InputError(f"{path}: {why}")
        report.skipped.append({"source": path, "error": why})
    existing = {d.doc_id: d for d in store.documents(index)}
    origins = {f.origin for f in files}
    seen: set[str] = set()
    changed: list[tuple[Document, str, int]] = []
    for done, file in enumerate(files, start=1):
        try:
            docs = list(loader_for(file.path, jsonl_fields).load(file.path, file.doc_id))
        except InputError as exc:
            if strict or file.explicit:
                raise
            report.skipped.append({"source": str(file.path), "error": str(exc)})
            # A file that fails to load keeps its stored documents: it has not vanished.
            seen.update(d for d, rec in existing.items() if rec.source == str(file.path) or rec.source.startswith(f"{file.path}#"))
            continue
        for doc in docs:
            if doc.doc_id in seen:
                raise InputError(f"{file.path}: duplicate document id '{doc.doc_id}'")
            seen.add(doc.doc_id)
            old = existing.get(doc.doc_id)
            if old is not None and old.hash == doc.content_hash:
                report.unchanged += 1
                continue
            changed.append((doc, file.origin, (old.version + 1) if old else 1))
            if old is None:
                report.added += 1
            else:
                report.updated += 1
        if progress:
            progress("load", done, len(files))
    removed = [d for d, rec in existing.items() if rec.origin in origins and d not in seen]
    report.removed = len(removed)

    pieces = [(doc, origin, version, chunker.chunk(doc)) for doc, origin, version in changed]
    texts = [c.index_text for *_, chunks in pieces for c in chunks]
    total = len(texts)
    done_count = [0]

    def on_embedded(n: int) -> None:
        done_count[0] += n
        if progress:
            progress("embed", done_count[0], total)

    vectors = embedder.embed_documents(texts, on_embedded) if texts else np.zeros((0, embedder.info.dimension), np.float32)
    upserts: list[DocumentChange] = []
    row = 0
    now = utc_now()
    for doc, origin, version, chunks in pieces:
        records = [ChunkRecord(chunk_id=c.chunk_id, doc_id=doc.doc_id, position=c.position, text=c.text, start=c.start,
                               end=c.end, page=c.page, headings=c.headings, source=doc.source, doc_type=doc.doc_type,
                               metadata=doc.metadata) for c in chunks]
        upserts.append(DocumentChange(
            record=DocRecord(doc_id=doc.doc_id, source=doc.source, origin=origin, hash=doc.content_hash, version=version,
                             chunks=len(records), doc_type=doc.doc_type, metadata=doc.metadata, updated_at=now),
            chunks=records, vectors=vectors[row:row + len(records)]))
        row += len(records)
    report.chunks = total
    if upserts or removed:
        if progress:
            progress("commit", 0, 1)
        event = IngestEvent(added=report.added, updated=report.updated, removed=report.removed, unchanged=report.unchanged)
        manifest = store.commit(index, upserts, removed, event)
        report.generation = manifest.generation
        if progress:
            progress("commit", 1, 1)
    return report
