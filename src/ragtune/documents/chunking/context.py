"""Context headers: every chunk indexed with a line that says which document it comes from.

A chunk of a quarterly filing rarely names its company, form or period: those live on the cover page and in
the file name. ``HeaderChunker`` wraps a chunker and gives each chunk its document's header (``Chunk.context``),
which is embedded and lexically indexed before the heading path and the text (above the header of the table
the chunk starts in, when its chunker gave it one); the stored text, and so every citation, stays the original
passage. The header is built from the document's metadata
(``ragtune.documents.metadata``): title, organisation and ticker, form, period and period end, e.g.
``2023 Q3 AAPL | Apple Inc. (AAPL) | Form 10-Q | period 2023-Q3 (Q3 2023) ended 2023-07-01``.
A title that is already the first heading (JSONL rows, Markdown) or that is only an identifier is left out.

``SummaryChunker`` adds, on a line after the header, a one-sentence situating summary of the chunk within its
document, written by a generator (``ragtune.generation.situating``; ``[index] context = "summary"``), for the
chunks of many documents in one call (``chunk_documents``). It too is kept in the chunk's metadata.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from ragtune.documents.base import Chunk, Chunker, Document

_ID_LIKE = re.compile(r"^[\d\s_-]+$")


def _title(document: Document) -> str:
    title = str(document.metadata.get("title") or "").strip()
    if not title or _ID_LIKE.match(title):
        title = Path(document.source.split("#", 1)[0]).stem if document.doc_type != "jsonl" else ""
    first_heading = document.blocks[0].headings[0] if document.blocks and document.blocks[0].headings else ""
    return "" if title == first_heading else title


def document_header(document: Document) -> str:
    """The context header of ``document`` ('' when there is nothing to say beyond its headings)."""
    meta = document.metadata
    parts = [_title(document)]
    organization, ticker = meta.get("organization"), meta.get("ticker")
    if organization:
        parts.append(f"{organization} ({ticker})" if ticker else str(organization))
    elif ticker:
        parts.append(str(ticker))
    if meta.get("form"):
        parts.append(f"Form {meta['form']}")
    period = str(meta.get("period") or "")
    if period:
        year, _, quarter = period.partition("-")
        words = f"period {period}" + (f" ({quarter} {year})" if quarter else "")
        parts.append(words + (f" ended {meta['period_end']}" if meta.get("period_end") else ""))
    elif meta.get("period_end"):
        parts.append(f"period ended {meta['period_end']}")
    return " | ".join(p for p in parts if p)


class HeaderChunker:
    """A ``Chunker`` that gives every chunk of ``inner`` its document's context header (see the module docstring)."""

    def __init__(self, inner: Chunker) -> None:
        self.inner = inner

    def chunk(self, document: Document) -> list[Chunk]:
        header = document_header(document)
        chunks = self.inner.chunk(document)
        return [replace(c, context="\n".join(p for p in (header, c.context) if p)) for c in chunks] if header else chunks


SituatingSummary = Callable[[Sequence[tuple[str, str]]], list[str]]
"""Writes the situating sentences of chunks: ``[(start of the document's text, chunk text), ...] -> sentences`` in
order ('' for none); one call for many chunks, so a generator that answers batches writes them together."""


class SummaryChunker:
    """A ``Chunker`` that gives every chunk of ``inner`` its document's context header and a situating sentence
    written by ``summary`` (see the module docstring); ``chunk_many`` writes the sentences of many documents at once."""

    def __init__(self, inner: Chunker, summary: SituatingSummary) -> None:
        self.inner = HeaderChunker(inner)
        self.summary = summary

    def chunk(self, document: Document) -> list[Chunk]:
        return self.chunk_many([document])[0]

    def chunk_many(self, documents: Sequence[Document]) -> list[list[Chunk]]:
        chunked = [self.inner.chunk(d) for d in documents]
        sentences = iter(self.summary([(d.text, c.text) for d, chunks in zip(documents, chunked) for c in chunks]))
        return [[replace(c, context="\n".join(p for p in (c.context, next(sentences)) if p)) for c in chunks]
                for chunks in chunked]
