from ragtune.config import ChunkingConfig
from ragtune.documents import Document, RecursiveChunker, count_tokens


def make_doc(parts):
    return Document.from_parts("d", "d.md", parts, "md")


def test_spans_point_into_document_text():
    doc = make_doc([("First paragraph. It has two sentences.", None, ("A",)), ("Second block.", None, ("A", "B"))])
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=50, overlap_tokens=5)).chunk(doc)
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunks[0].chunk_id == "d#0"


def test_never_crosses_headings_or_pages():
    doc = make_doc([("Alpha text.", 1, ("H1",)), ("Beta text.", 2, ("H1",)), ("Gamma text.", 2, ("H2",))])
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=200, overlap_tokens=0)).chunk(doc)
    assert [(c.text, c.page, c.headings) for c in chunks] == [
        ("Alpha text.", 1, ("H1",)), ("Beta text.", 2, ("H1",)), ("Gamma text.", 2, ("H2",))]


def test_budget_respected_with_sentence_overlap():
    sentences = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(60))
    doc = make_doc([(sentences, None, ())])
    cfg = ChunkingConfig(max_tokens=40, overlap_tokens=10)
    chunks = RecursiveChunker(cfg).chunk(doc)
    assert len(chunks) > 5
    assert all(count_tokens(c.text) <= cfg.max_tokens for c in chunks)
    # consecutive chunks share their boundary sentence
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end
    assert "Sentence number 59" in chunks[-1].text


def test_overlong_sentence_is_cut_on_tokens():
    doc = make_doc([(" ".join(["word"] * 250), None, ())])
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=100, overlap_tokens=0)).chunk(doc)
    assert [count_tokens(c.text) for c in chunks] == [100, 100, 50]


def test_small_paragraphs_pack_together():
    doc = make_doc([("One.", None, ("S",)), ("Two.", None, ("S",)), ("Three.", None, ("S",))])
    (chunk,) = RecursiveChunker(ChunkingConfig(max_tokens=100, overlap_tokens=0)).chunk(doc)
    assert chunk.text == "One.\n\nTwo.\n\nThree."
    assert chunk.index_text == "S\nOne.\n\nTwo.\n\nThree."


def test_a_long_single_line_is_cut_in_one_pass_without_holding_every_token():
    import tracemalloc

    line = " ".join(f"w{i}, v" for i in range(200_000))  # ~2 MB, one line, no sentence ends
    doc = make_doc([(line, None, ())])
    tracemalloc.start()
    chunks = RecursiveChunker().chunk(doc)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * len(line)  # the chunks' text and little more (a list of every token is ~40x the text)
    assert all(doc.text[c.start:c.end] == c.text and count_tokens(c.text) <= 256 for c in chunks[:50])
    assert chunks[-1].end == len(doc.text)


SALES = ("Net sales by category (in millions):\nThree Months Ended\nJuly 1, 2023 June 25, 2022\n"
         + "\n".join(f"Product line {i} $ {1000 + i},{100 + i} $ {900 + i},{200 + i}" for i in range(40)))
HEADER = "Columns: Net sales by category (in millions): Three Months Ended July 1, 2023 June 25, 2022"


def test_a_table_over_the_budget_is_cut_between_rows():
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=60, overlap_tokens=0)).chunk(make_doc([(SALES, 1, ())]))
    rows = {line for c in chunks for line in c.text.split("\n")}
    assert {f"Product line {i} $ {1000 + i},{100 + i} $ {900 + i},{200 + i}" for i in range(40)} <= rows


def test_a_chunk_inside_a_table_repeats_its_period_header():
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=60, overlap_tokens=0)).chunk(make_doc([(SALES, 1, ())]))
    assert all(c.context == HEADER for c in chunks[1:])


def test_the_chunk_holding_the_header_gets_no_columns_line():
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=60, overlap_tokens=0)).chunk(make_doc([(SALES, 1, ())]))
    assert chunks[0].context == ""


def test_a_repeated_header_stays_out_of_the_chunk_text():
    doc = make_doc([(SALES, 1, ())])
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=60, overlap_tokens=0)).chunk(doc)
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)


def test_the_columns_line_is_indexed_with_the_chunk():
    chunks = RecursiveChunker(ChunkingConfig(max_tokens=60, overlap_tokens=0)).chunk(make_doc([(SALES, 1, ())]))
    assert chunks[2].index_text.startswith(HEADER + "\nProduct line 8 ")
