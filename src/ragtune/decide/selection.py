"""The task's primary metric, each answer's score on it, and the pick: the cheapest candidate that is not
significantly worse than the best.

- Knowledge questions are scored by token F1 against the reference answers (judged correctness with a judge);
  format questions by ``format_score``: the mean of two shares, the reply fitting the schema (parsing as JSON
  without one) and the reference fields it reproduced; both are reported beside it. Exact match is never the headline
  of free-text answers.
- A mixed set scores each row by its own task's metric; the mean of the task means decides (each task counts
  the same however many questions it has), and each task's mean is reported beside it. Intervals resample the
  questions within each task.
- An unanswerable knowledge question (``answerable: false``) scores 1 when the candidate abstained, else 0.
- An answer that failed (an error row) scores 0: a candidate that cannot answer is not better for it.
- "Not significantly worse" is a paired bootstrap over the questions both answered: the 95% interval of
  (candidate - best) reaches 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ragtune.decide.data import FORMAT, KNOWLEDGE
from ragtune.errors import InputError
from ragtune.evaluation.stats import mean_ci95

FORMAT_METRIC = "format_score"


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a metric (a number, not a boolean), else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def knowledge_metric(judge: bool) -> str:
    return "judge_correct" if judge else "token_f1"


def format_score(row: dict[str, Any]) -> float:
    """The mean of two shares: whether the reply fits the schema (parses, without one), and the reference fields it
    got right (a reply with none right, or unparsed, gets none). Without reference fields, validity alone."""
    valid = float(row.get("schema_valid", row.get("json_valid", 0.0)))
    fields = [v for k, v in row.items() if k.startswith("field_acc.")]
    if not fields:
        return valid
    return (valid + sum(fields) / len(fields)) / 2


@dataclass(frozen=True)
class PrimaryMetric:
    """The metric that decides: one name per task present (or one override for all)."""

    by_task: dict[str, str]
    override: str | None = None

    @property
    def name(self) -> str:
        if self.override:
            return self.override
        return "+".join(self.by_task[t] for t in (KNOWLEDGE, FORMAT) if t in self.by_task)

    def describe(self) -> str:
        if self.override:
            return f"{self.override} (chosen with --metric)"
        parts = {KNOWLEDGE: "knowledge questions by {m} against the reference answers",
                 FORMAT: "format questions by {m}: the mean of schema validity and the share of reference fields right"}
        return "; ".join(parts[t].format(m=m) for t, m in self.by_task.items())

    def score(self, row: dict[str, Any], kind: str) -> float | None:
        """The row's score on this metric (0 for a failed answer; None where the metric does not apply)."""
        if row.get("answer") is None:
            return 0.0
        if self.override:
            return _number(row.get(self.override))
        metric = self.by_task.get(kind)
        if metric == FORMAT_METRIC:
            return format_score(row)
        if "abstain_correct" in row:  # an unanswerable question: abstaining is the right answer
            return float(row["abstain_correct"])
        return _number(row.get(metric)) if metric else None


def choose_metric(tasks: Sequence[str], judge: bool, override: str | None) -> PrimaryMetric:
    """The primary metric of the held-out tasks (see the module docstring)."""
    by_task = {}
    for task in tasks:
        by_task[task] = knowledge_metric(judge) if task == KNOWLEDGE else FORMAT_METRIC
    return PrimaryMetric(by_task=by_task, override=override)


def check_override(metric: str | None, rows: Sequence[dict[str, Any]]) -> None:
    """``InputError`` when ``--metric`` names a metric no answer was scored on."""
    if metric and not any(_number(r.get(metric)) is not None for r in rows):
        known = sorted({k for r in rows for k, v in r.items() if _number(v) is not None})
        raise InputError(f"--metric '{metric}': no answer was scored on it; measured metrics: {', '.join(known[:20])}")


def per_question(rows: Sequence[dict[str, Any]], metric: PrimaryMetric, kinds: dict[str, str]) -> dict[str, float]:
    """``{question id: score}`` of one candidate's rows on ``metric`` (rows it does not apply to are left out)."""
    out: dict[str, float] = {}
    for row in rows:
        value = metric.score(row, kinds.get(row["id"], KNOWLEDGE))
        if value is not None:
            out[row["id"]] = value
    return out


def _strata(ids: Sequence[str], kinds: dict[str, str]) -> list[np.ndarray]:
    groups: dict[str, list[int]] = {}
    for i, qid in enumerate(ids):
        groups.setdefault(kinds.get(qid, KNOWLEDGE), []).append(i)
    return [np.asarray(g) for g in groups.values()]


def task_mean(scores: dict[str, float], kinds: dict[str, str]) -> float:
    """The mean of the task means of per-question ``scores``."""
    ids = list(scores)
    values = np.asarray([scores[q] for q in ids], dtype=np.float64)
    return float(np.mean([values[g].mean() for g in _strata(ids, kinds)])) if ids else float("nan")


def stratified(values: dict[str, float], kinds: dict[str, str], resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The mean of task means of per-question ``values`` and its 95% bootstrap interval (questions resampled
    within each task): ``{"mean", "ci95", "n"}``."""
    ids = list(values)
    if not ids:
        return mean_ci95([])
    data = np.asarray([values[q] for q in ids], dtype=np.float64)
    strata = _strata(ids, kinds)
    mean = float(np.mean([data[g].mean() for g in strata]))
    rng = np.random.default_rng(seed)
    samples = np.zeros(resamples)
    for g in strata:
        samples += data[g][rng.integers(0, g.size, size=(resamples, g.size))].mean(axis=1)
    low, high = np.percentile(samples / len(strata), [2.5, 97.5])
    return {"mean": mean, "ci95": [float(low), float(high)], "n": len(ids)}


def paired_difference(best: dict[str, float], other: dict[str, float], kinds: dict[str, str]) -> dict[str, Any]:
    """``other - best`` over the questions both answered, with a paired bootstrap 95% interval (within each task)."""
    diff = stratified({q: other[q] - best[q] for q in other if q in best}, kinds)
    return {"delta": diff["mean"], "ci95": diff["ci95"], "n": diff["n"]}


@dataclass
class Selection:
    """The outcome: the best on quality, those not significantly below it, and the cheapest of them."""

    best: str | None
    tied: list[str]
    pick: str | None
    comparisons: dict[str, dict[str, Any]]
    over_latency: list[str]  # not eligible: over the latency budget or, with attribution required, not citing
    reasons: list[str]


ATTRIBUTION_SHARE = 0.9
"""With attribution required, the least share of a candidate's answered knowledge questions that must carry citations."""


def select(scores: dict[str, dict[str, float]], kinds: dict[str, str], totals: dict[str, float],
           latency_p50: dict[str, float], latency_budget_ms: float | None,
           cited_share: dict[str, float] | None = None) -> Selection:
    """Pick among measured candidates that meet the stated needs (within the latency budget; with ``cited_share``
    given, because attribution is required, citing at least ``ATTRIBUTION_SHARE`` of their knowledge answers),
    tied with the best, then cheapest over the horizon.

    ``scores``: candidate -> question id -> score; ``totals``: candidate -> cost over the horizon.
    """
    over = [c for c in scores if latency_budget_ms is not None and latency_p50.get(c, 0.0) > latency_budget_ms]
    uncited = [c for c in scores if cited_share is not None and cited_share.get(c, 0.0) < ATTRIBUTION_SHARE]
    eligible = {c: s for c, s in scores.items() if c not in over and c not in uncited and s}
    reasons: list[str] = []
    if over:
        reasons.append(f"over the latency budget of {latency_budget_ms:,.0f} ms p50, so not eligible: "
                       + ", ".join(f"{c} ({latency_p50[c]:,.0f} ms)" for c in over))
    if uncited:
        reasons.append(f"attribution is required and these cite under {ATTRIBUTION_SHARE:.0%} of their answers, so not "
                       "eligible: " + ", ".join(f"{c} ({cited_share.get(c, 0.0):.0%} cited)" for c in uncited))
        over = over + [c for c in uncited if c not in over]
    if not eligible:
        return Selection(None, [], None, {}, over, reasons + ["no measured candidate is eligible"])
    means = {c: task_mean(s, kinds) for c, s in eligible.items()}
    best = max(means, key=lambda c: (means[c], -totals.get(c, 0.0)))
    comparisons: dict[str, dict[str, Any]] = {}
    tied = [best]
    for c, s in eligible.items():
        if c == best:
            continue
        diff = paired_difference(eligible[best], s, kinds)
        below = bool(diff["ci95"][1] < 0)
        comparisons[c] = {"delta": diff["delta"], "ci95": diff["ci95"], "n": diff["n"], "significantly_below_best": below}
        if not below:
            tied.append(c)
    pick = min(tied, key=lambda c: (totals.get(c, float("inf")), -means[c]))
    return Selection(best, tied, pick, comparisons, over, reasons)
