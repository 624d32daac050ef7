"""Finding the files to ingest: files and folders (recursively), include/exclude globs, stable doc ids."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ragtune.errors import InputError


@dataclass(frozen=True)
class SourceFile:
    """A file to load: its path, the doc id it gets, the root it was found under, and whether it was named directly."""

    path: Path
    doc_id: str
    origin: str
    explicit: bool


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def discover(paths: Sequence[str | Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
             suffixes: set[str] | None = None) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Expand ``paths`` into files; returns ``(files, skipped)`` where skipped holds ``(path, reason)``.

    A named file is always taken (its loader decides). Inside folders, hidden entries are ignored, globs
    filter on the path relative to the folder, and files of unsupported types are reported as skipped.
    Doc ids are ``<folder name>/<relative path>`` for files found in folders, the file name otherwise.
    """
    files: list[SourceFile] = []
    skipped: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_file():
            files.append(SourceFile(path, path.name, str(path.resolve()), True))
            continue
        root = path.resolve()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = file.relative_to(path).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts):
                continue
            if include and not _matches(rel, include):
                continue
            if exclude and _matches(rel, exclude):
                continue
            if suffixes is not None and file.suffix.lower() not in suffixes:
                skipped.append((str(file), f"unsupported file type '{file.suffix or '(none)'}'"))
                continue
            files.append(SourceFile(file, f"{root.name}/{rel}", str(root), False))
    return files, skipped
