"""The ``extractive`` generator: no language model. It quotes the sentences of the context blocks that best
answer the question, each cited with its block's marker. Always available offline; costs no tokens.

A sentence scores by the question's content words it contains, each weighted by how rare it is among the
candidate sentences (idf), plus a bonus for question word pairs it keeps in order, and a small prior
for blocks that retrieval ranked higher. A chosen sentence that introduces a list (ends with ':') brings
the list's items with it.
"""

from __future__ import annotations

import math

from ragtune.generation.base import GenerateOptions, Generation, GeneratorBase, Prompt, TextCallback, Usage, estimate_tokens
from ragtune.generation.prompts import CANNOT_ANSWER
from ragtune.generation.text import content_terms, split_sentences, words

_MIN_WORDS = 4
_LIST_ITEMS = 8


class ExtractiveGenerator(GeneratorBase):
    """Answers by quoting the best-supported context sentences (see the module docstring)."""

    def __init__(self, sentences: int = 2, spec: str = "extractive") -> None:
        if sentences < 1:
            raise ValueError("sentences must be at least 1")
        self.sentences = sentences
        self.spec = spec

    @property
    def context_window(self) -> int:
        return 1_000_000

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def select(self, prompt: Prompt) -> list[tuple[int, str]]:
        """The ``(block number, sentence)`` pairs that answer ``prompt.question``, best first."""
        question = content_terms(prompt.question or "")
        if not question or not prompt.blocks:
            return []
        candidates = []  # (block rank, block number, sentence index, sentences of block, terms)
        for rank, block in enumerate(prompt.blocks):
            sentences = [s.text for s in split_sentences(block.text)]
            for i, sentence in enumerate(sentences):
                if len(words(sentence)) >= _MIN_WORDS:
                    candidates.append((rank, block.number, i, sentences, content_terms(sentence)))
        if not candidates:
            return []
        n = len(candidates)
        q_terms = set(question)
        df = {t: sum(1 for c in candidates if t in c[4]) for t in q_terms}
        idf = {t: math.log(1 + n / (1 + df[t])) for t in q_terms}
        total = math.fsum(idf.values()) or 1.0
        q_pairs = set(zip(question, question[1:]))

        def score(c) -> float:
            terms = c[4]
            present = q_terms & set(terms)
            pairs = q_pairs & set(zip(terms, terms[1:]))
            return (math.fsum(idf[t] for t in present) / total + 0.1 * min(len(pairs), 3)
                    + 0.05 / (1 + c[0]) - 0.002 * max(0, len(terms) - 40))

        ranked = sorted(candidates, key=lambda c: -score(c))
        top = score(ranked[0])
        if top <= 0.05:
            return []
        chosen: list[tuple[int, str]] = []
        covered: set[str] = set()
        for c in ranked:
            if len(chosen) >= self.sentences:
                break
            new_terms = (q_terms & set(c[4])) - covered
            if chosen and (score(c) < 0.6 * top or not new_terms):
                continue
            covered |= q_terms & set(c[4])
            text = c[3][c[2]]
            if text.rstrip().endswith(":"):
                items = c[3][c[2] + 1:c[2] + 1 + _LIST_ITEMS]
                text = text.rstrip() + " " + "; ".join(s.rstrip(".;") for s in items) + ("." if items else "")
            chosen.append((c[1], text))
        return chosen

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        chosen = self.select(prompt)
        parts = [_cited(sentence, number) for number, sentence in chosen]
        text = " ".join(parts) if parts else CANNOT_ANSWER
        if on_text:
            for i, part in enumerate(parts or [text]):
                on_text(part if i == 0 else " " + part)
        return Generation(text=text, usage=Usage(0, 0), finish_reason="stop", model=self.spec)


def _cited(sentence: str, number: int) -> str:
    s = " ".join(sentence.split())
    if s and s[-1] in ".!?":
        return f"{s[:-1]} [{number}]{s[-1]}"
    return f"{s} [{number}]."
