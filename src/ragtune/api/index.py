"""``Index``: one named index of a workspace: ingest into it, search it, ask it, list and remove its documents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from ragtune.config import ContextMode, Engine, SearchMode
from ragtune.documents import Chunker, JsonlFields, RecursiveChunker
from ragtune.documents.chunking import HeaderChunker, SummaryChunker
from ragtune.embeddings import Embedder
from ragtune.errors import ChunkNotFoundError, EmbedderMismatchError, InputError, QuestionError, StoreError
from ragtune.generation import GenerateOptions
from ragtune.generation.answer import Answer, AnswerPipeline
from ragtune.generation.base import TextCallback
from ragtune.generation.situating import SituatingWriter
from ragtune.index import DocRecord, Filters, IndexManifest, IngestEvent
from ragtune.index.base import document_facets
from ragtune.index.reindex import ReindexReport, reindex
from ragtune.index.sync import IngestReport, Progress, sync_sources
from ragtune.retrieval import DenseRetriever, HybridRetriever, LexicalRetriever, Retriever, ScoredChunk
from ragtune.retrieval.corpus import CorpusRetriever
from ragtune.retrieval.hits import Hit, SearchResult
from ragtune.retrieval.self_query import QueryPlan, QueryPlanner, interleave_by_document, retrieve_planned
from ragtune.serving.uploads import checked_upload_names, place_uploads

if TYPE_CHECKING:
    from ragtune.api.workspace import Workspace
    from ragtune.distributed.ingest import RayIngest

T = TypeVar("T")


def index_summary(manifest: IndexManifest) -> dict[str, Any]:
    """What every face shows of an index: name, documents, chunks, embedder, generation, last update."""
    return {"name": manifest.name, "documents": manifest.documents, "chunks": manifest.chunks,
            "embedder": manifest.embedder.model_dump(), "generation": manifest.generation, "updated_at": manifest.updated_at}


def retry_stale(read: Callable[[], T], attempts: int = 3) -> T:
    """Run a read again when a commit replaced chunks between ranking them and fetching them."""
    for attempt in range(attempts):
        try:
            return read()
        except ChunkNotFoundError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class Index:
    """A named index: ingest into it, search it, list and remove its documents."""

    def __init__(self, workspace: "Workspace", name: str) -> None:
        self.workspace = workspace
        self.name = name

    @property
    def manifest(self) -> IndexManifest:
        return self.workspace.store.manifest(self.name)

    def _embedder(self, spec: str | None, manifest: IndexManifest | None = None) -> Embedder:
        recorded = (manifest or self.manifest).embedder
        embedder = self.workspace.embedder(spec or recorded.spec, recorded.precision)  # an int8 index is queried with int8
        if not embedder.info.same_model(recorded):
            got = embedder.info
            what = (f"'{spec}' makes {got.dimension}-d vectors and index '{self.name}' holds {recorded.dimension}-d vectors "
                    f"(built with {recorded.name} {recorded.version})" if got.dimension != recorded.dimension else
                    f"index '{self.name}' was built with {recorded.name} ({recorded.version}, {recorded.dimension}-d); "
                    f"'{spec}' is {got.name} ({got.version}, {got.dimension}-d)")
            raise EmbedderMismatchError(f"{what}. Query with the index's own model, or re-embed the index: "
                                        f"ragtune reindex --index {self.name} --embedder {spec}")
        return embedder

    def ingest(self, paths: Sequence[str], *, include: Sequence[str] = (), exclude: Sequence[str] = (),
               strict: bool = False, jsonl_fields: JsonlFields | None = None, progress: Progress | None = None,
               embedder: str | None = None) -> IngestReport:
        """Sync ``paths`` into this index (see ``ragtune.index.sync``)."""
        manifest = self.manifest
        model = self._embedder(embedder)
        chunker: Chunker = RecursiveChunker(manifest.chunking)
        if manifest.context == ContextMode.header.value:
            chunker = HeaderChunker(chunker)
        elif manifest.context == ContextMode.summary.value:
            spec = manifest.context_model or self.workspace.config.generation.model
            chunker = SummaryChunker(chunker, SituatingWriter(self.workspace.generator(spec)))
        return sync_sources(self.workspace.store, self.name, model, chunker,
                            paths, include=include, exclude=exclude, strict=strict, jsonl_fields=jsonl_fields, progress=progress,
                            limits=self.workspace.config.ingest, engine=self._sync_engine(model, embedder, progress))

    def _sync_engine(self, model: Embedder, spec: str | None, progress: Progress | None) -> "RayIngest | None":
        """With ``engine = "ray"``: files loaded, chunked and embedded on Ray (``ragtune.distributed.ingest``)."""
        config = self.workspace.config
        if config.engine is not Engine.ray:
            return None
        from ragtune.distributed import require_ray
        from ragtune.distributed.ingest import EmbedderFactory, RayIngest

        require_ray()
        factory = EmbedderFactory(self.workspace._pinned(spec or self.manifest.embedder.spec),
                                  self.workspace.embedder_config(model.info.precision), config.home.resolve())
        return RayIngest(config.ray, factory, model.info.dimension, progress)

    def ingest_uploads(self, files: Sequence[tuple[str, bytes]]) -> IngestReport:
        """Store uploaded ``(file name, content)`` pairs in the index's upload folder and ingest them in one commit.

        Names are made safe (``ragtune.serving.paths.safe_upload_name``); a file above ``serve.max_upload_mb``
        raises ``UploadTooLargeError``, a type outside ``serve.upload_types`` ``UnsupportedTypeError``. If the
        ingest fails, the upload folder is put back as it was, so the files and the index still agree
        (``ragtune.serving.uploads``).
        """
        names = checked_upload_names(files, self.workspace.config.serve)
        self.manifest  # IndexNotFoundError before anything is written
        return place_uploads(self.workspace.uploads_dir(self.name), names, [data for _, data in files],
                             lambda paths: self.ingest(paths, strict=True))

    def retriever(self, mode: SearchMode | str | None = None, embedder: str | None = None,
                  manifest: IndexManifest | None = None) -> Retriever:
        """The retriever for ``mode`` (default: the configured mode); ``manifest``: the index's, when already read."""
        mode = SearchMode(mode or self.workspace.config.retrieval.mode)
        store = self.workspace.store
        if mode is SearchMode.lexical:
            return LexicalRetriever(store, self.name)
        dense = DenseRetriever(store, self.name, self._embedder(embedder, manifest))
        if mode is SearchMode.dense:
            return dense
        return HybridRetriever(LexicalRetriever(store, self.name), dense, self.workspace.config.retrieval)

    def search(self, query: str, k: int | None = None, mode: SearchMode | str | None = None,
               filters: Filters | None = None, embedder: str | None = None, rerank: str | None = None) -> SearchResult:
        """The ``k`` best chunks for ``query`` (a list of ``Hit``; ``.to_json()`` is the reply the faces print);
        with ``rerank`` (a reranker spec) the top candidates are reordered."""
        if not query or not query.strip():
            raise InputError("the query is empty")
        k = k or self.workspace.config.retrieval.k
        if k < 1:
            raise InputError("k must be at least 1")
        mode = SearchMode(mode or self.workspace.config.retrieval.mode)
        reranker = self.workspace.reranker(rerank)
        manifest = self.manifest  # read once: the embedder and the planner both need it
        retriever = self.retriever(mode, embedder, manifest)
        planner = self.planner(manifest)
        plan = planner.plan(query) if planner is not None else QueryPlan()
        if reranker is None:
            scored = retry_stale(lambda: retrieve_planned(retriever, query, k, filters, plan))
        else:
            fetch = max(k, self.workspace.config.rerank.candidates)
            candidates = retry_stale(lambda: retrieve_planned(retriever, query, fetch, filters, plan))
            scored = reranker.rerank(query, candidates, len(candidates))
        scored = interleave_by_document(scored, k) if plan.per_document else scored[:k]
        return SearchResult(query, self.name, mode.value, [Hit.from_scored(i, s) for i, s in enumerate(scored, start=1)],
                            plan if planner is not None else None)

    def planner(self, manifest: IndexManifest | None = None) -> QueryPlanner | None:
        """What reads questions for the organisations and periods this index's documents hold (``retrieval.self_query``;
        None when it is off)."""
        config = self.workspace.config.retrieval
        if not config.self_query:
            return None
        facets = (manifest or self.manifest).facets
        if facets is None:  # a store or an index that does not record them: read the documents
            try:
                facets = document_facets(d.metadata for d in self.documents())
            except StoreError:  # damaged document records: plain retrieval (the segments still serve every chunk)
                facets = []
        return QueryPlanner(facets, per_document=config.per_document)

    def ask(self, question: str, *, model: str | None = None, k: int | None = None, rerank: str | None = None,
            mode: SearchMode | str | None = None, filters: Filters | None = None,
            on_text: TextCallback | None = None, schema: dict[str, Any] | None = None, repairs: int = 1,
            system: str | None = None, whole_corpus: bool = False, max_new_tokens: int | None = None) -> Answer:
        """A cited answer to ``question`` from this index (see ``ragtune.generation.answer``; ``schema``: a JSON answer).

        ``whole_corpus``: every chunk goes into the context, in document order, instead of the retrieved ones;
        ``max_new_tokens``: this answer's cap (default: ``generation.max_new_tokens``).
        """
        if not question or not question.strip():
            raise QuestionError("the question is empty")
        chunks = self.manifest.chunks
        if chunks == 0:
            raise InputError(f"index '{self.name}' holds no documents: add some with ragtune ingest PATH --index {self.name}")
        pipeline = self._pipeline(model, k, rerank, mode, whole_corpus, chunks)
        pipeline.options.max_new_tokens = max_new_tokens or pipeline.options.max_new_tokens
        answer = retry_stale(lambda: pipeline.ask(question, filters=filters, on_text=on_text, schema=schema, repairs=repairs,
                                                  system=system))
        if whole_corpus and answer.trimmed_blocks:
            raise QuestionError(f"the corpus of index '{self.name}' does not fit the window of {answer.model}: "
                             f"{answer.trimmed_blocks} of {chunks} chunks left out")
        return answer

    def _pipeline(self, model: str | None, k: int | None, rerank: str | None, mode: SearchMode | str | None,
                  whole_corpus: bool, chunks: int) -> AnswerPipeline:
        ws = self.workspace
        config = ws.config
        answer_config = config.answer if k is None else config.answer.model_copy(update={"k": k})
        if answer_config.k < 1:
            raise InputError("k must be at least 1")
        embedder = self._embedder(None)
        if whole_corpus:  # every chunk, limited only by the model's window
            answer_config = answer_config.model_copy(update={"k": chunks, "max_context_tokens": 10**9})
        retriever = CorpusRetriever(ws.store, self.name) if whole_corpus else self.retriever(mode)
        return AnswerPipeline(ws.generator(model), answer_config, GenerateOptions.from_config(config.generation),
                              retriever=retriever, reranker=None if whole_corpus else ws.reranker(rerank),
                              rerank_candidates=config.rerank.candidates, embedder=embedder,
                              support=ws.support_scorer(embedder), index_name=self.name,
                              fallback=ws.generator("extractive"), planner=None if whole_corpus else self.planner())

    def search_batch(self, queries: Sequence[tuple[str, str]], k: int | None = None, mode: SearchMode | str | None = None,
                     filters: Filters | None = None, unique_docs: bool = False,
                     rerank: str | None = None) -> list[tuple[str, list[Hit]]]:
        """Search many ``(query_id, text)`` pairs at once (query embeddings computed in one batch).

        With ``unique_docs`` each document appears once, at the rank of its best chunk; with ``rerank`` (a
        reranker spec) each query's top candidates are reordered first.
        """
        k = k or self.workspace.config.retrieval.k
        retriever = self.retriever(mode)
        reranker = self.workspace.reranker(rerank)
        fetch = k * 3 if unique_docs else k
        if reranker is not None:
            fetch = max(fetch, self.workspace.config.rerank.candidates)
        texts = [text for _, text in queries]
        ranked = retry_stale(lambda: retriever.retrieve_batch(texts, fetch, filters))
        out = []
        for (qid, text), scored in zip(queries, ranked):
            if reranker is not None:
                scored = reranker.rerank(text, scored, len(scored))
            out.append((qid, _top_hits(scored, k, unique_docs)))
        return out

    def reindex(self, embedder: str, progress: Progress | None = None, force: bool = False) -> ReindexReport:
        """Re-embed every chunk with ``embedder`` and record it in the index, atomically: searches keep using the old
        vectors until the switch. An index already built with that model is left alone unless ``force``."""
        return reindex(self.workspace.store, self.name, self.workspace.embedder(embedder), progress=progress, force=force)

    def documents(self) -> list[DocRecord]:
        """Every document in the index."""
        return sorted(self.workspace.store.documents(self.name), key=lambda d: d.doc_id)

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Remove documents by id; ``InputError`` names any id the index does not hold."""
        stored = {d.doc_id: d for d in self.workspace.store.documents(self.name)}
        sources = {d: rec.source for d, rec in stored.items()}
        missing = [d for d in doc_ids if d not in sources]
        if missing:
            raise InputError(f"index '{self.name}' has no document '{missing[0]}'")
        self.workspace.store.commit(self.name, [], list(doc_ids),
                                    IngestEvent(removed=len(doc_ids), removed_hashes=[stored[d].hash for d in doc_ids]))
        uploads = self.workspace.uploads_dir(self.name).resolve()
        for doc_id in doc_ids:  # an uploaded file goes with its document
            source = Path(sources.get(doc_id, ""))
            if source.is_absolute() and source.resolve().parent == uploads:
                source.unlink(missing_ok=True)
        return len(doc_ids)


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
