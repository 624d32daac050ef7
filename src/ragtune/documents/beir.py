"""BEIR folders: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/<split>.tsv`` (``query-id  corpus-id  score``). Readers for the files that are not documents.

Malformed lines raise ``InputError`` naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

from ragtune.documents.loaders.jsonl import jsonl_objects
from ragtune.errors import InputError


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Qrels from a BEIR ``.tsv`` (``query-id corpus-id score``, header optional) as ``{query: {doc: grade}}``.

    A malformed line raises ``InputError`` naming the file and line.
    """
    out: dict[str, dict[str, int]] = {}
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read qrels: {exc.strerror}") from exc
    with fh:
        for number, line in enumerate(fh, start=1):
            parts = line.rstrip("\n\r").split("\t")
            if not line.strip() or (number == 1 and parts[-1] == "score"):
                continue
            if len(parts) != 3:
                raise InputError(f"{path}:{number}: expected 3 tab-separated fields, got {len(parts)}")
            try:
                grade = int(parts[2])
            except ValueError as exc:
                raise InputError(f"{path}:{number}: score '{parts[2]}' is not a whole number") from exc
            out.setdefault(parts[0], {})[parts[1]] = grade
    return out


def read_beir_jsonl(path: str | Path, *, title: bool = False) -> dict[str, str]:
    """``{_id: text}`` of a BEIR ``queries.jsonl`` or ``corpus.jsonl``; with ``title`` the text is ``title\\ntext``
    (as ragtune indexes a JSONL corpus: the title is the heading of every chunk)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: missing (a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv)")
    rows: dict[str, str] = {}
    for number, row in jsonl_objects(path, "a JSON object with an '_id'"):
        where = f"{path}:{number}"
        if row.get("_id") in (None, ""):
            raise InputError(f"{where}: expected a JSON object with an '_id'")
        text = row.get("text")
        if not isinstance(text, str):
            raise InputError(f"{where}: field 'text' is missing")
        head = str(row.get("title") or "").strip() if title else ""
        rows[str(row["_id"])] = f"{head}\n{text.strip()}" if head else text.strip()
    return rows
