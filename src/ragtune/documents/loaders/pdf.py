"""PDF: text per page with page numbers; encrypted or corrupt files are clear errors.

Two text engines, tried in order until one reads the file: ``pdfium`` (pypdfium2, Apache-2.0 / BSD-3; fast on
long filings) and ``pypdf`` (pure Python). Both keep each text line whole, so a table row keeps its label with
its figures. ``bench/pdf_engines.py`` measures pages/s and the share of files each one reads.
"""

from __future__ import annotations

import threading
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ragtune.documents.base import Document
from ragtune.documents.loaders.text import paragraphs
from ragtune.documents.metadata import detect
from ragtune.errors import EncryptedPdfError, InputError

Pages = tuple[list[str], str | None]
"""The text of every page, in order, and the document title if it has one."""

_PDFIUM_LOCK = threading.Lock()  # pdfium is not thread-safe


class PdfEngine(str, Enum):
    """A PDF text engine."""

    pdfium = "pdfium"
    pypdf = "pypdf"


def pypdf_pages(path: Path) -> Pages:
    """Pages with pypdf; any of its exceptions propagate."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        try:
            ok = bool(reader.decrypt(""))
        except Exception:  # noqa: BLE001 - pypdf raises several types here
            ok = False
        if not ok:
            raise EncryptedPdfError(f"{path}: encrypted PDF (a password is needed to read it)")
    pages = [page.extract_text() or "" for page in reader.pages]
    return pages, (reader.metadata.title if reader.metadata else None)


def pdfium_pages(path: Path) -> Pages:
    """Pages with pypdfium2; any of its exceptions propagate."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise EncryptedPdfError(f"{path}: encrypted PDF (a password is needed to read it)") from exc
            raise
        try:
            pages = []
            for number in range(len(pdf)):
                page = pdf[number]
                textpage = page.get_textpage()
                pages.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
                textpage.close()
                page.close()
            title = pdf.get_metadata_dict().get("Title") or None
        finally:
            pdf.close()
    return pages, title


def pdf_info(path: Path) -> dict[str, str]:
    """The PDF's document information dictionary (Title, Subject, ...), empty when it cannot be read."""
    try:
        from pypdf import PdfReader

        info: Any = PdfReader(str(path)).metadata or {}
        return {str(k).lstrip("/"): str(v) for k, v in info.items() if v is not None}
    except Exception:  # noqa: BLE001 - metadata is optional: the text was read already
        return {}


ENGINES: dict[PdfEngine, Callable[[Path], Pages]] = {PdfEngine.pdfium: pdfium_pages, PdfEngine.pypdf: pypdf_pages}


class PdfLoader:
    """Loads ``.pdf`` files with the first of ``engines`` that reads them; every block carries its 1-based page number."""

    suffixes = (".pdf",)

    def __init__(self, engines: Sequence[PdfEngine | str] = (PdfEngine.pdfium, PdfEngine.pypdf)) -> None:
        self.engines = [PdfEngine(e) for e in engines]
        if not self.engines:
            raise ValueError("give at least one PDF engine")

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: empty file")
        failures: list[str] = []
        for engine in self.engines:
            try:
                pages, title = ENGINES[engine](path)
            except (EncryptedPdfError, KeyboardInterrupt):
                raise
            except ImportError:
                failures.append(f"{engine.value}: not installed")
                continue
            except Exception as exc:  # noqa: BLE001 - an engine that gives up hands the file to the next one
                failures.append(f"{engine.value}: {type(exc).__name__}: {exc}")
                continue
            parts = [(para, number, ()) for number, text in enumerate(pages, start=1) for para in paragraphs(text)]
            if not parts:
                raise InputError(f"{path}: the PDF has no extractable text (scanned images need OCR first)")
            cover = "\n".join(pages[:2])
            meta = {"title": str(title or path.stem), "pages": len(pages), **detect(path, cover, pdf_info(path))}
            yield Document.from_parts(doc_id, str(path), parts, "pdf", meta)
            return
        raise InputError(f"{path}: corrupt or unreadable PDF ({'; '.join(failures)})")
