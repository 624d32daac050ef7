"""Context headers: which document a chunk comes from, indexed with it; its stored text stays the passage."""

from __future__ import annotations

import pytest

from ragtune.documents import Document, RecursiveChunker
from ragtune.documents.base import CONTEXT_KEY
from ragtune.documents.chunking import HeaderChunker, SummaryChunker, document_header
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


def test_a_summary_chunk_is_indexed_with_header_and_sentence_and_keeps_its_text():
    seen = []
    chunker = SummaryChunker(RecursiveChunker(), lambda pairs: seen.extend(pairs) or ["It reports sales."] * len(pairs))
    (chunk,) = chunker.chunk(_doc(META))
    assert chunk.text == "Total net sales 81,797 82,959"
    assert chunk.index_text == document_header(_doc(META)) + "\nIt reports sales.\nTotal net sales 81,797 82,959"
    assert seen == [("Total net sales 81,797 82,959", "Total net sales 81,797 82,959")]


def _summary_index(tmp_path, ws_for):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "policy.md").write_text("# Policy\n\nAlpha's refund window is 30 days.\n", encoding="utf-8")
    ws = ws_for(tmp_path / "home", index={"context": "summary", "summary_model": "fake:Refund rules of Alpha."})
    ws.ingest([str(docs)], "p")
    return ws


def test_the_summary_is_indexed_and_recorded_but_never_stored_as_the_text(tmp_path, ws_for):
    ws = _summary_index(tmp_path, ws_for)
    (record,) = ws.store.all_chunks("p")
    manifest = ws.store.manifest("p")
    assert (manifest.context, manifest.context_model) == ("summary", "fake:Refund rules of Alpha.")
    assert "Refund rules of Alpha." in record.index_text
    assert "Refund rules" not in record.text
    assert "Refund rules" not in ws.ask("What is the refund window?", "p", model="extractive").answer


def test_a_bad_context_mode_is_a_config_error_naming_the_field(tmp_path):
    from ragtune.config import RagtuneConfig
    from ragtune.errors import ConfigError

    with pytest.raises(ConfigError, match="index.context") as raised:
        RagtuneConfig.load({"home": str(tmp_path), "index": {"context": "abstract"}}, env={})
    assert raised.value.exit_code == 2


def test_a_situating_reply_that_repeats_the_instruction_is_dropped():
    from ragtune.generation.fake import FakeGenerator
    from ragtune.generation.situating import INSTRUCTION, SituatingWriter

    assert SituatingWriter(FakeGenerator(INSTRUCTION))([("Apple Inc. Form 10-Q", "Total net sales 81,797")]) == [""]
    assert SituatingWriter(FakeGenerator("Sales of Apple in Q3 2023."))([("Apple Inc.", "Total net sales")]) == [
        "Sales of Apple in Q3 2023."]


def test_the_sentences_of_many_documents_are_written_in_one_call():
    calls = []
    chunker = SummaryChunker(RecursiveChunker(), lambda pairs: calls.append(len(pairs)) or ["S."] * len(pairs))
    chunked = chunker.chunk_many([_doc(META), _doc(META, source="/data/2023 Q2 AAPL.pdf")])
    assert calls == [2]
    assert [c.context.endswith("\nS.") for chunks in chunked for c in chunks] == [True, True]


def test_a_chunk_stored_keeps_its_header_in_its_metadata_and_its_index_text():
    (chunk,) = HeaderChunker(RecursiveChunker()).chunk(_doc(META))
    record = ChunkRecord.of(chunk, "s", "pdf", {"ticker": "AAPL"})
    assert record.metadata == {"ticker": "AAPL", CONTEXT_KEY: chunk.context}
    assert record.index_text == chunk.index_text


def test_the_document_header_comes_before_the_columns_of_a_table_split_across_chunks():
    from ragtune.config import ChunkingConfig

    rows = "\n".join(f"Segment {i} $ {1000 + i},{100 + i} $ {900 + i},{200 + i}" for i in range(40))
    doc = Document.from_parts("d", "/data/2023 Q3 AAPL.pdf", [(f"Three Months Ended\nJuly 1, 2023 June 25, 2022\n{rows}", 2, ())],
                              "pdf", META)
    chunks = HeaderChunker(RecursiveChunker(ChunkingConfig(max_tokens=60, overlap_tokens=0))).chunk(doc)
    assert chunks[1].context == document_header(doc) + "\nColumns: Three Months Ended July 1, 2023 June 25, 2022"
