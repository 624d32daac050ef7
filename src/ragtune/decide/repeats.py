"""``decide --repeats N``: the whole measurement N times, with seeds ``seed`` .. ``seed + N - 1``.

Each repeat has its own split of the questions, its own few-shot draw and its own training of ft, rag+ft and
distilled (the candidates whose scores depend on the seed). The decision is then made once on every candidate's
per-question score averaged over the repeats in which that question was held out (every candidate answered the same
questions in each repeat, so the scores stay paired), and the result reports:

- each candidate's mean in every repeat and their spread (standard deviation, lowest, highest): the seed spread;
- each repeat's own pick, and the share of repeats whose pick is the overall pick: how much the pick depends on
  the seed.

A candidate skipped in any repeat is skipped in the combined decision (its scores would not be on the same questions).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ragtune.decide.base import Decision
from ragtune.decide.config import DecideConfig
from ragtune.costs.candidates import Training
from ragtune.decide.decision import Measured, build_decision, primary_metric
from ragtune.decide.selection import per_question


@dataclass
class Repeat:
    """What one run measured and decided."""

    measured: Measured
    decision: Decision
    changes: float
    changes_source: str
    names: list[str]
    facts: Any  # the advisor's facts (they do not depend on the seed)


class RepeatableRunner(Protocol):
    measured: Repeat | None

    def run(self) -> Decision: ...


def run_repeats(runner: Callable[[DecideConfig], RepeatableRunner], config: DecideConfig) -> Decision:
    """The decision of ``config``: one run, or ``config.repeats`` runs combined (see the module docstring)."""
    if config.repeats == 1:
        return runner(config).run()
    repeats = []
    for r in range(config.repeats):
        one = runner(config.model_copy(update={"seed": config.seed + r, "repeats": 1}))
        one.run()
        assert one.measured is not None
        repeats.append(one.measured)
    return combine_repeats(config, repeats)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _average_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for a question answered in several repeats: numbers averaged, failed only if it failed every time."""
    answered = [r for r in rows if r.get("answer") is not None]
    out = dict(answered[0] if answered else rows[0])
    for key in {k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}:
        values = [float(r[key]) for r in rows if isinstance(r.get(key), (int, float)) and not isinstance(r[key], bool)]
        out[key] = sum(values) / len(values)
    out["repeats"] = len(rows)
    return out


def combine_repeats(config: DecideConfig, repeats: list[Repeat]) -> Decision:
    """The decision on scores averaged per question over ``repeats``, with the seed spread and the pick's stability."""
    first = repeats[0]
    ms = [r.measured for r in repeats]
    skipped = dict(first.measured.skipped)
    for i, m in enumerate(ms):
        for c in first.names:
            if c not in skipped and c not in m.rows:
                skipped[c] = f"not measured with seed {config.seed + i}: {m.skipped.get(c, 'no rows')}"
    names = [c for c in first.names if c not in skipped]
    kinds = {q: k for m in ms for q, k in m.kinds.items()}
    metric = primary_metric(config, first.measured)
    rows: dict[str, list[dict[str, Any]]] = {}
    scores: dict[str, dict[str, float | None]] = {}
    for c in names:
        by_question: dict[str, list[dict[str, Any]]] = {}
        per: dict[str, list[float | None]] = {}
        for m in ms:
            for row in m.rows[c]:
                by_question.setdefault(row["id"], []).append(row)
            for q, s in per_question(m.rows[c], metric, kinds).items():
                per.setdefault(q, []).append(s)
        rows[c] = [_average_rows(rs) for rs in by_question.values()]
        scores[c] = {q: None if any(s is None for s in ss) else _mean([s for s in ss if s is not None])
                     for q, ss in per.items()}
    trainings = {}
    for c, t in first.measured.trainings.items():
        seconds = [m.trainings[c].seconds for m in ms if c in m.trainings]
        trainings[c] = Training(t.ref, sum(seconds) / len(seconds), t.device, t.teacher_usd, t.teacher_basis, t.teacher_source)
    seeds = [config.seed + i for i in range(len(repeats))]
    combined = replace(first.measured, rows=rows, kinds=kinds, scores=scores, trainings=trainings, skipped=skipped,
                       groups={q: g for m in ms for q, g in m.groups.items()},
                       split={"repeats": len(repeats), "seed": ", ".join(map(str, seeds)), "seeds": seeds, "test": len(kinds),
                              "by_repeat": [m.split for m in ms]},
                       notes=list(dict.fromkeys(n for m in ms for n in m.notes)),
                       run={"repeats": [m.run for m in ms]})
    decision = build_decision(config, combined, first.facts, first.changes,
                              first.changes_source, first.names)
    decision.config["model"] = first.decision.config.get("model")
    picks = [r.decision.recommendation for r in repeats]
    same = sum(1 for p in picks if p == decision.recommendation) / len(picks)
    spread: dict[str, dict[str, Any]] = {}
    sds: dict[str, float] = {}
    for c in names:
        means = [r.decision.candidates[c].score for r in repeats]
        known = [x for x in means if x is not None]
        sds[c] = statistics.stdev(known) if len(known) > 1 else 0.0
        spread[c] = {"means": means, "sd": sds[c], "low": min(known, default=None), "high": max(known, default=None)}
    decision.repeats = {"n": len(repeats), "seeds": seeds, "picks": picks, "same_pick_share": same, "spread": spread}
    widest = max(sds, key=lambda c: sds[c]) if sds else None
    decision.reasons.append(
        f"over {len(repeats)} repeats (seeds {seeds[0]} to {seeds[-1]}, each with its own split and training) the pick of "
        f"a single repeat was {decision.recommendation} in {round(same * len(picks))} of {len(picks)}"
        + (f"; the largest seed spread of a mean is {widest}'s (sd {sds[widest]:.3f})" if widest else ""))
    return decision

