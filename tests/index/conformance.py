"""The Store contract (ragtune/index/base.py), run against every store implementation.

A test module subclasses ``StoreConformance`` and provides a ``store`` fixture.
"""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.config import ChunkingConfig
from ragtune.embeddings import FakeEmbedder
from ragtune.errors import IndexNotFoundError, InputError
from ragtune.index.base import ChunkRecord, DocRecord, DocumentChange, Filters, IndexManifest, IngestEvent

EMB = FakeEmbedder(32)


def change(doc_id: str, texts: list[str], source: str | None = None, doc_type: str = "txt", meta: dict | None = None,
           version: int = 1, origin: str = "/root") -> DocumentChange:
    source = source or f"/root/{doc_id}"
    chunks = [ChunkRecord(chunk_id=f"{doc_id}#{i}", doc_id=doc_id, position=i, text=t, start=0, end=len(t), page=None,
                          headings=(), source=source, doc_type=doc_type, metadata=meta or {}) for i, t in enumerate(texts)]
    record = DocRecord(doc_id=doc_id, source=source, origin=origin, hash=f"h-{doc_id}-{version}", version=version,
                       chunks=len(chunks), doc_type=doc_type, metadata=meta or {})
    return DocumentChange(record, chunks, EMB.embed_documents(texts))


class StoreConformance:
    @pytest.fixture
    def index(self, store):
        store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
        return "kb"

    def test_create_list_and_duplicate(self, store, index):
        assert store.list_indexes() == ["kb"]
        assert store.exists("kb") and not store.exists("other")
        with pytest.raises(InputError, match="already exists"):
            store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))

    def test_unknown_index_raises(self, store):
        with pytest.raises(IndexNotFoundError, match="no index named 'nope'"):
            store.manifest("nope")
        with pytest.raises(IndexNotFoundError):
            store.search_lexical("nope", "q", 3)

    def test_commit_then_search(self, store, index):
        m = store.commit(index, [change("a", ["rotate api keys every ninety days"]),
                                 change("b", ["the audit log records sign-ins", "audit entries kept 400 days"])], [],
                         IngestEvent(added=2))
        assert (m.generation, m.documents, m.chunks) == (1, 2, 3)
        lex = store.search_lexical(index, "audit log", 5)
        assert lex[0][0].startswith("b#") and all(c.startswith("b#") for c, _ in lex)
        dense = store.search_dense(index, EMB.embed_query("rotate api keys"), 1)
        assert dense[0][0] == "a#0"
        (rec,) = store.get_chunks(index, ["b#1"])
        assert rec.text == "audit entries kept 400 days" and rec.doc_id == "b"

    def test_upsert_replaces_whole_document_and_delete(self, store, index):
        store.commit(index, [change("a", ["one", "two", "three"])], [], IngestEvent())
        store.commit(index, [change("a", ["only one now"], version=2)], [], IngestEvent(updated=1))
        docs = store.documents(index)
        assert [(d.doc_id, d.version, d.chunks) for d in docs] == [("a", 2, 1)]
        assert [c.chunk_id for c in store.all_chunks(index)] == ["a#0"]
        m = store.commit(index, [], ["a"], IngestEvent(removed=1))
        assert m.chunks == 0 and store.documents(index) == []
        assert store.search_lexical(index, "one", 3) == []

    def test_filters(self, store, index):
        store.commit(index, [change("a", ["pricing for teams"], source="/kb/pricing.md", doc_type="md", meta={"lang": "en"}),
                             change("b", ["pricing for schools"], source="/kb/schools.pdf", doc_type="pdf", meta={"lang": "de"})],
                     [], IngestEvent())
        assert [c for c, _ in store.search_lexical(index, "pricing", 5, Filters(types=("pdf",)))] == ["b#0"]
        assert [c for c, _ in store.search_lexical(index, "pricing", 5, Filters(source="*.md"))] == ["a#0"]
        vec = EMB.embed_query("pricing")
        assert [c for c, _ in store.search_dense(index, vec, 5, Filters(metadata={"lang": "de"}))] == ["b#0"]

    def test_reversed_range_glob_matches_nothing(self, store, index):
        store.commit(index, [change("a", ["pricing for teams"], source="/kb/pricing.md"),
                             change("b", ["pricing for schools"], source="/kb/schools.pdf")], [], IngestEvent())
        lexical = lambda glob: sorted(c for c, _ in store.search_lexical(index, "pricing", 5, Filters(source=glob)))
        assert lexical("*.[z-a]d") == []  # as fnmatch reads it: the range is empty
        assert lexical("*.[z-am]d") == ["a#0"]  # the rest of the class stands
        assert lexical("*.[!z-a]d") == ["a#0"]  # negated and empty: any character
        assert [c for c, _ in store.search_dense(index, EMB.embed_query("pricing"), 5, Filters(source="[z-a]*"))] == []

    def test_changing_a_returned_records_metadata_changes_no_other(self, store, index):
        store.commit(index, [change("a", ["one", "two"], meta={"lang": "en", "tags": ["x"]}),
                             change("b", ["three"], meta={"lang": "en"})], [], IngestEvent())
        first, second, third = store.get_chunks(index, ["a#0", "a#1", "b#0"])
        first.metadata["lang"] = "changed"
        first.metadata["tags"].append("y")
        third.metadata["lang"] = "changed"
        assert second.metadata == {"lang": "en", "tags": ["x"]}
        again = store.get_chunks(index, ["a#0", "b#0"]) + store.all_chunks(index)
        assert [c.metadata for c in again] == [{"lang": "en", "tags": ["x"]}, {"lang": "en"},
                                               {"lang": "en", "tags": ["x"]}, {"lang": "en", "tags": ["x"]}, {"lang": "en"}]
        whole = store.all_chunks(index)
        whole[0].metadata["tags"].append("y")
        whole[2].metadata["lang"] = "changed"
        assert whole[1].metadata == {"lang": "en", "tags": ["x"]}

    def test_dimension_mismatch(self, store, index):
        with pytest.raises(InputError, match="dimensions"):
            store.search_dense(index, np.ones(7, dtype=np.float32), 3)

    def test_history_records_events(self, store, index):
        store.commit(index, [change("a", ["x"])], [], IngestEvent(added=1))
        store.commit(index, [change("a", ["y"], version=2)], [], IngestEvent(updated=1))
        hist = store.manifest(index).history
        assert [(e.added, e.updated) for e in hist] == [(1, 0), (0, 1)]

    def test_drop(self, store, index):
        store.drop(index)
        assert store.list_indexes() == []

    def test_replace_vectors_swaps_vectors_and_embedder(self, store, index):
        m = store.commit(index, [change("a", ["rotate api keys every ninety days"]),
                                 change("b", ["the audit log records sign-ins", "audit entries kept 400 days"])], [],
                         IngestEvent(added=2))
        other = FakeEmbedder(48)
        chunks = store.all_chunks(index)
        texts = {c.chunk_id: c.index_text for c in chunks}
        ids = sorted(texts, reverse=True)  # any order: vectors follow their ids
        new = store.replace_vectors(index, other.info, ids, other.embed_documents([texts[c] for c in ids]), m.generation)
        assert new.generation == m.generation + 1 and new.embedder == other.info and new.chunks == 3
        assert new.history[-1].embedder == other.info.spec
        assert store.manifest(index).embedder.dimension == 48
        assert store.search_dense(index, other.embed_query("audit entries kept 400 days"), 1)[0][0] == "b#1"
        with pytest.raises(InputError, match="dimensions"):
            store.search_dense(index, EMB.embed_query("audit"), 1)
        # text, documents and lexical search are untouched
        assert [c for c, _ in store.search_lexical(index, "audit log", 1)] == ["b#0"]
        assert {c.chunk_id: c.text for c in store.all_chunks(index)} == {c.chunk_id: c.text for c in chunks}
        assert [(d.doc_id, d.version) for d in store.documents(index)] == [("a", 1), ("b", 1)]

    def test_replace_vectors_refuses_stale_generation_or_other_ids(self, store, index):
        m = store.commit(index, [change("a", ["one", "two"])], [], IngestEvent(added=1))
        other = FakeEmbedder(16)
        store.commit(index, [change("b", ["three"])], [], IngestEvent(added=1))
        ids = [c.chunk_id for c in store.all_chunks(index)]
        with pytest.raises(InputError, match="changed while it was re-embedded"):
            store.replace_vectors(index, other.info, ids, other.embed_documents(["x"] * len(ids)), m.generation)
        current = store.manifest(index).generation
        with pytest.raises(InputError, match="not the 3 chunks"):
            store.replace_vectors(index, other.info, ids[:2], other.embed_documents(["x", "y"]), current)
        with pytest.raises(InputError, match="shape"):
            store.replace_vectors(index, other.info, ids, EMB.embed_documents(["x"] * len(ids)), current)
        after = store.manifest(index)
        assert after.generation == current and after.embedder == EMB.info
        assert store.search_dense(index, EMB.embed_query("three"), 1)[0][0] == "b#0"

    def test_replace_vectors_on_an_empty_index(self, store, index):
        other = FakeEmbedder(16)
        m = store.replace_vectors(index, other.info, [], np.zeros((0, 16), np.float32), store.manifest(index).generation)
        assert m.embedder == other.info and m.chunks == 0
        store.commit(index, [DocumentChange(change("a", ["x"]).record, change("a", ["x"]).chunks, other.embed_documents(["x"]))],
                     [], IngestEvent(added=1))
        assert store.search_dense(index, other.embed_query("x"), 1)[0][0] == "a#0"
