"""Document metadata found by rules at ingest: organisation, form, reporting period and dates.

Three sources are read, each by its own rules:

- the **cover page** (the first pages' text): ``FORM 10-Q``; ``For the quarterly period ended June 25, 2022``;
  the line above ``(Exact name of registrant ...)``; a ``fiscal year 2023`` or ``first quarter of 2023`` label;
- the **PDF metadata** (document information dictionary): ``Subject: Form 10-Q filed on 2022-07-29 for the period
  ending 2022-06-25``; a title ``10-Q - 10/28/2022 - Intel Corporation``;
- the **file name**: ``2023 Q3 AAPL.pdf`` (a year and quarter in either order, ``2023-Q3``, ``FY2023``) and a
  ticker-like word in capitals.

When sources disagree, the cover page wins over the PDF metadata (converters write that dictionary and are
often wrong), and the file name's period label wins over a period computed from a date: a quarter named
``2023 Q1`` is the filer's fiscal quarter, which a date alone cannot tell (Apple's fiscal 2023 Q1 ended on
December 31, 2022). Without a label, ``period`` is the calendar quarter of ``period_end``. Fields that no
rule finds are left out: such a document is still searchable, only not filterable by them.

Fields: ``organization``, ``ticker``, ``form``, ``period`` (``2023-Q3`` or ``2023``), ``period_end`` and
``filed`` (ISO dates).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping

FIELDS = ("organization", "ticker", "form", "period", "period_end", "filed")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_LONG_DATE = re.compile(rf"\b({_MONTHS})\s+(\d{{1,2}}),\s*(\d{{4}})\b", re.IGNORECASE)
_PERIOD_ENDED = re.compile(rf"(?:quarterly\s+period|period|quarter|fiscal\s+year|year)\s+ended\s+"
                           rf"((?:{_MONTHS})\s+\d{{1,2}},\s*\d{{4}})", re.IGNORECASE)
_FORM = re.compile(r"\bFORM\s+(10-Q|10-K|8-K|20-F|6-K|S-1|40-F|DEF\s+14A)\b", re.IGNORECASE)
_REGISTRANT = re.compile(r"^\s*\(\s*Exact name of (?:the\s+)?registrant", re.IGNORECASE)
_SUBJECT = re.compile(r"Form\s+(?P<form>[\w-]+)\s+filed\s+on\s+(?P<filed>\d{4}-\d{2}-\d{2})"
                      r"(?:\s+for\s+the\s+period\s+ending\s+(?P<end>\d{4}-\d{2}-\d{2}))?", re.IGNORECASE)
_TITLE_FORM = re.compile(r"^(?P<form>10-Q|10-K|8-K|20-F)\s*-\s*(?P<filed>\d{1,2}/\d{1,2}/\d{4})\s*-\s*(?P<org>.+)$")
_NAME_QUARTER = (re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)[\s_-]*Q(?P<q>[1-4])(?!\d)", re.IGNORECASE),
                 re.compile(r"(?<![A-Za-z])Q(?P<q>[1-4])[\s_-]*(?P<year>(?:19|20)\d\d)(?!\d)", re.IGNORECASE))
_NAME_YEAR = re.compile(r"(?<![A-Za-z0-9])FY[\s_-]?(?P<year>(?:19|20)\d\d)(?!\d)", re.IGNORECASE)
_TICKER = re.compile(r"(?<![A-Za-z])([A-Z]{2,5})(?![A-Za-z])")
_NOT_TICKERS = {"FY", "PDF", "FORM", "Q", "QTR", "ANNUAL", "REPORT"}
_COVER_CHARS = 6000


def _iso(text: str) -> str | None:
    try:
        cleaned = re.sub(r"\s+", " ", text.replace(",", ", ")).replace(" ,", ",").strip()
        return datetime.strptime(cleaned, "%B %d, %Y").date().isoformat()
    except ValueError:
        return None


def _quarter(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def from_file_name(path: Path) -> dict[str, Any]:
    """``period`` (and ``ticker``) from a file name such as ``2023 Q3 AAPL.pdf``."""
    stem = path.stem
    found: dict[str, Any] = {}
    for pattern in _NAME_QUARTER:
        if m := pattern.search(stem):
            found["period"] = f"{m['year']}-Q{m['q']}"
            stem = stem[:m.start()] + " " + stem[m.end():]
            break
    else:
        if m := _NAME_YEAR.search(stem):
            found["period"] = m["year"]
            stem = stem[:m.start()] + " " + stem[m.end():]
    tickers = [t for t in _TICKER.findall(stem) if t not in _NOT_TICKERS]
    if len(tickers) == 1 and "period" in found:  # a lone capital word beside a period label names the filer
        found["ticker"] = tickers[0]
    return found


def from_cover(text: str) -> dict[str, Any]:
    """``form``, ``period_end`` and ``organization`` from the first pages' text."""
    cover = text[:_COVER_CHARS]
    found: dict[str, Any] = {}
    if m := _FORM.search(cover):
        found["form"] = re.sub(r"\s+", " ", m.group(1).upper())
    if (m := _PERIOD_ENDED.search(cover)) and (day := _iso(m.group(1))):
        found["period_end"] = day
    lines = [line.strip() for line in cover.splitlines()]
    for i, line in enumerate(lines):
        if _REGISTRANT.match(line):
            name = next((prev for prev in reversed(lines[max(0, i - 3):i]) if prev and not set(prev) <= set("_-= ")), None)
            if name and len(name) <= 120:
                found["organization"] = _title_case(name)
            break
    return found


def from_pdf_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """``form``, ``filed``, ``period_end`` and ``organization`` from a PDF's document information dictionary."""
    found: dict[str, Any] = {}
    if m := _SUBJECT.search(str(info.get("Subject") or "")):
        found["form"] = m["form"].upper()
        found["filed"] = m["filed"]
        if m["end"]:
            found["period_end"] = m["end"]
    if m := _TITLE_FORM.match(str(info.get("Title") or "").strip()):
        found["form"] = m["form"]
        found["organization"] = m["org"].strip()
        month, day, year = (int(x) for x in m["filed"].split("/"))
        found["filed"] = date(year, month, day).isoformat()
    return found


def _title_case(name: str) -> str:
    """``AMAZON.COM, INC.`` as ``Amazon.com, Inc.``; a name already in mixed case is kept."""
    if name != name.upper():
        return name
    return " ".join(w[:1] + w[1:].lower() if w[:1].isalpha() else w for w in name.split())


def detect(path: Path, cover: str, info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The metadata fields the rules find for the file ``path`` whose first pages read ``cover`` (see the module
    docstring for the order in which sources win)."""
    found: dict[str, Any] = {}
    for source in (from_pdf_info(info or {}), from_cover(cover)):  # later sources override earlier ones
        found.update(source)
    named = from_file_name(path)
    if "period" in named:
        found["period"] = named["period"]
    elif "period_end" in found:
        found["period"] = _quarter(found["period_end"])
    if "ticker" in named:
        found["ticker"] = named["ticker"]
    return {key: found[key] for key in FIELDS if found.get(key)}
