"""The training questions a tuned version records (``questions.jsonl``), so that evaluation can leave them out
(``ragtune.evaluation.heldout``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ragtune.evaluation.heldout import QUESTIONS_FILE, NEAR_DUPLICATE, read_training_questions, seen_in_training
from ragtune.tuning.data.examples import Example

__all__ = ["NEAR_DUPLICATE", "QUESTIONS_FILE", "example_question", "read_training_questions", "seen_in_training",
           "write_training_questions"]


def example_question(example: Example) -> dict[str, Any]:
    """``{"id", "text"}`` of a training example: its ``id`` field and its ``question`` field or last user message."""
    raw = example.raw if isinstance(example.raw, dict) else {}
    text = raw.get("question")
    if not isinstance(text, str) or not text.strip():
        text = next((m["content"] for m in reversed(example.prompt) if m["role"] == "user"), "")
    qid = raw.get("id")
    return {"id": None if qid is None else str(qid), "text": text}


def write_training_questions(path: Path, examples: Iterable[Example]) -> int:
    """Write ``questions.jsonl`` for ``examples``; the number of rows written."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for example in examples:
            fh.write(json.dumps(example_question(example), ensure_ascii=False) + "\n")
            n += 1
    return n
