"""The manifest of a LanceDB index on disk: checksummed, with copies of recent generations, and the first-ingest marker.

- ``manifest.json``: the committed generation. Its ``backend["checksum"]`` is the SHA-256 of the manifest without
  that field; a manifest that does not match is damaged (``ManifestDamagedError``), never read as if it were whole.
- ``manifests/<generation>.json``: a copy of each of the last ``KEEP`` generations, written before the swap, so the
  manifest is never the only copy (``ragtune doctor --repair`` puts the newest sound copy back).
- ``.creating``: written before the first files of a new index and removed by its first commit. An index with
  this marker is seen only by the process creating it; if that process dies, the next writer removes what it left
  (it holds the index's writer lock, so the creator is gone).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ragtune.common import write_text_atomic
from ragtune.errors import ManifestDamagedError
from ragtune.index.base import IndexManifest

KEEP = 3
"""Generations whose manifest copies are kept."""

_creating: set[str] = set()  # the markers this process wrote


LATER_FIELDS = ("context_model",)
"""Manifest fields added after checksums were first written: left out of the checksum while unset."""


def manifest_checksum(manifest: IndexManifest) -> str:
    """The SHA-256 of ``manifest`` without its ``backend["checksum"]``, as ``sha256:<hex>``."""
    data = manifest.model_dump(mode="json")
    data["backend"] = {k: v for k, v in data["backend"].items() if k != "checksum"}
    for added in LATER_FIELDS:  # unset, a field added after checksums began leaves them as they were
        if data.get(added) is None:
            data.pop(added, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def doctor_hint(name: str) -> str:
    return f"check and repair it with: ragtune doctor --index {name} --repair"


class ManifestFiles:
    """The manifest files of the index folder ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "manifest.json"
        self.copies = folder / "manifests"
        self.marker = folder / ".creating"

    # -- visibility -----------------------------------------------------------------------------------------------
    def visible(self) -> bool:
        """Whether the index is committed (or being created by this process)."""
        return self.path.is_file() and (not self.marker.exists() or str(self.marker) in _creating)

    def abandoned(self) -> bool:
        """Whether a first ingest of another process left this folder before its first commit."""
        return self.marker.exists() and str(self.marker) not in _creating

    def has_data(self) -> bool:
        """Whether the folder holds index data (tables, segments or manifest copies)."""
        return any((self.folder / sub).exists() for sub in ("lance", "segments", "manifests"))

    def begin_creation(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(f"{os.getpid()}\n", encoding="utf-8")
        _creating.add(str(self.marker))

    def end_creation(self) -> None:
        """The first commit is in: the index is seen by every process."""
        if str(self.marker) in _creating:
            self.marker.unlink(missing_ok=True)
            _creating.discard(str(self.marker))

    def forget(self) -> None:
        _creating.discard(str(self.marker))

    # -- reading and writing --------------------------------------------------------------------------------------
    def read(self, name: str) -> IndexManifest:
        """The committed manifest; ``ManifestDamagedError`` when it is unreadable or fails its checksum."""
        return self.parse(self.path, name)

    def parse(self, path: Path, name: str) -> IndexManifest:
        try:
            manifest = IndexManifest.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (ValueError, OSError) as exc:
            raise ManifestDamagedError(f"index '{name}': its manifest {path.name} is unreadable ({_short(exc)}); "
                                       f"{doctor_hint(name)}") from exc
        recorded = manifest.backend.get("checksum")
        if recorded is not None and recorded != manifest_checksum(manifest):
            raise ManifestDamagedError(f"index '{name}': its manifest {path.name} does not match its checksum; "
                                       f"{doctor_hint(name)}")
        return manifest

    def write(self, manifest: IndexManifest) -> None:
        """Record the checksum, write this generation's copy, then swap ``manifest.json`` (durably, atomically)."""
        manifest.backend["checksum"] = manifest_checksum(manifest)
        text = manifest.model_dump_json(indent=2)
        self.copies.mkdir(exist_ok=True)
        write_text_atomic(self.copies / f"{manifest.generation}.json", text, durable=True)
        write_text_atomic(self.path, text, durable=True)
        for old in self.generations()[:-KEEP]:
            (self.copies / f"{old}.json").unlink(missing_ok=True)

    def generation_on_disk(self) -> int | None:
        """The generation ``manifest.json`` names now (None when it cannot be read)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8")).get("generation")
        except (OSError, ValueError, AttributeError):
            return None

    def generations(self) -> list[int]:
        """The generations with a manifest copy, oldest first."""
        if not self.copies.is_dir():
            return []
        return sorted(int(p.stem) for p in self.copies.glob("*.json") if p.stem.isdigit())


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
