"""The task's primary metric, each answer's score on it, and the pick: the cheapest candidate *as good* as the best.

- Knowledge questions are scored by token F1 against the reference answers (judged correctness with a judge);
  format questions by ``format_score``: the mean of two shares, the reply fitting the schema (parsing as JSON
  without one) and the reference fields it reproduced; both are reported beside it. Exact match is never the headline
  of free-text answers.
- A mixed set scores each row by its own task's metric; the score is the weighted mean of the task means (weights
  stated with ``--weights``, else each task's share of the questions), and each task's mean is reported beside it.
  Intervals resample the questions within each task.
- An unanswerable knowledge question (``answerable: false``) scores 1 when the candidate abstained, else 0.
- An answer that failed (an error row) scores 0 on a quality metric (on a metric where lower is better, such as
  ``latency_ms``, it cannot be scored and the question is left out for all); failing too often makes a candidate *worse*.
- Verdicts (*as good*, *worse*, *not yet known*) and their intervals: ``ragtune.decide.verdict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ragtune.decide.data import FORMAT, KNOWLEDGE
from ragtune.decide.verdict import AS_GOOD, VerdictRules, Verdicts, decide_verdicts, task_weights
from ragtune.errors import InputError
from ragtune.evaluation.base import metric_info

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
        return "; ".join(parts[t].format(m=metric_info(m).label.replace("_", " ")) for t, m in self.by_task.items())

    def score(self, row: dict[str, Any], kind: str) -> float | None:
        """The row's score on this metric (0 for a failed answer on a quality metric; None where it does not apply)."""
        if row.get("answer") is None:
            return 0.0 if higher_is_better(self) else None
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


def per_question(rows: Sequence[dict[str, Any]], metric: PrimaryMetric, kinds: dict[str, str]) -> dict[str, float | None]:
    """``{question id: score}`` of one candidate's rows on ``metric`` (None: the row could not be scored on it, so the
    question is left out for every candidate)."""
    out: dict[str, float | None] = {}
    for row in rows:
        value = metric.score(row, kinds.get(row["id"], KNOWLEDGE))
        out[row["id"]] = value if value is None or np.isfinite(value) else None
    return out


def _strata(ids: Sequence[str], kinds: dict[str, str]) -> list[np.ndarray]:
    groups: dict[str, list[int]] = {}
    for i, qid in enumerate(ids):
        groups.setdefault(kinds.get(qid, KNOWLEDGE), []).append(i)
    return [np.asarray(g) for g in groups.values()]


def stratified(values: dict[str, float], kinds: dict[str, str], resamples: int = 2000, seed: int = 0,
               weights: dict[str, float] | None = None) -> dict[str, Any]:
    """The weighted mean of task means of per-question ``values`` (``weights``: task -> weight; default each task's
    share of the questions) and its 95% bootstrap interval (questions resampled within each task):
    ``{"mean", "ci95", "n"}``; no values: ``mean`` and ``ci95`` are None."""
    ids = list(values)
    if not ids:
        return {"mean": None, "ci95": None, "n": 0}
    data = np.asarray([values[q] for q in ids], dtype=np.float64)
    strata = _strata(ids, kinds)
    share = task_weights(ids, kinds, weights)
    w = [share[kinds.get(ids[g[0]], KNOWLEDGE)] for g in strata]
    mean = float(sum(wi * data[g].mean() for wi, g in zip(w, strata)))
    rng = np.random.default_rng(seed)
    samples = np.zeros(resamples)
    for wi, g in zip(w, strata):
        samples += wi * data[g][rng.integers(0, g.size, size=(resamples, g.size))].mean(axis=1)
    low, high = np.percentile(samples, [2.5, 97.5])
    return {"mean": mean, "ci95": [float(low), float(high)], "n": len(ids)}


def paired_difference(best: dict[str, float], other: dict[str, float], kinds: dict[str, str]) -> dict[str, Any]:
    """``other - best`` over the questions both answered, with a paired bootstrap 95% interval (within each task)."""
    diff = stratified({q: other[q] - best[q] for q in other if q in best}, kinds)
    return {"delta": diff["mean"], "ci95": diff["ci95"], "n": diff["n"]}


LOWER_IS_BETTER = {"latency_ms", "false_abstention", "input_tokens", "output_tokens", "cost_usd", "abstained"}
"""Row metrics where less is better (besides any ``*_ms``): ``--metric latency_ms`` picks the fastest."""


def higher_is_better(metric: PrimaryMetric) -> bool:
    """Whether a higher value of ``metric`` is better."""
    name = metric.override
    return not (name and (name in LOWER_IS_BETTER or name.endswith("_ms")))


@dataclass
class Selection:
    """The outcome: each candidate's verdict against the best, those *as good*, and the pick.

    ``tied`` holds the candidates *as good* as the best (the name is kept for the JSON field ``tied_with_best``);
    ``settled`` is false when no candidate is shown as good, so ``pick`` is the best measured, provisionally.
    """

    best: str | None
    tied: list[str]
    pick: str | None
    comparisons: dict[str, dict[str, Any]]
    over_latency: list[str]  # not eligible: over the latency budget or, with attribution required, not attributed
    reasons: list[str]
    verdicts: Verdicts | None = None
    settled: bool = False
    unknown_cost: list[str] = field(default_factory=list)


ATTRIBUTION_SHARE = 0.9
"""With attribution required, the least share of a candidate's answered knowledge questions that must be attributed."""


def _eligible(scores, latency_p50, latency_budget_ms, cited_share) -> tuple[list[str], list[str], list[str]]:
    over = [c for c in scores if latency_budget_ms is not None and latency_p50.get(c, 0.0) > latency_budget_ms]
    uncited = [c for c in scores if cited_share is not None and cited_share.get(c, 0.0) < ATTRIBUTION_SHARE]
    reasons: list[str] = []
    if over:
        reasons.append(f"over the latency budget of {latency_budget_ms:,.0f} ms p50, so not eligible: "
                       + ", ".join(f"{c} ({latency_p50[c]:,.0f} ms)" for c in over))
    if uncited:
        reasons.append(f"attribution is required and these have under {ATTRIBUTION_SHARE:.0%} of their answers supported by "
                       "the passages they cite, so not eligible: "
                       + ", ".join(f"{c} ({cited_share.get(c, 0.0):.0%} attributed)" for c in uncited))
    return over, uncited, reasons


def select(scores: dict[str, dict[str, float | None]], kinds: dict[str, str], totals: dict[str, float | None],
           latency_p50: dict[str, float], latency_budget_ms: float | None,
           cited_share: dict[str, float] | None = None, rules: VerdictRules | None = None,
           groups: dict[str, str] | None = None, failed: dict[str, set[str]] | None = None) -> Selection:
    """Verdicts among measured candidates that meet the stated needs (within the latency budget; with ``cited_share``
    given, because attribution is required, attributed on at least ``ATTRIBUTION_SHARE`` of their knowledge answers),
    then the cheapest *as good* over the horizon (``ragtune.decide.verdict``).

    ``scores``: candidate -> question id -> score (None: could not be scored); ``totals``: candidate -> cost over the
    horizon (None: unknown); ``failed``: candidate -> ids of questions its answer failed on.
    """
    rules = rules or VerdictRules()
    over, uncited, reasons = _eligible(scores, latency_p50, latency_budget_ms, cited_share)
    over = over + [c for c in uncited if c not in over]
    eligible = {c: s for c, s in scores.items() if c not in over and s}
    if not eligible:
        return Selection(None, [], None, {}, over, reasons + ["no measured candidate is eligible"])
    verdicts = decide_verdicts(eligible, kinds, rules, groups, failed)
    reasons.extend(verdicts.warnings)
    best = verdicts.best
    if best is None:
        return Selection(None, [], None, {}, over, reasons, verdicts)
    comparisons = {c: v.to_json() for c, v in verdicts.comparisons.items() if c != best}
    as_good = verdicts.of(AS_GOOD)
    known = [c for c in as_good if totals.get(c) is not None]
    unknown = [c for c in as_good if totals.get(c) is None]
    if known:
        pick = min(known, key=lambda c: (totals[c], -verdicts.means[c] * (1 if rules.higher_is_better else -1)))
        settled = True
    elif unknown:
        pick, settled = (best if best in unknown else unknown[0]), True
    else:
        pick, settled = best, False
    return Selection(best, as_good, pick, comparisons, over, reasons, verdicts, settled, unknown)
