"""The words of a decision: why the pick won, where the rules of thumb disagree, and what would change it."""

from __future__ import annotations

from ragtune.decide.base import CandidateResult
from ragtune.decide.config import DecideConfig
from ragtune.decide.costs import CandidateCost, break_even, money
from ragtune.decide.data import DecideData
from ragtune.decide.selection import PrimaryMetric, Selection


def decision_reasons(cfg: DecideConfig, metric: PrimaryMetric, selection: Selection, results: dict[str, CandidateResult],
                     costs: dict[str, CandidateCost], data: DecideData) -> list[str]:
    """Why the pick won: what was measured, the best, who ties with it, who falls below, and the cheapest of the tied."""
    n = len(data.test)
    kinds = ", ".join(f"{len(data.of_kind(k))} {k}" for k in data.tasks())
    reasons = [f"measured on {n} held-out question(s) ({kinds}); primary metric: {metric.describe()}"]
    reasons.extend(selection.reasons)
    if selection.best is None:
        return reasons
    b = results[selection.best]
    reasons.append(f"best on quality: {selection.best} at {b.score:.3f} [{b.ci95[0]:.3f}, {b.ci95[1]:.3f}]")
    others = [c for c in selection.tied if c != selection.best]
    if others:
        reasons.append("not significantly below it (paired bootstrap over the same questions, 95%): "
                       + ", ".join(f"{c} ({results[c].score:.3f})" for c in others))
    below = [c for c, v in selection.comparisons.items() if v["significantly_below_best"]]
    if below:
        reasons.append("significantly below the best: " + ", ".join(
            f"{c} ({results[c].score:.3f}, Δ {selection.comparisons[c]['delta']:+.3f})" for c in below))
    pick = selection.pick
    p = costs[pick]
    reasons.append(f"cheapest of those at {cfg.queries_per_month:,.0f} queries/month over {cfg.months} months: {pick} "
                   f"({money(p.monthly_usd)} {cfg.prices.currency}/month, {money(p.one_off_usd)} one-off; {p.basis})")
    return reasons


def disagreements(by_rules, selection: Selection, results: dict[str, CandidateResult]) -> list[str]:
    """Where the rules of thumb say otherwise than the measurement, and why the measurement wins."""
    pick = selection.pick
    rule = by_rules.value
    if pick is None:
        return []
    if rule == pick:
        return []
    mine = results.get(rule)
    if mine is None or not mine.measured:
        why = mine.skipped_reason if mine is not None else "not among the candidates"
        return [f"the rules of thumb say {rule}, which was not measured ({why}); the measured pick is {pick}"]
    if rule in selection.tied:
        return [f"the rules of thumb say {rule}; the measurement finds it tied with the best but dearer than {pick}: "
                f"{pick} wins on cost"]
    return [f"the rules of thumb say {rule}; the measurement puts it significantly below {selection.best} "
            f"({mine.score:.3f} against {results[selection.best].score:.3f}): the measurement wins"]


def what_would_change(cfg: DecideConfig, selection: Selection, results: dict[str, CandidateResult],
                       costs: dict[str, CandidateCost]) -> list[str]:
    pick = selection.pick
    out: list[str] = []
    if pick is None:
        return out
    for line in break_even(pick, costs, cfg.months, [c for c in selection.tied if c != pick]):
        if line["queries_per_month"] and line["cheaper_above"] == line["candidate"]:
            out.append(f"above {line['queries_per_month']:,.0f} queries/month {line['candidate']} (tied on quality) "
                       f"costs less than {pick} over {cfg.months} months")
        elif line["queries_per_month"] and line["cheaper_above"] == pick:
            out.append(f"below {line['queries_per_month']:,.0f} queries/month {line['candidate']} (tied on quality) "
                       f"costs less than {pick} over {cfg.months} months")
    for c, v in selection.comparisons.items():
        if v["significantly_below_best"]:
            out.append(f"{c} would need {-v['delta']:+.3f} on the primary metric to tie with {selection.best}")
    for c, r in results.items():
        if not r.measured:
            out.append(f"{c} was not measured: {r.skipped_reason}")
    return out
