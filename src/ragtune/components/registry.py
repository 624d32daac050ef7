"""The versioned model registry: ``<home>/models/<name>/v<N>/`` holding an artefact and its ``card.json``.

One registry serves every kind of trained model (``lora``, ``embedding``, ``reranker`` ...): the card's
``kind`` says which loader reads the folder. The rules:

- Versions only grow. A new version is written into a hidden staging folder beside the versions and
  renamed into place in one step (``os.rename`` of a folder is atomic and refuses an existing target), so
  a reader sees a whole version or none, and nothing ever overwrites an earlier version.
- A failed or killed run leaves at most a hidden folder (``.staging-*`` or ``.run``) that listings ignore.
- ``NAME@vN`` names a version; ``NAME`` alone is its latest.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.common import utc_now, write_json_atomic
from ragtune.errors import InputError, ModelNotFoundError, StoreError

CARD_FILE = "card.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")


class DataInfo(BaseModel):
    """The training data a version was built from."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., description="The file as given.")
    sha256: str = Field(..., description="sha256 of the file's bytes.")
    rows: dict[str, int] = Field(default_factory=dict, description="Row counts: total, train, eval, dropped, truncated ...")
    format: str | None = Field(None, description="Example format found in the file.")
    source: dict[str, Any] | None = Field(None, description="Where the rows came from when ragtune built them "
                                                            "(RAFT: the index, its generation, the settings, the counts).")


class ModelCard(BaseModel):
    """What a model version is and how it was made; stored as ``card.json`` beside the artefact."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(..., description="Artefact kind, e.g. 'lora', 'embedding', 'reranker'; picks the loader.")
    name: str = Field(..., description="Registry name.")
    version: int = Field(0, ge=0, description="Version number, set when the version is published.")
    created_at: str = Field("", description="UTC time of publication (ISO 8601).")
    base_model: dict[str, Any] = Field(default_factory=dict, description="spec, resolved location and architecture of the base "
                                                                         "model.")
    data: DataInfo | None = Field(None, description="Training data.")
    settings: dict[str, Any] = Field(default_factory=dict, description="The full training configuration.")
    metrics: dict[str, Any] = Field(default_factory=dict, description="Training figures: losses, steps, tokens/s, peak RSS.")
    scores: dict[str, Any] = Field(default_factory=dict, description="Evaluation scores recorded after training.")
    wall_time_s: float = Field(0.0, ge=0, description="Training wall time, summed over resumed runs.")
    library_versions: dict[str, str] = Field(default_factory=dict, description="Versions of ragtune, torch, transformers, peft "
                                                                               "...")
    files: dict[str, str] = Field(default_factory=dict, description="Role -> path inside the version folder (adapter, tokenizer, "
                                                                    "log).")
    managed: dict[str, Any] = Field(default_factory=dict, description="A provider-trained version: provider, job id, the "
                                                                      "provider's model id and where it answers.")
    cost: dict[str, Any] = Field(default_factory=dict, description="What training cost and how it is known (measured, "
                                                                   "assumed or unknown), with the dated prices used.")

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


def check_model_name(name: str) -> str:
    """``name`` if it is a valid registry name (lowercase letters, digits, '.', '_', '-'); ``InputError`` otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"model name '{name}': use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or "
                         "digit")
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split ``NAME[@vN]`` (a ``tuned:`` prefix is accepted) into the name and the version (None: latest)."""
    text = ref.removeprefix("tuned:")
    name, sep, version = text.partition("@")
    check_model_name(name)
    if not sep:
        return name, None
    match = re.fullmatch(r"v?([1-9][0-9]*)", version)
    if not match:
        raise InputError(f"model reference '{ref}': the version must look like v1, v2 ...")
    return name, int(match.group(1))


class ModelRegistry:
    """Model versions under ``<home>/models``."""

    def __init__(self, home: Path | str) -> None:
        self.root = Path(home) / "models"

    def model_dir(self, name: str) -> Path:
        return self.root / check_model_name(name)

    def names(self) -> list[str]:
        """Every model name that has at least one version."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name) and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        """Published version numbers of ``name``, ascending (hidden staging and run folders are not versions)."""
        folder = self.model_dir(name)
        if not folder.is_dir():
            return []
        found = []
        for p in folder.iterdir():
            m = _VERSION_DIR.match(p.name)
            if m and (p / CARD_FILE).is_file():
                found.append(int(m.group(1)))
        return sorted(found)

    def path(self, ref: str) -> Path:
        """The folder of ``NAME[@vN]`` (latest version when none is named); ``ModelNotFoundError`` otherwise."""
        name, version = parse_ref(ref)
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none yet"
            raise ModelNotFoundError(f"no model named '{name}' in {self.root} (models: {known})")
        if version is None:
            version = versions[-1]
        elif version not in versions:
            raise ModelNotFoundError(f"model '{name}' has no version v{version} (versions: "
                                     f"{', '.join(f'v{v}' for v in versions)})")
        return self.model_dir(name) / f"v{version}"

    def card(self, ref: str) -> ModelCard:
        """The card of ``NAME[@vN]``."""
        path = self.path(ref) / CARD_FILE
        try:
            return ModelCard.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError) as exc:
            raise StoreError(f"{path}: unreadable model card: {exc}") from exc

    def cards(self) -> list[ModelCard]:
        """The card of every version of every model."""
        return [self.card(f"{n}@v{v}") for n in self.names() for v in self.versions(n)]

    def staging(self, name: str) -> Path:
        """A fresh hidden folder to build a version in; hand it to ``publish`` or delete it."""
        folder = self.model_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))

    def publish(self, staging: Path, card: ModelCard) -> ModelCard:
        """Turn a staging folder into the next version of ``card.name``; never replaces an existing version."""
        folder = self.model_dir(card.name)
        if staging.parent.resolve() != folder.resolve():
            raise StoreError(f"{staging}: a version must be staged inside {folder}")
        for _ in range(1000):
            version = (self.versions(card.name) or [0])[-1] + 1
            target = folder / f"v{version}"
            final = card.model_copy(update={"version": version, "created_at": utc_now()})
            write_json_atomic(staging / CARD_FILE, final.model_dump(mode="json"))
            try:
                os.rename(staging, target)  # atomic; fails if the target exists (another run won the number)
            except OSError:
                if target.exists():
                    continue
                raise
            return final
        raise StoreError(f"{folder}: could not allocate a new version")

    def discard(self, staging: Path) -> None:
        """Remove a staging folder after a failed run."""
        shutil.rmtree(staging, ignore_errors=True)

    def record_scores(self, ref: str, scores: dict[str, Any]) -> ModelCard:
        """Merge evaluation ``scores`` into a version's card (the artefact itself is never touched)."""
        card = self.card(ref)
        updated = card.model_copy(update={"scores": {**card.scores, **scores}})
        write_json_atomic(self.path(ref) / CARD_FILE, updated.model_dump(mode="json"))
        return updated

