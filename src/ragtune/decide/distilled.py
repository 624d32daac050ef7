"""The candidates ``decide --teacher`` adds: ``distilled`` (the decide model LoRA-trained on the teacher's checked
answers to the training questions, through ``Workspace.distill``) and ``teacher`` (the teacher itself).

Both answer the same held-out questions as the others, over the index when one is given. ``distilled`` is costed as
the tuned local model plus the one-off cost of the teacher's answers (its measured tokens at its list price);
``teacher`` as the teacher's own model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragtune.decide.config import DecideConfig
from ragtune.evaluation.base import Candidate
from ragtune.costs.candidates import Training
from ragtune.decide.data import DecideData
from ragtune.errors import RagtuneError
from ragtune.generation.base import PricingBasis
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.service import TrainingProgress, Tuning

DISTILLED = "distilled"
TEACHER = "teacher"


@dataclass(frozen=True)
class Extra:
    """One candidate beyond the five: its name, the candidate it answers and is costed as, and its model."""

    name: str
    acts_as: Candidate
    spec: str
    tuned: str | None = None


def acts_as(name: str, index: str | None) -> Candidate:
    """The candidate ``name`` answers and is costed like (one of the five is itself): ``distilled`` and ``teacher`` over
    retrieval when an index is given, else alone."""
    if name in {c.value for c in Candidate}:
        return Candidate(name)
    if name == DISTILLED:
        return Candidate.rag_ft if index is not None else Candidate.ft
    return Candidate.rag if index is not None else Candidate.base


def teacher_cost(record: dict[str, Any], basis: PricingBasis | None) -> tuple[str, str]:
    """The label of the teacher's one-off cost and its words, from the distilled card's ``teacher_cost``."""
    tokens = record.get("teacher_tokens") or {}
    words = f"the teacher's {tokens.get('input', 0):,} input and {tokens.get('output', 0):,} output tokens"
    if record.get("teacher_usd") is None:
        return "unknown", f"{words}: no price for {record.get('teacher')} (give --prices)"
    if basis is PricingBasis.per_token:
        return "measured", f"{words} (measured) × the price table's price for {record.get('teacher')}"
    return "assumed", f"{words}: {record.get('teacher')} runs on your own machine, its time is not counted here"


def restore(record: dict[str, Any], basis: PricingBasis | None) -> Training:
    """The training of a kept ``distilled`` record, with the teacher's cost labelled."""
    label, source = teacher_cost(record, basis)
    return Training(record["ref"], float(record["seconds"]), record["device"], teacher_usd=record.get("teacher_usd"),
                    teacher_basis=label, teacher_source=source)


def train_distilled(tuning: Tuning, config: DecideConfig, data: DecideData, lora: LoraConfig,
                    on_event: TrainingProgress) -> dict[str, Any]:
    """Distil ``config.teacher`` into ``lora.base`` on the training questions: the record kept in the run's state
    (``{"skipped": why}`` when it cannot)."""
    if not data.train_questions:
        return {"skipped": "nothing to distil on: no training questions (give --questions with more questions; "
                           "a share of them is held out)"}
    try:
        card = tuning.distill(data.train_questions, str(config.teacher), lora, config.index, None, config.prices, on_event)
    except RagtuneError as exc:
        return {"skipped": f"distillation failed: {exc}"}
    source = (card.data.source if card.data else None) or {}
    cost = source.get("teacher_cost") or {}
    return {"ref": card.ref, "seconds": card.wall_time_s, "device": str(card.metrics.get("device", "cpu")), "how": "distil",
            "teacher": config.teacher, "teacher_usd": cost.get("usd"), "teacher_tokens": source.get("teacher_tokens"),
            "counts": source.get("counts"), "steps": card.metrics.get("steps"), "rows": card.data.rows if card.data else None}


def extras(config: DecideConfig, spec: str, refs: dict[str, str]) -> list[Extra]:
    """The extra candidates of this run, in report order (``distilled`` only once trained)."""
    if config.teacher is None:
        return []
    out = [Extra(DISTILLED, acts_as(DISTILLED, config.index), spec, refs[DISTILLED])] if DISTILLED in refs else []
    return out + [Extra(TEACHER, acts_as(TEACHER, config.index), config.teacher)]

