"""Text helpers for answers and citations: sentences, content words (stemmed), overlap, repetition."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# A sentence ends at . ! ? followed by space and a capital or digit, at a blank line, before a list item or
# heading, or at a line break after . ! ? or ':'. Other single line breaks are soft wraps inside a sentence.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])(?<!^\d\.)(?<!^\d\d\.)[\"')\]]*\s+(?=[\"'(\[*`]?[A-Z0-9])|[ \t]*\n[ \t]*\n\s*"
                             r"|[ \t]*\n(?=[ \t]*(?:[-*•+]|\d+[.)]|#+)\s)|(?<=[.!?:])[ \t]*\n\s*", re.MULTILINE)
_WORD_CHAR = re.compile(r"[^\W\d_]")
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)]|#+)\s+")
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other
our ours ourselves out over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which while who whom why will
with would you your yours yourself yourselves also may might must shall use used using via per e g eg ie etc
""".split())


@dataclass
class Sentence:
    """A sentence of a longer text, with its character span."""

    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - PyStemmer is a core dependency
        return None


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``."""
    return [w.lower() for w in _WORD.findall(text)]


def content_terms(text: str) -> list[str]:
    """Stemmed words of ``text`` without stop words: what overlap and coverage are measured on."""
    ws = [w for w in words(text) if w not in STOPWORDS]
    stemmer = _stemmer()
    return stemmer.stemWords(ws) if stemmer is not None else ws


def split_sentences(text: str) -> list[Sentence]:
    """Sentences and list items of ``text`` (bullets and heading marks stripped), in order, without empties."""
    out: list[Sentence] = []
    pos = 0
    for match in [*_SENTENCE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[pos:end]
        bullet = _BULLET.match(piece)
        lead = bullet.end() if bullet else len(piece) - len(piece.lstrip())
        body = piece[lead:].rstrip()
        if body and _WORD.search(body):
            out.append(Sentence(body, pos + lead, pos + lead + len(body)))
        if match:
            pos = match.end()
    return out


def coverage(claim_terms: list[str] | set[str], evidence_terms: set[str]) -> float:
    """Share of the distinct terms of a claim that occur in the evidence (0 when the claim has none)."""
    claim = set(claim_terms)
    if not claim:
        return 0.0
    return len(claim & evidence_terms) / len(claim)


def collapse_repeats(text: str, max_repeats: int = 2) -> str:
    """Cut degenerate loops out of model output: repeated sentences and runs of a repeated phrase.

    A sentence already said is dropped; a phrase of up to eight words repeated back to back more than
    ``max_repeats`` times is cut to one occurrence, and the text ends there (what follows a loop is noise);
    a repeated phrase without a letter (table figures) is not a loop.
    """
    loop = re.compile(r"((?:\S+\s+){1,8}?)\1{%d,}" % max_repeats)
    # a run of figures without words (a quoted table row: "21 % 21 % 21 %") is not a loop
    match = next((m for m in loop.finditer(text + " ") if _WORD_CHAR.search(m.group(1))), None)
    if match:
        text = text[:match.start()] + match.group(1).rstrip()
    kept: list[str] = []
    seen: set[str] = set()
    last = 0
    for sentence in split_sentences(text):
        key = " ".join(words(sentence.text))
        if key in seen:
            kept.append(text[last:sentence.start])
            last = sentence.end
            continue
        seen.add(key)
    kept.append(text[last:])
    out = "".join(kept)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()
