"""The generation cache of eval runs: ``<home>/eval-cache/<kind>/<ab>/<sha256>.json``, one file per answer.

The key is the sha256 of everything that decides an answer (variant, model spec, tuned version, the prompt's
parts, k, retrieval and generation settings, the index's content); an entry is written atomically as soon as
its answer exists, so a rerun or a run resumed after a crash generates only what is missing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ragtune.errors import StoreError
from ragtune.common import write_json_atomic


def cache_key(fields: dict[str, Any]) -> str:
    """The sha256 of ``fields`` as canonical JSON."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class GenerationCache:
    """Cached generations of one kind (``answers``, ``judge``) under ``root``."""

    def __init__(self, root: Path | str, kind: str) -> None:
        self.folder = Path(root) / kind

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached value for ``key``, or None (a missing or unreadable entry is a miss)."""
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return entry.get("value") if isinstance(entry, dict) else None

    def put(self, key: str, fields: dict[str, Any], value: dict[str, Any]) -> None:
        """Store ``value`` under ``key`` in one atomic rename (``fields`` are kept beside it, for people)."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, {"key": fields, "value": value})
        except OSError as exc:
            raise StoreError(f"{path}: cannot write the eval cache: {exc.strerror or exc}") from exc
