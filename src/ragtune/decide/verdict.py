"""Verdicts of candidates against the best, from paired per-question scores: *as good*, *worse* or *not yet known*.

- Every candidate is compared on the questions all of them were scored on (a question some candidate could not
  be scored on is left out for all, and counted).
- The statistic of candidate ``c`` is ``T_c = mean(c) - max(mean of the others)`` (higher is better; scores of a
  metric where lower is better are negated first). Its interval comes from one joint bootstrap that resamples
  questions within each task, and whole clusters of questions where questions share a source (the ``group`` of a
  question, or its gold documents), so the correlation inside a cluster is not mistaken for more evidence. Taking
  the max of the others inside each resample accounts for the best being chosen from the same data.
- Intervals are simultaneous over the ``m`` compared candidates by Bonferroni: each is a two-sided
  ``1 - alpha / m`` percentile interval, so all hold together with at least ``1 - alpha`` (95%). Bonferroni is
  valid under any dependence between the comparisons, which share the same questions; with at most five
  candidates a step-down (Holm) procedure would gain little.
- *as good*: the lower end of the interval is above ``-margin``; *worse*: the upper end is below 0 (and it was not
  shown within the margin), or the candidate failed more than ``max_failed_share`` of the questions; *not yet
  known*: neither, or fewer than ``min_questions`` questions in common.
- For a candidate *not yet known*, ``questions_to_settle`` is a power estimate (80%, normal approximation from the
  bootstrap standard error) of the questions in all it would take, if the observed difference held, for the
  interval to clear ``-margin`` (or 0, where the observed difference is below ``-margin``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

AS_GOOD, WORSE, NOT_YET_KNOWN = "as good", "worse", "not yet known"

MARGIN = 0.03
"""Default margin: three points on a 0-1 metric (see docs/decide.md for why)."""

MIN_QUESTIONS = 10
"""Below this many questions in common, or clusters of questions, every verdict is *not yet known* (a bootstrap over
fewer clusters understates the spread)."""

MAX_FAILED_SHARE = 0.2
"""A candidate whose answers failed on more than this share of the questions is *worse*, whatever its scores."""

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class VerdictRules:
    """How verdicts are reached: the margin, the least sample, the failure share, the family error rate."""

    margin: float = MARGIN
    min_questions: int = MIN_QUESTIONS
    max_failed_share: float = MAX_FAILED_SHARE
    alpha: float = ALPHA
    resamples: int = 2000
    seed: int = 0
    higher_is_better: bool = True
    weights: dict[str, float] | None = None  # task -> weight; None: each task by its share of the questions

    def describe(self, m: int) -> str:
        level = 1 - self.alpha / max(1, m)
        return (f"paired bootstrap over the questions in common, within each task and by cluster of questions sharing a "
                f"source; {level:.1%} intervals per candidate (Bonferroni over {m}: {1 - self.alpha:.0%} together); "
                f"margin {self.margin:g}")


@dataclass
class Comparison:
    """One candidate against the best of the others."""

    verdict: str
    delta: float | None  # mean(c) - max(mean of the others), in the better direction (negative: below the best)
    ci: list[float] | None
    n: int
    reason: str = ""
    failed_share: float = 0.0
    questions_to_settle: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "delta": self.delta, "ci95": self.ci, "n": self.n, "reason": self.reason,
                "failed_share": round(self.failed_share, 4), "questions_to_settle": self.questions_to_settle,
                "significantly_below_best": self.verdict == WORSE}


@dataclass
class Verdicts:
    """Each candidate's verdict, the means on the common questions, and what was left out."""

    comparisons: dict[str, Comparison]
    means: dict[str, float]
    best: str | None
    n: int
    excluded: int
    weights: dict[str, float]
    method: str
    warnings: list[str] = field(default_factory=list)

    def of(self, verdict: str) -> list[str]:
        return [c for c, v in self.comparisons.items() if v.verdict == verdict]


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def common_questions(scores: dict[str, dict[str, float | None]]) -> tuple[list[str], int]:
    """The question ids every candidate has a score for, in a stable order, and how many were left out."""
    all_ids = list(dict.fromkeys(q for s in scores.values() for q in s))
    keep = [q for q in all_ids if all(_usable(s.get(q)) for s in scores.values())]
    return keep, len(all_ids) - len(keep)


def task_weights(ids: list[str], kinds: dict[str, str], weights: dict[str, float] | None) -> dict[str, float]:
    """Normalised weight of each task present: the stated ``weights``, else each task's share of the questions."""
    counts: dict[str, int] = {}
    for q in ids:
        counts[kinds.get(q, "knowledge")] = counts.get(kinds.get(q, "knowledge"), 0) + 1
    if weights:
        raw = {t: float(weights.get(t, 0.0)) for t in counts}
    else:
        raw = {t: float(c) for t, c in counts.items()}
    total = sum(raw.values())
    return {t: (w / total if total > 0 else 0.0) for t, w in raw.items()}


def _bootstrap(matrix: np.ndarray, tasks: list[str], clusters: list[str], weights: dict[str, float],
               resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Point means (candidates) and resampled means (candidates x resamples): weighted task means, clusters resampled
    within each task."""
    rng = np.random.default_rng(seed)
    point = np.zeros(matrix.shape[0])
    boot = np.zeros((matrix.shape[0], resamples))
    for task, w in weights.items():
        cols = [i for i, t in enumerate(tasks) if t == task]
        if not cols or w == 0:
            continue
        keys = list(dict.fromkeys(clusters[i] for i in cols))
        index = {k: j for j, k in enumerate(keys)}
        sums = np.zeros((matrix.shape[0], len(keys)))
        counts = np.zeros(len(keys))
        for i in cols:
            sums[:, index[clusters[i]]] += matrix[:, i]
            counts[index[clusters[i]]] += 1
        point += w * sums.sum(axis=1) / counts.sum()
        draw = rng.integers(0, len(keys), size=(resamples, len(keys)))
        boot += w * sums[:, draw].sum(axis=2) / counts[draw].sum(axis=1)
    return point, boot


def _to_settle(n: int, delta: float, se: float, margin: float, z: float) -> int | None:
    """Questions in all for the interval to clear ``-margin`` (or 0 when ``delta`` is below ``-margin``), if ``delta``
    and the per-question spread held (80% power)."""
    if n == 0 or se <= 0:
        return None
    target = delta + margin if delta + margin > 0 else -delta
    if target <= 0:
        return None
    sd = se * math.sqrt(n)
    return math.ceil(((z + NormalDist().inv_cdf(POWER)) * sd / target) ** 2)


def decide_verdicts(scores: dict[str, dict[str, float | None]], kinds: dict[str, str], rules: VerdictRules,
                    groups: dict[str, str] | None = None, failed: dict[str, set[str]] | None = None) -> Verdicts:
    """The verdict of each candidate of ``scores`` (candidate -> question id -> score; None: could not be scored)."""
    ids, excluded = common_questions(scores)
    names = list(scores)
    weights = task_weights(ids, kinds, rules.weights)
    m = len(names)
    warnings: list[str] = []
    if excluded:
        warnings.append(f"{excluded} question(s) left out for every candidate: not scored for at least one of them")
    if not ids:
        unknown = {c: Comparison(NOT_YET_KNOWN, None, None, 0, "no questions in common") for c in names}
        return Verdicts(unknown, {}, None, 0, excluded, weights, rules.describe(m),
                        warnings + ["no question was scored for every candidate: nothing can be compared"])
    sign = 1.0 if rules.higher_is_better else -1.0
    matrix = sign * np.asarray([[scores[c][q] for q in ids] for c in names], dtype=np.float64)
    groups = groups or {}
    tasks = [kinds.get(q, "knowledge") for q in ids]
    clusters = [groups.get(q) or f"question:{q}" for q in ids]
    point, boot = _bootstrap(matrix, tasks, clusters, weights, rules.resamples, rules.seed)
    means = {c: float(sign * point[i]) for i, c in enumerate(names)}
    best_i = int(np.argmax(point))
    n = len(ids)
    sources = len(set(clusters))
    small = n < rules.min_questions or sources < rules.min_questions
    if n < rules.min_questions:
        warnings.append(f"only {n} question(s) in common, under the {rules.min_questions} a verdict needs: every "
                        "candidate's verdict is 'not yet known'")
    elif small:
        warnings.append(f"the {n} questions come from only {sources} source(s), under the {rules.min_questions} a verdict "
                        "needs (questions of one source are resampled together): every candidate's verdict is 'not yet known'")
    least = max(rules.min_questions, math.ceil(n * rules.min_questions / sources)) if small else 0
    tail = rules.alpha / max(1, m) / 2
    z = NormalDist().inv_cdf(1 - tail)
    comparisons: dict[str, Comparison] = {}
    for i, c in enumerate(names):
        others = [j for j in range(m) if j != i]
        if others:
            t_point = float(point[i] - max(point[j] for j in others))
            t_boot = boot[i] - boot[others].max(axis=0)
            low, high = (float(v) for v in np.quantile(t_boot, [tail, 1 - tail]))
            se = float(t_boot.std())
        else:
            t_point, low, high, se = 0.0, math.inf, math.inf, 0.0
        share = len((failed or {}).get(c, set()) & set(ids)) / n
        comparisons[c] = _verdict(t_point, low, high, se, n, share, least, rules, z)
    return Verdicts(comparisons, means, names[best_i], n, excluded, weights, rules.describe(m), warnings)


def _verdict(t: float, low: float, high: float, se: float, n: int, failed_share: float, least: int,
             rules: VerdictRules, z: float) -> Comparison:
    """The verdict from the interval ``[low, high]`` of ``t``; ``least``: questions in all below which (too few
    questions or sources) nothing is known yet, else 0."""
    delta = t
    ci = None if math.isinf(low) else [low, high]
    if failed_share > rules.max_failed_share:
        return Comparison(WORSE, delta, ci, n, f"its answers failed on {failed_share:.0%} of the questions (more than "
                          f"{rules.max_failed_share:.0%})", failed_share)
    if least:
        return Comparison(NOT_YET_KNOWN, delta, ci, n, f"fewer than {rules.min_questions} questions or sources", failed_share,
                          max(1, max(least, _to_settle(n, t, se, rules.margin, z) or 0) - n))
    if low > -rules.margin:
        why = "the only candidate" if math.isinf(low) else f"the interval's lower end {low:+.3f} is above -{rules.margin:g}"
        return Comparison(AS_GOOD, delta, ci, n, why, failed_share)
    if high < 0:
        return Comparison(WORSE, delta, ci, n, f"the interval's upper end {high:+.3f} is below 0", failed_share)
    total = _to_settle(n, t, se, rules.margin, z)
    return Comparison(NOT_YET_KNOWN, delta, ci, n, f"the interval [{low:+.3f}, {high:+.3f}] reaches both below "
                      f"-{rules.margin:g} and above 0", failed_share, None if total is None else max(1, total - n))
