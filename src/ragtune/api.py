"""The one public API. The CLI, HTTP and MCP faces call only this module.

>>> ws = Workspace()                                  # ./.ragtune, or RAGTUNE_HOME
>>> ws.ingest(["docs/"], index="support")             # IngestReport(added=…, …)
>>> ws.index("support").search("how do I rotate keys", k=5)
>>> ws.ask("What does the audit log record?", index="support").to_json()   # cited answer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ragtune.config import ChunkingConfig, RagtuneConfig, SearchMode, apply_threads
from ragtune.documents import JsonlFields, RecursiveChunker
from ragtune.embeddings import Embedder, load_embedder
from ragtune.errors import EmbedderMismatchError, InputError
from ragtune.generation import GenerateOptions, Generator, load_generator
from ragtune.generation.answer import Answer, AnswerPipeline
from ragtune.generation.base import TextCallback
from ragtune.generation.citations import Citation, NLISupportScorer, OverlapSupportScorer, SupportScorer
from ragtune.index import DocRecord, Filters, IndexManifest, Store, check_index_name, open_store
from ragtune.index.sync import IngestReport, Progress, sync_sources
from ragtune.retrieval import DenseRetriever, HybridRetriever, LexicalRetriever, Reranker, Retriever, ScoredChunk, load_reranker
from ragtune.tuning import ModelCard, ModelRegistry, TrainingEvent
from ragtune.tuning.data import CheckReport, SplitReport, read_examples
from ragtune.tuning.data import split_examples as _split_examples
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.pairs import PairData, PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig

__all__ = ["Answer", "Citation", "Filters", "Hit", "Index", "IngestReport", "ReindexReport", "Workspace", "check_examples",
           "split_examples"]


@dataclass
class Hit:
    """One search result: the chunk, where it comes from, and its scores."""

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    text: str
    source: str
    page: int | None
    start: int
    end: int
    headings: list[str]
    scores: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_scored(cls, rank: int, scored: ScoredChunk) -> "Hit":
        c = scored.chunk
        return cls(rank=rank, score=scored.score, chunk_id=c.chunk_id, doc_id=c.doc_id, text=c.text, source=c.source,
                   page=c.page, start=c.start, end=c.end, headings=list(c.headings), scores=scored.scores, metadata=c.metadata)

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": round(self.score, 6), "doc_id": self.doc_id, "chunk_id": self.chunk_id,
                "source": self.source, "page": self.page, "start": self.start, "end": self.end,
                "headings": self.headings, "text": self.text, "scores": {k: round(v, 6) for k, v in self.scores.items()}}


@dataclass
class ReindexReport:
    """What a reindex did: the embedder before and after, how many chunks it re-embedded, and how long it took."""

    index: str
    embedder: dict[str, Any]
    previous: dict[str, Any]
    chunks: int
    generation: int
    changed: bool
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "embedder": self.embedder, "previous": self.previous, "chunks": self.chunks,
                "generation": self.generation, "changed": self.changed, "seconds": round(self.seconds, 2)}


class Workspace:
    """A ragtune workspace: named indexes (and, later, model artefacts) under ``config.home``."""

    def __init__(self, config: RagtuneConfig | None = None) -> None:
        self.config = config or RagtuneConfig.load()
        apply_threads(self.config.threads)
        self._store: Store | None = None
        self._embedders: dict[str, Embedder] = {}
        self._generators: dict[str, Generator] = {}
        self._rerankers: dict[str, Reranker] = {}
        self._nli: SupportScorer | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config)
        return self._store

    def embedder(self, spec: str | None = None) -> Embedder:
        """The embedder for ``spec`` (default: the configured one), loaded once per workspace."""
        spec = self._pinned(spec or self.config.embedder.model)
        if spec not in self._embedders:
            self._embedders[spec] = load_embedder(spec, self.config.embedder, self.config.home)
        return self._embedders[spec]

    def _pinned(self, spec: str) -> str:
        """``tuned:NAME`` as ``tuned:NAME@vN`` (its latest version now), so a newer version is never served from a cache."""
        if spec.startswith("tuned:") and "@" not in spec:
            return f"tuned:{self.models.card(spec).ref}"
        return spec

    def generator(self, spec: str | None = None) -> Generator:
        """The generator for a model spec (default: the configured one), built once per workspace."""
        spec = spec or self.config.generation.model
        if spec not in self._generators:
            self._generators[spec] = load_generator(spec, self.config.generation, self.config.home)
        return self._generators[spec]

    def reranker(self, spec: str | None = None) -> Reranker | None:
        """The reranker for a spec (default: the configured one, or None when reranking is off)."""
        spec = spec or self.config.rerank.model
        if not spec:
            return None
        spec = self._pinned(spec)
        if spec not in self._rerankers:
            self._rerankers[spec] = load_reranker(spec, self.config.rerank, self.config.home)
        return self._rerankers[spec]

    def support_scorer(self, embedder: Embedder | None) -> SupportScorer:
        """How citation support is scored: the configured NLI cross-encoder, else embedding + lexical overlap."""
        model = self.config.answer.support_model
        if not model:
            return OverlapSupportScorer(embedder)
        if self._nli is None:
            self._nli = NLISupportScorer(model, self.config.rerank.device)
        return self._nli

    def ask(self, question: str, index: str | None = None, *, model: str | None = None, k: int | None = None,
            rerank: str | None = None, mode: SearchMode | str | None = None, filters: Filters | None = None,
            on_text: TextCallback | None = None) -> Answer:
        """Answer ``question`` from ``index`` with citations, or, without an index, with the model alone."""
        if index is not None:
            return self.index(index).ask(question, model=model, k=k, rerank=rerank, mode=mode, filters=filters, on_text=on_text)
        generator = self.generator(model)
        options = GenerateOptions.from_config(self.config.generation)
        return AnswerPipeline(generator, self.config.answer, options).ask(question, on_text=on_text)

    def indexes(self) -> list[IndexManifest]:
        """Manifests of every index in the workspace."""
        return [self.store.manifest(n) for n in self.store.list_indexes()]

    def index(self, name: str) -> "Index":
        """An existing index; ``IndexNotFoundError`` otherwise."""
        self.store.manifest(name)
        return Index(self, name)

    def create_index(self, name: str, embedder: str | None = None, chunking: ChunkingConfig | None = None) -> "Index":
        """Create an empty index built with ``embedder`` (default: the configured one)."""
        check_index_name(name)
        info = self.embedder(embedder).info
        self.store.create(IndexManifest(name=name, embedder=info, chunking=chunking or self.config.chunking))
        return Index(self, name)

    def ingest(self, paths: Sequence[str], index: str, *, create: bool = True, embedder: str | None = None,
               include: Sequence[str] = (), exclude: Sequence[str] = (), strict: bool = False,
               jsonl_fields: JsonlFields | None = None, progress: Progress | None = None) -> IngestReport:
        """Sync files and folders into ``index`` (created on first use unless ``create`` is false)."""
        if not paths:
            raise InputError("give at least one file or folder to ingest")
        if not self.store.exists(check_index_name(index)):
            if not create:
                self.store.manifest(index)  # raises IndexNotFoundError
            # Validate the inputs before an index appears on disk.
            from ragtune.documents import discover

            discover(paths, include, exclude)
            self.create_index(index, embedder)
        return self.index(index).ingest(paths, include=include, exclude=exclude, strict=strict,
                                        jsonl_fields=jsonl_fields, progress=progress, embedder=embedder)

    def delete_index(self, name: str) -> None:
        """Remove an index and everything in it."""
        self.store.drop(name)

    # --- tuned models -------------------------------------------------------------------------------

    @property
    def models(self) -> ModelRegistry:
        """The versioned model registry under ``<home>/models``."""
        return ModelRegistry(self.config.home)

    def model_cards(self) -> list[ModelCard]:
        """The card of every version of every model."""
        return self.models.cards()

    def model_card(self, ref: str) -> ModelCard:
        """The card of ``NAME[@vN]`` (latest version without ``@vN``)."""
        return self.models.card(ref)

    def tune_lora(self, config: LoraConfig, progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """LoRA fine-tune and publish ``NAME@vN``; a killed run leaves no version and ``config.resume`` continues it."""
        from ragtune.tuning.lora import LoraTuner

        return LoraTuner(config, self.models).train(progress)

    def prepare_pairs(self, data: PairsConfig, notify: Callable[[str], None] | None = None) -> PairData:
        """The training pairs ``data`` names (file, BEIR folder or an index's chunks) with mined negatives and a held-out split."""
        from ragtune.tuning.pairs import build_pairs

        self._check_pair_sources(data)
        generator = self.generator(data.generator) if data.generator else None
        return build_pairs(data, store=self.store, embedder_for=lambda name: self.index(name)._embedder(None),
                           generator=generator, notify=notify)

    def _check_pair_sources(self, data: PairsConfig) -> None:
        for name in (data.from_index, data.negatives_from):
            if name:
                self.store.manifest(name)  # IndexNotFoundError before any training starts

    def tune_embeddings(self, config: EmbeddingTuneConfig, progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """Fine-tune an embedder on pairs and publish ``NAME@vN`` (use it as ``tuned:NAME``; ``reindex`` moves an index onto it)."""
        from ragtune.tuning.embedding import EmbeddingTuner

        self._check_pair_sources(config.data)
        return EmbeddingTuner(config, self.models, lambda notify: self.prepare_pairs(config.data, notify)).train(progress)

    def tune_reranker(self, config: RerankerTuneConfig, progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """Fine-tune a cross-encoder reranker on pairs with mined negatives and publish ``NAME@vN`` (``--rerank tuned:NAME``)."""
        from ragtune.tuning.reranker import RerankerTuner

        self._check_pair_sources(config.data)
        return RerankerTuner(config, self.models, lambda notify: self.prepare_pairs(config.data, notify)).train(progress)

    def export_model(self, ref: str, out: str | Path, merge: bool = False) -> Path:
        """Write a version as a folder usable without ragtune (merged weights with ``merge``)."""
        from ragtune.tuning.export import export_model

        return export_model(ref, self.config.home, out, merge=merge)


class Index:
    """A named index: ingest into it, search it, list and remove its documents."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name

    @property
    def manifest(self) -> IndexManifest:
        return self.workspace.store.manifest(self.name)

    def _embedder(self, spec: str | None) -> Embedder:
        recorded = self.manifest.embedder
        embedder = self.workspace.embedder(spec or recorded.spec)
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
        return sync_sources(self.workspace.store, self.name, self._embedder(embedder), RecursiveChunker(manifest.chunking),
                            paths, include=include, exclude=exclude, strict=strict, jsonl_fields=jsonl_fields, progress=progress)

    def retriever(self, mode: SearchMode | str | None = None, embedder: str | None = None) -> Retriever:
        """The retriever for ``mode`` (default: the configured mode)."""
        mode = SearchMode(mode or self.workspace.config.retrieval.mode)
        store = self.workspace.store
        if mode is SearchMode.lexical:
            return LexicalRetriever(store, self.name)
        dense = DenseRetriever(store, self.name, self._embedder(embedder))
        if mode is SearchMode.dense:
            return dense
        return HybridRetriever(LexicalRetriever(store, self.name), dense, self.workspace.config.retrieval)

    def search(self, query: str, k: int | None = None, mode: SearchMode | str | None = None,
               filters: Filters | None = None, embedder: str | None = None, rerank: str | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query``; with ``rerank`` (a reranker spec) the top candidates are reordered."""
        if not query or not query.strip():
            raise InputError("the query is empty")
        k = k or self.workspace.config.retrieval.k
        if k < 1:
            raise InputError("k must be at least 1")
        reranker = self.workspace.reranker(rerank)
        if reranker is None:
            scored = self.retriever(mode, embedder).retrieve(query, k, filters)
        else:
            candidates = self.retriever(mode, embedder).retrieve(query, max(k, self.workspace.config.rerank.candidates), filters)
            scored = reranker.rerank(query, candidates, k)
        return [Hit.from_scored(i, s) for i, s in enumerate(scored, start=1)]

    def ask(self, question: str, *, model: str | None = None, k: int | None = None, rerank: str | None = None,
            mode: SearchMode | str | None = None, filters: Filters | None = None,
            on_text: TextCallback | None = None) -> Answer:
        """A cited answer to ``question`` from this index (see ``ragtune.generation.answer``)."""
        if not question or not question.strip():
            raise InputError("the question is empty")
        if self.manifest.chunks == 0:
            raise InputError(f"index '{self.name}' holds no documents: add some with ragtune ingest PATH --index {self.name}")
        ws = self.workspace
        config = ws.config
        answer_config = config.answer if k is None else config.answer.model_copy(update={"k": k})
        if answer_config.k < 1:
            raise InputError("k must be at least 1")
        embedder = self._embedder(None)
        pipeline = AnswerPipeline(ws.generator(model), answer_config, GenerateOptions.from_config(config.generation),
                                  retriever=self.retriever(mode), reranker=ws.reranker(rerank),
                                  rerank_candidates=config.rerank.candidates, embedder=embedder,
                                  support=ws.support_scorer(embedder), index_name=self.name,
                                  fallback=ws.generator("extractive"))
        return pipeline.ask(question, filters=filters, on_text=on_text)

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
        vectors = None
        if isinstance(retriever, (DenseRetriever, HybridRetriever)):
            dense = retriever if isinstance(retriever, DenseRetriever) else retriever.dense
            vectors = dense.embedder.embed_queries([text for _, text in queries])
        out = []
        for i, (qid, text) in enumerate(queries):
            if isinstance(retriever, HybridRetriever):
                ranked = [(c, s, parts) for c, s, parts in retriever.ranked(text, fetch, filters, vectors[i])]
            elif isinstance(retriever, DenseRetriever):
                ranked = [(c, s, {"dense": s}) for c, s in retriever.ranked(text, fetch, filters, vectors[i])]
            else:
                ranked = [(c, s, {"lexical": s}) for c, s in retriever.ranked(text, fetch, filters)]
            records = self.workspace.store.get_chunks(self.name, [c for c, _, _ in ranked])
            scored = [ScoredChunk(record, score, parts) for record, (_, score, parts) in zip(records, ranked)]
            if reranker is not None:
                scored = reranker.rerank(text, scored, len(scored))
            hits, docs = [], set()
            for candidate in scored:
                if unique_docs and candidate.chunk.doc_id in docs:
                    continue
                docs.add(candidate.chunk.doc_id)
                hits.append(Hit.from_scored(len(hits) + 1, candidate))
                if len(hits) == k:
                    break
            out.append((qid, hits))
        return out

    def reindex(self, embedder: str, progress: Progress | None = None, force: bool = False) -> ReindexReport:
        """Re-embed every chunk with ``embedder`` and record it in the index, atomically: searches keep using the old
        vectors until the switch. An index already built with that model is left alone unless ``force``."""
        import time

        started = time.monotonic()
        store = self.workspace.store
        new = self.workspace.embedder(embedder)
        for _ in range(3):
            manifest = self.manifest
            previous = manifest.embedder
            if new.info.same_model(previous) and not force:
                return ReindexReport(self.name, new.info.model_dump(), previous.model_dump(), 0, manifest.generation, False,
                                     time.monotonic() - started)
            chunks = store.all_chunks(self.name)
            if self.manifest.generation != manifest.generation:
                continue  # a commit came in while the chunks were read
            total, done = len(chunks), [0]

            def on_embedded(n: int) -> None:
                done[0] += n
                if progress:
                    progress("embed", done[0], total)

            vectors = new.embed_documents([c.index_text for c in chunks], on_embedded)
            if progress:
                progress("commit", 0, 1)
            updated = store.replace_vectors(self.name, new.info, [c.chunk_id for c in chunks], vectors, manifest.generation)
            if progress:
                progress("commit", 1, 1)
            return ReindexReport(self.name, new.info.model_dump(), previous.model_dump(), total, updated.generation, True,
                                 time.monotonic() - started)
        raise InputError(f"index '{self.name}' kept changing while it was read; run the reindex again")

    def documents(self) -> list[DocRecord]:
        """Every document in the index."""
        return sorted(self.workspace.store.documents(self.name), key=lambda d: d.doc_id)

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Remove documents by id; ``InputError`` names any id the index does not hold."""
        from ragtune.index import IngestEvent

        known = {d.doc_id for d in self.workspace.store.documents(self.name)}
        missing = [d for d in doc_ids if d not in known]
        if missing:
            raise InputError(f"index '{self.name}' has no document '{missing[0]}'")
        self.workspace.store.commit(self.name, [], list(doc_ids), IngestEvent(removed=len(doc_ids)))
        return len(doc_ids)


def check_examples(path: str | Path, *, base: str | None = "local", max_length: int = 512, system: str | None = None,
                   test: str | Path | None = None) -> CheckReport:
    """Check fine-tuning examples: errors, duplicates, leakage into ``test``, token lengths under ``base``'s tokenizer
    (none when ``base`` is None), the JSON outputs' schema, and a verdict."""
    from ragtune.tuning.base_models import load_tokenizer
    from ragtune.tuning.data import check_examples as _check

    examples = read_examples(path, system=system)
    test_set = read_examples(test, system=system) if test is not None else None
    tokenizer, name = load_tokenizer(base) if base else (None, "")
    return _check(examples, tokenizer=tokenizer, max_length=max_length, tokenizer_name=name, test=test_set)


def split_examples(path: str | Path, *, test: float = 0.1, seed: int = 0, stratify: str | None = None,
                   out_dir: str | Path | None = None, force: bool = False) -> SplitReport:
    """Split an examples file into ``<stem>.train.jsonl`` and ``<stem>.test.jsonl`` (seeded; optionally stratified)."""
    return _split_examples(path, test=test, seed=seed, stratify=stratify, out_dir=out_dir, force=force)
