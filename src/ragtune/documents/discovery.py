"""Finding the files to ingest: files and folders (recursively), include/exclude globs, stable doc ids.

Doc ids: a file named directly gets its file name (``notes.txt``); a file found in a folder gets the folder's
name and its path inside it (``docs/guide.md``). When another source already holds that id, the id grows by
the parent folders of the file's absolute path (``b/notes.txt``, then ``x/b/notes.txt``, ...) until it is
free: see ``SourceFile.id_candidates``. Unicode in names is kept as it is.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, Sequence

from ragtune.errors import InputError


@dataclass(frozen=True)
class SourceFile:
    """A file to load: its path, the doc id it gets, the root it was found under, and whether it was named directly."""

    path: Path
    doc_id: str
    origin: str
    explicit: bool

    def id_candidates(self) -> Iterator[str]:
        """``doc_id``, then ever longer ids made of the parent folders of the file's absolute path."""
        yield self.doc_id
        parts = Path(os.path.abspath(self.path)).parts[1:]
        for size in range(len(PurePosixPath(self.doc_id).parts) + 1, len(parts) + 1):
            yield "/".join(parts[-size:])


@dataclass(frozen=True)
class Skip:
    """A path that was not loaded and why. ``origin`` is set for a folder that could not be read: the
    documents stored from under it (found under that root) are kept, not counted as vanished."""

    path: str
    reason: str
    origin: str | None = None
    notice: bool = False  # left out on purpose (hidden, a link to a folder): reported, never an error with --strict


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def _walk(path: Path, root: str, skipped: list[Skip]) -> list[Path]:
    """Every file under ``path``; unreadable folders become ``Skip`` entries, and so do the entries left out on purpose:
    hidden files and folders, and links to folders (not followed)."""
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        skipped.append(Skip(str(exc.filename or path), f"cannot read folder: {exc.strerror or exc}", root))

    for folder, dirs, names in os.walk(path, onerror=unreadable):
        left_out = {d: "hidden folder: not read" if d.startswith(".") else "link to a folder: not followed (give its target to "
                    "read it)" for d in dirs if d.startswith(".") or (Path(folder) / d).is_symlink()}
        left_out.update({n: "hidden file: not read" for n in names if n.startswith(".")})
        skipped.extend(Skip(str(Path(folder) / n), why, notice=True) for n, why in sorted(left_out.items()))
        dirs[:] = sorted(d for d in dirs if d not in left_out)
        found.extend(Path(folder) / n for n in names if n not in left_out)
    return sorted(f for f in found if f.is_file())


def discover(paths: Sequence[str | Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
             suffixes: set[str] | None = None) -> tuple[list[SourceFile], list[Skip]]:
    """Expand ``paths`` into files; returns ``(files, skipped)``.

    A named file is always taken (its loader decides). Inside folders, hidden entries are ignored, globs
    filter on the path relative to the folder, and files of unsupported types and folders that cannot be
    read are reported as skipped. Doc ids: see the module docstring.
    """
    files: list[SourceFile] = []
    skipped: list[Skip] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_file():
            files.append(SourceFile(path, path.name, str(path.resolve()), True))
            continue
        root = path.resolve()
        for file in _walk(path, str(root), skipped):
            rel = file.relative_to(path).as_posix()
            if include and not _matches(rel, include):
                continue
            if exclude and _matches(rel, exclude):
                continue
            if suffixes is not None and file.suffix.lower() not in suffixes:
                skipped.append(Skip(str(file), f"unsupported file type '{file.suffix or '(none)'}'"))
                continue
            files.append(SourceFile(file, f"{root.name}/{rel}", str(root), False))
    return files, skipped
