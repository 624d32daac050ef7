"""DOCX: paragraphs with Heading styles kept as the heading path, tables as rows of cells."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Iterator

from ragtune.documents.base import Document
from ragtune.errors import InputError

_HEADING_STYLE = re.compile(r"^(?:Heading|Title)\s*(\d*)$", re.I)


def unpacked_size(path: Path) -> int:
    """Bytes the members of a ZIP package decompress to (``zipfile`` never reads past a member's declared size)."""
    try:
        with zipfile.ZipFile(path) as package:
            return sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: corrupt or unreadable DOCX: {exc}") from exc


class DocxLoader:
    """Loads Word ``.docx`` files whose package unpacks to at most ``max_unpacked_bytes``."""

    suffixes = (".docx",)

    def __init__(self, max_unpacked_bytes: int | None = None) -> None:
        self.max_unpacked_bytes = max_unpacked_bytes

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        import docx

        if path.stat().st_size == 0:
            raise InputError(f"{path}: empty file")
        if self.max_unpacked_bytes is not None:
            size = unpacked_size(path)
            if size > self.max_unpacked_bytes:
                raise InputError(f"{path}: unpacks to {size} bytes, above the limit of {self.max_unpacked_bytes} bytes "
                                 "(ingest.max_unpacked_mb)")
        try:
            document = docx.Document(str(path))
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise InputError(f"{path}: corrupt or unreadable DOCX: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - python-docx raises its own package errors
            raise InputError(f"{path}: corrupt or unreadable DOCX: {exc}") from exc
        parts: list[tuple[str, int | None, tuple[str, ...]]] = []
        stack: list[tuple[int, str]] = []
        for para in document.paragraphs:
            text = para.text.strip()
            if not text:
                continue
            match = _HEADING_STYLE.match(para.style.name if para.style is not None else "")
            if match:
                level = int(match.group(1) or 0)
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, text))
                continue
            parts.append((text, None, tuple(h for _, h in stack)))
        for table in document.tables:
            for row in table.rows:
                cells = [c.text.strip() for c in row.cells if c.text.strip()]
                if cells:
                    parts.append((" | ".join(cells), None, tuple(h for _, h in stack)))
        if not parts:
            raise InputError(f"{path}: the DOCX has no text")
        title = document.core_properties.title or path.stem
        yield Document.from_parts(doc_id, str(path), parts, "docx", {"title": title})
