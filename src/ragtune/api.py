"""The one public API. The CLI, HTTP and MCP faces call only this module.

>>> ws = Workspace()                                  # ./.ragtune, or RAGTUNE_HOME
>>> ws.ingest(["docs/"], index="support")             # IngestReport(added=…, …)
>>> ws.index("support").search("how do I rotate keys", k=5)
>>> ws.ask("What does the audit log record?", index="support").to_json()   # cited answer
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from ragtune.advisor import (AdvisorConfig, CostReport, Facts, Recommendation, StatedNeeds, decide, estimate_costs,
                             load_advisor_config, measure_facts, stated_needs)
from ragtune.advisor.report import write_report as write_advice_report
from ragtune.config import ChunkingConfig, RagtuneConfig, SearchMode, apply_threads, private_files
from ragtune.decide import DecideConfig, Decision
from ragtune.documents import JsonlFields, RecursiveChunker
from ragtune.embeddings import Embedder, load_embedder
from ragtune.errors import ChunkNotFoundError, EmbedderMismatchError, InputError, UnsupportedTypeError, UploadTooLargeError
from ragtune.evaluation.base import EvalResult, read_results
from ragtune.evaluation.config import EvalConfig
from ragtune.evaluation.questions import Question, load_questions
from ragtune.generation import GenerateOptions, Generator, load_generator
from ragtune.generation.answer import Answer, AnswerPipeline
from ragtune.generation.base import TextCallback
from ragtune.generation.citations import Citation, NLISupportScorer, OverlapSupportScorer, SupportScorer
from ragtune.index import DocRecord, Filters, IndexManifest, Store, check_index_name, open_store
from ragtune.index.sync import IngestReport, Progress, sync_sources
from ragtune.retrieval import DenseRetriever, HybridRetriever, LexicalRetriever, Reranker, Retriever, ScoredChunk, load_reranker
from ragtune.retrieval.corpus import CorpusRetriever
from ragtune.serving.keys import ApiKey, KeyStore, Principal, Role
from ragtune.serving.paths import check_walk, confine, safe_upload_name
from ragtune.tuning import ModelCard, ModelRegistry, TrainingEvent
from ragtune.tuning.data import CheckReport, SplitReport, read_examples
from ragtune.tuning.data import split_examples as _split_examples
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.pairs import PairData, PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig

T = TypeVar("T")

if TYPE_CHECKING:
    from ragtune.evaluation.compare import Comparison
    from ragtune.evaluation.updates import UpdatesConfig, UpdatesResult
    from ragtune.tuning.raft import RaftSettings

__all__ = ["AdvisorConfig", "Answer", "ApiKey", "Citation", "DecideConfig", "Decision", "EvalConfig", "EvalResult", "Filters", "Hit", "Index",
           "IngestReport", "KeyStore", "Principal", "ReindexReport", "Role", "StatedNeeds", "Workspace", "check_examples", "compare_runs",
           "load_advisor_config", "read_results", "split_examples", "write_advice_report", "write_decision_report",
           "write_eval_report"]


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
    """A ragtune workspace: named indexes (and, later, model artefacts) under ``config.home``.

    Creating one sets the process umask to 077: the workspace and everything written in it is the owner's alone."""

    def __init__(self, config: RagtuneConfig | None = None) -> None:
        self.config = config or RagtuneConfig.load()
        apply_threads(self.config.threads)
        private_files()
        self._store: Store | None = None
        self._embedders: dict[str, Embedder] = {}
        self._keys: KeyStore | None = None
        self._generators: dict[str, Generator] = {}
        self._rerankers: dict[str, Reranker] = {}
        self._nli: SupportScorer | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config)
        return self._store

    @property
    def keys(self) -> KeyStore:
        """The workspace's API keys: create, list, revoke, authenticate (``<home>/keys.json``, or the
        ``ragtune_keys`` table when the store is PostgreSQL, so every server over it shares them)."""
        if self._keys is None:
            if self.config.store.startswith(("postgresql://", "postgres://")):
                from ragtune.serving.keys_postgres import PostgresKeyRecords

                self._keys = KeyStore(PostgresKeyRecords(self.config.store))
            else:
                self._keys = KeyStore(self.config.home / "keys.json")
        return self._keys

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
            on_text: TextCallback | None = None, schema: dict[str, Any] | None = None, repairs: int = 1,
            system: str | None = None, whole_corpus: bool = False) -> Answer:
        """Answer ``question`` from ``index`` with citations, or, without an index, with the model alone.

        With ``schema`` (a JSON Schema, see ``load_schema``) the answer is JSON that fits it: instructed, validated
        and repaired up to ``repairs`` times (``Answer.structured``). ``system`` adds a system prompt. ``whole_corpus``
        puts every chunk of ``index`` in the context instead of retrieving (the ``prompt`` variant).
        """
        if repairs < 0:
            raise InputError("repairs must be 0 or more")
        if index is not None:
            return self.index(index).ask(question, model=model, k=k, rerank=rerank, mode=mode, filters=filters, on_text=on_text,
                                         schema=schema, repairs=repairs, system=system, whole_corpus=whole_corpus)
        if whole_corpus:
            raise InputError("whole_corpus needs an index whose corpus goes into the prompt")
        generator = self.generator(model)
        options = GenerateOptions.from_config(self.config.generation)
        return AnswerPipeline(generator, self.config.answer, options).ask(question, on_text=on_text, schema=schema,
                                                                          repairs=repairs, system=system)

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

    def uploads_dir(self, index: str) -> Path:
        """Where files uploaded to ``index`` through a server are kept: ``<home>/uploads/<index>``."""
        return self.config.home / "uploads" / check_index_name(index)

    def served_models(self) -> list[str]:
        """Model specs that server clients may name in ``ask`` (``serve.models``, else the default and extractive)."""
        models = self.config.serve.models or [self.config.generation.model, "extractive"]
        return list(dict.fromkeys(models))

    def served_model(self, model: str | None) -> str:
        """``model`` if servers may use it (default: the configured generator); ``InputError`` otherwise."""
        model = model or self.config.generation.model
        served = self.served_models()
        if model not in served:
            raise InputError(f"model '{model}' is not served here (served: {', '.join(served)})")
        return model

    def ingest(self, paths: Sequence[str], index: str, *, create: bool = True, embedder: str | None = None,
               include: Sequence[str] = (), exclude: Sequence[str] = (), strict: bool = False,
               jsonl_fields: JsonlFields | None = None, progress: Progress | None = None,
               roots: Sequence[Path] | None = None) -> IngestReport:
        """Sync files and folders into ``index`` (created on first use unless ``create`` is false).

        With ``roots`` (servers), every path, and every file found in a folder, must resolve inside one of
        those folders (``PathNotAllowedError`` otherwise; see ``ragtune.serving.paths``).
        """
        if not paths:
            raise InputError("give at least one file or folder to ingest")
        if roots is not None:
            from ragtune.documents import discover

            paths = [str(confine(str(p), roots)) for p in paths]
            files, _ = discover(paths, include, exclude)
            check_walk([f.path for f in files], roots)
        created = False
        if not self.store.exists(check_index_name(index)):
            if not create:
                self.store.manifest(index)  # raises IndexNotFoundError
            # Validate the inputs before an index appears on disk.
            from ragtune.documents import discover

            discover(paths, include, exclude)
            self.create_index(index, embedder)
            created = True
        try:
            return self.index(index).ingest(paths, include=include, exclude=exclude, strict=strict,
                                            jsonl_fields=jsonl_fields, progress=progress, embedder=embedder)
        except BaseException:
            if created:  # a first ingest that fails leaves no empty index behind
                with contextlib.suppress(Exception):
                    self.store.drop(index)
            raise

    def delete_index(self, name: str) -> None:
        """Remove an index and everything in it, uploaded files included."""
        self.store.drop(name)
        shutil.rmtree(self.uploads_dir(name), ignore_errors=True)


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

    def tune_raft(self, questions: str | Path | Sequence[Question], index: str, raft: "RaftSettings", lora: LoraConfig,
                  progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """RAFT: LoRA-tune on questions answered over ``index``'s chunks (oracle among distractors) and publish ``NAME@vN``.

        ``lora.data`` is replaced by the rows built here (``ragtune.tuning.raft``); use the version as ``tuned:NAME``
        with ``ask --index`` or in the ``rag+ft`` eval variant.
        """
        from ragtune.tuning.raft import RaftBuilder, RaftTuner

        target = self.index(index)
        manifest = target.manifest  # IndexNotFoundError before anything is built
        if manifest.chunks == 0:
            raise InputError(f"index '{index}' holds no documents: add some with ragtune ingest PATH --index {index}")
        loaded = load_questions(questions) if isinstance(questions, (str, Path)) else list(questions)
        builder = RaftBuilder(index, manifest.generation, target.retriever(), lambda: self.store.all_chunks(index), raft)
        return RaftTuner(builder, loaded, lora, self.models, lambda: target.manifest.generation).train(progress)

    def export_model(self, ref: str, out: str | Path, merge: bool = False) -> Path:
        """Write a version as a folder usable without ragtune (merged weights with ``merge``)."""
        from ragtune.tuning.export import export_model

        return export_model(ref, self.config.home, out, merge=merge)

    # --- the decision -------------------------------------------------------------------------------

    def facts(self, needs: StatedNeeds | dict[str, Any], *, index: str | None = None, examples: str | Path | None = None,
              evaluation: str | Path | None = None, config: AdvisorConfig | None = None) -> Facts:
        """Measure what an index, an examples file and an eval run say, beside the stated ``needs``."""
        needs = needs if isinstance(needs, StatedNeeds) else stated_needs(**needs)
        config = config or AdvisorConfig()
        return measure_facts(self.store, needs, index=index, examples=examples, evaluation=evaluation,
                             tokenizer=config.tokenizer)

    def advise(self, needs: StatedNeeds | dict[str, Any], *, index: str | None = None, examples: str | Path | None = None,
               evaluation: str | Path | None = None, model: str | None = None,
               config: AdvisorConfig | None = None) -> Recommendation:
        """rag, ft, rag+ft or prompt, from measured facts, rules of thumb, an eval run if given, and the cost model."""
        config = config or AdvisorConfig(tokenizer=model)
        facts = self.facts(needs, index=index, examples=examples, evaluation=evaluation, config=config)
        return decide(facts, config, model)

    def cost(self, needs: StatedNeeds | dict[str, Any], *, index: str | None = None, examples: str | Path | None = None,
             evaluation: str | Path | None = None, config: AdvisorConfig | None = None) -> CostReport:
        """The cost model alone: cost per month and over the horizon per approach, break-even volumes, sensitivity."""
        config = config or AdvisorConfig()
        facts = self.facts(needs, index=index, examples=examples, evaluation=evaluation, config=config)
        return estimate_costs(facts, config)

    def decide(self, config: DecideConfig | None = None, progress: Progress | None = None, **fields: Any) -> Decision:
        """Measure every candidate (base, prompt, rag, ft, rag+ft) on the same held-out questions and recommend the
        cheapest one not significantly worse than the best (``ragtune.decide``).

        Give a ``DecideConfig`` or its fields as keywords (``questions=``, ``examples=``, ``index=``, ``model=``,
        ``budget_s=``, ``queries_per_month=`` ...). Finished phases are kept, so ``resume=True`` redoes nothing.
        """
        from ragtune.decide.runner import DecideRunner
        from ragtune.evaluation.config import validated

        if config is None:
            config = validated(DecideConfig, fields)
        elif fields:
            config = validated(DecideConfig, {**config.model_dump(), **fields})
        return DecideRunner(self, config, progress).run()

    # --- evaluation ---------------------------------------------------------------------------------

    def evaluate(self, questions: str | Path | Sequence[Question], config: EvalConfig | None = None, *,
                 schema: dict[str, Any] | None = None, limit: int | None = None,
                 progress: Progress | None = None) -> EvalResult:
        """Answer a question set with every variant of ``config`` and score them side by side.

        ``questions``: a JSONL file (``ragtune.evaluation.questions``) or loaded questions; ``schema`` applies to
        questions that carry none; ``limit`` keeps the first N. Generations are cached under ``<home>/eval-cache``:
        a rerun costs nothing.
        """
        from ragtune.evaluation.runner import EvalRunner

        source = None
        if isinstance(questions, (str, Path)):
            source = str(questions)
            questions = load_questions(questions, schema=schema)
        elif schema is not None:
            questions = [q if q.schema is not None else replace(q, schema=schema) for q in questions]
        if limit is not None and limit < 1:
            raise InputError("limit must be at least 1")
        return EvalRunner(self, config or EvalConfig(), progress).run(list(questions)[:limit], source)

    def evaluate_retrieval(self, index: str, questions: Sequence[Question], qrels: dict[str, dict[str, int]] | None = None, *,
                           ndcg_k: Sequence[int] = (10,), recall_k: Sequence[int] = (100,), mrr_k: Sequence[int] = (10,),
                           mode: SearchMode | str | None = None, rerank: str | None = None) -> dict[str, Any]:
        """nDCG, recall and MRR of ``index`` over questions with judgements (``qrels``, else their ``gold_doc_ids``).

        Each document counts once, at the rank of its best chunk. Returns ``{"index", "queries", "judged", "mode",
        "metrics": {name: {"mean", "ci95", "n"}}}``.
        """
        from ragtune.evaluation.metrics import ranking_metrics

        if not questions:
            raise InputError("no questions to evaluate retrieval with")
        if qrels is None:
            qrels = {q.id: {d: 1 for d in q.gold_doc_ids} for q in questions if q.gold_doc_ids}
        depth = max([*ndcg_k, *recall_k, *mrr_k])
        if min([*ndcg_k, *recall_k, *mrr_k]) < 1:
            raise InputError("every k must be at least 1")
        results = self.index(index).search_batch([(q.id, q.question) for q in questions], k=depth, mode=mode,
                                                 unique_docs=True, rerank=rerank)
        rankings = {qid: [h.doc_id for h in hits] for qid, hits in results}
        metrics = ranking_metrics(rankings, qrels, ndcg_k, recall_k, mrr_k)
        judged = sum(1 for q in questions if any(g > 0 for g in qrels.get(q.id, {}).values()))
        return {"index": index, "queries": len(questions), "judged": judged,
                "mode": SearchMode(mode or self.config.retrieval.mode).value, "rerank": rerank, "metrics": metrics}

    def evaluate_updates(self, config: "UpdatesConfig", progress: Progress | None = None) -> "UpdatesResult":
        """The knowledge-update test (``ragtune.evaluation.updates``): ask at T1 and T2, and measure who moved."""
        from ragtune.evaluation.updates import UpdatesRunner

        return UpdatesRunner(self, config, progress).run()


def _retry_stale(read: Callable[[], T], attempts: int = 3) -> T:
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
                            paths, include=include, exclude=exclude, strict=strict, jsonl_fields=jsonl_fields, progress=progress,
                            limits=self.workspace.config.ingest)

    def ingest_uploads(self, files: Sequence[tuple[str, bytes]]) -> IngestReport:
        """Store uploaded ``(file name, content)`` pairs in the index's upload folder and ingest them in one commit.

        Names are made safe (``ragtune.serving.paths.safe_upload_name``); a file above ``serve.max_upload_mb``
        raises ``UploadTooLargeError``, a type outside ``serve.upload_types`` ``UnsupportedTypeError``. If the
        ingest fails, the upload folder is put back as it was, so the files and the index still agree.
        """
        from ragtune.documents import supported_suffixes

        if not files:
            raise InputError("upload at least one file (multipart field 'files')")
        serve = self.workspace.config.serve
        allowed = {t.lower() if t.startswith(".") else f".{t.lower()}" for t in serve.upload_types} or supported_suffixes()
        limit = int(serve.max_upload_mb * 1024 * 1024)
        names: list[str] = []
        for raw, data in files:
            name = safe_upload_name(raw)
            suffix = Path(name).suffix.lower()
            if suffix not in allowed:
                raise UnsupportedTypeError(f"{name}: file type '{suffix or '(none)'}' is not accepted "
                                           f"(accepted: {', '.join(sorted(allowed))})")
            if len(data) > limit:
                raise UploadTooLargeError(f"{name}: {len(data)} bytes is above the upload limit of {limit} bytes")
            if name in names:
                raise InputError(f"{name}: uploaded twice in one request")
            names.append(name)
        self.manifest  # IndexNotFoundError before anything is written
        folder = self.workspace.uploads_dir(self.name)
        folder.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        placed: list[tuple[Path, Path | None]] = []
        try:
            for name, (_, data) in zip(names, files):
                target = folder / name
                backup = None
                if target.exists():
                    backup = folder / f".{name}.{tag}.old"
                    os.replace(target, backup)
                placed.append((target, backup))
                tmp = folder / f".{name}.{tag}.new"
                tmp.write_bytes(data)
                os.replace(tmp, target)
            report = self.ingest([str(target) for target, _ in placed], strict=True)
        except BaseException:
            for target, backup in reversed(placed):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink(missing_ok=True)
            raise
        for _, backup in placed:
            if backup is not None:
                backup.unlink(missing_ok=True)
        return report

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
        retriever = self.retriever(mode, embedder)
        if reranker is None:
            scored = _retry_stale(lambda: retriever.retrieve(query, k, filters))
        else:
            fetch = max(k, self.workspace.config.rerank.candidates)
            candidates = _retry_stale(lambda: retriever.retrieve(query, fetch, filters))
            scored = reranker.rerank(query, candidates, k)
        return [Hit.from_scored(i, s) for i, s in enumerate(scored, start=1)]

    def ask(self, question: str, *, model: str | None = None, k: int | None = None, rerank: str | None = None,
            mode: SearchMode | str | None = None, filters: Filters | None = None,
            on_text: TextCallback | None = None, schema: dict[str, Any] | None = None, repairs: int = 1,
            system: str | None = None, whole_corpus: bool = False) -> Answer:
        """A cited answer to ``question`` from this index (see ``ragtune.generation.answer``; ``schema``: a JSON answer).

        ``whole_corpus``: every chunk goes into the context, in document order, instead of the retrieved ones.
        """
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
        if whole_corpus:  # every chunk, limited only by the model's window
            answer_config = answer_config.model_copy(update={"k": self.manifest.chunks, "max_context_tokens": 10**9})
        retriever = CorpusRetriever(ws.store, self.name) if whole_corpus else self.retriever(mode)
        pipeline = AnswerPipeline(ws.generator(model), answer_config, GenerateOptions.from_config(config.generation),
                                  retriever=retriever, reranker=None if whole_corpus else ws.reranker(rerank),
                                  rerank_candidates=config.rerank.candidates, embedder=embedder,
                                  support=ws.support_scorer(embedder), index_name=self.name,
                                  fallback=ws.generator("extractive"))
        answer = _retry_stale(lambda: pipeline.ask(question, filters=filters, on_text=on_text, schema=schema, repairs=repairs,
                                                   system=system))
        if whole_corpus and answer.trimmed_blocks:
            raise InputError(f"the corpus of index '{self.name}' does not fit the window of {answer.model}: "
                             f"{answer.trimmed_blocks} of {self.manifest.chunks} chunks left out")
        return answer

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

        sources = {d.doc_id: d.source for d in self.workspace.store.documents(self.name)}
        missing = [d for d in doc_ids if d not in sources]
        if missing:
            raise InputError(f"index '{self.name}' has no document '{missing[0]}'")
        self.workspace.store.commit(self.name, [], list(doc_ids), IngestEvent(removed=len(doc_ids)))
        uploads = self.workspace.uploads_dir(self.name).resolve()
        for doc_id in doc_ids:  # an uploaded file goes with its document
            source = Path(sources.get(doc_id, ""))
            if source.is_absolute() and source.resolve().parent == uploads:
                source.unlink(missing_ok=True)
        return len(doc_ids)


def compare_runs(a: str | Path, b: str | Path) -> "Comparison":
    """What changed from results file ``a`` to ``b``, metric by metric, with 95% intervals of the difference."""
    from ragtune.evaluation.compare import compare_files

    return compare_files(a, b)


def write_eval_report(result: EvalResult, path: str | Path) -> Path:
    """Write an eval result as HTML, Markdown or JSON, by the file's suffix."""
    from ragtune.evaluation.report import write_report as _write

    return _write(result, path)


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


def write_decision_report(decision: Decision, path: str | Path) -> Path:
    """Write a decision as an HTML page (quality against monthly cost, the table, the rules) or Markdown (``.md``)."""
    from ragtune.decide.report import write_report

    return write_report(decision, path)
