"""Tables in plain text: rows, the header above them that names their periods, and rows quoted with those periods.

PDF and text loaders keep each table row on a line of its own: a label followed by its figures
(``Total net sales $ 81,797 $ 82,959``). A table's header is the run of short lines above its first row that
names periods (``Three Months Ended`` / ``July 1, 2023`` / ``June 25, 2022``).

- ``row_headers``: each row line of a text mapped to its table's header;
- ``column_labels``: a header's columns (``three months ended July 1, 2023``);
- ``label_row``: a row quoted with each figure followed by its column;
- ``row_group``: the rows that sum up with a row (its siblings down to their ``Total`` row);
- ``COLUMNS``: the prefix of the line a chunker adds to the context of a chunk that starts inside a table
  whose header lies in an earlier chunk (``Columns: Three Months Ended July 1, 2023 June 25, 2022``), and
  ``columns_of`` reads it back.
"""

from __future__ import annotations

import re

_DATE = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},\s*(?:19|20)\d\d"
                   r"|\bQ[1-4]\s+(?:19|20)\d\d\b|\b(?:19|20)\d\d\b")
_SPAN = re.compile(r"\b(?:Three|Six|Nine|Twelve)\s+Months\s+Ended\b|\bYear\s+Ended\b|\bQuarter\s+Ended\b", re.I)
_AMOUNT = re.compile(r"\(?\$?\s?-?\d[\d,]*(?:\.\d+)?\)?(?:\s?%)?|\s[—–-](?=\s|$)")
ROW = re.compile(r"^[^\W\d_][^\n]*?(?:\s+\(?\$?\s?-?[\d,.]+\)?\s?%?|\s+[—–-]){2,}\s*$")
"""A table row: a label followed by two or more figures (or dashes for empty cells)."""
_HEADER_LINES = 12
_TOTAL = re.compile(r"^total\b", re.I)
COLUMNS = "Columns: "
"""The prefix of a context line that carries the header of the table a chunk starts in."""


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


def is_row(line: str) -> bool:
    """Whether ``line`` is a table row (a line of dates, such as a header, is not)."""
    return bool(ROW.match(line)) and bool(ROW.match(_DATE.sub("", line)))


def row_headers(text: str) -> dict[str, str]:
    """Each table row line of ``text`` (stripped) mapped to its table's header: the short lines above the table's
    first row that name periods (dates, years, 'Three Months Ended'); rows of a table without such lines are left out.
    Rows after a subheading (``Current liabilities:``) keep the header of the rows above it."""
    lines = [line.strip() for line in text.split("\n")]
    out: dict[str, str] = {}
    header = ""
    previous_row = False
    for i, line in enumerate(lines):
        row = is_row(line)
        if row and not previous_row:
            above: list[str] = []
            continued = False  # the lines above sit between rows of the same table
            for prior in reversed(lines[max(0, i - _HEADER_LINES):i]):
                if is_row(prior) or len(prior.split()) > 12:
                    continued = is_row(prior)
                    break
                above.insert(0, prior)
            if column_labels(" ".join(above)):
                header = " ".join(above)
            elif not continued:
                header = ""
        if row and header:
            out.setdefault(line, header)
        previous_row = row
    return out


def columns_of(context: str) -> str:
    """The table header carried by a chunk's context (its ``COLUMNS`` line), '' when it has none."""
    for line in context.split("\n"):
        if line.startswith(COLUMNS):
            return line[len(COLUMNS):]
    return ""


def row_group(lines: list[str], at: int, most: int) -> list[int]:
    """The indexes of the rows of ``lines`` that belong with the row at ``at``: the run of rows around it, cut by
    any other line (a subheading such as ``Operating expenses:``) and after each ``Total`` row, so a total comes
    with the rows it sums and a row with its siblings and their total. Over ``most`` rows, the ``most`` nearest
    ``at`` (those above first); ``[at]`` alone when ``at`` is no row."""
    if not is_row(lines[at].strip()) or most < 1:
        return [at]
    start = at
    while start > 0 and is_row(lines[start - 1].strip()) and not _TOTAL.match(lines[start - 1].strip()):
        start -= 1
    end = at
    while not _TOTAL.match(lines[end].strip()) and end + 1 < len(lines) and is_row(lines[end + 1].strip()):
        end += 1
    nearest = sorted(range(start, end + 1), key=lambda i: (abs(i - at), i))[:most]
    return sorted(nearest)
