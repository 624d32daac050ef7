"""The ``extractive`` generator: no language model. It quotes the sentences of the context blocks that best
answer the question, each cited with its block's marker. Always available offline; costs no tokens.

A sentence scores by the question's content words it contains, each weighted by how rare it is among the
candidate sentences (idf), plus a bonus for question word pairs it keeps in order, and a small prior
for blocks that retrieval ranked higher, plus a bonus for a table row whose label (``Gross margin``) the question
names (two thirds of its words or more). A question word found only in the block's heading path or context
header counts half (``HEADING_WEIGHT``): "What is the policy?" is answered from the passage under "Policy".
A question that asks for an amount or how one changed (``ragtune.generation.figures``) prefers sentences and
rows that hold figures (``FIGURE_WEIGHT``), and its acronyms (``R&D``) are read as the passages spell them. A
chosen sentence that introduces a list (ends with ':') brings the list's items with it; a sentence is quoted once.

Table rows stay whole: a line that is a label followed by figures (``Total net sales 81,797 82,959``) is a
candidate of its own, so a row is quoted with its label and all its figures, never cut or run into the next row;
under a header that names periods each figure is quoted with its column (``$ 81,797 (three months ended July 1,
2023)``), also in a chunk that starts inside a table whose header its chunker carried in its context.
For a question over several documents (``Prompt.per_source``) the answer takes the best sentence of each
document, in the order of the blocks, so every source it was given is quoted and cited.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from ragtune.generation.base import (ContextBlock, GenerateOptions, Generation, GeneratorBase, Prompt, TextCallback, Usage,
                                     estimate_tokens)
from ragtune.documents.tables import ROW, columns_of, is_row, label_row, row_group, row_headers
from ragtune.generation.figures import asks_for_figures, figures, expand_acronyms, figure_count
from ragtune.generation.prompts import CANNOT_ANSWER
from ragtune.generation.text import content_terms, split_sentences, words
from ragtune.retrieval.base import ScoredChunk

_MIN_WORDS = 4
_LIST_ITEMS = 8
_ROW = ROW
FIGURE_QUOTES = 4
"""A question that asks for figures gets this many more quotes (per document, this many in all) when they add figures."""
HEADING_WEIGHT = 0.5
"""A question word found only in the heading path or context header of a sentence's block counts this much."""
FIGURE_WEIGHT = 0.3
"""Bonus for a passage with figures when the question asks for one (two figures or more give it all)."""
FIGURE_ROWS = 6
"""A table row quoted for a question that asks for figures brings the rows of its group (``row_group``), this many
in all: the parts with their total, a part with its siblings."""


def row_label(unit: str) -> set[str]:
    """The content words of the label of a table row (the words before its figures); empty for other text."""
    if not _ROW.match(unit.strip()):
        return set()
    label = re.split(r"\s\(?\$?\s?-?\d", unit.strip(), maxsplit=1)[0]
    return set(content_terms(label))


def units(sentence: str) -> list[str]:
    """``sentence`` as candidate units: each table row line on its own, the other lines joined (see module docstring)."""
    lines = sentence.split("\n")
    if len(lines) == 1 or not any(_ROW.match(line.strip()) for line in lines):
        return [sentence]
    out: list[str] = []
    prose: list[str] = []
    for line in lines:
        if _ROW.match(line.strip()):
            if prose:
                out.append(" ".join(prose))
                prose = []
            out.append(line.strip())
        elif line.strip():
            prose.append(line.strip())
    if prose:
        out.append(" ".join(prose))
    return out


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
        """The ``(block number, sentence)`` pairs that answer ``prompt.question``, best first (scored on
        ``prompt.focus`` when retrieval settled part of the question)."""
        scored = _Scored.of(prompt)
        if scored is None:
            return []
        ranked, score, headers = scored.ranked, scored.score, scored.headers
        top = score(ranked[0])
        if top <= 0.05:
            return []
        rows = FIGURE_ROWS if scored.wants_figures else 1
        if prompt.per_source:
            per = FIGURE_QUOTES if scored.wants_figures else 1
            chosen = self._per_source(prompt, ranked, score, per, rows)
        else:
            limit = self.sentences + (FIGURE_QUOTES if scored.wants_figures else 0)
            chosen = _in_turn(ranked, score, scored.q_terms, limit, rows)
        return [(n, _quoted(text, headers[n])) for n, text in chosen]

    @staticmethod
    def block_scores(prompt: Prompt) -> dict[int, float]:
        """Each block's best sentence or table row score for ``prompt.question`` (0 for a block with none)."""
        scored = _Scored.of(prompt)
        best = {b.number: 0.0 for b in prompt.blocks}
        if scored is not None:
            for c in scored.ranked:
                best[c[1]] = max(best[c[1]], scored.score(c))
        return best

    @staticmethod
    def _per_source(prompt: Prompt, ranked: list, score, per: int = 1, rows: int = 1) -> list[tuple[int, str]]:
        """The ``per`` best candidates of each document among ``ranked`` (a second one only when it quotes new
        figures), documents in the order of the blocks; a table row with up to ``rows`` of its group."""
        doc_of = {b.number: b.doc_id for b in prompt.blocks}
        best: dict[str, list[list[tuple[int, str]]]] = {}
        said: set[str] = set()
        quoted: dict[str, set[str]] = {}
        for c in ranked:
            doc, key, found = doc_of[c[1]], " ".join(words(c[3][c[2]])), set(figures(c[3][c[2]]))
            if score(c) <= 0.05 or key in said or len(best.get(doc, [])) >= per:
                continue
            if doc in best and not (c[6] and found - quoted[doc]):
                continue
            group = _group(c, rows, said)
            best.setdefault(doc, []).append(group)
            quoted.setdefault(doc, set()).update(f for _, text in group for f in figures(text))
        order = {b.doc_id: i for i, b in reversed(list(enumerate(prompt.blocks)))}
        return [pair for _, groups in sorted(best.items(), key=lambda item: order[item[0]]) for g in groups for pair in g]

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        chosen = self.select(prompt)
        parts = [_cited(sentence, number) for number, sentence in chosen]
        text = " ".join(parts) if parts else CANNOT_ANSWER
        if on_text:
            for i, part in enumerate(parts or [text]):
                on_text(part if i == 0 else " " + part)
        return Generation(text=text, usage=Usage(0, 0), finish_reason="stop", model=self.spec)



@dataclass
class _Scored:
    """The candidate sentences and rows of a prompt's blocks, best first, with the score that ranked them."""

    ranked: list
    score: Callable[[Any], float]
    headers: dict[int, dict[str, str]]
    q_terms: set[str]
    wants_figures: bool

    @classmethod
    def of(cls, prompt: Prompt) -> "_Scored | None":
        """Score ``prompt``'s candidates (see the module docstring); None when there is nothing to score."""
        asked = (prompt.focus or "") if content_terms(prompt.focus or "") else (prompt.question or "")
        if not content_terms(asked) or not prompt.blocks:
            return None
        question = content_terms(expand_acronyms(asked, [b.text for b in prompt.blocks]))
        wants_figures = asks_for_figures(prompt.question or asked)
        candidates = []  # (block rank, block number, sentence index, sentences of block, terms, row label, figures)
        headers: dict[int, dict[str, str]] = {}
        around: dict[int, set[str]] = {}  # the terms of each block's heading path and context header
        for rank, block in enumerate(prompt.blocks):
            sentences = [u for s in split_sentences(block.text) for u in units(s.text)]
            lead = block.indexed[:-len(block.text)] if block.text and block.indexed.endswith(block.text) else ""
            headers[block.number] = {"": columns_of(lead), **row_headers(block.text)}
            around[block.number] = set(content_terms(lead))
            for i, sentence in enumerate(sentences):
                if len(words(sentence)) >= _MIN_WORDS:
                    candidates.append((rank, block.number, i, sentences, content_terms(sentence), row_label(sentence),
                                       min(figure_count(sentence), 2) / 2 if wants_figures else 0.0))
        if not candidates:
            return None
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
            named = len(q_terms & c[5]) / len(c[5]) if c[5] else 0.0  # a table row whose label the question names
            relevance = (math.fsum(idf[t] for t in present) / total
                         + HEADING_WEIGHT * math.fsum(idf[t] for t in (q_terms & around[c[1]]) - present) / total)
            return (relevance + (FIGURE_WEIGHT * c[6] if relevance > 0 else 0.0) + 0.1 * min(len(pairs), 3)
                    + (0.3 * named if named >= 0.66 else 0.0) + 0.05 / (1 + c[0]) - 0.002 * max(0, len(terms) - 40))

        return cls(sorted(candidates, key=lambda c: -score(c)), score, headers, q_terms, wants_figures)


def _in_turn(ranked: list, score, q_terms: set[str], limit: int, rows: int = 1) -> list[tuple[int, str]]:
    """Up to ``limit`` quotes of ``ranked`` (best first): after the first, those scoring at least 0.6 of it that add
    question words or figures; a list introduction brings its items, a table row up to ``rows`` of its group."""
    top = score(ranked[0])
    chosen: list[tuple[int, str]] = []
    quotes = 0
    covered: set[str] = set()
    said: set[str] = set()
    quoted: set[str] = set()  # figures quoted so far
    for c in ranked:
        if quotes >= limit:
            break
        new_terms = (q_terms & set(c[4])) - covered
        new_figures = set(figures(c[3][c[2]])) - quoted if c[6] else set()
        key = " ".join(words(c[3][c[2]]))
        if key in said or (chosen and (score(c) < 0.6 * top or not (new_terms or new_figures))):
            continue
        quotes += 1
        covered |= q_terms & set(c[4])
        text = c[3][c[2]]
        if text.rstrip().endswith(":"):
            said.add(key)
            items = c[3][c[2] + 1:c[2] + 1 + _LIST_ITEMS]
            chosen.append((c[1], text.rstrip() + " " + "; ".join(s.rstrip(".;") for s in items) + ("." if items else "")))
            continue
        group = _group(c, rows, said)
        quoted.update(f for _, t in group for f in figures(t))
        chosen.extend(group)
    return chosen


def _group(c: tuple, rows: int, said: set[str]) -> list[tuple[int, str]]:
    """Candidate ``c`` as ``(block number, text)`` pairs: a table row with up to ``rows`` rows of its group
    (``row_group``) not yet in ``said``, in the table's order; each one quoted is added to ``said``."""
    sentences = c[3]
    indexes = row_group(sentences, c[2], rows) if rows > 1 else [c[2]]
    out: list[tuple[int, str]] = []
    for i in indexes:
        key = " ".join(words(sentences[i]))
        if i == c[2] or key not in said:
            said.add(key)
            out.append((c[1], sentences[i]))
    return out


def _quoted(text: str, headers: dict[str, str]) -> str:
    """``text``, a table row with its figures labelled by their columns when its table's header is known (in the
    block, or under ``''``: the header of the table the block starts in, from its context)."""
    header = headers.get(text.strip()) or (headers.get("", "") if _ROW.match(text.strip()) else "")
    return label_row(text, header) if header else text


def _cited(sentence: str, number: int) -> str:
    s = " ".join(sentence.split())
    if s and s[-1] in ".!?":
        return f"{s[:-1]} [{number}]{s[-1]}"
    return f"{s} [{number}]."


def with_answering(question: str, hits: list[ScoredChunk], first: int, extra: int, per_document: bool = False,
                   focus: str | None = None) -> list[ScoredChunk]:
    """The ``first`` of ``hits``, then the ``extra`` others (``extra`` of each document, over several) that hold a
    table row and whose best sentence or row answers ``question`` best (the extractive score, retrieval order
    breaking ties)."""
    blocks = [ContextBlock.from_scored(i, h) for i, h in enumerate(hits, start=1)]
    scores = ExtractiveGenerator.block_scores(Prompt(messages=[], question=question, blocks=blocks, focus=focus))
    taken: dict[str, int] = {}
    added: list[ScoredChunk] = []
    for n in sorted(range(first + 1, len(hits) + 1), key=lambda n: (-scores[n], n)):
        doc = hits[n - 1].chunk.doc_id if per_document else ""
        tabular = any(is_row(line.strip()) for line in hits[n - 1].chunk.text.split("\n"))
        if scores[n] > 0 and taken.get(doc, 0) < extra and tabular:
            taken[doc] = taken.get(doc, 0) + 1
            added.append(hits[n - 1])
    return hits[:first] + added
