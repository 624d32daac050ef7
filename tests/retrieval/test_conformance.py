"""The Retriever contract (ragtune/retrieval/base.py), run against every retriever over every store.

Each retriever returns at most ``k`` chunks, best first, with the per-method score parts its method gives;
filters restrict what it returns; ``retrieve_batch`` gives exactly what ``retrieve`` gives for each query.
``CorpusRetriever`` is the exception by design: the whole corpus whatever the query, ``k`` and filters.
"""

from __future__ import annotations

import pytest

from ragtune.config import ChunkingConfig, FusionMethod, RetrievalConfig
from ragtune.embeddings import FakeEmbedder
from ragtune.index.base import ChunkRecord, DocRecord, DocumentChange, Filters, IndexManifest, IngestEvent
from ragtune.index.lancedb import LanceDBStore
from ragtune.retrieval import DenseRetriever, HybridRetriever, LexicalRetriever, Retriever
from ragtune.retrieval.corpus import CorpusRetriever

EMB = FakeEmbedder(32)

DOCS = {  # doc_id: (type, language, chunk texts)
    "keys": ("md", "en", ["Rotate API keys every 90 days from the admin console.", "A revoked key stops working at once."]),
    "audit": ("txt", "en", ["The audit log records every sign-in.", "Audit entries are kept for 400 days."]),
    "backup": ("pdf", "en", ["Backups run nightly and are kept for thirty days."]),
    "sso": ("pdf", "de", ["Single sign-on uses SAML; the admin console maps groups to roles."]),
    "cold": ("md", "de", ["Vitamin C does not prevent the common cold."]),
}
CHUNKS = sum(len(texts) for _, _, texts in DOCS.values())
QUERIES = ["rotate api keys", "how long are audit entries kept", "admin console", "zebra quantum xylophone", "days"]


def change(doc_id: str) -> DocumentChange:
    doc_type, lang, texts = DOCS[doc_id]
    source = f"/kb/{doc_id}.{doc_type}"
    chunks = [ChunkRecord(chunk_id=f"{doc_id}#{i}", doc_id=doc_id, position=i, text=t, start=0, end=len(t), page=None,
                          headings=(), source=source, doc_type=doc_type, metadata={"lang": lang}) for i, t in enumerate(texts)]
    record = DocRecord(doc_id=doc_id, source=source, origin="/kb", hash=f"h-{doc_id}", version=1, chunks=len(chunks),
                       doc_type=doc_type, metadata={"lang": lang})
    return DocumentChange(record, chunks, EMB.embed_documents(texts))


@pytest.fixture(params=["lancedb", "pgvector"])
def store(request, tmp_path):
    if request.param == "lancedb":
        yield LanceDBStore(tmp_path / "ws")
        return
    pgvector = pytest.importorskip("ragtune.index.pgvector")
    pg = pgvector.PgVectorStore(request.getfixturevalue("pg_uri"))
    yield pg
    pg.close()


def _new_index(store, name: str) -> str:
    store.create(IndexManifest(name=name, embedder=EMB.info, chunking=ChunkingConfig()))
    return name


@pytest.fixture
def kb(store):
    name = _new_index(store, "kb")
    store.commit(name, [change(d) for d in DOCS], [], IngestEvent(added=len(DOCS)))
    return name


class CountingEmbedder:
    """The fake embedder, counting how queries are embedded."""

    def __init__(self) -> None:
        self.single: list[str] = []
        self.batches: list[list[str]] = []

    @property
    def info(self):
        return EMB.info

    def embed_documents(self, texts, progress=None):
        return EMB.embed_documents(texts, progress)

    def embed_query(self, text):
        self.single.append(text)
        return EMB.embed_query(text)

    def embed_queries(self, texts):
        self.batches.append(list(texts))
        return EMB.embed_queries(texts)


def make(kind: str, store, index: str, embedder=EMB) -> Retriever:
    if kind == "dense":
        return DenseRetriever(store, index, embedder)
    if kind == "lexical":
        return LexicalRetriever(store, index)
    if kind.startswith("hybrid-"):
        config = RetrievalConfig(fusion=FusionMethod(kind.removeprefix("hybrid-")), candidates=4)
        return HybridRetriever(LexicalRetriever(store, index), DenseRetriever(store, index, embedder), config)
    return CorpusRetriever(store, index)


RANKING = ["dense", "lexical", "hybrid-convex", "hybrid-rrf"]
KINDS = [*RANKING, "corpus"]


def parts_ok(kind: str, hit) -> bool:
    """The per-method score parts a retriever of ``kind`` gives a hit."""
    if kind in ("dense", "lexical"):
        return hit.scores == {kind: hit.score}
    if kind == "corpus":
        return hit.score == 1.0 and hit.scores == {"corpus": 1.0}
    return bool(hit.scores) and set(hit.scores) <= {"lexical", "dense"}


@pytest.mark.parametrize("kind", KINDS)
def test_at_most_k_best_first_with_score_parts(store, kb, kind):
    retriever = make(kind, store, kb)
    for k in (1, 3, 50):
        hits = retriever.retrieve("how long are audit entries kept", k)
        want = CHUNKS if kind == "corpus" else min(k, CHUNKS)
        assert len(hits) <= want if kind == "lexical" else len(hits) == want
        assert hits, "a query sharing words with the corpus finds something"
        assert all(parts_ok(kind, h) for h in hits)
        if kind == "corpus":  # document order, not a ranking
            assert [(h.chunk.doc_id, h.chunk.position) for h in hits] == sorted((h.chunk.doc_id, h.chunk.position) for h in hits)
        else:
            assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
        assert len({h.chunk.chunk_id for h in hits}) == len(hits)


@pytest.mark.parametrize("kind", RANKING)
def test_the_obvious_chunk_comes_first(store, kb, kind):
    assert make(kind, store, kb).retrieve("rotate api keys admin console", 3)[0].chunk.chunk_id == "keys#0"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("filters, allowed", [
    (Filters(types=("pdf",)), {"backup", "sso"}),
    (Filters(source="*.md"), {"keys", "cold"}),
    (Filters(metadata={"lang": "de"}), {"sso", "cold"}),
    (Filters(types=("pdf",), metadata={"lang": "en"}), {"backup"}),
])
def test_filters_restrict_the_results(store, kb, kind, filters, allowed):
    hits = make(kind, store, kb).retrieve("admin console days kept", 10, filters)
    found = {h.chunk.doc_id for h in hits}
    if kind == "corpus":  # the whole corpus is the point: filters do not apply
        assert found == set(DOCS)
    else:
        assert found and found <= allowed


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("filters", [None, Filters(metadata={"lang": "en"})])
def test_batch_equals_one_query_at_a_time(store, kb, kind, filters):
    retriever = make(kind, store, kb)
    for k in (1, 4):
        batch = retriever.retrieve_batch(QUERIES, k, filters)
        single = [retriever.retrieve(q, k, filters) for q in QUERIES]
        assert len(batch) == len(QUERIES)
        assert batch == single  # same chunks, scores, score parts and order
    assert any(batch) and retriever.retrieve_batch([], 4, filters) == []


@pytest.mark.parametrize("kind", ["dense", "hybrid-convex", "hybrid-rrf"])
def test_batch_embeds_the_queries_in_one_call(store, kb, kind):
    embedder = CountingEmbedder()
    make(kind, store, kb, embedder).retrieve_batch(QUERIES, 3)
    assert embedder.batches == [QUERIES] and embedder.single == []


@pytest.mark.parametrize("kind", KINDS)
def test_empty_index_gives_no_hits(store, kind):
    retriever = make(kind, store, _new_index(store, "empty"))
    assert retriever.retrieve("rotate api keys", 5) == []
    assert retriever.retrieve_batch(["rotate api keys", "audit"], 5) == [[], []]


@pytest.mark.parametrize("kind", KINDS)
def test_empty_query(store, kb, kind):
    """As today: no words match nothing lexically; the dense side still ranks by the empty text's vector."""
    hits = make(kind, store, kb).retrieve("", 3)
    if kind == "lexical":
        assert hits == []
    elif kind == "corpus":
        assert len(hits) == CHUNKS
    else:
        dense = make("dense", store, kb).retrieve("", 3)
        assert len(hits) == 3 and [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in dense]
    assert make(kind, store, kb).retrieve_batch([""], 3) == [hits]
