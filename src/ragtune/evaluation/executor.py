"""Where an eval run's answers are generated: this process (the default, ``EvalRunner.answer_all``) or an
``AnswerExecutor`` such as Ray's (``ragtune.distributed.answers``), which runs the one answer path
(``ragtune.components.answerer``) elsewhere.

With an executor the run reads every cached answer here first, hands the misses of every variant to the executor
at once (questions × variants fan out together), and caches each answer here as it comes back: the same cache
keys and files as a local run, so a rerun or a resumed run redoes nothing, whichever engine ran it before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, Sequence

from ragtune.errors import EvaluationError, InputError
from ragtune.evaluation.base import AnswerRecord
from ragtune.evaluation.questions import Question
from ragtune.generation.answer import AskRequest

if TYPE_CHECKING:
    from ragtune.evaluation.runner import EvalRunner, VariantPlan


@dataclass(frozen=True)
class AnswerOutcome:
    """The answer to the request at ``position`` (``Answer.to_json()``), or why that question cannot be taken (the
    message of a ``QuestionError``, such as a question too long for the model's window)."""

    position: int
    answer: dict[str, Any] | None = None
    error: str | None = None


class AnswerExecutor(Protocol):
    """Generates answers away from the run; any failure other than a ``QuestionError`` stops the run."""

    def run(self, requests: Sequence[AskRequest], workers: Callable[[str], int]) -> Iterator[AnswerOutcome]:
        """Every request answered, in any order, as each finishes; ``workers(model)``: answers in flight for a model."""
        ...


def answer_elsewhere(runner: "EvalRunner", executor: AnswerExecutor, plans: Sequence["VariantPlan"],
                     questions: Sequence[Question]) -> list[list[AnswerRecord]]:
    """Each plan's answers, in question order: cached ones read here, the rest through ``executor``."""
    records: list[list[AnswerRecord | None]] = [[None] * len(questions) for _ in plans]
    requests: list[AskRequest] = []
    slots: list[tuple[int, int, str, dict[str, Any]]] = []
    done = [0] * len(plans)
    for p, plan in enumerate(plans):
        runner.progress(plan.variant.value, 0, len(questions))
        for i, question in enumerate(questions):
            record, key, fields = runner.cached(plan, question)
            if record is not None:
                records[p][i] = record
                done[p] += 1
                continue
            requests.append(runner.request(plan, question, fields))
            slots.append((p, i, key, fields))
        runner.progress(plan.variant.value, done[p], len(questions))
    try:
        for outcome in executor.run(requests, runner.workers):
            p, i, key, fields = slots[outcome.position]
            records[p][i] = runner.answered(plans[p], questions[i], key, fields, outcome.answer, outcome.error)
            done[p] += 1
            runner.progress(plans[p].variant.value, done[p], len(questions))
    except (InputError, EvaluationError):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure stops the run; what is cached stays
        raise runner.stopped(exc) from exc
    if any(r is None for plan_records in records for r in plan_records):
        raise runner.stopped(EvaluationError("the executor left answers out"))
    return [[r for r in plan_records if r is not None] for plan_records in records]
