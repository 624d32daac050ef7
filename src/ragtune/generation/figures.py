"""Figures for extractive answers: questions that ask for amounts, passages that carry them, table rows with periods.

- ``asks_for_figures``: a question asks for a figure when it asks "how much/many", or names a measure (revenue,
  sales, expenses, rate, margin, cash, inventory, ...) or a change of one (changed, compare, trend, over time).
- ``figure_count``: the amounts, percentages and grouped numbers of a passage (years left out).
- ``expand_acronyms``: an acronym of the question (``R&D``, ``AWS``) spelled out as the passages spell it
  (``research and development``), so a table row labelled with the long form is found.
- ``label_row``: a table row quoted with its column headers: ``Total net sales $ 81,797 $ 82,959`` under the
  headers ``Three Months Ended | July 1, 2023 | June 25, 2022`` becomes ``Total net sales: $ 81,797 (three months
  ended July 1, 2023); $ 82,959 (three months ended June 25, 2022)``, so each figure keeps its period.
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
_DATE = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},\s*(?:19|20)\d\d"
                   r"|\bQ[1-4]\s+(?:19|20)\d\d\b|\b(?:19|20)\d\d\b")
_SPAN = re.compile(r"\b(?:Three|Six|Nine|Twelve)\s+Months\s+Ended\b|\bYear\s+Ended\b|\bQuarter\s+Ended\b", re.I)
_AMOUNT = re.compile(r"\(?\$?\s?-?\d[\d,]*(?:\.\d+)?\)?(?:\s?%)?|\s[—–-](?=\s|$)")
ROW = re.compile(r"^[^\W\d_][^\n]*?(?:\s+\(?\$?\s?-?[\d,.]+\)?\s?%?|\s+[—–-]){2,}\s*$")
"""A table row: a label followed by two or more figures (or dashes for empty cells)."""
_HEADER_LINES = 12


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


def column_labels(header: str) -> list[str]:
    """The column labels of a table header: each date (or year) under its span (``three months ended July 1, 2023``)."""
    spans = [(m.start(), m.group(0).lower()) for m in _SPAN.finditer(header)]
    dates: list[tuple[int, str]] = []
    day = ""  # the month and day of the last full date: bare years after it share them ("March 31, 2022 2023")
    for m in _DATE.finditer(header):
        date = " ".join(m.group(0).split())
        if date.isdigit() and day:
            date = f"{day} {date}"
        elif not date.isdigit():
            day = date.rsplit(" ", 1)[0] if date[0].isalpha() and "," in date else ""
        dates.append((m.start(), date))
    if not dates:
        return []
    if spans and len(dates) % len(spans) == 0:
        per = len(dates) // len(spans)
        return [f"{spans[i // per][1]} {d}" for i, (_, d) in enumerate(dates)]
    return [d for _, d in dates]


def label_row(row: str, header: str) -> str:
    """``row`` with each amount followed by its column label from ``header``; unchanged unless they pair one to one."""
    labels = column_labels(header)
    label = re.split(r"\s\(?\$?\s?-?\d", row.strip(), maxsplit=1)[0].rstrip(" $")
    rest = row.strip()[len(label):]
    cells = [" ".join(m.group(0).split()) for m in _AMOUNT.finditer(rest)]
    amounts = [c for c in cells if not c.endswith("%")] or cells  # a row of rates only: the rates
    if not labels or len(amounts) != len(labels):
        return row
    return f"{label}: " + "; ".join(f"{a} ({lab})" for a, lab in zip(amounts, labels))


def _is_row(line: str) -> bool:
    """Whether ``line`` is a table row (a line of dates, such as a header, is not)."""
    return bool(ROW.match(line)) and bool(ROW.match(_DATE.sub("", line)))


def row_headers(text: str) -> dict[str, str]:
    """Each table row line of ``text`` (stripped) mapped to its table's header: the short lines above the table's
    first row that name periods (dates, years, 'Three Months Ended'); rows of a table without such lines are left out."""
    lines = [line.strip() for line in text.split("\n")]
    out: dict[str, str] = {}
    header = ""
    previous_row = False
    for i, line in enumerate(lines):
        is_row = _is_row(line)
        if is_row and not previous_row:
            above: list[str] = []
            for prior in reversed(lines[max(0, i - _HEADER_LINES):i]):
                if _is_row(prior) or len(prior.split()) > 12:
                    break
                above.insert(0, prior)
            header = " ".join(above) if column_labels(" ".join(above)) else ""
        if is_row and header:
            out.setdefault(line, header)
        previous_row = is_row
    return out
