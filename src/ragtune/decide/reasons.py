"""The words of a decision: why the pick won, where the rules of thumb disagree, and what would change it."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ragtune.decide.base import CandidateResult
from ragtune.common import format_money
from ragtune.decide.config import DecideConfig
from ragtune.costs.candidates import CandidateCost, break_even, by_volume
from ragtune.decide.selection import PrimaryMetric, Selection
from ragtune.decide.verdict import AS_GOOD, NOT_YET_KNOWN, WORSE, Comparison, VerdictRules


def _score(r: CandidateResult) -> str:
    return "—" if r.score is None else f"{r.score:.3f}"


def settle_sentences(selection: Selection, results: dict[str, CandidateResult], totals: dict[str, float | None],
                     margin: float) -> list[str]:
    """One sentence per candidate cheaper than the pick whose verdict is not yet known: how many more questions would tell."""
    v = selection.verdicts
    if v is None or selection.pick is None:
        return []
    pick_total = totals.get(selection.pick)
    out = []
    for c, comp in v.comparisons.items():
        mine = totals.get(c)
        cheaper = pick_total is None or (mine is not None and mine < pick_total) or not selection.settled
        if c == selection.pick or comp.verdict != NOT_YET_KNOWN or not cheaper:
            continue
        if comp.questions_to_settle and comp.delta is not None and comp.delta + margin <= 0:
            out.append(f"about {comp.questions_to_settle:,} more questions would tell whether {c} is below {selection.best} "
                       f"(if the observed difference of {comp.delta:+.3f} holds)")
        elif comp.questions_to_settle:
            out.append(f"about {comp.questions_to_settle:,} more questions would tell whether {c} is within {margin:g} of "
                       f"{selection.best} (if the observed difference of {comp.delta:+.3f} holds)")
        else:
            out.append(f"whether {c} is within {margin:g} of {selection.best} is not yet known ({comp.reason})")
    return out


def decision_reasons(cfg: DecideConfig, metric: PrimaryMetric, selection: Selection, results: dict[str, CandidateResult],
                     costs: dict[str, CandidateCost], split: dict[str, Any], rules: VerdictRules) -> list[str]:
    """Why the pick won: what was measured, the best, each verdict, and the cheapest of those as good."""
    v = selection.verdicts
    n = v.n if v is not None else split.get("test", 0)
    reasons = [f"measured on {n} question(s) every candidate answered; primary metric: {metric.describe()}"
               + ("" if rules.higher_is_better else " (lower is better)")]
    reasons.extend(selection.reasons)
    if selection.best is None or v is None:
        return reasons
    reasons.append(f"verdicts against the best ({v.method}); 'as good' means not more than {rules.margin:g} below it")
    b = results[selection.best]
    reasons.append(f"best measured: {selection.best} at {_score(b)}")
    for label in (AS_GOOD, WORSE, NOT_YET_KNOWN):
        named = [c for c in v.of(label)]
        if named:
            reasons.append(f"{label}: " + ", ".join(_compared(c, selection.best, results[c], v.comparisons[c])
                                                     for c in named))
    pick = selection.pick
    assert pick is not None  # a best was found, so a pick was made
    totals = {c: k.total_usd for c, k in costs.items()}
    if not selection.settled:
        reasons.append(f"no candidate is yet shown as good as the best: meanwhile {pick}, the best measured, is recommended "
                       "provisionally")
    else:
        p = costs[pick]
        cur = cfg.prices.currency
        reasons.append(f"cheapest of those as good at {cfg.queries_per_month:,.0f} queries/month over {cfg.months} months: "
                       f"{pick} ({format_money(p.monthly_usd, cur, '/month')}, {format_money(p.one_off_usd, cur)} one-off; "
                       f"{p.basis})")
    if selection.unknown_cost:
        reasons.append("could not compare money with " + ", ".join(selection.unknown_cost)
                       + ": no price for the model (give --prices)")
    reasons.extend(settle_sentences(selection, results, totals, rules.margin))
    return reasons


def _compared(name: str, best: str, result: CandidateResult, comparison: Comparison) -> str:
    """``name (score, Δ gap to the best; why)``; the best's delta is its lead over the runner-up."""
    delta = f"leads by {comparison.delta:+.3f}" if name == best else f"Δ {comparison.delta:+.3f}"
    return f"{name} ({_score(result)}, {delta}; {comparison.reason})"


def disagreements(by_rules, selection: Selection, results: dict[str, CandidateResult]) -> list[str]:
    """Where the rules of thumb say otherwise than the measurement, and why the measurement wins."""
    pick = selection.pick
    rule = by_rules.value
    if pick is None or rule == pick:
        return []
    mine = results.get(rule)
    if mine is None or not mine.measured:
        why = mine.skipped_reason if mine is not None else "not among the candidates"
        return [f"the rules of thumb say {rule}, which was not measured ({why}); the measured pick is {pick}"]
    if mine.verdict == AS_GOOD:
        return [(f"the rules of thumb say {rule}; the measurement finds it as good as the best but dearer than {pick}: "
                 f"{pick} wins on cost")]
    best = selection.best or ""
    if mine.verdict == WORSE:
        return [(f"the rules of thumb say {rule}; the measurement puts it below {selection.best} "
                 f"({_score(mine)} against {_score(results[best])}): the measurement wins")]
    return [(f"the rules of thumb say {rule}; whether it is as good as {selection.best} is not yet known "
             f"({mine.verdict_reason})")]


def volume_sentences(sweep: list[dict[str, Any]], pick: str) -> list[str]:
    """Where the cheapest of those as good changes across volume: one sentence per volume range."""
    out = []
    for a, b in pairwise(sweep):
        if a["cheapest"] != b["cheapest"] and a["cheapest"] and b["cheapest"]:
            out.append(f"at {a['queries_per_month']:,.0f} queries/month {a['cheapest']} is the cheapest of those as good; at "
                       f"{b['queries_per_month']:,.0f} it is {b['cheapest']}")
    if not out and sweep and sweep[0]["cheapest"]:
        out.append(f"from {sweep[0]['queries_per_month']:,.0f} to {sweep[-1]['queries_per_month']:,.0f} queries/month "
                   f"{sweep[0]['cheapest']} stays the cheapest of those as good")
    return out


def what_would_change(cfg: DecideConfig, selection: Selection, results: dict[str, CandidateResult],
                      costs: dict[str, CandidateCost]) -> list[str]:
    pick = selection.pick
    out: list[str] = []
    if pick is None:
        return out
    if pick in costs:
        for line in break_even(pick, costs, cfg.months, [c for c in selection.tied if c != pick]):
            if line["queries_per_month"] and line["cheaper_above"] == line["candidate"]:
                out.append(f"above {line['queries_per_month']:,.0f} queries/month {line['candidate']} (as good) "
                           f"costs less than {pick} over {cfg.months} months")
            elif line["queries_per_month"] and line["cheaper_above"] == pick:
                out.append(f"below {line['queries_per_month']:,.0f} queries/month {line['candidate']} (as good) "
                           f"costs less than {pick} over {cfg.months} months")
    if selection.settled and len(selection.tied) > 1:
        out.extend(volume_sentences(by_volume(costs, selection.tied, cfg.queries_per_month, cfg.months), pick))
    for c, comp in selection.comparisons.items():
        if comp["verdict"] == WORSE and comp["delta"] is not None:
            out.append(f"{c} would need {-comp['delta']:+.3f} on the primary metric to match {selection.best}")
    for c, r in results.items():
        if not r.measured:
            out.append(f"{c} was not measured: {r.skipped_reason}")
    return out
