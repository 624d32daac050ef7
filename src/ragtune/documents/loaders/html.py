"""HTML: scripts, navigation, headers, footers and forms stripped; h1-h6 kept as the heading path."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ragtune.documents.base import Document
from ragtune.documents.loaders.text import read_text
from ragtune.errors import InputError

_DROP = ["script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template", "svg", "iframe", "button"]
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = set(_HEADINGS) | {"p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "figcaption", "caption"}


class HtmlLoader:
    """Loads ``.html`` files as structured text without page boilerplate."""

    suffixes = (".html", ".htm", ".xhtml")

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(read_text(path), "html.parser")
        title = soup.title.get_text(" ", strip=True) if soup.title else path.stem
        for tag in soup.find_all(_DROP):
            tag.decompose()
        for tag in soup.find_all(role=["navigation", "banner", "contentinfo"]):
            tag.decompose()
        root = soup.find("main") or soup.find("article") or soup.body or soup
        parts: list[tuple[str, int | None, tuple[str, ...]]] = []
        stack: list[tuple[int, str]] = []
        for el in root.find_all(list(_BLOCKS)):
            if any(parent.name in _BLOCKS for parent in el.parents):
                continue
            text = el.get_text(" ", strip=True)
            if not text:
                continue
            if el.name in _HEADINGS:
                level = _HEADINGS[el.name]
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, text))
                continue
            parts.append((text, None, tuple(h for _, h in stack)))
        if not parts:
            loose = root.get_text("\n", strip=True)
            if not loose:
                raise InputError(f"{path}: no text in the HTML page")
            parts = [(loose, None, ())]
        yield Document.from_parts(doc_id, str(path), parts, "html", {"title": title})
