"""The eval runner: every variant answers the same questions with the same settings; then each answer is scored.

1. Plan: ``base`` and ``rag`` use the model (``-m``), ``ft`` and ``rag+ft`` the tuned model at one exact version;
   ``rag`` and ``rag+ft`` retrieve from the index. The tuned version and the index are checked before any
   generation, and a remote model's key too.
2. Answers go through the one answer path (``ragtune.components.answerer``); a question with a JSON Schema is
   answered as structured output unless the schema mode is ``score``. Each answer is cached on disk the moment
   it exists (``ragtune.evaluation.cache``), keyed by everything that decides it, so a rerun, or a run resumed
   after a crash, generates only what is missing. Remote models answer several questions at once.
3. Retrieval variants are also searched once per question (to the retrieval depth) for recall, MRR and nDCG.
4. With a judge, answers to questions with references are judged (cached too).
5. The evaluators of ``ragtune.evaluation.metrics`` score each row; ``aggregate`` adds means with intervals.

A question the model cannot take (too long for its window) becomes a row with an ``error``; any other failure
stops the run with ``EvaluationError``, saying how many answers are cached for the resume.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ragtune.components.parts import Components
from ragtune.errors import EvaluationError, InputError, QuestionError
from ragtune.evaluation.answer_cap import AnswerCap, answer_cap
from ragtune.evaluation.base import FORMAT_VERSION, AnswerRecord, EvalResult, SchemaMode, Candidate
from ragtune.evaluation.cache import GenerationCache, cache_key
from ragtune.evaluation.concurrency import run_each
from ragtune.evaluation.config import EvalConfig
from ragtune.evaluation.lanes import answer_variants
from ragtune.evaluation.judge import LLMJudge, resolve_judge_spec, row_verdict
from ragtune.evaluation.metrics import (AbstentionEvaluator, AnswerEvaluator, CitationEvaluator, CostEvaluator,
                                       FormatEvaluator, RetrievalEvaluator, aggregate, evaluate_row, has_gold,
                                       retrieved_chunks)
from ragtune.evaluation.heldout import TunedModel, seen_in_training, tuned_model
from ragtune.evaluation.questions import Question
from ragtune.generation.answer import AskRequest
from ragtune.generation.base import PricingBasis
from ragtune.common import format_money, library_versions
from ragtune.costs.measurement import measurement_cost, measurement_words
from ragtune.generation.batching import batch_queue_of
from ragtune.machine import loaded_device

if TYPE_CHECKING:
    from ragtune.evaluation.executor import AnswerExecutor

Progress = Callable[[str, int, int], None]
"""Progress callback: ``(stage, done, total)``; stages are the variant names, then ``judge``."""

CACHE_VERSION = 1
_GENERATION_KEYS = ("max_new_tokens", "temperature", "top_p", "seed", "stop", "context_window", "local_backend",
                    "extractive_sentences", "constrained")


@dataclass
class VariantPlan:
    """How one variant answers: with which model spec, from which index (None: the model alone)."""

    variant: Candidate
    spec: str
    index: str | None


class EvalRunner:
    """Runs one ``EvalConfig`` over a question set with ``components`` (see the module docstring); ``executor``:
    where answers are generated when not in this process (``ragtune.evaluation.executor``)."""

    def __init__(self, components: Components, config: EvalConfig, progress: Progress | None = None,
                 executor: "AnswerExecutor | None" = None) -> None:
        self.components = components
        self.config = config
        self.progress = progress or (lambda stage, done, total: None)
        self.executor = executor
        root = self.components.config.home / "eval-cache"
        self.answers = GenerationCache(root, "answers")
        self.verdicts = GenerationCache(root, "judge")
        self.scores = GenerationCache(root, "scores")
        self.notes: list[str] = []
        self.counts = {"generated": 0, "cached": 0, "errors": 0, "judged": 0}
        self._lock = threading.Lock()
        self.tuned: TunedModel | None = None
        self.tuned_ref: str | None = None
        self.fingerprint: str | None = None
        self.judge_spec: str | None = None
        self.caps: dict[str, AnswerCap] = {}

    # --- plan -----------------------------------------------------------------------------------------

    def plan(self) -> list[VariantPlan]:
        """The variants' specs and index, checked: tuned version resolved, index present and not empty."""
        cfg = self.config
        model = cfg.model or self.components.config.generation.model
        if cfg.tuned:
            self.tuned = tuned_model(self.components.models, cfg.tuned.removeprefix("tuned:"))
            self.tuned_ref = self.tuned.ref
        if cfg.index and any(v.retrieves or self._corpus(v) for v in cfg.variants):
            index = self.components.index(cfg.index)
            manifest = index.filled()
            self.fingerprint = index.fingerprint()
            source = self.tuned.source if self.tuned is not None else {}
            if source.get("index") == cfg.index and source.get("index_generation") != manifest.generation \
                    and any(v.tuned and v.retrieves for v in cfg.variants):
                self.notes.append(f"warning: {self.tuned_ref} was trained on index '{cfg.index}' at generation "
                                  f"{source.get('index_generation')}; the index is now at generation {manifest.generation}")
        plans = [VariantPlan(v, f"tuned:{self.tuned_ref}" if v.tuned else model,
                             cfg.index if v.retrieves or self._corpus(v) else None) for v in cfg.variants]
        for spec in dict.fromkeys(p.spec for p in plans):
            generator = self.components.generator(spec)  # an unknown spec fails here
            if self.workers(spec) > 1:
                generator.load()  # a remote model's missing key fails before any question
        return plans

    def held_out(self, questions: Sequence[Question]) -> list[Question]:
        """``questions`` without those the tuned model was trained on (same id, same or near-duplicate text)."""
        if self.tuned is None or not any(v.tuned for v in self.config.variants):
            return list(questions)
        matches = seen_in_training(questions, self.tuned.training_questions)
        if not matches:
            return list(questions)
        kept = [q for q in questions if q.id not in matches]
        shown = "; ".join(f"'{qid}' ({why})" for qid, why in list(matches.items())[:3])
        self.notes.append(f"{len(matches)} question(s) left out because {self.tuned_ref} was trained on them: {shown}"
                          f"{' ...' if len(matches) > 3 else ''}")
        if not kept:
            raise InputError(f"every question of the set was used to train {self.tuned_ref}: evaluate on held-out questions")
        return kept

    # --- answers --------------------------------------------------------------------------------------

    def _corpus(self, variant: Candidate) -> bool:
        """Whether ``variant`` carries the whole corpus in its context (the prompt variant with ``prompt_corpus``)."""
        return variant is Candidate.prompt and self.config.prompt_corpus

    def _system(self, variant: Candidate) -> str | None:
        cfg = self.config
        return cfg.prompt_system or cfg.system if variant is Candidate.prompt else cfg.system

    def key_fields(self, plan: VariantPlan, question: Question) -> dict[str, Any]:
        cfg, ws = self.config, self.components.config
        schema = question.schema if question.schema is not None and cfg.schema_mode is not SchemaMode.score else None
        fields: dict[str, Any] = {
            "cache": CACHE_VERSION, "variant": plan.variant.value, "model": plan.spec,
            "tuned": self.tuned_ref if plan.variant.tuned else None, "question": question.question,
            "system": self._system(plan.variant),
            "schema": schema, "schema_mode": cfg.schema_mode.value if schema is not None else None,
            "repairs": (cfg.repairs if cfg.schema_mode is SchemaMode.structured else 0) if schema is not None else None,
            "generation": {k: v for k, v in ws.generation.model_dump(mode="json").items() if k in _GENERATION_KEYS},
        }
        if plan.spec in self.caps:
            fields["generation"]["max_new_tokens"] = self.caps[plan.spec].max_new_tokens
        if self._corpus(plan.variant):
            fields["whole_corpus"] = True
        if plan.index is not None:
            answer = ws.answer.model_dump(mode="json")
            if cfg.k:
                answer["k"] = cfg.k
            fields.update(index=plan.index, index_fingerprint=self.fingerprint, answer=answer,
                          rerank=cfg.rerank or ws.rerank.model,
                          retrieval={**ws.retrieval.model_dump(mode="json"), "mode": (cfg.mode or ws.retrieval.mode).value})
        return fields

    def request(self, plan: VariantPlan, question: Question, fields: dict[str, Any]) -> AskRequest:
        """How one question of ``plan`` is asked (``fields``: its cache key fields)."""
        cfg = self.config
        cap = self.caps[plan.spec].max_new_tokens if plan.spec in self.caps else None
        return AskRequest(question.question, plan.index, plan.spec, cfg.k, cfg.rerank, cfg.mode, None, fields["schema"],
                          fields["repairs"] or 0, self._system(plan.variant), self._corpus(plan.variant), cap)

    def cached(self, plan: VariantPlan, question: Question) -> tuple[AnswerRecord | None, str, dict[str, Any]]:
        """The cached answer to ``question`` by ``plan`` (None: it is to be generated), its cache key and key fields."""
        fields = self.key_fields(plan, question)
        key = cache_key(fields)
        value = self.answers.get(key) if self.config.cache else None
        if value is None:
            return None, key, fields
        with self._lock:
            self.counts["cached"] += 1
        return AnswerRecord(question.id, plan.variant, plan.spec, value, cached=True), key, fields

    def answered(self, plan: VariantPlan, question: Question, key: str, fields: dict[str, Any],
                 value: dict[str, Any] | None, error: str | None = None) -> AnswerRecord:
        """The record of a generated answer (``value``, cached under ``key``) or of why the question cannot be taken."""
        if error is not None or value is None:
            with self._lock:
                self.counts["errors"] += 1
            return AnswerRecord(question.id, plan.variant, plan.spec, None, error=error)
        self.answers.put(key, fields, value)
        with self._lock:
            self.counts["generated"] += 1
        return AnswerRecord(question.id, plan.variant, plan.spec, value)

    def _answer_one(self, plan: VariantPlan, question: Question) -> AnswerRecord:
        record, key, fields = self.cached(plan, question)
        if record is not None:
            return record
        try:
            answer = self.components.answerer.ask(self.request(plan, question, fields))
        except QuestionError as exc:  # this question only; any other error means the whole run is wrong
            return self.answered(plan, question, key, fields, None, str(exc))
        return self.answered(plan, question, key, fields, answer.to_json())

    def answer_all(self, plan: VariantPlan, questions: Sequence[Question]) -> list[AnswerRecord]:
        """Every question answered by one variant, in order (cached answers reused, misses generated and cached); a
        model that decodes in batches takes the questions shortest first, ``workers`` to a batch."""
        order = sorted(range(len(questions)), key=lambda i: len(questions[i].question))
        return self._map(plan.variant.value, [(q.id, q) for q in questions], lambda q: self._answer_one(plan, q), plan.spec,
                         order)

    def workers(self, spec: str) -> int:
        """Questions in flight for ``spec``: the configured concurrency, else a batch for a model that decodes batches."""
        queue = batch_queue_of(self.components.generator(spec))
        return self.config.concurrency or (queue.max_batch if queue is not None else self.config.workers(spec))

    def _map(self, stage: str, items: Sequence[tuple[str, Any]], fn: Callable[[Any], Any], spec: str,
             order: Sequence[int] | None = None) -> list[Any]:
        """``fn`` over ``(question id, item)`` pairs, in order, as many at a time as ``spec`` takes, reporting progress."""
        return run_each(stage, items, lambda pair: self._guarded(fn, pair[0], pair[1]), self.workers(spec), self.progress,
                        batch_queue_of(self.components.generator(spec)), order)

    def _guarded(self, fn: Callable[[Any], Any], qid: str, item: Any) -> Any:
        try:
            return fn(item)
        except (InputError, EvaluationError):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure stops the run; what is cached stays
            raise self.stopped(exc, f" at question '{qid}'") from exc

    def stopped(self, exc: Exception, where: str = "") -> EvaluationError:
        """The error that stops the run on ``exc``, saying how many answers are cached for the resume."""
        done = self.counts["generated"] + self.counts["cached"]
        return EvaluationError(f"the run stopped{where}: {type(exc).__name__}: {exc}. The {done} answers before it are cached: "
                               "run the same command again to resume")

    # --- retrieval and judge --------------------------------------------------------------------------

    def retrieve(self, questions: Sequence[Question]) -> dict[str, list]:
        """The search results of each question with gold (to the retrieval depth), for the retrieval metrics."""
        cfg = self.config
        judged = [q for q in questions if has_gold(q)]
        if not judged or cfg.index is None or not any(v.retrieves for v in cfg.variants):
            return {}
        depth = max(cfg.retrieval_depth, cfg.k or self.components.config.answer.k)
        results = self.components.index(cfg.index).search_batch([(q.id, q.question) for q in judged], k=depth, mode=cfg.mode,
                                                                rerank=cfg.rerank)
        return {qid: retrieved_chunks(hits) for qid, hits in results}

    def judge_all(self, records: list[AnswerRecord], questions: dict[str, Question]) -> None:
        """Ask the judge about every answered question with reference answers (verdicts cached)."""
        if not self.config.judge:
            return
        spec = self.judge_spec = resolve_judge_spec(self.config.judge, self.components.config.generation)
        judge = LLMJudge(self.components.generator(spec))

        def judged(record: AnswerRecord) -> bool:
            q = questions[record.question_id]
            return record.answer is not None and bool(q.reference_answers) and q.answerable and q.schema is None

        def one(record: AnswerRecord) -> None:
            q, answer = questions[record.question_id], record.answer or {}
            if answer.get("abstained"):
                record.judge = {"correct": False, "reason": "abstained"}  # no judge was asked: no usage
                return
            fields = {"cache": CACHE_VERSION, "judge": spec, "question": q.question, "references": q.reference_answers,
                      "answer": answer.get("answer", "")}
            key = cache_key(fields)
            verdict = self.verdicts.get(key) if self.config.cache else None
            if verdict is None:
                verdict = judge.judge(q.question, q.reference_answers, fields["answer"]).to_json()
                self.verdicts.put(key, fields, verdict)
            record.judge = verdict
            with self._lock:
                self.counts["judged"] += 1

        todo = [(r.question_id, r) for r in records if judged(r)]
        if not todo:
            self.notes.append("the judge had nothing to judge: no answerable question has a reference answer")
            return
        self._map("judge", todo, one, spec)

    # --- the run --------------------------------------------------------------------------------------

    def run(self, questions: Sequence[Question], source: str | None = None) -> EvalResult:
        """Answer, judge and score ``questions`` with every variant (see the module docstring)."""
        if not questions:
            raise InputError("the question set is empty")
        started = time.perf_counter()
        plans = self.plan()
        questions = self.held_out(questions)
        if self.config.answer_cap:  # each model's answers capped from the references' lengths (``evaluation.answer_cap``)
            for spec in dict.fromkeys(p.spec for p in plans):
                cap = answer_cap(questions, self.components.generator(spec).count_tokens,
                                 self.components.config.generation.max_new_tokens)
                self.caps.update({spec: cap} if cap is not None else {})
        by_id = {q.id: q for q in questions}
        retrieved = self.retrieve(questions)
        records: list[AnswerRecord] = []
        if self.executor is not None:  # every variant's questions fan out together (``evaluation.executor``)
            from ragtune.evaluation.executor import answer_elsewhere
            by_plan = answer_elsewhere(self, self.executor, plans, questions)
        else:  # variants of different models side by side where the cores allow (``evaluation.lanes``)
            by_plan = answer_variants(self, plans, questions)
        for plan, answered in zip(plans, by_plan):
            if plan.variant.retrieves:
                for record in answered:
                    record.retrieved = retrieved.get(record.question_id)
            records.extend(answered)
        self.judge_all(records, by_id)
        evaluators = self._evaluators()
        rows = [self._row(by_id[r.question_id], r, evaluate_row(evaluators, by_id[r.question_id], r), self.judge_spec)
                for r in records]
        variants = [p.variant.value for p in plans]
        self._explain(questions, rows)
        config = self._config_json(plans, questions, source, time.perf_counter() - started)
        config["measurement_cost"] = measurement_cost(rows, self.config.prices, self._pricing)
        self.notes.extend(measurement_words(config["measurement_cost"], self.config.prices.currency, format_money))
        return EvalResult(config=config, rows=rows, aggregates=aggregate(rows, variants), notes=self.notes)

    def _evaluators(self) -> list:
        cfg, answer = self.config, self.components.config.answer
        scorer, scorer_id = None, ""
        if cfg.index and any(v.retrieves for v in cfg.variants):
            embedder = self.components.index(cfg.index).manifest.embedder
            scorer = self.components.support_scorer(self.components.embedder(embedder.spec))
            scorer_id = answer.support_model or f"overlap:{embedder.model_dump_json()}"
        k = cfg.k or answer.k
        citations = CitationEvaluator(scorer, answer.min_support, self.scores if cfg.cache else None, scorer_id)
        return [AnswerEvaluator(), RetrievalEvaluator(k, cfg.retrieval_depth), citations,
                AbstentionEvaluator(), FormatEvaluator(),
                CostEvaluator(cfg.prices, self._pricing, loaded_device(self.components.config.generation.device))]

    @staticmethod
    def _row(question: Question, record: AnswerRecord, metrics: dict[str, float], judge: str | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {"id": question.id, "variant": record.variant.value, "model": record.model,
                               "question": question.question}
        answer = record.answer
        if answer is None:
            row.update(answer=None, citations=[], error=record.error)
            return row
        row["answer"] = answer.get("answer", "")
        row["citations"] = [{k: c.get(k) for k in ("marker", "doc_id", "chunk_id", "source", "support")}
                            for c in answer.get("citations") or []]
        if answer.get("abstained"):
            row["abstain_reason"] = answer.get("abstain_reason")
        if answer.get("structured") is not None:
            s = answer["structured"]
            row["structured"] = {"valid": s.get("valid"), "errors": s.get("errors", [])[:3], "attempts": s.get("attempts"),
                                 "constrained": bool(s.get("constrained"))}
        if record.judge is not None:
            row["judge"] = row_verdict(record.judge, judge)
        row["cached"] = record.cached
        row.update({k: round(v, 6) for k, v in metrics.items()})
        return row

    def _pricing(self, spec: str) -> PricingBasis:
        """How the model of ``spec`` is paid for, as its generator declares."""
        return self.components.generator(spec).pricing

    def _explain(self, questions: Sequence[Question], rows: list[dict[str, Any]]) -> None:
        cfg = self.config
        if not any(q.reference_answers for q in questions) and not any(q.reference_output is not None for q in questions):
            self.notes.append("no reference answers: exact match, token F1 and the judge were not measured "
                              "(reference-free metrics only)")
        if any(v.retrieves for v in cfg.variants) and not any(has_gold(q) for q in questions):
            self.notes.append("no gold documents or reference contexts: retrieval metrics and citation precision/recall "
                              "were not measured")
        answered = {r["model"] for r in rows if r.get("answer") is not None}
        unpriced = sorted(spec for spec in answered if cfg.prices.price_for(spec, self._pricing(spec)) is None)
        if unpriced:
            self.notes.append(f"no price for {', '.join(unpriced)}: cost per 1,000 queries is left out "
                              "(give prices with --prices FILE)")
        errors = [r for r in rows if r.get("error")]
        if errors:
            self.notes.append(f"{len(errors)} answer(s) failed and are left out of the metrics; first: "
                              f"question '{errors[0]['id']}' ({errors[0]['variant']}): {errors[0]['error']}")
        if self.judge_spec:
            self.notes.append(f"correctness judged by {self.judge_spec}")

    def _config_json(self, plans: list[VariantPlan], questions: Sequence[Question], source: str | None,
                     wall: float) -> dict[str, Any]:
        cfg, ws = self.config, self.components.config
        return {
            "format_version": FORMAT_VERSION, "ragtune_version": library_versions().get("ragtune", "unknown"),
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "questions": source, "question_count": len(questions), "variants": [p.variant.value for p in plans],
            "models": {p.variant.value: p.spec for p in plans}, "model": cfg.model or ws.generation.model,
            "tuned": self.tuned_ref, "index": cfg.index, "index_fingerprint": self.fingerprint,
            "k": cfg.k or ws.answer.k, "mode": (cfg.mode or ws.retrieval.mode).value, "rerank": cfg.rerank or ws.rerank.model,
            "system": cfg.system, "prompt_system": cfg.prompt_system, "prompt_corpus": cfg.prompt_corpus,
            "schema_mode": cfg.schema_mode.value, "repairs": cfg.repairs,
            "judge": self.judge_spec, "retrieval_depth": cfg.retrieval_depth,
            "answer_caps": {spec: cap.to_json() for spec, cap in self.caps.items()},
            "generation": {k: v for k, v in ws.generation.model_dump(mode="json").items() if k in _GENERATION_KEYS},
            "answer": ws.answer.model_dump(mode="json"), "prices": cfg.prices.model_dump(mode="json"),
            "run": {"wall_s": round(wall, 3), **self.counts},
        }

