"""Figures for extractive answers: questions that ask for amounts, and passages that carry them.

- ``asks_for_figures``: a question asks for a figure when it asks "how much/many", or names a measure (revenue,
  sales, expenses, rate, margin, cash, inventory, ...) or a change of one (changed, compare, trend, over time).
- ``figure_count``: the amounts, percentages and grouped numbers of a passage (years left out).
- ``expand_acronyms``: an acronym of the question (``R&D``, ``AWS``) spelled out as the passages spell it
  (``research and development``), so a table row labelled with the long form is found.

Table rows and the periods of their columns are read by ``ragtune.documents.tables``.
"""

from __future__ import annotations

import re
from collections import Counter

from ragtune.generation.text import content_terms

_FIGURE = re.compile(r"(?<![\w.])(?:\$\s?)?\(?(?:\d{1,3}(?:,\d{3})+|\d+\.\d+|\d{3,})\)?(?:\s?%)?|\$\s?\d+|\d+\s?%")
_YEAR = re.compile(r"^\(?(?:19|20)\d\d\)?$")
_HOW_MUCH = re.compile(r"\bhow (?:much|many)\b|\bwhat (?:was|were|is|are) the (?:total|amount|value|number)\b", re.I)
_MEASURES = frozenset(content_terms(
    "revenue revenues sales income expense expenses expenditure expenditures spending cost costs margin rate price "
    "cash amount total earnings profit loss debt inventory inventories assets liabilities dividend repurchase "
    "percentage percent figure figures value level levels changed change compare trend fluctuated over time "
    "billion million"))
_ACRONYM = re.compile(r"\b[A-Z](?:&[A-Z]){1,3}\b|\b[A-Z]{2,5}\b")
_JOINERS = frozenset({"and", "&", "of", "the"})
_WORD = re.compile(r"[A-Za-z]+|&")


def figures(text: str) -> list[str]:
    """The figures of ``text`` (amounts, percentages, grouped or long numbers), years left out."""
    found = [m.group(0).strip() for m in _FIGURE.finditer(text)]
    return [f for f in found if not _YEAR.match(f.replace("$", "").strip())]


def figure_count(text: str) -> int:
    """How many figures ``text`` holds (see ``figures``)."""
    return len(figures(text))


def asks_for_figures(question: str) -> bool:
    """Whether ``question`` asks for an amount, a rate or how one changed (see the module docstring)."""
    return bool(_HOW_MUCH.search(question)) or bool(_MEASURES & set(content_terms(question)))


def _spelled(letters: str, text: str) -> Counter[str]:
    """Word runs of ``text`` whose initials are ``letters`` (joiners such as 'and' skipped), with their counts."""
    words = _WORD.findall(text)
    found: Counter[str] = Counter()
    for start, word in enumerate(words):
        if word.lower() in _JOINERS or word[0].lower() != letters[0]:
            continue
        run, i, j = [word], 1, start + 1
        while i < len(letters) and j < len(words):
            w = words[j]
            if w.lower() in _JOINERS:
                run.append(w)
            elif w[0].lower() == letters[i]:
                run.append(w)
                i += 1
            else:
                break
            j += 1
        if i == len(letters) and len(run) > 1:
            found[" ".join(run).lower()] += 1
    return found


def expand_acronyms(question: str, passages: list[str]) -> str:
    """``question`` with each acronym followed by its most frequent spelling in ``passages`` (unchanged when none)."""
    out = question
    for acronym in dict.fromkeys(_ACRONYM.findall(question)):
        letters = "".join(c for c in acronym if c.isalpha()).lower()
        counts: Counter[str] = Counter()
        for passage in passages:
            counts.update(_spelled(letters, passage))
        if counts:
            spelled = max(sorted(counts), key=lambda s: counts[s])
            out = re.sub(rf"(?<![\w&]){re.escape(acronym)}(?![\w&])", f"{acronym} ({spelled})", out, count=1)
    return out
