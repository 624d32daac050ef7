"""Answerability: whether the retrieved passages can support an answer to this question.

The score is the weighted share of the question's key terms that the best passage holds, read with its heading
path and context header (the document's title, organisation and period), so "What is the policy?" is supported
by a passage under a "Policy" heading. Names weigh more than other words (``NAME_WEIGHT``): a capitalised word
after the question's first word, or an acronym (``Apple``, ``AWS``, ``Q3``). A question about Apple asked of
passages from other companies' filings then scores low however many of its other words they share.
``ask`` abstains when the score is below ``[answer] min_answerability`` (chosen on development data:
``bench/abstention_sec10q.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragtune.generation.base import ContextBlock
from ragtune.generation.text import STOPWORDS, content_terms

NAME_WEIGHT = 3.0
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def key_terms(question: str) -> dict[str, float]:
    """The question's content terms, each with its weight (``NAME_WEIGHT`` for names, else 1)."""
    weights = {t: 1.0 for t in content_terms(question)}
    for i, token in enumerate(_TOKEN.findall(question)):
        if i == 0 or token.lower() in STOPWORDS or not (token[0].isupper() or token.isupper()):
            continue
        for term in content_terms(token):
            if term in weights:
                weights[term] = NAME_WEIGHT
    return weights


def answerability(question: str, blocks: Sequence[ContextBlock]) -> float:
    """The best block's weighted share of the question's key terms (0-1; 0 without blocks or key terms)."""
    weights = key_terms(question)
    total = sum(weights.values())
    if not blocks or not total:
        return 0.0
    best = 0.0
    for block in blocks:
        terms = set(content_terms(block.indexed or block.text))
        best = max(best, sum(w for t, w in weights.items() if t in terms) / total)
    return best
