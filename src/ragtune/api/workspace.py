"""``Workspace``: named indexes, models and keys under ``config.home``, and the one object every face calls.

A thin facade: the parts are built once in ``ragtune.components`` (``Components``); each method checks what the
faces give, builds a request or a configuration, and calls one runner or service below: the ``Answerer``, the
indexes, ``EvalRunner``, ``UpdatesRunner``, ``DecideRunner``, ``Tuning``, the advisor.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ragtune.advisor import (AdvisorConfig, CostReport, Facts, Recommendation, StatedNeeds, decide, estimate_costs,
                             measure_facts, stated_needs)
from ragtune.api.index import Index
from ragtune.components.parts import Components
from ragtune.components.registry import ModelCard, ModelRegistry
from ragtune.config import ChunkingConfig, ContextMode, RagtuneConfig, SearchMode
from ragtune.decide import DecideConfig, Decision
from ragtune.documents import JsonlFields, discover
from ragtune.embeddings import Embedder
from ragtune.errors import ConfigError, InputError, RagtuneError
from ragtune.evaluation.base import EvalResult
from ragtune.evaluation.config import EvalConfig, validated
from ragtune.evaluation.questions import Question, load_questions
from ragtune.generation import Generator
from ragtune.generation.answer import Answer, AskRequest
from ragtune.generation.base import PricingBasis, TextCallback
from ragtune.index import CommittedInterrupt, Filters, IndexManifest, IngestEvent, Store, check_index_name, store_kind
from ragtune.index.doctor import DoctorReport, check_store
from ragtune.index.sync import IngestReport, Progress
from ragtune.retrieval import Reranker
from ragtune.serving.keys import KeyStore
from ragtune.serving.paths import check_walk, confine
from ragtune.tuning.embedding import EmbeddingTuneConfig
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.pairs import PairData, PairsConfig
from ragtune.tuning.reranker import RerankerTuneConfig
from ragtune.tuning.service import TrainingProgress, Tuning

if TYPE_CHECKING:
    from ragtune.costs.prices import PriceTable
    from ragtune.evaluation.executor import AnswerExecutor
    from ragtune.evaluation.synthetic import GeneratedQuestions
    from ragtune.evaluation.updates import UpdatesConfig, UpdatesResult
    from ragtune.tuning.base import TrainingConfig
    from ragtune.tuning.launch import Launch
    from ragtune.tuning.managed import JobStatus, ManagedConfig
    from ragtune.tuning.raft import RaftData, RaftSettings


class Workspace:
    """A ragtune workspace: named indexes and model artefacts under ``config.home``.

    Creating one changes nothing process-wide: the entry points call ``ragtune.api.prepare_process`` for the thread
    pools and the umask (077: the workspace and everything written in it is the owner's alone)."""

    def __init__(self, config: RagtuneConfig | None = None) -> None:
        self.components = Components(config or RagtuneConfig.load())
        self.config = self.components.config
        self.tuning = Tuning(self.components)
        self._keys: KeyStore | None = None

    # --- parts, built once (``ragtune.components``) ------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.components.store

    @property
    def models(self) -> ModelRegistry:
        """The versioned model registry under ``<home>/models``."""
        return self.components.models

    @property
    def keys(self) -> KeyStore:
        """The workspace's API keys: create, list, revoke, authenticate (``<home>/keys.json``, or the
        ``ragtune_keys`` table when the store is PostgreSQL, so every server over it shares them)."""
        if self._keys is None:
            if store_kind(self.config.store) == "postgresql":
                from ragtune.serving.keys_postgres import PostgresKeyRecords

                self._keys = KeyStore(PostgresKeyRecords(self.config.store))
            else:
                self._keys = KeyStore(self.config.home / "keys.json")
        return self._keys

    def embedder(self, spec: str | None = None, precision: str | None = None) -> Embedder:
        """The embedder for ``spec`` at ``precision`` (defaults: the configured ones), built once per workspace."""
        return self.components.embedder(spec, precision)

    def generator(self, spec: str | None = None) -> Generator:
        """The generator for a model spec (default: the configured one), built once per workspace."""
        return self.components.generator(spec)

    def reranker(self, spec: str | None = None) -> Reranker | None:
        """The reranker for a spec (default: the configured one, or None when reranking is off)."""
        return self.components.reranker(spec)

    def model_cards(self) -> list[ModelCard]:
        """The card of every version of every model."""
        return self.models.cards()

    def model_card(self, ref: str) -> ModelCard:
        """The card of ``NAME[@vN]`` (latest version without ``@vN``)."""
        return self.models.card(ref)

    # --- asking -----------------------------------------------------------------------------------------

    def ask(self, question: str, index: str | None = None, *, model: str | None = None, k: int | None = None,
            rerank: str | None = None, mode: SearchMode | str | None = None, filters: Filters | None = None,
            on_text: TextCallback | None = None, schema: dict[str, Any] | None = None, repairs: int = 1,
            system: str | None = None, whole_corpus: bool = False, max_new_tokens: int | None = None) -> Answer:
        """Answer ``question`` from ``index`` with citations, or, without an index, with the model alone (``AskRequest``
        says what each option does; ``schema``: a JSON answer, see ``load_schema``)."""
        return self.components.answerer.ask(AskRequest(question, index, model, k, rerank, mode, filters, schema, repairs,
                                                       system, whole_corpus, max_new_tokens, on_text))

    # --- indexes ----------------------------------------------------------------------------------------

    def indexes(self) -> list[IndexManifest]:
        """Manifests of every index in the workspace that can be read (``damaged_indexes`` lists the others)."""
        damaged = self.store.damaged_indexes()
        return [self.store.manifest(n) for n in self.store.list_indexes() if n not in damaged]

    def damaged_indexes(self) -> dict[str, str]:
        """Indexes whose manifest is missing or damaged, each with what is wrong and the ``ragtune doctor`` command."""
        return self.store.damaged_indexes()

    def doctor(self, index: str | None = None, repair: bool = False) -> DoctorReport:
        """Check every index (or ``index``), and with ``repair`` repair what can be (``ragtune.index.doctor``)."""
        return check_store(self.store, [check_index_name(index)] if index else None, repair)

    def index(self, name: str) -> Index:
        """An existing index; ``IndexNotFoundError`` otherwise."""
        self.store.manifest(name)
        return Index(self, name)

    def create_index(self, name: str, embedder: str | None = None, chunking: ChunkingConfig | None = None,
                     provisional: bool = False) -> Index:
        """Create an empty index built with ``embedder`` (default: the configured one); ``provisional``: seen by
        other processes only after its first commit (``Store.create``)."""
        check_index_name(name)
        info = self.embedder(embedder).info
        context = self.config.index.context
        summary_model = self.config.index.summary_model or self.config.generation.model
        self.store.create(IndexManifest(name=name, embedder=info, chunking=chunking or self.config.chunking,
                                        context=context.value,
                                        context_model=summary_model if context is ContextMode.summary else None),
                          provisional=provisional)
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
            paths = [str(confine(str(p), roots)) for p in paths]
            files, _ = discover(paths, include, exclude)
            check_walk([f.path for f in files], roots)
        with self.store.writing(check_index_name(index)):  # creating the index is part of the one writer's work
            created = False
            if not self.store.exists(index):
                if not create:
                    self.store.manifest(index)  # raises IndexNotFoundError
                discover(paths, include, exclude)  # the inputs are checked before an index appears on disk
                self.create_index(index, embedder, provisional=True)
                created = True
            try:
                report = self.index(index).ingest(paths, include=include, exclude=exclude, strict=strict,
                                                  jsonl_fields=jsonl_fields, progress=progress, embedder=embedder)
                if created and not report.generation:  # nothing to add: the empty index is committed as it is
                    report.generation = self.store.commit(index, [], [], IngestEvent()).generation
                return report
            except CommittedInterrupt:
                raise  # the commit is in: nothing to take back
            except BaseException:
                if created:  # a first ingest that fails leaves no index behind (no other writer got in meanwhile)
                    with contextlib.suppress(Exception):
                        self.store.drop(index)
                raise

    def delete_index(self, name: str) -> None:
        """Remove an index and everything in it, uploaded files included."""
        self.store.drop(name)
        shutil.rmtree(self.uploads_dir(name), ignore_errors=True)

    # --- tuning (``ragtune.tuning.service``) ---------------------------------------------------------------

    def _launched(self, method: str, args: tuple, training: "TrainingConfig", launch: "Launch",
                  progress: TrainingProgress | None) -> ModelCard:
        """``method(*args)`` run data-parallel by ``launch``'s processes (``ragtune.tuning.launch``); rank 0 publishes.
        ``training``: the settings among ``args`` that say where it trains."""
        from ragtune.tuning.base import training_device
        from ragtune.tuning.launch import LaunchedJob, run_launched

        if launch.fsdp and training_device(training.device) == "cpu":
            raise ConfigError("--fsdp shards the model over CUDA devices; on CPUs train data-parallel without it (DDP), "
                              "or give --device cuda on a machine with GPUs")
        config = self.config.model_copy(update={"home": self.config.home.resolve()})
        return run_launched(launch, "ragtune.api.launched", LaunchedJob(config, method, args), progress)

    def tune_lora(self, config: LoraConfig, progress: TrainingProgress | None = None,
                  launch: "Launch | None" = None) -> ModelCard:
        """LoRA fine-tune and publish ``NAME@vN``; a killed run leaves no version and ``config.resume`` continues it.
        With ``launch`` (``accelerate``/``torchrun``, ``nproc``) it trains data-parallel in that many processes."""
        if launch is not None:
            return self._launched("tune_lora", (config,), config, launch, progress)
        return self.tuning.lora(config, progress)

    def prepare_pairs(self, data: PairsConfig, notify: Callable[[str], None] | None = None) -> PairData:
        """The training pairs ``data`` names (file, BEIR folder or an index's chunks) with mined negatives and a held-out
        split."""
        return self.tuning.prepare_pairs(data, notify)

    def tune_embeddings(self, config: EmbeddingTuneConfig, progress: TrainingProgress | None = None,
                        launch: "Launch | None" = None) -> ModelCard:
        """Fine-tune an embedder on pairs and publish ``NAME@vN`` (use it as ``tuned:NAME``; ``reindex`` moves an index
        onto it)."""
        return self._pairs("embeddings", "tune_embeddings", config, progress, launch)

    def tune_reranker(self, config: RerankerTuneConfig, progress: TrainingProgress | None = None,
                      launch: "Launch | None" = None) -> ModelCard:
        """Fine-tune a cross-encoder reranker on pairs with mined negatives and publish ``NAME@vN`` (``--rerank tuned:NAME``)."""
        return self._pairs("reranker", "tune_reranker", config, progress, launch)

    def _pairs(self, kind: str, method: str, config: EmbeddingTuneConfig | RerankerTuneConfig,
               progress: TrainingProgress | None, launch: "Launch | None") -> ModelCard:
        self.tuning.check_pair_sources(config.data)
        if launch is not None:
            return self._launched(method, (config,), config, launch, progress)
        return self.tuning.pairs(kind, config, progress)

    def tune_raft(self, questions: str | Path | Sequence[Question], index: str, raft: "RaftSettings",
                  lora: LoraConfig, progress: TrainingProgress | None = None, launch: "Launch | None" = None) -> ModelCard:
        """RAFT: LoRA-tune on questions answered over ``index``'s chunks (oracle among distractors) and publish ``NAME@vN``.

        ``lora.data`` is replaced by the rows built here (``ragtune.tuning.raft``); use the version as ``tuned:NAME``
        with ``ask --index`` or in the ``rag+ft`` eval variant.
        """
        builder = self.tuning.raft_builder(index, raft)  # IndexNotFoundError before anything is built
        loaded = load_questions(questions) if isinstance(questions, (str, Path)) else list(questions)
        if launch is not None:
            return self._launched("tune_raft", (loaded, index, raft, lora), lora, launch, progress)
        return self.tuning.raft(loaded, index, raft, lora, progress, builder)

    def raft_data(self, questions: Sequence[Question], index: str, raft: "RaftSettings") -> "RaftData":
        """The RAFT rows ``tune_raft`` would train on (each question with its oracle chunk among distractors, as ``ask``
        prompts), built without training: a provider's fine-tuning job takes them as chat examples."""
        return self.tuning.raft_data(questions, index, raft)

    def tune_managed(self, config: "ManagedConfig", progress: TrainingProgress | None = None,
                     prices: "PriceTable | None" = None, region: str | None = None) -> ModelCard:
        """Fine-tune on a provider's service (``config.base``: ``openai:<model>[@<url>]`` or ``bedrock:<model id>``) and
        publish ``NAME@vN`` once its job succeeds; an interrupted call leaves the job running and ``config.resume``
        follows it again (``ragtune.tuning.managed``)."""
        return self.tuning.managed(config, progress, prices, region)

    def cancel_managed(self, ref: str, region: str | None = None) -> "JobStatus":
        """Cancel the provider's job behind ``NAME`` (or ``NAME@vN``, the version it would become) and clear its run."""
        return self.tuning.cancel_managed(ref, region)

    def distill(self, questions: str | Path | Sequence[Question] | None, teacher: str, student: LoraConfig,
                index: str | None = None, schema: dict | None = None, prices: "PriceTable | None" = None,
                progress: TrainingProgress | None = None, generate: int = 100) -> ModelCard:
        """Distil ``teacher`` into ``student``: the teacher answers ``questions`` (over ``index`` when given), the answers
        that abstain, are unsupported by their citations or do not fit ``schema`` are dropped and counted, and the student
        (``student.base``, LoRA) is trained on the rest and published as ``NAME@vN`` (``ragtune.tuning.distill``).

        Without ``questions``, ``generate`` synthetic questions are written from ``index`` (``generate_questions``) and
        the version's card records that they are synthetic."""
        loaded = load_questions(questions) if isinstance(questions, (str, Path)) else questions
        return self.tuning.distill(loaded, teacher, student, index, schema, prices, progress, generate)

    def export_model(self, ref: str, out: str | Path, merge: bool = False) -> Path:
        """Write a version as a folder usable without ragtune (merged weights with ``merge``)."""
        from ragtune.tuning.export import export_model

        return export_model(ref, self.config.home, out, merge=merge)

    # --- evaluation (``ragtune.evaluation``) ---------------------------------------------------------------

    def evaluate(self, questions: str | Path | Sequence[Question], config: EvalConfig | None = None, *,
                 schema: dict[str, Any] | None = None, limit: int | None = None,
                 progress: Progress | None = None) -> EvalResult:
        """Answer a question set with every variant of ``config`` and score them side by side.

        ``questions``: a JSONL file (``ragtune.evaluation.questions``) or loaded questions; ``schema`` applies to
        questions that carry none; ``limit`` keeps the first N. Generations are cached under ``<home>/eval-cache``:
        a rerun costs nothing; with ``engine = "ray"`` the answers are generated on Ray actors.
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
        config = config or EvalConfig()
        tuned = f"tuned:{config.tuned.removeprefix('tuned:')}" if config.tuned else None
        config = config.model_copy(update={"prices": self._version_prices(config.prices, config.model, tuned)})
        runner = EvalRunner(self.components, config, progress, self._executor())
        return runner.run(list(questions)[:limit], source)

    def _executor(self) -> "AnswerExecutor | None":
        """Where eval and decide answers are generated: Ray actors with ``engine = "ray"`` (``distributed.answers``)."""
        from ragtune.distributed.answers import RayAnswers

        return RayAnswers.of(self.config)

    def _version_prices(self, prices: "PriceTable", *specs: str | None) -> "PriceTable":
        """``prices`` with the per-token price a managed ``tuned:`` version's card gives (``ragtune.tuning.managed``)."""
        from ragtune.tuning.managed.prices import with_version_prices

        return with_version_prices(prices, [*specs, self.config.generation.model], self.model_card)

    def generate_questions(self, index: str, n: int = 200, *, model: str | None = None, k: int = 5,
                           seed: int = 0, min_support: float | None = None, attempts_per_question: int = 3,
                           out: str | Path | None = None, force: bool = False,
                           progress: Callable[[str], None] | None = None) -> "GeneratedQuestions":
        """Up to ``n`` questions with reference answers drawn from ``index``, stratified across its documents, each
        kept only when the index's search finds its chunk within ``k`` and that chunk supports its answer
        (``ragtune.evaluation.synthetic``). ``model``: ``extractive`` (template questions, no model; the default) or a
        generator spec. With ``out`` the rows are written there as a question file (an existing file only with
        ``force``)."""
        from ragtune.evaluation.synthetic import questions_from_index

        if out is not None and Path(out).exists() and not force:
            raise InputError(f"--out {out}: the file exists; give --force to replace it")
        made = questions_from_index(self.components, index, n, model=model, k=k, seed=seed, min_support=min_support,
                                    attempts_per_question=attempts_per_question, progress=progress)
        if out is not None:
            made.write(out, force=force)
        return made

    def evaluate_retrieval(self, index: str, questions: Sequence[Question], qrels: dict[str, dict[str, int]] | None = None,
                           *, ndcg_k: Sequence[int] = (10,), recall_k: Sequence[int] = (100,), mrr_k: Sequence[int] = (10,),
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
        results = self.components.index(index).search_batch([(q.id, q.question) for q in questions], k=depth, mode=mode,
                                                            unique_docs=True, rerank=rerank)
        rankings: dict[str, Sequence[str]] = {qid: [h.doc_id for h in hits] for qid, hits in results}
        metrics = ranking_metrics(rankings, qrels, ndcg_k, recall_k, mrr_k)
        judged = sum(1 for q in questions if any(g > 0 for g in qrels.get(q.id, {}).values()))
        return {"index": index, "queries": len(questions), "judged": judged,
                "mode": SearchMode(mode or self.config.retrieval.mode).value, "rerank": rerank, "metrics": metrics}

    def evaluate_updates(self, config: "UpdatesConfig", progress: Progress | None = None) -> "UpdatesResult":
        """The knowledge-update test (``ragtune.evaluation.updates``): ask at T1 and T2, and measure who moved."""
        from ragtune.evaluation.updates import UpdatesRunner

        return UpdatesRunner(self.components, config, self.ingest, progress, self._executor()).run()

    # --- advice and the decision (``ragtune.advisor``, ``ragtune.decide``) -----------------------------------

    def facts(self, needs: StatedNeeds | dict[str, Any], *, index: str | None = None,
              examples: str | Path | None = None, evaluation: str | Path | None = None,
              config: AdvisorConfig | None = None) -> Facts:
        """Measure what an index, an examples file and an eval run say, beside the stated ``needs``."""
        needs = needs if isinstance(needs, StatedNeeds) else stated_needs(**needs)
        config = config or AdvisorConfig()
        return measure_facts(self.store, needs, index=index, examples=examples, evaluation=evaluation,
                             tokenizer=config.tokenizer)

    def advise(self, needs: StatedNeeds | dict[str, Any], *, index: str | None = None,
               examples: str | Path | None = None, evaluation: str | Path | None = None, model: str | None = None,
               config: AdvisorConfig | None = None) -> Recommendation:
        """rag, ft, rag+ft or prompt, from measured facts, rules of thumb, an eval run if given, and the cost model."""
        config = config or AdvisorConfig(tokenizer=model)
        facts = self.facts(needs, index=index, examples=examples, evaluation=evaluation, config=config)
        return decide(facts, config, model)

    def cost(self, needs: StatedNeeds | dict[str, Any], *, index: str | None = None,
             examples: str | Path | None = None, evaluation: str | Path | None = None,
             config: AdvisorConfig | None = None) -> CostReport:
        """The cost model alone: cost per month and over the horizon per approach, break-even volumes, sensitivity."""
        config = config or AdvisorConfig()
        facts = self.facts(needs, index=index, examples=examples, evaluation=evaluation, config=config)
        return estimate_costs(facts, config)

    def decide(self, config: DecideConfig | None = None, progress: Progress | None = None, **fields: Any) -> Decision:
        """Measure every candidate (base, prompt, rag, ft, rag+ft) on the same held-out questions and recommend the
        cheapest one *as good* as the best (``ragtune.decide``).

        Give a ``DecideConfig`` or its fields as keywords (``questions=``, ``examples=``, ``index=``, ``model=``,
        ``budget_s=``, ``queries_per_month=`` ...). Finished phases are kept, so ``resume=True`` redoes nothing.
        """
        from ragtune.decide.repeats import run_repeats
        from ragtune.decide.runner import DecideRunner

        if config is None:
            config = validated(DecideConfig, fields)
        elif fields:
            config = validated(DecideConfig, {**config.model_dump(), **fields})
        config = config.model_copy(update={"prices": self._version_prices(config.prices, config.model)})
        executor = self._executor()
        return run_repeats(lambda one: DecideRunner(self.components, one, progress, executor), config)

    def decide_rows(self, rows: str | Path, config: DecideConfig | None = None, **fields: Any) -> Decision:
        """Decide again from per-question rows (``ragtune.decide.rows``: JSONL or a ``decide --out`` file), running
        no model; the rules of thumb read the index when ``index=`` is given."""
        from ragtune.decide.rows import decide_from_rows

        config = config or validated(DecideConfig, fields)
        needs = stated_needs(queries_per_month=config.queries_per_month, months=config.months,
                             latency_budget_ms=config.latency_budget_ms, attribution_required=config.attribution,
                             content_may_leave=config.content_may_leave, changes_per_month=config.changes_per_month)
        facts = (measure_facts(self.store, needs, index=config.index) if config.index is not None
                 else Facts(stated=needs))
        return decide_from_rows(rows, config, self.config.generation.model, facts, pricing=self._pricing_of,
                                prices_for=lambda table, specs: self._version_prices(table, *specs))

    def _pricing_of(self, spec: str) -> PricingBasis | None:
        """How the model of ``spec`` is paid for, as its generator declares; None when no generator can be built for it
        here (a model of another tool's rows, a key not set)."""
        try:
            return self.generator(spec).pricing
        except RagtuneError:
            return None
