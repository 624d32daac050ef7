"""Markdown: headings become the structure (a heading path on every block); front matter dropped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ragtune.documents.base import Document
from ragtune.documents.loaders.text import read_text

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


class MarkdownLoader:
    """Loads ``.md`` files, keeping headings as structure."""

    suffixes = (".md", ".markdown")

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        text = _FRONT_MATTER.sub("", read_text(path))
        parts: list[tuple[str, int | None, tuple[str, ...]]] = []
        stack: list[tuple[int, str]] = []
        buf: list[str] = []
        in_fence = False

        def flush() -> None:
            if buf:
                heads = tuple(h for _, h in stack)
                for para in re.split(r"\n\s*\n", "\n".join(buf)):
                    parts.append((para, None, heads))
                buf.clear()

        for line in text.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            match = None if in_fence else _HEADING.match(line)
            if match:
                flush()
                level = len(match.group(1))
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, match.group(2)))
            else:
                buf.append(line)
        flush()
        title = next((h for lvl, h in [(len(m.group(1)), m.group(2)) for m in
                                       (_HEADING.match(ln) for ln in text.splitlines()) if m] if lvl == 1), path.stem)
        if not parts:
            parts = [(text, None, ())]
        yield Document.from_parts(doc_id, str(path), parts, "md", {"title": title})
