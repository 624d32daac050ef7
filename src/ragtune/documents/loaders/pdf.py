"""PDF: text per page with page numbers (pypdf); encrypted or corrupt files are clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ragtune.documents.base import Document
from ragtune.documents.loaders.text import paragraphs
from ragtune.errors import InputError


class PdfLoader:
    """Loads ``.pdf`` files; every block carries its 1-based page number."""

    suffixes = (".pdf",)

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        if path.stat().st_size == 0:
            raise InputError(f"{path}: empty file")
        try:
            reader = PdfReader(str(path))
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception:  # noqa: BLE001 - pypdf raises several types here
                    ok = 0
                if not ok:
                    raise InputError(f"{path}: encrypted PDF (a password is needed to read it)")
            parts = []
            for number, page in enumerate(reader.pages, start=1):
                text = page.extract_text() or ""
                for para in paragraphs(text):
                    parts.append((para, number, ()))
            title = (reader.metadata.title if reader.metadata else None) or path.stem
        except InputError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
            raise InputError(f"{path}: corrupt or unreadable PDF: {exc}") from exc
        if not parts:
            raise InputError(f"{path}: the PDF has no extractable text (scanned images need OCR first)")
        yield Document.from_parts(doc_id, str(path), parts, "pdf", {"title": str(title), "pages": len(reader.pages)})
