"""The answer phase of ``decide``: every candidate not skipped, then the extra ones (``distilled``, ``teacher``),
candidates of different models side by side where the machine has the cores for it (``ragtune.evaluation.lanes``).

Each candidate's notes are gathered apart and added in candidate order, and its phase is recorded in candidate order
once it and those before it are done, so the decision reads the same as when the candidates answer one by one. With
Ray (``engine = "ray"``) every candidate answers at once (``generation.parallel_candidates`` to limit it, 1 for one
after another): their requests are gathered into one run of the executor (``ragtune.evaluation.gathered``), so the
questions of all of them spread over the cluster's actors together.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, ContextManager

from ragtune.decide.distilled import Extra, extras
from ragtune.evaluation.gathered import GatheredAnswers
from ragtune.evaluation.judge import resolve_judge_spec
from ragtune.evaluation.lanes import candidates_at_once, load_models, run_lanes, side_by_side
from ragtune.machine import loaded_device

if TYPE_CHECKING:
    from ragtune.evaluation.base import Candidate
    from ragtune.decide.data import DecideData
    from ragtune.decide.runner import DecideRunner

Rows = list[dict[str, Any]]


def answer_candidates(runner: "DecideRunner", data: "DecideData") -> tuple[dict["Candidate", Rows], dict[str, Rows]]:
    """The rows of every candidate not skipped and of every extra candidate, each phase recorded as it ends."""
    candidates = [c for c in runner.config.candidates if c not in runner.skipped]
    more = extras(runner.config, runner.spec, runner.extra_refs)
    jobs: list[tuple[str, str, "Candidate", Extra | None]] = [
        (c.value, f"tuned:{runner.tuned_refs[c]}" if c.tuned else runner.spec, c, None) for c in candidates]
    jobs += [(e.name, f"tuned:{e.tuned}" if e.tuned else e.spec, e.acts_as, e) for e in more]
    notes: list[list[str]] = [[] for _ in jobs]
    def finished(i: int) -> None:  # one at a time, in candidate order
        runner.notes.extend(notes[i])
        runner._finish_phase(f"answer {jobs[i][0]}")

    lanes = [spec for _, spec, _, _ in jobs]
    at_once = _at_once(runner, len(set(lanes)), len(jobs))
    judge = ([resolve_judge_spec(runner.config.judge, runner.components.config.generation)]
             if runner.config.judge and at_once > 1 else [])
    gathered = GatheredAnswers(runner.executor, min(at_once, len(jobs))) if runner.executor and at_once > 1 else None

    def answer(i: int) -> Rows:
        _, _, candidate, extra = jobs[i]
        with _member(gathered):
            return runner._answer(candidate, data, extra, notes=notes[i], executor=gathered)

    if gathered is None:
        rows = side_by_side(runner.components, lanes, answer, at_once, runner.config.index, judge, finished)
    else:  # each candidate a lane of its own: the cluster answers them together
        load_models(runner.components, [*lanes, *judge], runner.config.index)
        rows = run_lanes([name for name, _, _, _ in jobs], answer, at_once, finished)
    return dict(zip(candidates, rows)), {e.name: r for e, r in zip(more, rows[len(candidates):])}


def _member(gathered: GatheredAnswers | None) -> ContextManager[None]:
    return gathered.member() if gathered is not None else nullcontext()


def _at_once(runner: "DecideRunner", lanes: int, jobs: int) -> int:
    generation = runner.components.config.generation
    setting = generation.parallel_candidates
    if runner.executor is not None:  # the cluster takes every candidate at once
        return jobs if setting is None else max(1, min(setting, jobs))
    return candidates_at_once(lanes, setting, generation.threads, loaded_device(generation.device))
