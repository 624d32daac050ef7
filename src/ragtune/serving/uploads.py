"""Uploaded files as one transaction: checked, placed in the index's upload folder, ingested; on any failure the
folder is put back as it was, so the files and the index always agree."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from ragtune.config import ServeConfig
from ragtune.documents import supported_suffixes
from ragtune.errors import InputError, UnsupportedTypeError, UploadTooLargeError
from ragtune.serving.paths import safe_upload_name

T = TypeVar("T")


def checked_upload_names(files: Sequence[tuple[str, bytes]], serve: ServeConfig) -> list[str]:
    """The safe names of uploaded ``(file name, content)`` pairs; a type outside ``serve.upload_types`` raises
    ``UnsupportedTypeError``, a file above ``serve.max_upload_mb`` ``UploadTooLargeError``, a repeat ``InputError``."""
    if not files:
        raise InputError("upload at least one file (multipart field 'files')")
    allowed = {t.lower() if t.startswith(".") else f".{t.lower()}" for t in serve.upload_types} or supported_suffixes()
    limit = int(serve.max_upload_mb * 1024 * 1024)
    names: list[str] = []
    for raw, data in files:
        name = safe_upload_name(raw)
        suffix = Path(name).suffix.lower()
        if suffix not in allowed:
            raise UnsupportedTypeError(f"{name}: file type '{suffix or '(none)'}' is not accepted "
                                       f"(accepted: {', '.join(sorted(allowed))})")
        if len(data) > limit:
            raise UploadTooLargeError(f"{name}: {len(data)} bytes is above the upload limit of {limit} bytes")
        if name in names:
            raise InputError(f"{name}: uploaded twice in one request")
        names.append(name)
    return names


def place_uploads(folder: Path, names: Sequence[str], contents: Sequence[bytes], ingest: Callable[[list[str]], T]) -> T:
    """Write each file into ``folder`` (replacing one of the same name) and run ``ingest`` on their paths; if
    anything fails, the replaced files come back and the new ones go, and the error is raised again."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    placed: list[tuple[Path, Path | None]] = []
    try:
        for name, data in zip(names, contents):
            target = folder / name
            backup = None
            if target.exists():
                backup = folder / f".{name}.{tag}.old"
                os.replace(target, backup)
            placed.append((target, backup))
            tmp = folder / f".{name}.{tag}.new"
            tmp.write_bytes(data)
            os.replace(tmp, target)
        result = ingest([str(target) for target, _ in placed])
    except BaseException:
        for target, backup in reversed(placed):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        raise
    for _, backup in placed:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return result
