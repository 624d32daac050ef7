"""JSONL: one document per line. BEIR fields (``_id``, ``title``, ``text``) by default; other fields are metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ragtune.documents.base import Document
from ragtune.documents.loaders.text import paragraphs
from ragtune.errors import InputError


@dataclass(frozen=True)
class JsonlFields:
    """Which JSON fields hold the id, the title and the text of each row."""

    id: str = "_id"
    title: str = "title"
    text: str = "text"


RowSkip = Callable[[str, str, "str | None"], None]
"""Called for a row that is skipped: ``(file:line, reason, the row's id if it has one)``."""


class JsonlLoader:
    """Loads ``.jsonl`` corpora. A malformed row (not JSON, not an object, no text) is an error naming the file
    and line; with ``on_skip`` it is reported through it and skipped instead, and the other rows load."""

    suffixes = (".jsonl", ".ndjson")

    def __init__(self, fields: JsonlFields | None = None, on_skip: RowSkip | None = None) -> None:
        self.fields = fields or JsonlFields()
        self.on_skip = on_skip

    def load(self, path: Path, doc_id: str) -> Iterator[Document]:
        f = self.fields
        seen = skipped = 0

        def skip(where: str, why: str, rid: str | None) -> None:
            nonlocal skipped
            if self.on_skip is None:
                raise InputError(f"{where}: {why}")
            skipped += 1
            self.on_skip(where, why, rid)

        on_error = None if self.on_skip is None else (lambda where, why: skip(where, why, None))
        for number, row in jsonl_objects(path, on_error=on_error):
            where = f"{path}:{number}"
            rid = row.get(f.id, row.get("id"))
            rid = str(rid) if rid is not None and str(rid) != "" else f"{doc_id}:{number}"
            text = row.get(f.text)
            if not isinstance(text, str) or not text.strip():
                skip(where, f"field '{f.text}' is missing or empty", rid)
                continue
            title = row.get(f.title)
            title = str(title).strip() if title else ""
            meta = {k: v for k, v in row.items() if k not in {f.id, f.text, f.title}}
            if title:
                meta["title"] = title
            heads = (title,) if title else ()
            parts = [(p, None, heads) for p in paragraphs(text)]
            seen += 1
            document = Document.from_parts(rid, f"{path}#{rid}", parts, "jsonl", meta)
            document.line = number
            yield document
        if seen == 0:
            raise InputError(f"{path}: no usable rows ({skipped} skipped)" if skipped else f"{path}: empty file")


def jsonl_objects(path: str | Path, expected: str = "a JSON object",
                  on_error: Callable[[str, str], None] | None = None) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a UTF-8 JSONL file. A missing file, a line that is not
    JSON or not an object is an ``InputError`` naming the file and line (``expected`` says what a row must be);
    with ``on_error`` such a line is passed to it as ``(file:line, reason)`` and skipped instead."""
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
                    why = None if isinstance(row, dict) else f"expected {expected}"
                except json.JSONDecodeError as exc:
                    why = f"not valid JSON ({exc.msg})"
                if why is None:
                    yield number, row
                elif on_error is None:
                    raise InputError(f"{path}:{number}: {why}")
                else:
                    on_error(f"{path}:{number}", why)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (JSONL must be UTF-8)") from exc
