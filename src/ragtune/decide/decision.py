"""From per-question rows to a ``Decision``: scores, verdicts, costs, the pick and the words around it.

The same code decides after the candidates answered (``DecideRunner``) and from saved rows (``decide --rows``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ragtune.decide.base import CandidateResult, Decision
from ragtune.decide.config import DecideConfig
from ragtune.costs.candidates import CandidateCost, Training, break_even, by_volume
from ragtune.costs.figures import Figure
from ragtune.costs.hosting import store_hosting
from ragtune.costs.measurement import measurement_cost
from ragtune.decide.costs import candidate_cost
from ragtune.decide.data import KNOWLEDGE
from ragtune.decide.reasons import decision_reasons, disagreements, what_would_change
from ragtune.decide.selection import (
    PrimaryMetric,
    Selection,
    check_override,
    choose_metric,
    higher_is_better,
    per_question,
    select,
    stratified,
)
from ragtune.decide.verdict import VerdictRules
from ragtune.evaluation.metrics import aggregate
from ragtune.generation.base import PricingBasis

ATTRIBUTION_SUPPORT = 0.5
"""An answer is attributed when its ``faithfulness`` (the share of its sentences that the passages it cites support,
each at the support scorer's ``min_support``) is at least this."""


def attributed_share(rows: list[dict[str, Any]], kinds: dict[str, str]) -> float:
    """Share of a candidate's answered (not abstained) knowledge questions whose cited passages support the answer
    (``faithfulness`` at least ``ATTRIBUTION_SUPPORT``); an answer without a support score is not attributed."""
    answered = [r for r in rows if kinds.get(r["id"]) == KNOWLEDGE and r.get("answer") is not None and not r.get("abstained")]
    good = sum(1 for r in answered if isinstance(r.get("faithfulness"), (int, float))
               and r["faithfulness"] >= ATTRIBUTION_SUPPORT)
    return good / len(answered) if answered else 0.0


@dataclass
class Measured:
    """What the candidates produced, whichever way it was obtained."""

    rows: dict[str, list[dict[str, Any]]]  # candidate -> its rows
    kinds: dict[str, str]  # question id -> task
    tasks: list[str]
    specs: dict[str, str]  # candidate -> model spec it answered with
    pricing: dict[str, PricingBasis] = field(default_factory=dict)  # candidate -> how its model is paid for
    groups: dict[str, str] = field(default_factory=dict)  # question id -> cluster of questions sharing a source
    trainings: dict[str, Training] = field(default_factory=dict)
    training_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    judged: bool | None = None  # knowledge rows scored by a judge (default: a judge is configured)
    acts_as: dict[str, str] = field(default_factory=dict)  # distilled, teacher -> the candidate costed alike
    scores: dict[str, dict[str, float | None]] | None = None  # candidate -> question -> score, given (repeats averaged)
    synthetic: set[str] = field(default_factory=set)  # ids of questions written from the index, not by people
    serving_device: str | None = None  # where the models paid by machine time answered (cpu, cuda); None: not recorded
    pricing_of: Callable[[str], PricingBasis | None] = lambda spec: None  # how a model spec (the judge's) is paid for


def primary_metric(cfg: DecideConfig, m: Measured) -> PrimaryMetric:
    """The metric that decides on what ``m`` measured."""
    return choose_metric(m.tasks, cfg.judge is not None if m.judged is None else m.judged, cfg.metric)


def synthetic_warning(m: Measured) -> str | None:
    """The warning a decision carries when some of its questions are synthetic (``ragtune questions generate``)."""
    made = len(m.synthetic & set(m.kinds))
    if not made:
        return None
    return (f"{made} of {len(m.kinds)} questions are synthetic (written from the index by ragtune questions generate, "
            "not by people): the verdicts measure the candidates on them, and may not carry over to real users' questions")


def store_figure(cfg: DecideConfig, facts: Any) -> Figure | None:
    """The monthly hosting of the measured index's store, by the rule ``advise`` uses too (None: no index measured)."""
    index = getattr(facts, "index", None)
    if index is None:
        return None
    return store_hosting(cfg.prices, index.store, index.chunks, index.embedding_dimension, index.chunk_bytes_mean)


def verdict_rules(cfg: DecideConfig, metric: PrimaryMetric) -> VerdictRules:
    return VerdictRules(margin=cfg.margin, min_questions=cfg.min_questions, seed=cfg.seed,
                        higher_is_better=higher_is_better(metric), weights=cfg.weights)


def build_decision(cfg: DecideConfig, m: Measured, facts: Any, changes: float, changes_source: str,
                   candidates: list[str]) -> Decision:
    """The decision over ``candidates`` (in order; those in ``m.skipped`` are reported with their reason)."""
    from ragtune.advisor.rules import RuleThresholds, apply_rules, rules_choice

    all_rows = [r for rs in m.rows.values() for r in rs]
    check_override(cfg.metric, all_rows)
    metric = primary_metric(cfg, m)
    rules = verdict_rules(cfg, metric)
    scores: dict[str, dict[str, float | None]] = {}
    costs: dict[str, CandidateCost] = {}
    results: dict[str, CandidateResult] = {}
    for c in candidates:
        if c in m.skipped or c not in m.rows:
            results[c] = CandidateResult(c, measured=False, skipped_reason=m.skipped.get(c, "no rows"))
            continue
        scores[c] = m.scores[c] if m.scores is not None and c in m.scores else per_question(m.rows[c], metric, m.kinds)
        results[c], costs[c] = _measured(cfg, c, m, scores[c], metric, rules, changes, changes_source,
                                         store_figure(cfg, facts))
    cited = None
    if cfg.attribution and KNOWLEDGE in m.tasks:
        cited = {c: attributed_share(m.rows[c], m.kinds) for c in scores}
        for name, share in cited.items():
            results[name].cited_share = round(share, 4)
    failed = {c: {r["id"] for r in m.rows[c] if r.get("answer") is None} for c in scores}
    selection = select(scores, m.kinds, {c: k.total_usd for c, k in costs.items()},
                       {c: k.latency_ms_p50 for c, k in costs.items()}, cfg.latency_budget_ms, cited, rules, m.groups, failed)
    for name, comparison in selection.comparisons.items():
        results[name].vs_best = comparison
    if selection.verdicts is not None:
        for name, comp in selection.verdicts.comparisons.items():
            results[name].verdict = comp.verdict
            results[name].verdict_reason = comp.reason
    verdicts = apply_rules(facts, RuleThresholds())
    by_rules, _ = rules_choice(verdicts)
    pick = selection.pick
    return Decision(
        recommendation=pick, primary_metric=metric.name, primary_metric_description=metric.describe(),
        reasons=decision_reasons(cfg, metric, selection, results, costs, m.split, rules),
        candidates=results, best=selection.best, tied_with_best=selection.tied, rules_recommendation=by_rules.value,
        rules=[x.model_dump(mode="json") for x in verdicts], disagreements=disagreements(by_rules, selection, results),
        what_would_change=what_would_change(cfg, selection, results, costs),
        break_even=break_even(pick, costs, cfg.months, list(costs)) if pick else [],
        facts=facts.model_dump(mode="json"), split=m.split, notes=list(dict.fromkeys(m.notes)),
        config={**cfg.model_dump(mode="json", exclude={"prices"}),
                "prices": cfg.prices.rates()},
        run=m.run, measurement_cost=measurement_cost(all_rows, cfg.prices, m.pricing_of),
        rows=[{**r, "primary": metric.score(r, m.kinds.get(r["id"], KNOWLEDGE)),
               **({"group": m.groups[r["id"]]} if r["id"] in m.groups else {}),
               **({"synthetic": True} if r["id"] in m.synthetic else {})}
              for c in candidates if c in m.rows for r in m.rows[c]],
verdict=_verdict_record(cfg, m, selection, rules, costs))


def _verdict_record(cfg: DecideConfig, m: Measured, selection: Selection, rules: VerdictRules,
                    costs: dict[str, CandidateCost]) -> dict[str, Any]:
    """The decision's ``verdict``: the margin, each outcome, the method, the warnings (synthetic questions first)."""
    v = selection.verdicts
    synthetic = synthetic_warning(m)
    return {"margin": rules.margin, "settled": selection.settled, "as_good": selection.tied,
            "worse": v.of("worse") if v else [], "not_yet_known": v.of("not yet known") if v else [],
            "method": v.method if v else None, "questions_in_common": v.n if v else 0,
            "questions_left_out": v.excluded if v else 0, "task_weights": v.weights if v else {},
            "higher_is_better": rules.higher_is_better, "min_questions": rules.min_questions,
            "max_failed_share": rules.max_failed_share, "attribution_support": ATTRIBUTION_SUPPORT,
            "synthetic_questions": len(m.synthetic & set(m.kinds)),
            "warnings": ([synthetic] if synthetic else []) + (v.warnings if v else []),
            "money_unknown": selection.unknown_cost,
            "by_volume": by_volume(costs, selection.tied, cfg.queries_per_month, cfg.months) if selection.settled else []}


def _measured(cfg: DecideConfig, c: str, m: Measured, scores: dict[str, float | None], metric: PrimaryMetric,
              rules: VerdictRules, changes: float, changes_source: str,
              store: Figure | None) -> tuple[CandidateResult, CandidateCost]:
    """A measured candidate's result (score with its interval, per task, costs, training) and its costs."""
    mine = m.rows[c]
    cost = candidate_cost(m.acts_as.get(c, c), m.specs[c], m.pricing.get(c), mine, cfg, m.trainings.get(c), changes,
                          changes_source, store, m.serving_device)
    valid = {q: s for q, s in scores.items() if s is not None}
    summary = stratified(valid, m.kinds, weights=rules.weights)
    by_task = {}
    for kind in m.tasks:
        task_scores = {q: s for q, s in valid.items() if m.kinds.get(q) == kind}
        if task_scores:
            by_task[kind] = {"metric": metric.override or metric.by_task[kind], **stratified(task_scores, m.kinds)}
    training = m.trainings.get(c)
    rows = [{**r, "variant": c} for r in mine]
    result = CandidateResult(
        c, measured=True, model=m.specs[c], n=len(valid), score=summary["mean"], ci95=summary["ci95"],
        by_task=by_task, metrics=aggregate(rows, [c])[c], latency_ms_p50=round(cost.latency_ms_p50, 1),
        input_tokens=round(cost.input_tokens, 1), output_tokens=round(cost.output_tokens, 1),
        cost_per_1k_queries=cost.cost_per_1k_queries, monthly_usd=cost.monthly_usd, one_off_usd=cost.one_off_usd,
        total_usd=cost.total_usd, cost_basis=cost.basis, assumed=cost.assumed, cost_figures=cost.figures.to_json(),
        training=None if training is None else {**m.training_records.get(c, {}), "ref": training.ref})
    return result, cost
