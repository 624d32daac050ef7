"""File loaders, one per format, chosen by file ending."""

from __future__ import annotations

from pathlib import Path

from ragtune.config import IngestConfig
from ragtune.documents.base import Loader
from ragtune.documents.loaders.docx import DocxLoader
from ragtune.documents.loaders.html import HtmlLoader
from ragtune.documents.loaders.jsonl import JsonlFields, JsonlLoader, RowSkip
from ragtune.documents.loaders.markdown import MarkdownLoader
from ragtune.documents.loaders.pdf import PdfLoader
from ragtune.documents.loaders.text import TextLoader
from ragtune.errors import InputError

__all__ = ["JsonlFields", "loader_for", "supported_suffixes"]


def _loaders(jsonl_fields: JsonlFields | None, on_skip: RowSkip | None = None,
             limits: IngestConfig | None = None) -> list[Loader]:
    unpacked = limits.max_unpacked_bytes if limits is not None else None
    return [TextLoader(), MarkdownLoader(), HtmlLoader(), PdfLoader(), DocxLoader(unpacked),
            JsonlLoader(jsonl_fields or JsonlFields(), on_skip)]


def supported_suffixes() -> set[str]:
    """Every file ending some loader takes."""
    return {s for loader in _loaders(None) for s in loader.suffixes}


def loader_for(path: Path, jsonl_fields: JsonlFields | None = None, on_skip: RowSkip | None = None,
               limits: IngestConfig | None = None) -> Loader:
    """The loader for ``path`` by its ending; ``InputError`` for an unsupported type. With ``on_skip``, a loader of
    many documents per file (JSONL) reports bad rows through it and skips them instead of failing the file;
    ``limits`` caps what packed formats may unpack to."""
    suffix = path.suffix.lower()
    for loader in _loaders(jsonl_fields, on_skip, limits):
        if suffix in loader.suffixes:
            return loader
    raise InputError(f"{path}: unsupported file type '{suffix or '(none)'}' (supported: "
                     f"{', '.join(sorted(supported_suffixes()))})")
