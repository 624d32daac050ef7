"""Answerability: whether the retrieved passages can support an answer to this question.

The score is the weighted share of the question's key terms that the best passage holds, read with its heading
path and context header (the document's title, organisation and period), so "What is the policy?" is supported
by a passage under a "Policy" heading. Names weigh more than other words (``NAME_WEIGHT``): a capitalised word
after the question's first word, or an acronym (``Apple``, ``AWS``, ``Q3``).

What the passages are about decides first (``mismatch``); the score is 0 when they cannot be about what the
question asks about:

- the question names an organisation or a period that the index holds (the ``QueryPlan`` of
  ``ragtune.retrieval.self_query``) and no passage's document has it (a filter kept the right documents out);
- the question asks about someone's thing ("Beta's refund window") and no passage names the owner;
- every passage's document names its organisation, the question names none of them, and one of the question's
  names (other than a period: ``Q3``, ``FY2023``, a month) is in no passage: "What were Apple's net sales" asked of
  an index of Amazon's filings.

For the metadata rules, passages whose documents lack the organisation or period decide nothing, and a period that
no document holds is told in the answer rather than abstained on. ``ask`` abstains when the score is below
``[answer] min_answerability``, chosen on development data with answerable and unanswerable questions of several
corpora (``bench/abstention.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragtune.generation.base import ContextBlock
from ragtune.generation.text import STOPWORDS, content_terms
from ragtune.retrieval.self_query import QueryPlan, names_organization

NAME_WEIGHT = 3.0
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_OWNER = re.compile(r"\b([A-Z][\w.&-]*)['’]s\b")
_PERIOD_WORD = re.compile(r"^(?:Q[1-4]|H[12]|FY\d*|\d+|January|February|March|April|May|June|July|August|September|"
                          r"October|November|December)$", re.IGNORECASE)


def names(question: str) -> dict[str, str]:
    """The question's names, each content term with the word it came from: a capitalised word after the first
    word, or an acronym."""
    found: dict[str, str] = {}
    for i, token in enumerate(_TOKEN.findall(question)):
        if i == 0 or token.lower() in STOPWORDS or not (token[0].isupper() or token.isupper()):
            continue
        for term in content_terms(token):
            found.setdefault(term, token)
    return found


def key_terms(question: str) -> dict[str, float]:
    """The question's content terms, each with its weight (``NAME_WEIGHT`` for names, else 1)."""
    named = names(question)
    return {t: NAME_WEIGHT if t in named else 1.0 for t in content_terms(question)}


def _planned(blocks: Sequence[ContextBlock], plan: QueryPlan | None) -> str | None:
    wanted = {"organization": plan.matched.get("organization") or []} if plan is not None else {}
    if plan is not None and plan.note is None:
        wanted["period"] = plan.matched.get("period") or []
    for name, values in wanted.items():
        held = [b.metadata.get(name) for b in blocks]
        if values and all(held) and not set(map(str, held)) & set(map(str, values)):
            return (f"the question asks about {', '.join(map(str, values))}; "
                    f"the passages are from {', '.join(sorted(set(map(str, held))))}")
    return None


def _owner_missing(question: str, terms: set[str]) -> str | None:
    owners = [m.group(1) for m in _OWNER.finditer(question) if m.start() > 0]
    missing = [o for o in owners if not set(content_terms(o)) <= terms]
    return f"the question asks about {', '.join(missing)}, which no passage names" if missing else None


def _unknown_name(question: str, blocks: Sequence[ContextBlock], terms: set[str]) -> str | None:
    held_orgs = {(str(b.metadata.get("organization") or ""), b.metadata.get("ticker")) for b in blocks}
    if any(not org for org, _ in held_orgs) or any(names_organization(question, org, ticker) for org, ticker in held_orgs):
        return None
    missing = list(dict.fromkeys(word for t, word in names(question).items() if t not in terms and not _PERIOD_WORD.match(word)))
    if missing:
        orgs = ", ".join(sorted(org for org, _ in held_orgs))
        return f"the question names {', '.join(missing)}, which no passage holds; the passages are from {orgs}"
    return None


def mismatch(question: str, blocks: Sequence[ContextBlock], plan: QueryPlan | None = None) -> str | None:
    """Why the blocks cannot be about what ``question`` asks about (see the module docstring), or None."""
    if not blocks:
        return None
    terms: set[str] = set().union(*(content_terms(b.indexed or b.text) for b in blocks))
    return _planned(blocks, plan) or _owner_missing(question, terms) or _unknown_name(question, blocks, terms)


def assess(question: str, blocks: Sequence[ContextBlock], plan: QueryPlan | None = None) -> tuple[float, str | None]:
    """The blocks' ``answerability`` and the ``mismatch`` that zeroes it (None when there is none), each found once."""
    why = mismatch(question, blocks, plan)
    weights = key_terms(question)
    total = sum(weights.values())
    if not blocks or not total or why:
        return 0.0, why
    best = 0.0
    for block in blocks:
        terms = set(content_terms(block.indexed or block.text))
        best = max(best, sum(w for t, w in weights.items() if t in terms) / total)
    return best, why


def answerability(question: str, blocks: Sequence[ContextBlock], plan: QueryPlan | None = None) -> float:
    """The best block's weighted share of the question's key terms (0-1; 0 without blocks or key terms, or when
    ``mismatch`` finds the blocks are not about what the question asks about)."""
    return assess(question, blocks, plan)[0]
