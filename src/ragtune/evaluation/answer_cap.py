"""How many tokens an answer may take in an eval run: from the reference answers' lengths when the set has them.

A model that rambles writes until its cap, so one global cap (``generation.max_new_tokens``) spends most of an eval's
time on words nobody reads. With references, each model's cap is ``MARGIN`` times the longest reference (reference
answers, or a reference output as compact JSON) in that model's tokens, plus ``SLACK``, at least ``FLOOR`` and never
above ``generation.max_new_tokens``. The cap is part of each answer's cache key and recorded in the run's config.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ragtune.evaluation.questions import Question

MARGIN = 1.5
SLACK = 16
FLOOR = 32


@dataclass(frozen=True)
class AnswerCap:
    """The answer cap of one model in one run, and what it was derived from."""

    max_new_tokens: int
    longest_reference_tokens: int
    ceiling: int

    def to_json(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "longest_reference_tokens": self.longest_reference_tokens,
                "margin": MARGIN, "slack": SLACK, "floor": FLOOR, "ceiling": self.ceiling}


def references(question: Question) -> list[str]:
    """The texts a good answer to ``question`` looks like: its reference answers, or its reference output as JSON."""
    texts = [a for a in question.reference_answers if a]
    if question.reference_output is not None:
        texts.append(json.dumps(question.reference_output, ensure_ascii=False, separators=(",", ":")))
    return texts


def answer_cap(questions: Sequence[Question], count_tokens: Callable[[str], int], ceiling: int) -> AnswerCap | None:
    """The cap for a model counting tokens with ``count_tokens``; None when no question has a reference."""
    lengths = [count_tokens(text) for q in questions for text in references(q)]
    if not lengths:
        return None
    longest = max(lengths)
    return AnswerCap(min(ceiling, max(FLOOR, math.ceil(MARGIN * longest) + SLACK)), longest, ceiling)
