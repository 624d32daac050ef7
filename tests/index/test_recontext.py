"""Switching an index's context mode with reindex: every chunk indexed again under the new mode, atomically."""

from __future__ import annotations

import pytest

from ragtune.documents.chunking import document_header
from ragtune.errors import ConfigError, InputError
from ragtune.index.recontext import own_context, stored_document

HEADER = "policy"  # the context header of docs/policy.md: its title (the file name)


def _workspace(tmp_path, ws_for, store=None, context="none"):
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "policy.md").write_text("Alpha's refund window is 30 days.\n\nRefunds go back to the card used.\n",
                                    encoding="utf-8")
    sections = {"index": {"context": context}}
    if store:
        sections["store"] = store
    ws = ws_for(tmp_path / "home", **sections)
    ws.ingest([str(docs)], "p")
    return ws


def _contexts(ws):
    return sorted(c.context for c in ws.store.all_chunks("p"))


@pytest.fixture(params=["lancedb", "postgres"])
def store(request):
    return request.getfixturevalue("pg_uri") if request.param == "postgres" else None


def test_header_mode_gives_every_chunk_its_header_and_records_the_mode(tmp_path, ws_for, store):
    ws = _workspace(tmp_path, ws_for, store)
    assert _contexts(ws) == [""]
    report = ws.index("p").reindex(context="header")
    assert report.changed and report.previous_context == {"mode": "none", "model": None}
    assert _contexts(ws) == [HEADER]
    assert ws.store.manifest("p").context == "header"


def test_the_search_finds_what_the_new_context_says(tmp_path, ws_for, store):
    ws = _workspace(tmp_path, ws_for, store)
    ws.index("p").reindex(context="header")
    (hit,) = ws.index("p").search("policy", k=1, mode="lexical")
    assert hit.doc_id == "docs/policy.md"


def test_back_to_none_drops_the_header_and_keeps_text_and_ids(tmp_path, ws_for, store):
    ws = _workspace(tmp_path, ws_for, store, context="header")
    before = [(c.chunk_id, c.text) for c in ws.store.all_chunks("p")]
    ws.index("p").reindex(context="none")
    assert _contexts(ws) == [""]
    assert [(c.chunk_id, c.text) for c in ws.store.all_chunks("p")] == before


def test_summary_mode_writes_a_sentence_per_chunk_and_records_its_model(tmp_path, ws_for, store):
    ws = _workspace(tmp_path, ws_for, store)
    report = ws.index("p").reindex(context="summary", summary_model="fake:Refund rules of Alpha.")
    assert _contexts(ws) == [f"{HEADER}\nRefund rules of Alpha."]
    manifest = ws.store.manifest("p")
    assert (manifest.context, manifest.context_model) == ("summary", "fake:Refund rules of Alpha.")
    assert report.summaries["calls"] == 1


def test_the_same_mode_again_is_left_alone_unless_forced(tmp_path, ws_for):
    ws = _workspace(tmp_path, ws_for, context="header")
    generation = ws.store.manifest("p").generation
    assert not ws.index("p").reindex(context="header").changed
    assert ws.store.manifest("p").generation == generation
    assert ws.index("p").reindex(context="header", force=True).changed


def test_an_unknown_mode_is_an_input_error_naming_it(tmp_path, ws_for):
    ws = _workspace(tmp_path, ws_for)
    with pytest.raises(InputError, match="'abstract'"):
        ws.index("p").reindex(context="abstract")


def test_a_summary_model_that_cannot_be_loaded_leaves_the_index_as_it_was(tmp_path, ws_for):
    ws = _workspace(tmp_path, ws_for, context="header")
    before = ws.store.manifest("p")
    with pytest.raises(ConfigError, match="missing-model"):
        ws.index("p").reindex(context="summary", summary_model=f"local:{tmp_path / 'missing-model'}")
    after = ws.store.manifest("p")
    assert (after.generation, after.context) == (before.generation, "header")
    assert _contexts(ws) == [HEADER]


def test_an_interrupt_before_the_commit_leaves_the_index_whole_and_searchable(tmp_path, ws_for, monkeypatch):
    ws = _workspace(tmp_path, ws_for)
    index = ws.index("p")
    embedder = index.embedder()

    def interrupted(texts, on_embedded=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(embedder, "embed_documents", interrupted)
    with pytest.raises(KeyboardInterrupt):
        index.reindex(context="header")
    assert ws.store.manifest("p").context == "none"
    assert _contexts(ws) == [""]
    assert index.search("refund window", k=1)[0].doc_id == "docs/policy.md"


def test_an_index_recorded_before_context_modes_keeps_working_and_is_upgraded(tmp_path, ws_for):
    import json

    ws = _workspace(tmp_path, ws_for)
    path = tmp_path / "home" / "indexes" / "p" / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("context", "context_model"):
        data.pop(key)
    data["backend"].pop("checksum")  # as written before manifests had either
    path.write_text(json.dumps(data), encoding="utf-8")
    ws = ws_for(tmp_path / "home")
    assert ws.index("p").search("refund window", k=1)[0].doc_id == "docs/policy.md"
    ws.index("p").reindex(context="header")
    assert ws.store.manifest("p").context == "header"
    assert _contexts(ws) == [HEADER]


def test_the_columns_a_chunk_has_from_its_chunker_are_kept():
    from ragtune.index.base import ChunkRecord
    from ragtune.documents.base import CONTEXT_KEY

    record = ChunkRecord("d#1", "d", 1, "Segment 1 $ 1", 0, 13, None, (), source="s", doc_type="pdf",
                         metadata={CONTEXT_KEY: "Apple | 10-Q\nColumns: 2023 2022\nIt reports segments."})
    assert own_context(record) == "Columns: 2023 2022"


def test_a_stored_document_is_rebuilt_from_its_chunks(tmp_path, ws_for):
    ws = _workspace(tmp_path, ws_for)
    (record,) = ws.store.documents("p")
    document = stored_document(record, ws.store.all_chunks("p"))
    assert document.text == "Alpha's refund window is 30 days.\n\nRefunds go back to the card used."
    assert document_header(document) == HEADER
