"""Paths that clients name: upload file names made safe, server-side paths confined to allowed roots.

Uploaded files land in ``<home>/uploads/<index>/`` under a sanitised name: the last path component
only (NFC-normalised), no leading dot, letters and digits of any script and ``._- `` kept, anything else
replaced; so ``../../x.md`` and ``C:\\evil\\x.md`` both become ``x.md`` inside the index's upload folder,
and ``名前.txt`` stays ``名前.txt``.

Server-side paths (MCP ``ingest``, HTTP ingest-by-path) must resolve inside one of the allowed roots after
symlinks are followed: ``..`` components are refused outright, and a symlink inside a root that points
outside it is refused too, whether it is named or found while walking a folder.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Sequence

from ragtune.errors import InputError, PathNotAllowedError

_UNSAFE = re.compile(r"[^\w.\- ]")


def safe_upload_name(raw: str) -> str:
    """The file name an upload is stored under (see the module docstring); ``InputError`` if nothing is left."""
    name = PureWindowsPath(PurePosixPath(unicodedata.normalize("NFC", raw or "")).name).name  # drop any folder part
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name or set(name) <= {"_", "."}:
        raise InputError(f"upload file name {raw!r} is not usable: give a plain file name such as notes.md")
    return name[:200]


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def confine(raw: str, roots: Sequence[Path]) -> Path:
    """``raw`` resolved (relative to the first root) and checked to lie inside ``roots``."""
    if not roots:
        raise PathNotAllowedError("this server reads no server-side paths (start it with --root DIR to allow some)")
    if any(part == ".." for part in PurePosixPath(raw.replace("\\", "/")).parts):
        raise PathNotAllowedError(f"path {raw!r}: '..' is not allowed")
    resolved_roots = [Path(r).resolve() for r in roots]
    candidate = Path(raw)
    if not candidate.is_absolute():
        candidate = resolved_roots[0] / candidate
    resolved = candidate.resolve()
    if not _inside(resolved, resolved_roots):
        raise PathNotAllowedError(f"path {raw!r} is outside the allowed folders")
    return resolved


def check_walk(files: Sequence[Path], roots: Sequence[Path]) -> None:
    """Refuse any discovered file that resolves outside ``roots`` (a symlink pointing out)."""
    resolved_roots = [Path(r).resolve() for r in roots]
    for file in files:
        if not _inside(Path(file).resolve(), resolved_roots):
            raise PathNotAllowedError(f"{file}: a link to a file outside the allowed folders")
