"""Structure-aware chunking: sections, then paragraphs, then sentences, then words.

Chunks never cross a heading or a page, pack whole paragraphs and sentences up to the token budget, and
repeat up to ``overlap_tokens`` of trailing sentences when a section has to be cut. Token counts are
word pieces estimated by a regex (words, numbers, punctuation), close to a WordPiece count for English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragtune.config import ChunkingConfig
from ragtune.documents.base import Chunk, Document

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n(?=\s*(?:[-*•]|\d+[.)])\s)")


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
                # A sentence longer than the budget (a long line): cut it on token boundaries, in one pass.
                count = first = last = 0
                for match in _TOKEN.finditer(text):
                    if count == 0:
                        first = match.start()
                    last, count = match.end(), count + 1
                    if count == budget:
                        units.append(_Unit(start + first, start + last, count, block.page, block.headings, b_index))
                        count = 0
                if count:
                    units.append(_Unit(start + first, start + last, count, block.page, block.headings, b_index))
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
        for position, group in enumerate(groups):
            start, end = group[0].start, group[-1].end
            chunks.append(Chunk(
                chunk_id=f"{document.doc_id}#{position}", doc_id=document.doc_id, position=position,
                text=document.text[start:end], start=start, end=end, page=group[0].page, headings=group[0].headings,
            ))
        return chunks
