"""Questions read for their constraints: an organisation or a period the question names becomes a filter.

``QueryPlanner`` knows the metadata values the index's documents hold (``organization``, ``ticker``,
``period``; see ``ragtune.documents.metadata``) and reads a question for them:

- an organisation, by its name's first word (``Apple`` for ``Apple Inc.``), its full name or its ticker;
- a period: ``Q3 2023``, ``2023 Q3``, ``2023-Q3``, ``third quarter of 2023``; ``latest`` / ``most recent`` is the
  newest period held (of the organisation named, when one is);
- a question over several documents: several periods named, or words such as ``over time``, ``across quarters``,
  ``these 10-Qs``, ``trend``, ``each reported period``, ``compared to previous quarters``.

The plan is one filter (``{"organization": ..., "period": ...}``), one filter per document for a question over
several documents (each document then gets its share of the context: ``retrieve_planned``), or none: a
question that names nothing the index holds is answered by plain retrieval, as is one whose filter matches no
chunk. A period that no document has gives no filter and a ``note`` that lists the periods held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ragtune.index.base import Filters
from ragtune.retrieval.base import Reranker, Retriever, ScoredChunk

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
_PERIODS = (
    re.compile(r"\bQ([1-4])(?:\s+of)?\s*(?:FY\s*|fiscal\s+(?:year\s+)?)?'?((?:19|20)\d\d)\b", re.IGNORECASE),
    re.compile(r"\b(?:FY\s*)?((?:19|20)\d\d)\s*-?\s*Q([1-4])\b", re.IGNORECASE),
    re.compile(r"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter\s+(?:of\s+)?(?:fiscal\s+(?:year\s+)?)?"
               r"((?:19|20)\d\d)\b", re.IGNORECASE),
)
_LATEST = re.compile(r"\b(?:latest|most\s+recent|last|newest)\s+(?:\w+\s+){0,2}?(?:10-[QK]|quarter|filing|report|period)",
                     re.IGNORECASE)
_MULTI = re.compile(r"\b(?:over\s+time|over\s+(?:the\s+)?(?:reported|reporting|historical|these|past)\s+\w+|across\s+(?:the\s+)?"
                    r"(?:\w+\s+)?(?:quarters|periods|filings|reports)|these\s+(?:\d+\s+)?(?:10-[QK]s|quarters|quarterly\s+reports|"
                    r"filings|reports|periods)|each\s+reported\s+period|trends?\b|previous\s+quarters|past\s+quarters|"
                    r"reported\s+quarters|historical\s+periods)", re.IGNORECASE)
_FORM_WORDS = re.compile(r"\b(?:form\s+)?10-[QK]s?\b", re.IGNORECASE)
_GENERIC_WORDS = {"the", "international", "general", "united", "american", "national", "first", "new", "global"}


@dataclass
class QueryPlan:
    """What retrieval does for a question: the filters it searched with (one per document for a question over
    several, none for plain retrieval), what in the question produced them, and a note for the answer."""

    filters: list[dict[str, str]] = field(default_factory=list)
    matched: dict[str, Any] = field(default_factory=dict)
    per_document: bool = False
    note: str | None = None
    fallback: bool = False
    focus: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"filters": self.filters, "matched": self.matched, "per_document": self.per_document, "note": self.note,
                "fallback": self.fallback, "focus": self.focus}


def _period_key(period: str) -> tuple[int, int]:
    year, _, quarter = period.partition("-Q")
    return (int(year) if year.isdigit() else 0, int(quarter) if quarter.isdigit() else 5)


def _aliases(organization: str, ticker: str | None) -> list[str]:
    name = organization.lower()
    aliases = {name, re.sub(r"[,.]?\s*(inc|corp|corporation|ltd|llc|plc|co|company)\.?$", "", name).strip()}
    first = re.split(r"[\s,]+", name)[0]
    first = re.sub(r"\.(com|net|org|io)$", "", first)
    if len(first) >= 3 and first not in _GENERIC_WORDS:
        aliases.add(first)
    if ticker:
        aliases.add(ticker.lower())
    return sorted((a for a in aliases if a), key=len, reverse=True)


def _named(text: str, aliases: Sequence[str]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", text) for a in aliases)


def names_organization(question: str, organization: str, ticker: str | None = None) -> bool:
    """Whether ``question`` names ``organization``: its full name, its name's first word or its ticker."""
    return _named(question.lower(), _aliases(organization, ticker))


class QueryPlanner:
    """Reads questions for the organisations and periods that ``documents`` hold (see the module docstring)."""

    def __init__(self, documents: Sequence[Mapping[str, Any]], per_document: bool = True) -> None:
        self.documents = [d for d in documents if d.get("organization") or d.get("period")]
        self.per_document = per_document
        self.organizations: dict[str, list[str]] = {}
        for doc in self.documents:
            org = doc.get("organization")
            if org and org not in self.organizations:
                self.organizations[str(org)] = _aliases(str(org), doc.get("ticker"))
        self.periods = sorted({str(d["period"]) for d in self.documents if d.get("period")}, key=_period_key)

    def _organizations(self, question: str) -> list[str]:
        text = question.lower()
        return [org for org, aliases in self.organizations.items() if _named(text, aliases)]

    @staticmethod
    def _periods(question: str) -> list[str]:
        found: list[str] = []
        for pattern in _PERIODS:
            for m in pattern.finditer(question):
                a, b = m.group(1), m.group(2)
                quarter, year = (a, b) if not a.isdigit() or len(a) == 1 else (b, a)
                found.append(f"{year}-Q{_ORDINALS.get(quarter.lower(), quarter)}")
        return list(dict.fromkeys(found))

    def plan(self, question: str) -> QueryPlan:
        """The plan for ``question`` (no filter when it names nothing the documents hold); with a filter, ``focus`` is
        the question without the words the filter settles (organisation, period, form), which every chunk it lets
        through would match."""
        plan = self._plan(question)
        if plan.filters:
            orgs = plan.matched.get("organization") or []
            aliases = [a for org in orgs for a in self.organizations[org]]
            focus = question
            for pattern in (*(re.compile(rf"(?<![\w-]){re.escape(a)}(?:['’]s)?(?![\w-])", re.IGNORECASE) for a in aliases),
                            *_PERIODS, _LATEST, _FORM_WORDS, *((_MULTI,) if plan.per_document else ())):
                focus = pattern.sub(" ", focus)
            plan.focus = " ".join(focus.split())
        return plan

    def _plan(self, question: str) -> QueryPlan:
        if not self.documents:
            return QueryPlan()
        orgs = self._organizations(question)
        named = self._periods(question)
        docs = [d for d in self.documents if not orgs or d.get("organization") in orgs]
        held = sorted({str(d["period"]) for d in docs if d.get("period")}, key=_period_key)
        matched: dict[str, Any] = {}
        if orgs:
            matched["organization"] = orgs
        missing = [p for p in named if p not in held]
        if missing:
            note = (f"No document covers {', '.join(missing)}; the documents cover {', '.join(held) or 'no named period'}.")
            return QueryPlan(matched={**matched, "period": missing}, note=note)
        multi = len(named) > 1 or bool(_MULTI.search(question))
        periods = named
        if not periods and _LATEST.search(question) and held:
            periods = [held[-1]] if not multi else list(reversed(held))
            matched["latest"] = held[-1]
        elif not periods and multi:
            periods = list(reversed(held))
        if periods:
            matched["period"] = periods
        base = {"organization": orgs[0]} if len(orgs) == 1 else {}
        if len(periods) > 1 and self.per_document:
            return QueryPlan([{**base, "period": p} for p in periods], matched, per_document=True)
        if len(periods) == 1:
            return QueryPlan([{**base, "period": periods[0]}], matched)
        if len(orgs) > 1 and self.per_document:
            return QueryPlan([{"organization": o} for o in orgs], matched, per_document=True)
        return QueryPlan([base] if base else [], matched)


def retrieve_planned(retriever: Retriever, question: str, k: int, filters: Filters | None, plan: QueryPlan) -> list[ScoredChunk]:
    """Retrieve for ``question`` as ``plan`` says: with its filter, or its share of ``k`` (at least one) from each
    document of a question over several, interleaved best first, searching for the plan's ``focus``; plain retrieval
    (for the whole question) when a plan finds nothing.
    Filters the caller gave are kept and win over the inferred ones."""
    base = filters or Filters()
    if not plan.filters:
        return retriever.retrieve(question, k, filters)
    query = plan.focus or question
    runs = [retriever.retrieve(query, k if not plan.per_document else max(1, -(-k // len(plan.filters))),
                               Filters(source=base.source, types=base.types, metadata={**f, **base.metadata}))
            for f in plan.filters]
    if not any(runs):
        plan.fallback = True
        return retriever.retrieve(question, k, filters)
    if not plan.per_document:
        return runs[0]
    merged: list[ScoredChunk] = []
    for rank in range(max(len(r) for r in runs)):
        merged.extend(r[rank] for r in runs if rank < len(r))
    return merged


def interleave_by_document(scored: Sequence[ScoredChunk], limit: int) -> list[ScoredChunk]:
    """The first ``limit`` of ``scored`` taken in turns from each document (each document's chunks in their order)."""
    groups: dict[str, list[ScoredChunk]] = {}
    for s in scored:
        groups.setdefault(s.chunk.doc_id, []).append(s)
    out: list[ScoredChunk] = []
    for rank in range(max((len(g) for g in groups.values()), default=0)):
        out.extend(g[rank] for g in groups.values() if rank < len(g))
    return out[:limit]


def retrieve_ranked(retriever: Retriever, question: str, k: int, filters: Filters | None, plan: QueryPlan,
                    reranker: Reranker | None = None, candidates: int = 0) -> list[ScoredChunk]:
    """The ``k`` best chunks as ``plan`` says (``retrieve_planned``); with ``reranker``, ``max(k, candidates)`` are
    fetched, reordered by it, and the best ``k`` kept (taken in turns from each document for a plan over several)."""
    if reranker is None:
        return retrieve_planned(retriever, question, k, filters, plan)
    found = retrieve_planned(retriever, question, max(k, candidates), filters, plan)
    reranked = reranker.rerank(question, found, len(found))
    return interleave_by_document(reranked, k) if plan.per_document else reranked[:k]
