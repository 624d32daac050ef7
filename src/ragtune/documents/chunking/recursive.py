"""Structure-aware chunking: sections, then paragraphs, then sentences, then words.

Chunks never cross a heading or a page, pack whole paragraphs and sentences up to the token budget, and
repeat up to ``overlap_tokens`` of trailing sentences when a section has to be cut. A sentence over the budget
(a table, whose rows rarely end in a full stop) is cut between lines, so a table row stays whole, and only a
line over the budget is cut between tokens. A chunk that starts inside a table whose header (the lines naming
its periods) lies in an earlier chunk gets that header as its context (``ragtune.documents.tables.COLUMNS``):
it is indexed with the chunk and given to the generator, so its rows keep their periods; the chunk's text stays
its span of the document. Token counts are word pieces estimated by a regex (words, numbers, punctuation),
close to a WordPiece count for English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragtune.config import ChunkingConfig
from ragtune.documents.base import Chunk, Document
from ragtune.documents.tables import COLUMNS, is_row, row_headers

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n(?=\s*(?:[-*•]|\d+[.)])\s)")
_LINE = re.compile(r"[^\n]+")


def count_tokens(text: str) -> int:
    """Approximate token count of ``text`` (constant memory, linear time)."""
    return sum(1 for _ in _TOKEN.finditer(text))


@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    page: int | None
    headings: tuple[str, ...]
    block: int


class RecursiveChunker:
    """Cuts documents by structure within a token budget (see module docstring)."""

    def __init__(self, config: ChunkingConfig | None = None) -> None:
        self.config = config or ChunkingConfig()

    def _units(self, document: Document) -> list[_Unit]:
        budget = self.config.max_tokens
        units: list[_Unit] = []
        for b_index, block in enumerate(document.blocks):
            pieces = [(block.start, block.end)]
            if count_tokens(block.text) > budget:
                pieces = []
                pos = 0
                for m in _SENTENCE_END.finditer(block.text):
                    pieces.append((block.start + pos, block.start + m.start()))
                    pos = m.end()
                pieces.append((block.start + pos, block.end))
            for start, end in pieces:
                text = document.text[start:end]
                if not text.strip():
                    continue
                n = count_tokens(text)
                if n <= budget:
                    units.append(_Unit(start, end, n, block.page, block.headings, b_index))
                    continue
                for line in _LINE.finditer(text):  # a sentence over the budget (a table): its lines
                    n = count_tokens(line.group(0))
                    if n:
                        units.extend(_Unit(a, b, k, block.page, block.headings, b_index)
                                     for a, b, k in _token_cut(line.group(0), start + line.start(), n, budget))
        return units

    def chunk(self, document: Document) -> list[Chunk]:
        """Chunks of ``document`` in reading order, positions 0..n-1."""
        budget, overlap = self.config.max_tokens, self.config.overlap_tokens
        units = self._units(document)
        groups: list[list[_Unit]] = []
        current: list[_Unit] = []
        size = 0
        for unit in units:
            same_section = bool(current) and current[-1].page == unit.page and current[-1].headings == unit.headings
            if current and (not same_section or size + unit.tokens > budget):
                groups.append(current)
                carry: list[_Unit] = []
                if same_section and overlap:
                    carried = 0
                    for prev in reversed(current):
                        if prev.block != unit.block or carried + prev.tokens > overlap:
                            break
                        carry.insert(0, prev)
                        carried += prev.tokens
                    if carried + unit.tokens > budget:
                        carry = []
                current = carry
                size = sum(u.tokens for u in carry)
            current.append(unit)
            size += unit.tokens
        if current:
            groups.append(current)
        chunks = []
        tables: dict[int, dict[str, str]] = {}  # the row headers of each block that was cut
        for position, group in enumerate(groups):
            start, end = group[0].start, group[-1].end
            text = document.text[start:end]
            if position and groups[position - 1][-1].block == group[0].block and group[0].block not in tables:
                tables[group[0].block] = row_headers(document.blocks[group[0].block].text)
            columns = _columns(text, tables.get(group[0].block, {}))
            chunks.append(Chunk(
                chunk_id=f"{document.doc_id}#{position}", doc_id=document.doc_id, position=position,
                text=text, start=start, end=end, page=group[0].page, headings=group[0].headings,
                context=COLUMNS + columns if columns else "",
            ))
        return chunks


def _token_cut(text: str, start: int, tokens: int, budget: int) -> list[tuple[int, int, int]]:
    """``text`` (at ``start`` in its document, ``tokens`` long) as ``(start, end, tokens)`` pieces within ``budget``:
    whole when it fits, else cut between tokens."""
    if tokens <= budget:
        return [(start, start + len(text), tokens)]
    pieces = []
    count = first = last = 0
    for match in _TOKEN.finditer(text):
        if count == 0:
            first = match.start()
        last, count = match.end(), count + 1
        if count == budget:
            pieces.append((start + first, start + last, count))
            count = 0
    if count:
        pieces.append((start + first, start + last, count))
    return pieces


def _columns(text: str, headers: dict[str, str]) -> str:
    """The header of the table ``text`` starts in, when its first row has none within ``text`` ('' otherwise)."""
    if not headers:
        return ""
    first = next((line.strip() for line in text.split("\n") if is_row(line.strip())), None)
    if first is None or first not in headers or first in row_headers(text):
        return ""
    return headers[first]
