"""Context headers: which document a chunk comes from, indexed with it; its stored text stays the passage."""

from __future__ import annotations

from ragtune.documents import Document, RecursiveChunker
from ragtune.documents.base import CONTEXT_KEY
from ragtune.documents.chunking import HeaderChunker, document_header
from ragtune.index.base import ChunkRecord

META = {"title": "0000320193-23-000077", "organization": "Apple Inc.", "ticker": "AAPL", "form": "10-Q",
        "period": "2023-Q3", "period_end": "2023-07-01"}


def _doc(metadata, source="/data/2023 Q3 AAPL.pdf", headings=()):
    return Document.from_parts("d", source, [("Total net sales 81,797 82,959", 2, headings)], "pdf", metadata)


def test_the_header_names_title_organisation_form_and_period():
    assert document_header(_doc(META)) == ("2023 Q3 AAPL | Apple Inc. (AAPL) | Form 10-Q | "
                                           "period 2023-Q3 (Q3 2023) ended 2023-07-01")


def test_a_title_that_is_the_first_heading_is_left_out():
    assert document_header(_doc({"title": "Scurvy"}, headings=("Scurvy",))) == ""


def test_chunks_are_indexed_with_the_header_and_keep_their_text():
    (chunk,) = HeaderChunker(RecursiveChunker()).chunk(_doc(META))
    assert chunk.text == "Total net sales 81,797 82,959"
    assert chunk.index_text == document_header(_doc(META)) + "\nTotal net sales 81,797 82,959"


def test_a_stored_chunk_is_indexed_with_the_header_its_metadata_records():
    record = ChunkRecord("d#0", "d", 0, "text", 0, 4, None, ("Part I",), source="s", doc_type="pdf",
                         metadata={CONTEXT_KEY: "Apple | 10-Q"})
    assert record.index_text == "Apple | 10-Q\nPart I\ntext"
    bare = ChunkRecord("d#0", "d", 0, "text", 0, 4, None, ("Part I",), source="s", doc_type="pdf")
    assert bare.index_text == "Part I\ntext"


def test_a_chunk_stored_keeps_its_header_in_its_metadata_and_its_index_text():
    (chunk,) = HeaderChunker(RecursiveChunker()).chunk(_doc(META))
    record = ChunkRecord.of(chunk, "s", "pdf", {"ticker": "AAPL"})
    assert record.metadata == {"ticker": "AAPL", CONTEXT_KEY: chunk.context}
    assert record.index_text == chunk.index_text
