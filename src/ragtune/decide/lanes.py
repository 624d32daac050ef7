"""The answer phase of ``decide``: every candidate not skipped, then the extra ones (``distilled``, ``teacher``),
candidates of different models side by side where the machine has the cores for it (``ragtune.evaluation.lanes``).

Each candidate's notes are gathered apart and added in candidate order, and its phase is recorded in candidate order
once it and those before it are done, so the decision reads the same as when the candidates answer one by one. With
Ray (``engine = "ray"``) the answers are spread over the cluster's actors already: one candidate at a time, unless
``generation.parallel_candidates`` says otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragtune.decide.distilled import Extra, extras
from ragtune.evaluation.judge import resolve_judge_spec
from ragtune.evaluation.lanes import candidates_at_once, side_by_side
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

    def answer(i: int) -> Rows:
        _, _, candidate, extra = jobs[i]
        return runner._answer(candidate, data, extra, notes=notes[i])

    lanes = [spec for _, spec, _, _ in jobs]
    at_once = _at_once(runner, len(set(lanes)))
    judge = ([resolve_judge_spec(runner.config.judge, runner.components.config.generation)]
             if runner.config.judge and at_once > 1 else [])
    rows = side_by_side(runner.components, lanes, answer, at_once, runner.config.index, judge, finished)
    return dict(zip(candidates, rows)), {e.name: r for e, r in zip(more, rows[len(candidates):])}


def _at_once(runner: "DecideRunner", lanes: int) -> int:
    generation = runner.components.config.generation
    setting = generation.parallel_candidates
    if setting is None and runner.executor is not None:
        return 1  # each candidate already spreads over the cluster
    return candidates_at_once(lanes, setting, generation.threads, loaded_device(generation.device))
