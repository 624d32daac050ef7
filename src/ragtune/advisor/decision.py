"""The decision: facts → rule verdicts → eval check → costs → one recommendation with its reasons.

Measured eval results outrank the rules of thumb: when the eval measured the rules' choice and another
variant clearly beats it on the task's deciding metric (non-overlapping 95% intervals, or a lead of at least
``eval_margin`` when no interval is given), the measurement wins and the report says that they disagree.
When the rules leave the choice open (nothing calls for retrieval or tuning) and a corpus exists, the cost
model picks between carrying the corpus in the prompt and retrieving from it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.evaluation.base import Candidate
from ragtune.advisor.base import (CostReport, EvalFacts, EvalVerdict, Facts, Recommendation, RuleVerdict, StatedNeeds)
from ragtune.common import format_money
from ragtune.advisor.costs import CostConfig, CostModel, TrainingMode, cost_inputs, round_volume
from ragtune.advisor.facts import TokenCounter, eval_facts, example_facts, index_facts, token_counter
from ragtune.advisor.rules import RuleThresholds, apply_rules, rules_choice
from ragtune.costs.prices import PriceTable
from ragtune.common import validation_message
from ragtune.errors import ConfigError, InputError
from ragtune.index import Store

VARIANT_OF = {Candidate.prompt: "base", Candidate.rag: "rag", Candidate.ft: "ft", Candidate.rag_ft: "rag+ft"}
FORMAT_METRICS = ("schema_valid", "json_valid", "fields_f1")
ANSWER_METRICS = ("judge_correct", "token_f1", "faithfulness", "citation_precision", "schema_valid", "json_valid")
"""Deciding metrics in order of preference; exact match is never the headline of free-text answers."""


class AdvisorConfig(BaseModel):
    """Everything the advisor can be told: prices and rates, rule thresholds, and how to count tokens."""

    model_config = ConfigDict(extra="forbid")

    costs: CostConfig = Field(default_factory=CostConfig, description="Prices and rates of the cost model.")
    prices: PriceTable = Field(default_factory=PriceTable.default, description="The price table (--prices) shared with eval "
                                                                                "and decide: store hosting, machine rates.")
    rules: RuleThresholds = Field(default_factory=RuleThresholds, description="Thresholds of the rules of thumb.")
    tokenizer: str | None = Field(None, description="Generator spec whose tokenizer counts tokens ('regex' for the estimate).")


def load_advisor_config(path: str | Path | None = None, settings: Sequence[str] = ()) -> AdvisorConfig:
    """An ``AdvisorConfig`` from a TOML or JSON file (``[costs]``, ``[rules]``; or under ``[advisor]``) and
    ``SECTION.FIELD=VALUE`` settings (values parsed as JSON where they can be)."""
    data: dict[str, Any] = {}
    where = "advisor settings"
    if path is not None:
        path = Path(path)
        where = str(path)
        if not path.is_file():
            raise InputError(f"{path}: no such advisor settings file")
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}") from exc
        if isinstance(data.get("advisor"), dict):
            data = data["advisor"]
    for item in settings:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise InputError(f"--set '{item}': expected SECTION.FIELD=VALUE, e.g. costs.gpu_usd_per_hour=3.2")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"--set '{item}': '{part}' is not a section")
        node[parts[-1]] = value
    try:
        return AdvisorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, where)) from exc


def stated_needs(**values: Any) -> StatedNeeds:
    """``StatedNeeds`` from keyword values; nonsensical numbers are an ``InputError`` naming the field."""
    try:
        return StatedNeeds(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{field.replace('_', '-')}: {err['msg'].lower()} (got {err.get('input')!r})") from exc


def measure_facts(store: Store, needs: StatedNeeds, *, index: str | None = None, examples: str | Path | None = None,
                  evaluation: str | Path | None = None, counter: TokenCounter | None = None,
                  tokenizer: str | None = None) -> Facts:
    """Measure every fact the inputs allow; an eval run against another index is an ``InputError``."""
    eval_part: EvalFacts | None = None
    if evaluation is not None:
        eval_part = eval_facts(evaluation)
        if index is not None and eval_part.index is not None and eval_part.index != index:
            raise InputError(f"{evaluation}: this eval ran against index '{eval_part.index}', not '{index}': "
                             f"give the eval of '{index}' or --index {eval_part.index}")
    if index is not None:
        store.manifest(index)  # IndexNotFoundError before any tokenizer loads
    if index is None and examples is None and eval_part is None:
        raise InputError("nothing to measure: give --index, --examples or --eval (or several)")
    if index is None and examples is None:  # only the eval: no tokenizer is loaded
        return Facts(stated=needs, index=None, examples=None, eval=eval_part)
    counter = counter or token_counter(tokenizer)
    return Facts(stated=needs, index=index_facts(store, index, counter) if index is not None else None,
                 examples=example_facts(examples, counter) if examples is not None else None, eval=eval_part)


def estimate_costs(facts: Facts, config: AdvisorConfig) -> CostReport:
    """The cost model run on measured facts (managed training is refused when content may not leave)."""
    costs, notes = config.costs, []
    if facts.stated.content_may_leave is False and costs.training is TrainingMode.managed:
        costs = costs.model_copy(update={"training": TrainingMode.self_hosted})
        notes.append("content may not leave: fine-tuning costed on self-hosted GPUs, not a managed service")
    return CostModel(costs, config.prices).run(cost_inputs(facts, config.rules.knowledge_tokens), notes)


def eval_verdict(facts: Facts, choice: Candidate, thresholds: RuleThresholds) -> EvalVerdict | None:
    """What the eval says about the rules' choice, on the task's deciding metric (None if it has none)."""
    evaluation = facts.eval
    if evaluation is None:
        return None
    comparable = {v: m for v, m in evaluation.variants.items() if Candidate.recommendable(v) is not None}
    # the eval's own rows say what it measured: format metrics only where its questions asked for JSON
    format_task = any("schema_valid" in m or "json_valid" in m for m in comparable.values())
    order = FORMAT_METRICS if format_task else ANSWER_METRICS
    metric = next((name for name in order if sum(name in m for m in comparable.values()) >= 2), None)
    if metric is None:
        return None
    scores = {v: m[metric] for v, m in comparable.items() if metric in m}
    budget = facts.stated.latency_budget_ms
    over = [v for v,
            m in comparable.items() if budget is not None and "latency_ms_p50" in m and m["latency_ms_p50"].mean > budget]
    candidates = {v: s for v, s in scores.items() if v not in over} or scores
    best = max(candidates, key=lambda v: candidates[v].mean)
    mine = VARIANT_OF[choice]
    mine_score = scores.get(mine)
    b = scores[best]
    overrides = False
    if mine_score is None:
        text = (f"the eval did not measure {mine}, the rules' choice: best measured is {best} at {b.mean:.3f} {metric}; "
                f"measure {mine} to settle it")
    elif best == mine:
        text = f"the eval agrees: {mine} scores best at {b.mean:.3f} {metric}"
    elif mine in over:
        overrides = True
        lat = comparable[mine]["latency_ms_p50"].mean
        text = (f"{mine} exceeds the latency budget ({lat:,.0f} ms p50 > {budget:,.0f} ms); "
                f"{best} is the best within it at {b.mean:.3f} {metric}")
    else:
        if b.ci95 is not None and mine_score.ci95 is not None:
            overrides = b.mean - b.ci95 > mine_score.mean + mine_score.ci95
            test = "their 95% intervals do not overlap" if overrides else "their 95% intervals overlap"
        else:
            overrides = b.mean - mine_score.mean >= thresholds.eval_margin
            test = f"lead {'≥' if overrides else '<'} {thresholds.eval_margin:g}"
        text = (f"{best} scores {b.mean:.3f} {metric} against {mine_score.mean:.3f} for {mine} ({test})"
                + ("" if overrides else ": too close to overrule the rules"))
    return EvalVerdict(metric=metric, scores=scores, best=best, rules_choice=choice,
                       rules_choice_score=mine_score.mean if mine_score else None, overrides=overrides,
                       over_latency_budget=over, explanation=text)


def _volume(x: float) -> str:
    return f"{round_volume(x):,.0f}"


def what_would_change(choice: Candidate, verdicts: list[RuleVerdict], costs: CostReport, facts: Facts) -> list[str]:
    """Sentences naming what would change the answer: volumes, examples, corpus size, attribution, an eval."""
    out: list[str] = []
    h = costs.months
    for other in costs.variants:
        other_a = Candidate(other)
        # Only approaches that meet the needs the choice meets compete on cost.
        if other_a == choice or choice.value not in costs.variants or (choice.retrieves and not other_a.retrieves):
            continue
        up = costs.between(choice, other_a)
        if up is not None and up.queries_per_month is not None:
            if up.queries_per_month <= costs.queries_per_month:
                continue
            line = f"at {_volume(up.queries_per_month)}+ queries/month {other} costs less than {choice.value} over {h} months"
            if up.volume_for_3_month_payback and up.volume_for_3_month_payback > up.queries_per_month:
                line += f"; at {_volume(up.volume_for_3_month_payback)} queries/month it pays back in 3 months"
            out.append(line)
        down = costs.between(other_a, choice)
        if down is not None and down.queries_per_month and down.queries_per_month > 0:
            out.append(f"below {_volume(down.queries_per_month)} queries/month {other} costs less than {choice.value} over {h} "
                       "months")
    for v in verdicts:
        if not v.would_change or v.fired or v.withheld:
            continue
        # A rule that would only add what the choice already has changes nothing.
        adds_retrieval = v.rule in ("changing_content", "attribution", "knowledge_size")
        if (adds_retrieval and choice.retrieves) or (not adds_retrieval and choice.tuned):
            continue
        out.append(v.would_change)
    if facts.eval is None:
        out.append("a measured decision (ragtune decide: every candidate on your held-out questions) outranks these rules of "
                   "thumb")
    return out


def next_command(choice: Candidate, facts: Facts, model: str | None) -> str:
    """The one command to run next."""
    ex, index = facts.examples, facts.index
    spec = model or "local"
    if ex is not None and ex.invalid_rows:
        return f"ragtune data check {ex.file}"
    name = index.index if index is not None else "NAME"
    if choice.tuned and ex is not None:
        return f"ragtune tune lora --examples {ex.file} --base {spec} --name {Path(ex.file).stem.replace('.', '-')}"
    if facts.eval is None and index is not None and choice is Candidate.rag:
        return f"ragtune decide --questions QUESTIONS.jsonl --index {name} -m {spec} --report decide.html"
    if choice.retrieves:
        return f'ragtune ask "QUESTION" --index {name} -m {spec}'
    return f'ragtune ask "QUESTION" -m {spec}'


def _why_not_cheapest(choice: Candidate, verdicts: list[RuleVerdict], costs: CostReport, eligible: list[Any],
                      verdict: EvalVerdict | None) -> list[str]:
    """Why the cheapest approach of the cost table lost: it does not retrieve where answers need to, it scored
    lower in the eval, or the rules call for what it lacks."""
    cheapest = min(costs.variants.values(), key=lambda v: v.cumulative[-1]).approach
    if cheapest == choice:
        return []
    lead = f"{cheapest.value} is the cheapest in the cost table"
    if verdict is not None and VARIANT_OF[cheapest] in verdict.scores and VARIANT_OF[choice] in verdict.scores:
        theirs, mine = verdict.scores[VARIANT_OF[cheapest]].mean, verdict.scores[VARIANT_OF[choice]].mean
        if mine > theirs:
            return [f"{lead} but scored {theirs:.3f} {verdict.metric} in the eval against {mine:.3f} for {choice.value}"]
    retrieval = [v.question for v in verdicts if v.fired and v.favours is not None and v.favours.retrieves]
    if cheapest.value not in {v.approach.value for v in eligible} and retrieval:
        return [f"{lead} but does not retrieve, and the rules found that answers here need retrieval "
                f"({'; '.join(retrieval)})"]
    rules = [v.question for v in verdicts if v.fired and v.favours is not None and v.favours != cheapest]
    if rules:
        return [f"{lead} but the rules call for {choice.value} ({'; '.join(rules)})"]
    return [f"{lead}; {choice.value} is chosen for the reasons above, not for cost"]


def decide(facts: Facts, config: AdvisorConfig, model: str | None = None) -> Recommendation:
    """The recommendation from measured facts (see the module docstring for the order of evidence)."""
    verdicts = apply_rules(facts, config.rules)
    by_rules, reasons = rules_choice(verdicts)
    costs = estimate_costs(facts, config)
    choice = by_rules
    disagreements: list[str] = []
    warnings: list[str] = []
    for v in verdicts:
        if v.withheld:
            warnings.append(f"fine-tuning verdict {v.explanation}")
    warnings = list(dict.fromkeys(warnings))
    cur = costs.currency
    if choice is Candidate.prompt and facts.index is not None and {"rag", "prompt"} <= set(costs.variants):
        rag_total, prompt_total = costs.variants["rag"].cumulative[-1], costs.variants["prompt"].cumulative[-1]
        if rag_total < prompt_total:
            choice = Candidate.rag
            reasons.insert(0, f"the corpus fits in a prompt, but at {costs.queries_per_month:,.0f} queries/month sending it with "
                              f"every query costs {format_money(prompt_total, cur)} over {costs.months} months against "
                              f"{format_money(rag_total, cur)} for retrieval → rag")
    verdict = eval_verdict(facts, choice, config.rules)
    if verdict is not None:
        measured = Candidate.recommendable(verdict.best)  # always known: the verdict compares approaches only
        if verdict.overrides and measured is not None:
            disagreements.append(f"the rules of thumb say {choice.value}, the eval says {measured.value}: {verdict.explanation}. "
                                 "The measurement wins.")
            reasons.insert(0, f"measured: {verdict.explanation} → {measured.value}")
            choice = measured
        else:
            reasons.append(f"measured: {verdict.explanation}")
    elif facts.eval is not None:
        warnings.append(f"{facts.eval.file}: none of the deciding metrics ({', '.join(ANSWER_METRICS)}) "
                        "is reported for two or more of base, rag, ft, rag+ft")
    if choice.value in costs.variants:
        mine = costs.variants[choice.value]
        line = (f"cost: {choice.value} is {format_money(mine.monthly, cur)}/month at {costs.queries_per_month:,.0f} "
                f"queries/month ({format_money(mine.cumulative[-1], cur)} over {costs.months} months)")
        # Only approaches that meet the needs the rules found compete on cost.
        eligible = [v for v in costs.variants.values() if v.approach.retrieves or not choice.retrieves]
        cheap = min(eligible, key=lambda v: v.cumulative[-1])
        if cheap.approach != choice:
            line += (f"; {cheap.approach.value} would cost {format_money(cheap.cumulative[-1], cur)} over the same "
                     f"{costs.months} months")
        reasons.append(line)
        reasons.extend(_why_not_cheapest(choice, verdicts, costs, eligible, verdict))
    if facts.stated.content_may_leave is False and choice.tuned:
        warnings.append("content may not leave: tune on your own GPUs, not a managed fine-tuning service")
    return Recommendation(recommendation=choice, reasons=reasons, rules_recommendation=by_rules, rules=verdicts, eval=verdict,
                          disagreements=disagreements, what_would_change=what_would_change(choice, verdicts, costs, facts),
                          next_command=next_command(choice, facts, model), warnings=warnings, facts=facts, costs=costs)
