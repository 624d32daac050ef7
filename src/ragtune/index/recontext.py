"""Switching an index's context mode (``[index] context``), atomically: searches keep the old chunks until the switch.

Every stored document is chunked again under the new mode from what the index holds, so no source file is read:
a document is rebuilt from its record and its chunks (``stored_document``), and ``StoredChunks`` gives back its
chunks as the chunker made them, which the chunker of the new mode (``HeaderChunker``, ``SummaryChunker`` or
none) gives their new context. Chunk ids, texts and spans stay; the context, and so what is embedded and lexically
indexed, changes. All of it is committed in one step with the new mode recorded in the manifest; a failure or
Ctrl-C before that leaves the index as it was.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Sequence

from ragtune.documents.base import Block, Chunk, Chunker, Document, chunk_documents
from ragtune.documents.tables import COLUMNS
from ragtune.embeddings.base import Embedder
from ragtune.errors import InputError
from ragtune.index.base import ChunkRecord, DocRecord, DocumentChange, IngestEvent, Store
from ragtune.index.reindex import ReindexReport
from ragtune.index.sync import Progress

ChunkerFor = Callable[[Chunker], Chunker]
"""The chunker of the new context mode around a chunker that gives the chunks without document context."""


def own_context(chunk: ChunkRecord) -> str:
    """The context a chunk has from its chunker alone (the columns of the table it starts in): the document header
    and situating sentence of its index's mode left out."""
    return "\n".join(line for line in chunk.context.split("\n") if line.startswith(COLUMNS))


def stored_document(record: DocRecord, chunks: Sequence[ChunkRecord]) -> Document:
    """The document ``record`` as far as its ``chunks`` (in position order) hold it: its text rebuilt from their spans
    (a gap between them, where blocks were joined, as blank space) and one block per chunk."""
    text = ""
    for c in sorted(chunks, key=lambda c: c.start):
        if c.start > len(text):
            text += "\n" * (c.start - len(text))
        if c.end > len(text):
            text += c.text[len(text) - c.start:]
    blocks = [Block(c.text, c.start, c.page, tuple(c.headings)) for c in chunks]
    return Document(doc_id=record.doc_id, source=record.source, text=text, blocks=blocks, doc_type=record.doc_type,
                    metadata=dict(record.metadata))


class StoredChunks:
    """A ``Chunker`` that gives a stored document its stored chunks, each with only its own context (``own_context``)."""

    def __init__(self, chunks: dict[str, list[ChunkRecord]]) -> None:
        self.chunks = chunks

    def chunk(self, document: Document) -> list[Chunk]:
        return [Chunk(c.chunk_id, c.doc_id, c.position, c.text, c.start, c.end, c.page, tuple(c.headings), own_context(c))
                for c in self.chunks.get(document.doc_id, [])]


def _by_document(chunks: Sequence[ChunkRecord]) -> dict[str, list[ChunkRecord]]:
    grouped: dict[str, list[ChunkRecord]] = {}
    for c in chunks:
        grouped.setdefault(c.doc_id, []).append(c)
    for rows in grouped.values():
        rows.sort(key=lambda c: c.position)
    return grouped


def _changes(records: Sequence[DocRecord], chunked: Sequence[list[Chunk]], embedder: Embedder,
             progress: Progress | None) -> list[DocumentChange]:
    """Each document's ``DocumentChange``: its record as it is, its new chunks, and their vectors."""
    total, done = sum(len(c) for c in chunked), [0]

    def on_embedded(n: int) -> None:
        done[0] += n
        if progress:
            progress("embed", done[0], total)

    vectors = embedder.embed_documents([c.index_text for chunks in chunked for c in chunks], on_embedded)
    changes, row = [], 0
    for record, chunks in zip(records, chunked):
        stored = [ChunkRecord.of(c, record.source, record.doc_type, record.metadata) for c in chunks]
        changes.append(DocumentChange(replace(record, chunks=len(stored)), stored, vectors[row:row + len(stored)]))
        row += len(stored)
    return changes


def recontext(store: Store, name: str, mode: str, model: str | None, chunker_for: ChunkerFor, embedder: Embedder, *,
              progress: Progress | None = None, force: bool = False, attempts: int = 3) -> ReindexReport:
    """Index every chunk of ``name`` again under context ``mode`` (``model``: the summary generator's spec) and record
    it in the manifest in one commit. An index already in that mode (and model) is left alone unless ``force``; a
    commit that lands meanwhile makes it start again (``attempts`` times at most)."""
    started = time.monotonic()
    for _ in range(attempts):
        manifest = store.manifest(name)
        before = {"mode": manifest.context, "model": manifest.context_model}
        after = {"mode": mode, "model": model}
        if before == after and not force:
            return ReindexReport(name, manifest.embedder.model_dump(), manifest.embedder.model_dump(), 0, manifest.generation,
                                 False, time.monotonic() - started, after, before)
        records, grouped = store.documents(name), _by_document(store.all_chunks(name))
        if store.manifest(name).generation != manifest.generation:
            continue  # a commit came in while the index was read
        chunker = chunker_for(StoredChunks(grouped))
        chunked = chunk_documents(chunker, [stored_document(r, grouped.get(r.doc_id, [])) for r in records])
        changes = _changes(records, chunked, embedder, progress)
        with store.writing(name):
            if store.manifest(name).generation != manifest.generation:
                continue
            if progress:
                progress("commit", 0, 1)
            updated = store.commit(name, changes, [], IngestEvent(context=mode, context_model=model))
            if progress:
                progress("commit", 1, 1)
        return ReindexReport(name, manifest.embedder.model_dump(), manifest.embedder.model_dump(), updated.chunks,
                             updated.generation, True, time.monotonic() - started, after, before)
    raise InputError(f"index '{name}' kept changing while it was read; run the reindex again")
