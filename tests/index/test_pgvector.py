"""The PostgreSQL + pgvector store against a real server (pgserver), through the shared conformance suite."""

import threading

import numpy as np
import pytest

from ragtune.config import ChunkingConfig, IndexConfig, RagtuneConfig
from ragtune.errors import ConfigError, StoreError
from ragtune.index import open_store
from ragtune.index.base import Filters, IndexManifest, IngestEvent

from .conformance import EMB, StoreConformance, change

pgvector_mod = pytest.importorskip("ragtune.index.pgvector")
PgVectorStore = pgvector_mod.PgVectorStore


@pytest.fixture
def pg_store(pg_uri):
    store = PgVectorStore(pg_uri, IndexConfig())
    yield store
    store.close()


class TestPgVectorStore(StoreConformance):
    @pytest.fixture
    def store(self, pg_store):
        return pg_store


def _new(store, name="kb"):
    store.create(IndexManifest(name=name, embedder=EMB.info, chunking=ChunkingConfig()))
    return name


def test_open_store_dispatches_postgres_uri(pg_uri):
    store = open_store(RagtuneConfig.load({"store": pg_uri}))
    try:
        assert isinstance(store, PgVectorStore) and store.list_indexes() == []
    finally:
        store.close()


def test_schema_uses_hnsw_and_gin_indexes(pg_store):
    _new(pg_store)
    table = pg_store.manifest("kb").backend["table"]
    with pg_store._cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,))
        defs = " ".join(r[0] for r in cur.fetchall())
    assert "USING hnsw (embedding vector_cosine_ops)" in defs and "USING gin (tsv)" in defs


def test_crash_mid_commit_leaves_old_version_whole(pg_store, monkeypatch):
    _new(pg_store)
    pg_store.commit("kb", [change("a", ["original text about keys"])], [], IngestEvent(added=1))
    # The second document's vectors have the wrong shape: the error comes after the first document's
    # old chunks were deleted inside the transaction.
    bad = change("b", ["new doc"])
    bad.vectors = np.ones((1, 7), dtype=np.float32)
    with pytest.raises(StoreError, match="32-d vectors"):
        pg_store.commit("kb", [change("a", ["replacement text"], version=2), bad], [], IngestEvent())
    fresh = PgVectorStore(pg_store.uri)  # a new reader, as another process would be
    try:
        assert fresh.manifest("kb").generation == 1
        assert [(d.doc_id, d.version) for d in fresh.documents("kb")] == [("a", 1)]
        assert [c.text for c in fresh.all_chunks("kb")] == ["original text about keys"]
    finally:
        fresh.close()


def test_interrupt_inside_transaction_rolls_back(pg_store, monkeypatch):
    _new(pg_store)
    pg_store.commit("kb", [change("a", ["original text about keys"])], [], IngestEvent(added=1))
    real = pgvector_mod.utc_now

    def interrupted():
        raise KeyboardInterrupt  # Ctrl-C after the rows were written, before the manifest

    monkeypatch.setattr(pgvector_mod, "utc_now", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pg_store.commit("kb", [change("a", ["replacement"], version=2), change("b", ["new"])], [], IngestEvent())
    monkeypatch.setattr(pgvector_mod, "utc_now", real)
    assert [c.text for c in pg_store.all_chunks("kb")] == ["original text about keys"]
    m = pg_store.commit("kb", [change("c", ["third"])], [], IngestEvent(added=1))
    assert m.generation == 2 and [d.doc_id for d in pg_store.documents("kb")] == ["a", "c"]


def test_readers_never_see_a_half_written_document(pg_store):
    _new(pg_store)
    pg_store.commit("kb", [change("a", [f"version 0 part {i}" for i in range(5)])], [], IngestEvent())
    seen: list[set[str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        r = PgVectorStore(pg_store.uri)
        try:
            while not stop.is_set():
                chunks = r.all_chunks("kb")
                hits = r.search_lexical("kb", "version part", 10)
                got = r.get_chunks("kb", [c for c, _ in hits])
                seen.append({c.text.split(" part ")[0] for c in chunks})
                seen.append({c.text.split(" part ")[0] for c in got})
                assert len(chunks) == 5 and len(got) == 5
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            r.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for v in range(1, 16):
            pg_store.commit("kb", [change("a", [f"version {v} part {i}" for i in range(5)], version=v + 1)], [], IngestEvent())
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(seen) > 2 and all(len(s) == 1 for s in seen)  # never a mix of two versions
    assert pg_store.manifest("kb").generation == 16


def test_concurrent_writers_serialise(pg_store):
    _new(pg_store)
    errors = []

    def writer(i):
        s = PgVectorStore(pg_store.uri)
        try:
            s.commit("kb", [change(f"d{i}", [f"doc {i}"])], [], IngestEvent(added=1))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    m = pg_store.manifest("kb")
    assert (m.generation, m.documents, len(m.history)) == (6, 6, 6)


def test_hnsw_serves_dense_queries_on_a_larger_index(pg_store):
    _new(pg_store)
    docs = [change(f"d{i}", [f"document {i} about topic {i % 17} and item {i}"]) for i in range(400)]
    pg_store.commit("kb", docs, [], IngestEvent(added=400))
    table = pg_store.manifest("kb").backend["table"]
    vec = EMB.embed_query("document 123 about topic 4 and item 123")
    with pg_store._cursor() as cur:
        cur.execute("SET enable_seqscan = off")  # this thread's connection: force the index path
    try:
        with pg_store._cursor() as cur:
            cur.execute(f"EXPLAIN SELECT chunk_id, embedding <=> %s AS distance FROM {table} WHERE true "
                        "ORDER BY distance LIMIT 5", (vec,))
            plan = " ".join(r[0] for r in cur.fetchall())
        hits = pg_store.search_dense("kb", vec, 5)
        # a filter that only 10 of 400 chunks pass still fills the list (iterative index scan)
        filtered = pg_store.search_dense("kb", vec, 3, Filters(source="/root/d39?"))
    finally:
        with pg_store._cursor() as cur:
            cur.execute("RESET enable_seqscan")
    assert f"{table}_hnsw" in plan
    assert hits[0][0] == "d123#0"
    assert len(filtered) == 3 and all(c.startswith("d39") and len(c) == 6 for c, _ in filtered)


def test_glob_translation_matches_fnmatch():
    import fnmatch
    import re

    for pattern, names in {"*.md": ["a.md", "a.mdx", "x/a.md"], "d?[0-3].txt": ["d10.txt", "d15.txt", "dd2.txt"],
                           "[!a]*": ["abc", "bcd"], "a+b(c).md": ["a+b(c).md", "aab(c).md"]}.items():
        regex = pgvector_mod.glob_to_regex(pattern)
        for name in names:
            assert bool(re.search(regex, name)) == fnmatch.fnmatchcase(name, pattern), (pattern, name)


def test_bad_uri_and_unreachable_server():
    with pytest.raises(ConfigError, match="postgresql://"):
        PgVectorStore("mysql://x")
    store = PgVectorStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError, match="cannot connect"):
        store.list_indexes()


def test_password_is_not_shown_in_errors():
    store = PgVectorStore("postgresql://me:s3cret@127.0.0.1:1/db?connect_timeout=2")
    with pytest.raises(StoreError) as info:
        store.list_indexes()
    assert "s3cret" not in str(info.value)


def test_workspace_end_to_end_on_postgres(tmp_path, pg_uri, docs_dir):
    from ragtune.api import Workspace

    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home"), "store": pg_uri, "embedder": {"model": "fake:64"}}))
    try:
        report = ws.ingest([str(docs_dir)], index="support")
        assert (report.added, report.chunks >= 3) == (3, True)
        idx = ws.index("support")
        assert idx.search("audit log", k=3, mode="lexical")[0].doc_id == "docs/audit.txt"
        hybrid = idx.search("how often must api keys be rotated", k=3)
        assert hybrid[0].doc_id == "docs/keys.md" and hybrid[0].headings == ["Keys", "Rotation"]
        html = idx.search("price per user", k=5, filters=Filters(types=("html",)))
        assert html and all(h.doc_id == "docs/faq.html" for h in html)
        assert ws.ingest([str(docs_dir)], index="support").unchanged == 3
        idx.remove(["docs/faq.html"])
        assert [d.doc_id for d in idx.documents()] == ["docs/audit.txt", "docs/keys.md"]
        assert not (tmp_path / "home" / "indexes").exists()  # nothing went to the embedded store
    finally:
        ws.store.close()
