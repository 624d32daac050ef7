"""Where an eval run's answers are generated: this process (the default, ``EvalRunner.answer_all``) or an
``AnswerExecutor`` such as Ray's (``ragtune.distributed.answers``), which runs ``EvalPorts.answer`` elsewhere.

With an executor the run reads every cached answer here first, hands the misses of every variant to the executor
at once (questions × variants fan out together), and caches each answer here as it comes back: the same cache
keys and files as a local run, so a rerun or a resumed run redoes nothing, whichever engine ran it before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, Sequence

from ragtune.errors import EvaluationError, InputError
from ragtune.evaluation.base import AnswerRecord
from ragtune.evaluation.cache import cache_key
from ragtune.evaluation.questions import Question

if TYPE_CHECKING:
    from ragtune.evaluation.runner import EvalRunner, VariantPlan


@dataclass(frozen=True)
class AnswerCall:
    """One answer to generate: the arguments of ``EvalPorts.answer``."""

    question: str
    index: str | None
    options: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.options.get("model") or "")


@dataclass(frozen=True)
class AnswerOutcome:
    """The answer to the call at ``position`` (``Answer.to_json()``), or why that question cannot be taken (the
    message of a ``QuestionError``, such as a question too long for the model's window)."""

    position: int
    answer: dict[str, Any] | None = None
    error: str | None = None


class AnswerExecutor(Protocol):
    """Generates answers away from the run; any failure other than a ``QuestionError`` stops the run."""

    def run(self, calls: Sequence[AnswerCall], workers: Callable[[str], int]) -> Iterator[AnswerOutcome]:
        """Every call answered, in any order, as each finishes; ``workers(model)``: answers in flight for a model."""
        ...


def answer_elsewhere(runner: "EvalRunner", plans: Sequence["VariantPlan"],
                     questions: Sequence[Question]) -> list[list[AnswerRecord]]:
    """Each plan's answers, in question order: cached ones read here, the rest through ``runner.ports.executor``."""
    cfg = runner.config
    records: list[list[AnswerRecord | None]] = [[None] * len(questions) for _ in plans]
    calls: list[AnswerCall] = []
    slots: list[tuple[int, int, str, dict[str, Any]]] = []
    done = [0] * len(plans)
    for p, plan in enumerate(plans):
        runner.progress(plan.variant.value, 0, len(questions))
        for i, question in enumerate(questions):
            fields = runner._key_fields(plan, question)
            key = cache_key(fields)
            cached = runner.answers.get(key) if cfg.cache else None
            if cached is not None:
                runner.counts["cached"] += 1
                records[p][i] = AnswerRecord(question.id, plan.variant, plan.spec, cached, cached=True)
                done[p] += 1
                continue
            calls.append(AnswerCall(question.question, plan.index, runner.answer_options(plan, fields)))
            slots.append((p, i, key, fields))
        runner.progress(plan.variant.value, done[p], len(questions))
    try:
        for outcome in runner.ports.executor.run(calls, runner.workers):
            p, i, key, fields = slots[outcome.position]
            plan, question = plans[p], questions[i]
            if outcome.error is not None:
                runner.counts["errors"] += 1
                records[p][i] = AnswerRecord(question.id, plan.variant, plan.spec, None, error=outcome.error)
            else:
                runner.answers.put(key, fields, outcome.answer)
                runner.counts["generated"] += 1
                records[p][i] = AnswerRecord(question.id, plan.variant, plan.spec, outcome.answer)
            done[p] += 1
            runner.progress(plan.variant.value, done[p], len(questions))
    except (InputError, EvaluationError):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure stops the run; what is cached stays
        raise runner.stopped(exc) from exc
    return records  # type: ignore[return-value]
