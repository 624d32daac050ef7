"""Answer metrics with SQuAD normalisation: exact match and token F1 against one or more references."""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation, articles and extra white space (the SQuAD evaluation rule)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, references: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised reference, else 0.0."""
    refs = [references] if isinstance(references, str) else list(references)
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(r) for r in refs))


def _f1(pred_tokens: list[str], ref_tokens: list[str]) -> tuple[float, float, float]:
    if not pred_tokens or not ref_tokens:
        same = float(pred_tokens == ref_tokens)
        return same, same, same
    common = Counter(pred_tokens) & Counter(ref_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0, 0.0, 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(ref_tokens)
    return 2 * precision * recall / (precision + recall), precision, recall


def token_f1(prediction: str, references: str | Sequence[str]) -> float:
    """Best token-level F1 of the prediction against any reference."""
    refs = [references] if isinstance(references, str) else list(references)
    pred = normalize_answer(prediction).split()
    return max((_f1(pred, normalize_answer(r).split())[0] for r in refs), default=0.0)


def token_precision_recall(prediction: str, reference: str) -> tuple[float, float]:
    """Token precision and recall of the prediction against one reference."""
    _, p, r = _f1(normalize_answer(prediction).split(), normalize_answer(reference).split())
    return p, r
