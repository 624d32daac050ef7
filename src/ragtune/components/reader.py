"""``IndexReader``: the read side of one named index over the components: its manifest, the embedder it is queried
with (checked against the one it was built with), its retrievers, the query planner, search and batched search."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from ragtune.config import SearchMode
from ragtune.embeddings import Embedder
from ragtune.errors import ChunkNotFoundError, EmbedderMismatchError, InputError, StoreError
from ragtune.index import DocRecord, Filters, IndexManifest
from ragtune.index.base import document_facets
from ragtune.retrieval import DenseRetriever, HybridRetriever, LexicalRetriever, Retriever, ScoredChunk
from ragtune.retrieval.hits import Hit, SearchResult
from ragtune.retrieval.self_query import QueryPlan, QueryPlanner, interleave_by_document, retrieve_ranked

if TYPE_CHECKING:
    from ragtune.components.parts import Components

T = TypeVar("T")


def retry_stale(read: Callable[[], T], attempts: int = 3) -> T:
    """Run a read again when a commit replaced chunks between ranking them and fetching them."""
    for attempt in range(attempts):
        try:
            return read()
        except ChunkNotFoundError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class IndexReader:
    """A named index, read: search it, plan its questions, list its documents."""

    def __init__(self, components: "Components", name: str) -> None:
        self.components = components
        self.name = name

    @property
    def manifest(self) -> IndexManifest:
        return self.components.store.manifest(self.name)

    def filled(self) -> IndexManifest:
        """The manifest of this index, which must hold documents (``InputError`` naming the command that adds some)."""
        manifest = self.manifest
        if manifest.chunks == 0:
            raise InputError(f"index '{self.name}' holds no documents: add some with ragtune ingest PATH --index {self.name}")
        return manifest

    def embedder(self, spec: str | None = None, manifest: IndexManifest | None = None) -> Embedder:
        """The embedder the index is queried with (``spec``, default its own), at the precision it records;
        ``EmbedderMismatchError`` when ``spec`` is another model than the one it was built with."""
        recorded = (manifest or self.manifest).embedder
        embedder = self.components.embedder(spec or recorded.spec, recorded.precision)  # an int8 index is queried with int8
        if not embedder.info.same_model(recorded):
            got = embedder.info
            what = (f"'{spec}' makes {got.dimension}-d vectors and index '{self.name}' holds {recorded.dimension}-d vectors "
                    f"(built with {recorded.name} {recorded.version})" if got.dimension != recorded.dimension else
                    f"index '{self.name}' was built with {recorded.name} ({recorded.version}, {recorded.dimension}-d); "
                    f"'{spec}' is {got.name} ({got.version}, {got.dimension}-d)")
            raise EmbedderMismatchError(f"{what}. Query with the index's own model, or re-embed the index: "
                                        f"ragtune reindex --index {self.name} --embedder {spec}")
        return embedder

    def retriever(self, mode: SearchMode | str | None = None, embedder: str | None = None,
                  manifest: IndexManifest | None = None) -> Retriever:
        """The retriever for ``mode`` (default: the configured mode); ``manifest``: the index's, when already read."""
        mode = SearchMode(mode or self.components.config.retrieval.mode)
        store = self.components.store
        if mode is SearchMode.lexical:
            return LexicalRetriever(store, self.name)
        dense = DenseRetriever(store, self.name, self.embedder(embedder, manifest))
        if mode is SearchMode.dense:
            return dense
        return HybridRetriever(LexicalRetriever(store, self.name), dense, self.components.config.retrieval)

    def planner(self, manifest: IndexManifest | None = None) -> QueryPlanner | None:
        """What reads questions for the organisations and periods this index's documents hold (``retrieval.self_query``;
        None when it is off)."""
        config = self.components.config.retrieval
        if not config.self_query:
            return None
        facets = (manifest or self.manifest).facets
        if facets is None:  # a store or an index that does not record them: read the documents
            try:
                facets = document_facets(d.metadata for d in self.documents())
            except StoreError:  # damaged document records: plain retrieval (the segments still serve every chunk)
                facets = []
        return QueryPlanner(facets, per_document=config.per_document)

    def search(self, query: str, k: int | None = None, mode: SearchMode | str | None = None,
               filters: Filters | None = None, embedder: str | None = None, rerank: str | None = None) -> SearchResult:
        """The ``k`` best chunks for ``query`` (a list of ``Hit``; ``.to_json()`` is the reply the faces print);
        with ``rerank`` (a reranker spec) the top candidates are reordered."""
        if not query or not query.strip():
            raise InputError("the query is empty")
        config = self.components.config
        k = k or config.retrieval.k
        if k < 1:
            raise InputError("k must be at least 1")
        mode = SearchMode(mode or config.retrieval.mode)
        reranker = self.components.reranker(rerank)
        manifest = self.manifest  # read once: the embedder and the planner both need it
        retriever = self.retriever(mode, embedder, manifest)
        planner = self.planner(manifest)
        plan = planner.plan(query) if planner is not None else QueryPlan()
        scored = retry_stale(lambda: retrieve_ranked(retriever, query, k, filters, plan, reranker, config.rerank.candidates))
        scored = interleave_by_document(scored, k) if plan.per_document else scored[:k]
        return SearchResult(query, self.name, mode.value, [Hit.from_scored(i, s) for i, s in enumerate(scored, start=1)],
                            plan if planner is not None else None)

    def search_batch(self, queries: Sequence[tuple[str, str]], k: int | None = None, mode: SearchMode | str | None = None,
                     filters: Filters | None = None, unique_docs: bool = False,
                     rerank: str | None = None) -> list[tuple[str, list[Hit]]]:
        """Search many ``(query_id, text)`` pairs at once (query embeddings computed in one batch).

        With ``unique_docs`` each document appears once, at the rank of its best chunk; with ``rerank`` (a
        reranker spec) each query's top candidates are reordered first.
        """
        config = self.components.config
        k = k or config.retrieval.k
        retriever = self.retriever(mode)
        reranker = self.components.reranker(rerank)
        fetch = k * 3 if unique_docs else k
        if reranker is not None:
            fetch = max(fetch, config.rerank.candidates)
        texts = [text for _, text in queries]
        ranked = retry_stale(lambda: retriever.retrieve_batch(texts, fetch, filters))
        out = []
        for (qid, text), scored in zip(queries, ranked):
            if reranker is not None:
                scored = reranker.rerank(text, scored, len(scored))
            out.append((qid, _top_hits(scored, k, unique_docs)))
        return out

    def documents(self) -> list[DocRecord]:
        """Every document in the index."""
        return sorted(self.components.store.documents(self.name), key=lambda d: d.doc_id)

    def fingerprint(self) -> str:
        """A hash of what the index holds (documents and their content hashes, embedder, chunking): equal content,
        equal hash."""
        manifest = self.manifest
        digest = hashlib.sha256()
        digest.update(manifest.embedder.model_dump_json().encode())
        digest.update(manifest.chunking.model_dump_json().encode())
        for doc in self.documents():
            digest.update(f"\n{doc.doc_id}\t{doc.hash}".encode())
        return digest.hexdigest()


def _top_hits(scored: list[ScoredChunk], k: int, unique_docs: bool) -> list[Hit]:
    hits: list[Hit] = []
    docs: set[str] = set()
    for candidate in scored:
        if unique_docs and candidate.chunk.doc_id in docs:
            continue
        docs.add(candidate.chunk.doc_id)
        hits.append(Hit.from_scored(len(hits) + 1, candidate))
        if len(hits) == k:
            break
    return hits
