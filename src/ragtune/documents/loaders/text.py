"""Plain text: encoding detected (UTF-8 first, then charset-normalizer), paragraphs as blocks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ragtune.documents.base import Document
from ragtune.errors import InputError

_PARAGRAPH = re.compile(r"\n\s*\n")
_WESTERN = ("cp1252", "latin_1", "iso8859_15")


def read_text(path: Path) -> str:
    """Read a text file, detecting its encoding; ``InputError`` for empty, binary or undecodable files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not raw.strip():
        raise InputError(f"{path}: empty file")
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    # Short texts often fit several code pages equally well; prefer the Western European ones then.
    for match in matches:
        if best is not None and match.encoding in _WESTERN and match.chaos <= best.chaos:
            best = match
            break
    if best is None:
        raise InputError(f"{path}: cannot detect the text encoding")
    text = str(best)
    if not text.strip():
        raise InputError(f"{path}: empty file")
    return text


def paragraphs(text: str) -> list[str]:
    """Split text on blank lines."""
    return [p for p in _PARAGRAPH.split(text) if p.strip()]


class TextLoader:
    """Loads ``.txt`` and similar plain-text files."""

    suffixes = (".txt", ".text", ".rst", ".log")

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        text = read_text(path)
        parts = [(p, None, ()) for p in paragraphs(text)]
        yield Document.from_parts(doc_id, str(path), parts, "txt", {"title": path.stem})
