"""Distillation: a teacher answers questions (over an index when one is given), the answers that fail the checks
are dropped and counted, and the rest become the examples a small student is LoRA-trained on.

The checks, in order: the teacher abstained; the answer does not fit the JSON Schema it was asked for; over an
index, the answer is not supported by its citations (none survived the support check, or the pipeline had to fall
back to quoting the context). A student row is the question and the teacher's answer, its citation markers
removed (the student answers without the numbered context), or the JSON value for schema answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ragtune.errors import InputError
from ragtune.evaluation.questions import Question
from ragtune.generation.answer import Answer
from ragtune.tuning.base import Progress, TrainingEvent

ROWS_FILE = "teacher_rows.jsonl"
DROPPED_FILE = "teacher_dropped.jsonl"
REASONS = ("abstained", "invalid", "unsupported")
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


@dataclass
class TeacherRows:
    """The student's examples and what became of every question."""

    rows: Path
    dropped: Path
    counts: dict[str, int]
    input_tokens: int = 0
    output_tokens: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


def rejection(answer: Answer, over_index: bool, schema: dict[str, Any] | None) -> str | None:
    """Why ``answer`` cannot be a training example (one of ``REASONS``), or None when it passes every check."""
    if answer.abstained:
        return "abstained"
    if schema is not None:
        return None if answer.structured is not None and answer.structured.valid else "invalid"
    if over_index and (not answer.citations or answer.fallback):
        return "unsupported"
    return None


def student_output(answer: Answer) -> Any:
    """What the student learns to reply: the JSON value, or the text without citation markers."""
    if answer.structured is not None:
        return answer.structured.value
    return _MARKERS.sub("", answer.answer).strip()


def teacher_rows(questions: Sequence[Question], ask: Callable[[Question], Answer], folder: Path, *, over_index: bool,
                 schema: dict[str, Any] | None = None, notify: Progress | None = None) -> TeacherRows:
    """Ask the teacher every question, keep what passes the checks and write the rows into ``folder``; an ``InputError``
    when nothing passes (nothing to train on)."""
    counts = {"asked": 0, "kept": 0, **{r: 0 for r in REASONS}}
    kept, dropped = [], []
    result = TeacherRows(folder / ROWS_FILE, folder / DROPPED_FILE, counts)
    for q in questions:
        answer = ask(q)
        counts["asked"] += 1
        result.input_tokens += answer.usage.input_tokens
        result.output_tokens += answer.usage.output_tokens
        reason = rejection(answer, over_index, schema if schema is not None else q.schema)
        if reason:
            counts[reason] += 1
            dropped.append({"id": q.id, "question": q.question, "reason": reason, "detail": answer.abstain_reason,
                            "answer": answer.answer})
        else:
            counts["kept"] += 1
            kept.append({"input": q.question, "output": student_output(answer)})
        if notify and counts["asked"] % 10 == 0:
            notify(TrainingEvent("info", message=f"teacher: {counts['asked']}/{len(questions)} answered, {counts['kept']} kept"))
    if not kept:
        why = ", ".join(f"{counts[r]} {r}" for r in REASONS if counts[r])
        raise InputError(f"the teacher's answers to all {counts['asked']} questions failed the checks ({why}): nothing to train "
                         "the student on; try the teacher with ragtune ask first, or give questions it can answer")
    folder.mkdir(parents=True, exist_ok=True)
    result.rows.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
    result.dropped.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in dropped), encoding="utf-8")
    result.examples = kept
    return result
