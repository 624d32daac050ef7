import threading

import pytest

from ragtune.config import IndexConfig
from ragtune.index import lancedb as lance_mod
from ragtune.index.base import IngestEvent
from ragtune.index.lancedb import LanceDBStore

from .conformance import EMB, StoreConformance, change


class TestLanceDBStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path):
        return LanceDBStore(tmp_path / "ws")


def test_readers_never_see_a_half_written_document(tmp_path):
    store = LanceDBStore(tmp_path / "ws")
    from ragtune.config import ChunkingConfig
    from ragtune.index.base import IndexManifest

    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    store.commit("kb", [change("a", [f"version 0 part {i}" for i in range(5)])], [], IngestEvent())
    seen: list[set[str]] = []
    stop = threading.Event()

    def reader():
        r = LanceDBStore(tmp_path / "ws")
        while not stop.is_set():
            texts = {c.text.split(" part ")[0] for c in r.all_chunks("kb")}
            counts = len(r.all_chunks("kb"))
            seen.append(texts)
            assert counts == 5

    t = threading.Thread(target=reader)
    t.start()
    try:
        for v in range(1, 6):
            store.commit("kb", [change("a", [f"version {v} part {i}" for i in range(5)], version=v + 1)], [], IngestEvent())
    finally:
        stop.set()
        t.join()
    assert seen and all(len(s) == 1 for s in seen)  # never a mix of two versions


def test_ann_index_above_threshold(tmp_path):
    from ragtune.config import ChunkingConfig
    from ragtune.index.base import IndexManifest

    store = LanceDBStore(tmp_path / "ws", IndexConfig(ann_threshold=300))
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    docs = [change(f"d{i}", [f"document {i} about topic {i % 17} and item {i}"]) for i in range(400)]
    m = store.commit("kb", docs, [], IngestEvent(added=400))
    assert m.backend["ann"] is True
    hits = store.search_dense("kb", EMB.embed_query("document 123 about topic 4 and item 123"), 5)
    assert hits[0][0] == "d123#0"


def test_invalid_index_name(tmp_path):
    from ragtune.errors import InputError

    with pytest.raises(InputError, match="invalid index name"):
        LanceDBStore(tmp_path).exists("../escape")


def test_index_of_only_stop_words_survives_reload(tmp_path):
    from ragtune.config import ChunkingConfig
    from ragtune.index.base import IndexManifest

    store = LanceDBStore(tmp_path / "ws")
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    store.commit("kb", [change("a", ["a"])], [], IngestEvent(added=1))
    fresh = LanceDBStore(tmp_path / "ws")
    assert fresh.search_lexical("kb", "anything", 3) == []
    assert fresh.search_dense("kb", EMB.embed_query("a"), 3)[0][0] == "a#0"


def test_crash_mid_reindex_leaves_old_vectors_whole(tmp_path, monkeypatch):
    from ragtune.config import ChunkingConfig
    from ragtune.embeddings import FakeEmbedder
    from ragtune.index.base import IndexManifest

    store = LanceDBStore(tmp_path / "ws")
    store.create(IndexManifest(name="kb", embedder=EMB.info, chunking=ChunkingConfig()))
    m = store.commit("kb", [change("a", ["keys rotate every ninety days"]), change("b", ["audit log"])], [], IngestEvent(added=2))
    reader = LanceDBStore(tmp_path / "ws")
    before = reader.search_dense("kb", EMB.embed_query("audit log"), 2)
    other = FakeEmbedder(16)
    ids = [c.chunk_id for c in store.all_chunks("kb")]

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # killed after the new vectors were written, before the manifest swap

    monkeypatch.setattr(lance_mod.SegmentWriter, "rebuild", boom)
    with pytest.raises(KeyboardInterrupt):
        store.replace_vectors("kb", other.info, ids, other.embed_documents(["keys", "audit"]), m.generation)
    monkeypatch.undo()
    fresh = LanceDBStore(tmp_path / "ws")
    assert fresh.manifest("kb").embedder == EMB.info and fresh.manifest("kb").generation == m.generation
    assert fresh.search_dense("kb", EMB.embed_query("audit log"), 2) == before
    assert reader.search_dense("kb", EMB.embed_query("audit log"), 2) == before
    # the next writer starts from the committed vectors, and a reindex then goes through
    done = fresh.replace_vectors("kb", other.info, ids, other.embed_documents(["keys rotate", "audit log"]), m.generation)
    assert done.embedder == other.info
    assert fresh.search_dense("kb", other.embed_query("audit log"), 1)[0][0] == "b#0"
