"""JSONL: one document per line. BEIR fields (``_id``, ``title``, ``text``) by default; other fields are metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ragtune.documents.base import Document
from ragtune.documents.loaders.text import paragraphs
from ragtune.errors import InputError


@dataclass(frozen=True)
class JsonlFields:
    """Which JSON fields hold the id, the title and the text of each row."""

    id: str = "_id"
    title: str = "title"
    text: str = "text"


class JsonlLoader:
    """Loads ``.jsonl`` corpora; any malformed row is an error naming the file and line."""

    suffixes = (".jsonl", ".ndjson")

    def __init__(self, fields: JsonlFields | None = None) -> None:
        self.fields = fields or JsonlFields()

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        f = self.fields
        seen = 0
        for number, row in jsonl_objects(path):
            where = f"{path}:{number}"
            text = row.get(f.text)
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"{where}: field '{f.text}' is missing or empty")
            rid = row.get(f.id, row.get("id"))
            rid = str(rid) if rid is not None and str(rid) != "" else f"{doc_id}:{number}"
            title = row.get(f.title)
            title = str(title).strip() if title else ""
            meta = {k: v for k, v in row.items() if k not in {f.id, f.text, f.title}}
            if title:
                meta["title"] = title
            heads = (title,) if title else ()
            parts = [(p, None, heads) for p in paragraphs(text)]
            seen += 1
            yield Document.from_parts(rid, f"{path}#{rid}", parts, "jsonl", meta)
        if seen == 0:
            raise InputError(f"{path}: empty file")


def jsonl_objects(path: str | Path, expected: str = "a JSON object") -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a UTF-8 JSONL file. A missing file, a line that is not
    JSON or not an object is an ``InputError`` naming the file and line (``expected`` says what a row must be)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise InputError(f"{path}:{number}: expected {expected}")
                yield number, row
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (JSONL must be UTF-8)") from exc
