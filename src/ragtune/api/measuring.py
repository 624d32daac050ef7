"""The workspace's measuring methods: evaluation, the knowledge-update test, the advisor and the decision. The
runners below receive narrow ports (``eval_ports``), never the workspace itself."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ragtune.advisor import (AdvisorConfig, CostReport, Facts, Recommendation, StatedNeeds, decide, estimate_costs,
                             measure_facts, stated_needs)
from ragtune.config import Engine, RagtuneConfig, SearchMode
from ragtune.decide import DecideConfig, Decision
from ragtune.errors import InputError, RagtuneError
from ragtune.evaluation.base import EvalResult
from ragtune.evaluation.config import EvalConfig, validated
from ragtune.evaluation.heldout import QUESTIONS_FILE, read_training_questions
from ragtune.evaluation.ports import EvalPorts, EvalSettings, TunedModel, UpdatesPorts
from ragtune.evaluation.questions import Question, load_questions
from ragtune.generation.base import PricingBasis
from ragtune.index.sync import Progress

if TYPE_CHECKING:
    from ragtune.api.workspace import Workspace
    from ragtune.decide.ports import DecidePorts
    from ragtune.costs.prices import PriceTable
    from ragtune.evaluation.synthetic import GeneratedQuestions
    from ragtune.evaluation.updates import UpdatesConfig, UpdatesResult


@dataclass(frozen=True)
class WorkspaceAsk:
    """Builds ``Workspace.ask`` in another process (a Ray actor) from the configuration: picklable, unlike a workspace
    (``workspace`` is the class, pickled by reference)."""

    workspace: "type[Workspace]"
    config: RagtuneConfig

    def __call__(self) -> Any:
        from ragtune.api.process import prepare_process

        prepare_process(self.config)
        return self.workspace(self.config.model_copy(update={"engine": Engine.local})).ask


class MeasuringMethods:
    """Evaluation, advice and the decision over the workspace (mixed into ``Workspace``)."""

    # --- ports handed to the runners --------------------------------------------------------------------

    def eval_ports(self: "Workspace") -> EvalPorts:
        """What an evaluation may use of this workspace (``ragtune.evaluation.ports``); with ``engine = "ray"`` the
        answers are generated on Ray actors that each hold a workspace of the same configuration."""
        executor = None
        if self.config.engine is Engine.ray:
            from ragtune.distributed import require_ray
            from ragtune.distributed.answers import RayAnswers

            require_ray()
            here = self.config.model_copy(update={"home": self.config.home.resolve()})
            executor = RayAnswers(self.config.ray, WorkspaceAsk(type(self), here))
        return EvalPorts(
            settings=EvalSettings.of(self.config), answer=self.ask, generator=self.generator, index=self.index,
            search=lambda index, queries, **options: self.index(index).search_batch(queries, **options),
            tuned=self._tuned_model, support=lambda spec: self.components.support_scorer(self.embedder(spec)), executor=executor)

    def _tuned_model(self: "Workspace", ref: str) -> TunedModel:
        card = self.model_card(ref)
        source = (card.data.source if card.data is not None else None) or {}
        questions = read_training_questions(self.models.path(card.ref) / card.files.get("questions", QUESTIONS_FILE))
        return TunedModel(card.ref, dict(source), questions)

    def _decide_ports(self: "Workspace") -> "DecidePorts":
        from ragtune.decide.ports import DecidePorts

        return DecidePorts(eval=self.eval_ports(), evaluate=self.evaluate, tune_lora=self.tune_lora,
                           tune_raft=self.tune_raft, store=self.store, distill=self.distill,
                           tune_managed=lambda config, progress, prices: self.tune_managed(config, progress, prices),
                           raft_data=self.raft_data, models=self.models)

    # --- evaluation -------------------------------------------------------------------------------------

    def evaluate(self: "Workspace", questions: str | Path | Sequence[Question], config: EvalConfig | None = None, *,
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
        config = config or EvalConfig()
        tuned = f"tuned:{config.tuned.removeprefix('tuned:')}" if config.tuned else None
        config = config.model_copy(update={"prices": self._version_prices(config.prices, config.model, tuned)})
        return EvalRunner(self.eval_ports(), config, progress).run(list(questions)[:limit], source)

    def _version_prices(self: "Workspace", prices: "PriceTable", *specs: str | None) -> "PriceTable":
        """``prices`` with the per-token price a managed ``tuned:`` version's card gives (``ragtune.tuning.managed``)."""
        from ragtune.tuning.managed.prices import with_version_prices

        return with_version_prices(prices, [*specs, self.config.generation.model], self.model_card)

    def generate_questions(self: "Workspace", index: str, n: int = 200, *, model: str | None = None, k: int = 5,
                           seed: int = 0, min_support: float | None = None, attempts_per_question: int = 3,
                           out: str | Path | None = None, force: bool = False,
                           progress: Callable[[str], None] | None = None) -> "GeneratedQuestions":
        """Up to ``n`` questions with reference answers drawn from ``index``, stratified across its documents, each
        kept only when the index's search finds its chunk within ``k`` and that chunk supports its answer
        (``ragtune.evaluation.synthetic``). ``model``: ``extractive`` (template questions, no model; the default) or a
        generator spec. With ``out`` the rows are written there as a question file (an existing file only with
        ``force``)."""
        from ragtune.evaluation.question_writers import DEFAULT_WRITER, TEMPLATE, ModelWriter, TemplateWriter, TermRarity
        from ragtune.evaluation.synthetic import RoundTrip
        from ragtune.evaluation.synthetic import generate_questions as generate

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"n: must be a whole number of at least 1 (got {n!r})")
        handle = self.index(index)
        if out is not None and Path(out).exists() and not force:
            raise InputError(f"--out {out}: the file exists; give --force to replace it")
        round_trip = RoundTrip(k=k, min_support=self.config.answer.min_support if min_support is None else min_support,
                               attempts_per_question=attempts_per_question)
        round_trip.check()
        chunks = self.store.all_chunks(index)
        spec = model or DEFAULT_WRITER
        writer = (TemplateWriter(TermRarity([c.text for c in chunks])) if spec == TEMPLATE
                  else ModelWriter(self.generator(spec)))
        embedder = handle.embedder(None)

        def search(questions: list[str], depth: int) -> list[list[str]]:
            found = handle.search_batch([(str(i), q) for i, q in enumerate(questions)], k=depth)
            return [[h.chunk_id for h in hits] for _, hits in found]

        made = generate(index, chunks, n, writer, search, self.components.support_scorer(embedder), round_trip, seed, progress,
                        batch=16 if spec == TEMPLATE else 4)  # a model writes slowly: progress after every few chunks
        if out is not None:
            made.write(out, force=force)
        return made

    def evaluate_retrieval(self: "Workspace", index: str, questions: Sequence[Question],
                           qrels: dict[str, dict[str, int]] | None = None, *, ndcg_k: Sequence[int] = (10,),
                           recall_k: Sequence[int] = (100,), mrr_k: Sequence[int] = (10,),
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

    def evaluate_updates(self: "Workspace", config: "UpdatesConfig", progress: Progress | None = None) -> "UpdatesResult":
        """The knowledge-update test (``ragtune.evaluation.updates``): ask at T1 and T2, and measure who moved."""
        from ragtune.evaluation.updates import UpdatesRunner

        def documents(name: str) -> list | None:
            return self.store.documents(name) if self.store.exists(name) else None

        ports = UpdatesPorts(eval=self.eval_ports(), documents=documents, ingest=self.ingest)
        return UpdatesRunner(ports, config, progress).run()

    # --- advice and the decision ------------------------------------------------------------------------

    def facts(self: "Workspace", needs: StatedNeeds | dict[str, Any], *, index: str | None = None,
              examples: str | Path | None = None, evaluation: str | Path | None = None,
              config: AdvisorConfig | None = None) -> Facts:
        """Measure what an index, an examples file and an eval run say, beside the stated ``needs``."""
        needs = needs if isinstance(needs, StatedNeeds) else stated_needs(**needs)
        config = config or AdvisorConfig()
        return measure_facts(self.store, needs, index=index, examples=examples, evaluation=evaluation,
                             tokenizer=config.tokenizer)

    def advise(self: "Workspace", needs: StatedNeeds | dict[str, Any], *, index: str | None = None,
               examples: str | Path | None = None, evaluation: str | Path | None = None, model: str | None = None,
               config: AdvisorConfig | None = None) -> Recommendation:
        """rag, ft, rag+ft or prompt, from measured facts, rules of thumb, an eval run if given, and the cost model."""
        config = config or AdvisorConfig(tokenizer=model)
        facts = self.facts(needs, index=index, examples=examples, evaluation=evaluation, config=config)
        return decide(facts, config, model)

    def cost(self: "Workspace", needs: StatedNeeds | dict[str, Any], *, index: str | None = None,
             examples: str | Path | None = None, evaluation: str | Path | None = None,
             config: AdvisorConfig | None = None) -> CostReport:
        """The cost model alone: cost per month and over the horizon per approach, break-even volumes, sensitivity."""
        config = config or AdvisorConfig()
        facts = self.facts(needs, index=index, examples=examples, evaluation=evaluation, config=config)
        return estimate_costs(facts, config)

    def decide(self: "Workspace", config: DecideConfig | None = None, progress: Progress | None = None,
               **fields: Any) -> Decision:
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
        ports = self._decide_ports()
        return run_repeats(lambda one: DecideRunner(ports, one, progress), config)

    def decide_rows(self: "Workspace", rows: str | Path, config: DecideConfig | None = None, **fields: Any) -> Decision:
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

    def _pricing_of(self: "Workspace", spec: str) -> PricingBasis | None:
        """How the model of ``spec`` is paid for, as its generator declares; None when no generator can be built for it
        here (a model of another tool's rows, a key not set)."""
        try:
            return self.generator(spec).pricing
        except RagtuneError:
            return None
