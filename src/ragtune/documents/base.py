"""Documents and chunks, and the two seams of this layer: ``Loader`` and ``Chunker``.

A loader turns one file into one or more ``Document`` objects made of ``Block``s (a paragraph under a
heading path, on a page). ``Document.text`` is the blocks joined by blank lines; every block and every
chunk keeps its character span in that text, so a citation can point at the exact place.
Loaders raise ``InputError`` naming the file (and line, for JSONL) for anything they cannot read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Protocol, Sequence


class Block(NamedTuple):
    """A structural unit of a document: text under a heading path, on an optional page (immutable)."""

    text: str
    start: int
    page: int | None = None
    headings: tuple[str, ...] = ()

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass
class Document:
    """One source document: stable id, full text, its blocks, type and metadata."""

    doc_id: str
    source: str
    text: str
    blocks: list[Block]
    doc_type: str
    metadata: dict[str, Any] = field(default_factory=dict)
    line: int | None = None  # the line of the JSONL row it was read from (None: a whole file)

    @property
    def content_hash(self) -> str:
        """sha256 of the text and metadata: what decides whether a re-ingest changes anything."""
        h = hashlib.sha256(self.text.encode("utf-8"))
        h.update(json.dumps(self.metadata, sort_keys=True, default=str).encode("utf-8"))
        return h.hexdigest()

    @classmethod
    def from_parts(
        cls,
        doc_id: str,
        source: str,
        parts: Sequence[tuple[str, int | None, tuple[str, ...]]],
        doc_type: str,
        metadata: dict[str, Any] | None = None,
    ) -> "Document":
        """Assemble a document from ``(text, page, headings)`` parts, computing each block's span."""
        blocks: list[Block] = []
        offset = 0
        for text, page, headings in parts:
            text = text.strip()
            if text:
                blocks.append(Block(text, offset, page, headings))
                offset += len(text) + 2  # the blank line that joins it to the next
        return cls(doc_id=doc_id, source=source, text="\n\n".join(b.text for b in blocks), blocks=blocks,
                   doc_type=doc_type, metadata=dict(metadata or {}))


CONTEXT_KEY = "context_header"
"""The chunk metadata field holding the context header its chunk is indexed with (absent: none)."""


def index_text(text: str, headings: Sequence[str], context: str = "") -> str:
    """What a chunk is embedded and lexically indexed as: its context header and its headings joined by `` / ``,
    each on a line of its own when present, then its text."""
    lines = [context] if context else []
    if headings:
        lines.append(" / ".join(headings))
    return "\n".join([*lines, text])


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document: ``chunk_id`` is ``doc_id#position``."""

    chunk_id: str
    doc_id: str
    position: int
    text: str
    start: int
    end: int
    page: int | None
    headings: tuple[str, ...]
    context: str = ""

    @property
    def index_text(self) -> str:
        """The text that is embedded and indexed: the context header, the heading path, then the chunk."""
        return index_text(self.text, self.headings, self.context)


class Loader(Protocol):
    """Reads one file into documents.

    ``suffixes`` lists the file endings it takes. ``load`` yields documents whose ``doc_id`` starts
    with ``doc_id`` (a file gives one document with exactly that id; a JSONL file gives one per row,
    with the row's own id). Unreadable, empty or malformed input raises ``InputError``.
    """

    @property
    def suffixes(self) -> tuple[str, ...]: ...

    def load(self, path: Path, doc_id: str) -> Iterator[Document]: ...


class Chunker(Protocol):
    """Cuts a document into chunks within a token budget; spans index into ``Document.text``."""

    def chunk(self, document: Document) -> list[Chunk]: ...


def chunk_documents(chunker: Chunker, documents: Sequence[Document]) -> list[list[Chunk]]:
    """Each document's chunks: from one ``chunk_many`` call where the chunker has one (it writes situating summaries
    of all of them together), else document by document."""
    many = getattr(chunker, "chunk_many", None)
    return many(documents) if callable(many) else [chunker.chunk(d) for d in documents]
