"""Keeping training questions out of evaluation: by id, and by near-duplicate text.

A tuned version stores the questions it was trained on (``questions.jsonl``: ``{"id", "text"}`` per row;
the id when the row had one, the text of its question or last user message). ``seen_in_training`` finds the
evaluation questions that match one of them: the same id, the same normalised text, or word sets whose
Jaccard similarity reaches ``threshold``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ragtune.common import normalise_text
from ragtune.components.registry import ModelRegistry
from ragtune.evaluation.questions import Question

QUESTIONS_FILE = "questions.jsonl"
NEAR_DUPLICATE = 0.85


def read_training_questions(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``questions.jsonl`` (an empty list when the file is absent)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class TunedModel:
    """A tuned model version as an evaluation sees it: its ``NAME@vN``, its data source and its training questions."""

    ref: str
    source: dict[str, Any] = field(default_factory=dict)
    training_questions: list[dict[str, Any]] = field(default_factory=list)


def tuned_model(models: ModelRegistry, ref: str) -> TunedModel:
    """The version ``ref`` (``NAME[@vN]``) of ``models``; ``ModelNotFoundError`` when there is none."""
    card = models.card(ref)
    source = (card.data.source if card.data is not None else None) or {}
    questions = read_training_questions(models.path(card.ref) / card.files.get("questions", QUESTIONS_FILE))
    return TunedModel(card.ref, dict(source), questions)


def _words(text: str) -> frozenset[str]:
    return frozenset(normalise_text(text).split())


def seen_in_training(questions: Sequence[Question], seen: Sequence[dict[str, Any]],
                     threshold: float = NEAR_DUPLICATE) -> dict[str, str]:
    """``{question id: why}`` for each of ``questions`` that a training row matches (id, text or near-duplicate)."""
    ids = {row["id"] for row in seen if row.get("id")}
    texts = {normalise_text(row.get("text") or ""): row for row in seen}
    word_sets = [(_words(row.get("text") or ""), row) for row in seen]
    matches: dict[str, str] = {}
    for q in questions:
        if q.id in ids:
            matches[q.id] = "same id"
            continue
        norm = normalise_text(q.question)
        if norm in texts:
            matches[q.id] = "same text"
            continue
        words = _words(q.question)
        if len(words) < 4:
            continue
        for other, row in word_sets:
            if other and len(words & other) / len(words | other) >= threshold:
                matches[q.id] = f"near-duplicate of training question '{row.get('id') or row.get('text', '')[:60]}'"
                break
    return matches
