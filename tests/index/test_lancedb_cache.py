import numpy as np
import pytest

from ragtune.config import IndexConfig
from ragtune.embeddings import FakeEmbedder
from ragtune.errors import IndexNotFoundError
from ragtune.index import ChunkRecord, DocRecord, DocumentChange, IndexManifest, IngestEvent, LanceDBStore
from ragtune.config import ChunkingConfig

EMBEDDER = FakeEmbedder(32)


def _change(doc_id: str, texts: list[str], version: int = 1) -> DocumentChange:
    chunks = [ChunkRecord(chunk_id=f"{doc_id}#{i}", doc_id=doc_id, position=i, text=t, start=0, end=len(t), page=None,
                          headings=(), source=f"{doc_id}.txt", doc_type="txt") for i, t in enumerate(texts)]
    record = DocRecord(doc_id=doc_id, source=f"{doc_id}.txt", origin="test", hash=f"{doc_id}-{version}", version=version,
                       chunks=len(chunks), doc_type="txt")
    return DocumentChange(record=record, chunks=chunks, vectors=EMBEDDER.embed_documents(texts))


@pytest.fixture
def store(tmp_path):
    s = LanceDBStore(tmp_path, IndexConfig())
    s.create(IndexManifest(name="idx", embedder=EMBEDDER.info, chunking=ChunkingConfig()))
    return s


def test_a_reader_sees_a_commit_made_by_another_store_instance(store, tmp_path):
    store.commit("idx", [_change("a", ["apples grow on trees"])], [], IngestEvent(added=1))
    assert [c for c, _ in store.search_lexical("idx", "apples", 5)] == ["a#0"]  # cached snapshot and manifest
    other = LanceDBStore(tmp_path, IndexConfig())
    other.commit("idx", [_change("b", ["bananas are yellow fruit"])], [], IngestEvent(added=1))
    assert store.manifest("idx").generation == 2
    assert [c for c, _ in store.search_lexical("idx", "bananas", 5)] == ["b#0"]
    hits = store.search_dense("idx", EMBEDDER.embed_query("bananas are yellow fruit"), 1)
    assert hits[0][0] == "b#0"


def test_manifest_returns_a_fresh_object(store):
    store.commit("idx", [_change("a", ["one"])], [], IngestEvent(added=1))
    first = store.manifest("idx")
    first.history.clear()
    first.generation = 99
    again = store.manifest("idx")
    assert again.generation == 1 and len(again.history) == 1


def test_unknown_index_is_reported_by_every_reader(store):
    with pytest.raises(IndexNotFoundError):
        store.manifest("nope")
    with pytest.raises(IndexNotFoundError):
        store.search_dense("nope", np.zeros(32, np.float32), 3)
    with pytest.raises(IndexNotFoundError):
        store.search_lexical("nope", "x", 3)


def test_upsert_replaces_old_chunks_and_delete_removes(store):
    store.commit("idx", [_change("a", ["alpha one", "alpha two"]), _change("b", ["beta"])], [], IngestEvent(added=2))
    store.commit("idx", [_change("a", ["alpha three"], version=2)], [], IngestEvent(updated=1))
    assert sorted(c.chunk_id for c in store.all_chunks("idx")) == ["a#0", "b#0"]
    assert store.get_chunks("idx", ["a#0"])[0].text == "alpha three"
    store.commit("idx", [], ["b", "never-stored"], IngestEvent(removed=1))
    assert [c.chunk_id for c in store.all_chunks("idx")] == ["a#0"]
    assert {d.doc_id: d.version for d in store.documents("idx")} == {"a": 2}


def test_first_ingest_of_many_documents_writes_one_version_per_table(store):
    before = store.manifest("idx").backend
    changes = [_change(f"d{i}", [f"text number {i}"]) for i in range(1200)]
    after = store.commit("idx", changes, [], IngestEvent(added=1200)).backend
    # nothing stored yet, so no deletes: one append to each table
    assert after["chunks_version"] == before["chunks_version"] + 1
    assert after["docs_version"] == before["docs_version"] + 1
    assert store.manifest("idx").chunks == 1200


def test_a_search_keys_its_snapshot_once_per_manifest(store, tmp_path, monkeypatch):
    from ragtune.index import lancedb as lance_mod

    store.commit("idx", [_change("a", ["apples grow on trees"])], [], IngestEvent(added=1))
    keyed = []
    snapshot_key = lance_mod._snapshot_key
    monkeypatch.setattr(lance_mod, "_snapshot_key", lambda manifest: keyed.append(manifest.generation) or snapshot_key(manifest))
    for _ in range(3):
        assert [c for c, _ in store.search_lexical("idx", "apples", 5)] == ["a#0"]
    LanceDBStore(tmp_path, IndexConfig()).commit("idx", [_change("b", ["bananas"])], [], IngestEvent(added=1))
    for _ in range(3):
        assert [c for c, _ in store.search_lexical("idx", "bananas", 5)] == ["b#0"]
    assert keyed == [1, 2]  # once per manifest read, not per search
