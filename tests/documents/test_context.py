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
    record = ChunkRecord("d#0", "d", 0, "text", 0, 4, None, ("Part I",), "s", "pdf", {CONTEXT_KEY: "Apple | 10-Q"})
    assert record.index_text == "Apple | 10-Q\nPart I\ntext"
    bare = ChunkRecord("d#0", "d", 0, "text", 0, 4, None, ("Part I",), "s", "pdf", {})
    assert bare.index_text == "Part I\ntext"


def test_the_document_header_comes_before_the_columns_of_a_table_split_across_chunks():
    from ragtune.config import ChunkingConfig

    rows = "\n".join(f"Segment {i} $ {1000 + i},{100 + i} $ {900 + i},{200 + i}" for i in range(40))
    doc = Document.from_parts("d", "/data/2023 Q3 AAPL.pdf", [(f"Three Months Ended\nJuly 1, 2023 June 25, 2022\n{rows}", 2, ())],
                              "pdf", META)
    chunks = HeaderChunker(RecursiveChunker(ChunkingConfig(max_tokens=60, overlap_tokens=0))).chunk(doc)
    assert chunks[1].context == document_header(doc) + "\nColumns: Three Months Ended July 1, 2023 June 25, 2022"
