"""The tuning seam: a ``Tuner`` trains one kind of model and publishes it as a registry version.

Contract:

- ``__init__(config, registry)`` validates its arguments and loads nothing.
- ``train(progress)`` runs to the end and returns the published version's ``ModelCard``. It reports
  ``TrainingEvent``s to ``progress`` (start, step, eval, info). It never publishes a partial result:
  a run that fails or is killed leaves no version behind (``TuningError`` for failures, ``InputError`` for
  bad data or settings) and never alters an existing version.
- ``kind`` is the card's ``kind`` (``"lora"``, ``"embedding"``, ``"reranker"`` ...).

``BaseTuner`` keeps that contract for every built-in tuner: it holds the model's training lock, hands the
subclass's ``_fit`` a staging folder (made on first use, once training is done), publishes what ``_fit`` wrote
there under the card it returns, discards the folder when anything fails or the run is interrupted, and removes
the run's work folders (``.run`` ...) only once the version is published, so ``resume`` can continue a run.
"""

from __future__ import annotations

import math

import fcntl
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.common import library_versions, validation_message
from ragtune.errors import ConfigError, InputError
from ragtune.tuning import ranks
from ragtune.components.registry import ModelCard, ModelRegistry, check_model_name

RUN_DIR = ".run"  # a run in progress: settings, checkpoints, log (``runs.py``)
LOG_FILE = "train.log"
BEST_DIR = "best"  # inside the run folder: the best model evaluated so far


class Device(str, Enum):
    """Where training runs."""

    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class TrainingConfig(BaseModel):
    """The training-loop settings every tuner shares; each method's config extends it (``lora/config.py`` ...)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="Registry name; each run adds a version NAME@vN.")
    epochs: float = Field(1.0, gt=0, description="Passes over the training data.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimiser steps (overrides epochs).")
    time_budget_s: float | None = Field(None, gt=0, description="Stop (and publish) once training has run this long, resumed "
                                                                "runs included.")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate (linear decay after warmup).")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="Share of steps spent warming up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    batch_size: int = Field(4, ge=1, description="Rows per device batch.")
    save_steps: int = Field(50, ge=1, description="Checkpoint every N steps (what --resume continues from).")
    eval_steps: int | None = Field(None, ge=1, description="Evaluate every N steps; by default once per epoch.")
    early_stopping: int | None = Field(None, ge=1, description="Stop after this many evaluations without a better held-out "
                                                               "score.")
    logging_steps: int = Field(5, ge=1, description="Log the training loss every N steps.")
    seed: int = Field(0, description="Seed for splits, shuffling and initialisation.")
    device: Device = Field(Device.cpu, description="cpu (default), cuda, or auto (cuda when present).")
    resume: bool = Field(False, description="Continue the interrupted run of this name from its last checkpoint.")

    @classmethod
    def build(cls, **values: Any) -> Self:
        """Validate ``values``; a ``ConfigError`` names each bad setting."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(validation_message(exc)) from exc


def training_device(device: Device, needs_cuda: bool = False, flags: str = "--device cuda") -> str:
    """The torch device for ``device``: ``auto`` takes CUDA when present; ``cuda`` (or ``needs_cuda``, which ``flags``
    name) without one is a ``ConfigError``."""
    import torch

    if device is Device.cpu:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device is Device.cuda or needs_cuda:
        raise ConfigError(f"{flags}: no CUDA device is available here; train on the CPU (--device cpu)")
    return "cpu"


@dataclass
class TrainingEvent:
    """One progress report from a training run."""

    kind: str  # "start", "step", "eval" or "info"
    step: int | None = None
    max_steps: int | None = None
    loss: float | None = None
    eval_loss: float | None = None
    epoch: float | None = None
    eta_s: float | None = None
    message: str | None = None
    scores: dict[str, float] | None = None  # "eval" events of retrieval models: held-out metrics such as ndcg@10


def remaining_budget(budget_s: float | None, spent_s: float) -> float | None:
    """What a time budget leaves for training after ``spent_s`` seconds of preparation (building its rows): None
    without a budget; a spent budget leaves 1 ms, so training stops after its first step."""
    return None if budget_s is None else max(0.001, budget_s - spent_s)


def steps_in_budget(step: int, max_steps: int, elapsed_s: float, budget_s: float | None) -> int:
    """The steps a training will reach: ``max_steps``, or fewer when its time budget ends it first at the rate so far
    (``step`` steps in ``elapsed_s`` seconds); never fewer than ``step``. What a progress display's time left reads."""
    if not budget_s or step <= 0 or elapsed_s <= 0:
        return max(step, max_steps)
    return max(step, min(max_steps, math.ceil(step * budget_s / elapsed_s)))


@runtime_checkable
class Tuner(Protocol):
    """Trains a model and publishes it in the registry."""

    @property
    def kind(self) -> str:
        """The card's kind: ``"lora"``, ``"embedding"``, ``"reranker"`` ..."""
        ...

    def train(self, progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """Train to the end and publish the next version; see the module docstring for the guarantees."""
        ...


Progress = Callable[[TrainingEvent], None]


def _ignore(event: TrainingEvent) -> None:
    return None


@contextmanager
def training_lock(folder: Path, name: str) -> Iterator[None]:
    """Hold the model's training lock; ``InputError`` when another process trains ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"model '{name}' is being trained by another process") from None
        yield


class Staging:
    """The hidden folder a new version is built in; the registry makes it on first use of ``path`` (``path`` given: a
    scratch folder that is never published)."""

    def __init__(self, registry: ModelRegistry, name: str, path: Path | None = None) -> None:
        self.registry, self.name = registry, name
        self._path: Path | None = path

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = self.registry.staging(self.name)
        return self._path

    def discard(self) -> None:
        """Remove the folder, if it was made."""
        if self._path is not None:
            self.registry.discard(self._path)
            self._path = None


class BaseTuner:
    """Trains a model and publishes it as the next version of ``config.name`` (see the module docstring).

    A subclass sets ``kind`` (the card's kind) and ``libraries`` (the packages whose versions the card records)
    and fills in ``_fit``.
    """

    kind: ClassVar[str] = ""
    libraries: ClassVar[tuple[str, ...]] = ()
    work_dirs: ClassVar[tuple[str, ...]] = (RUN_DIR,)  # removed once the version is published

    def __init__(self, config: TrainingConfig, registry: ModelRegistry) -> None:
        check_model_name(config.name)
        self.config = config
        self.registry = registry

    @property
    def run_dir(self) -> Path:
        return self.registry.model_dir(self.config.name) / RUN_DIR

    def train(self, progress: Progress | None = None) -> ModelCard:
        """Train, publish ``NAME@vN`` and return its card; an interrupted run keeps its work folders for ``resume``.

        Under a launcher every rank trains; rank 0 publishes (its card records the world size) and the other ranks
        return their unpublished card (``ragtune.tuning.ranks``)."""
        name = self.config.name
        folder = self.registry.model_dir(name)
        rank, size = ranks.world()
        if size > 1:
            ranks.start(training_device(self.config.device))
            if rank > 0:
                return self._follow(folder)
        with training_lock(folder, name):
            staging = Staging(self.registry, name)
            try:
                card = self._fit(staging, progress or _ignore)
                card.metrics["world_size"] = size
                published = self.registry.publish(staging.path, card)
            except BaseException:
                staging.discard()
                raise
            for work in self.work_dirs:
                shutil.rmtree(folder / work, ignore_errors=True)
        return published

    def _follow(self, folder: Path) -> ModelCard:
        """A rank other than 0: train in step with rank 0, build the artefact in a scratch folder, publish nothing."""
        folder.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".rank-", dir=folder))
        try:
            return self._fit(Staging(self.registry, self.config.name, scratch), _ignore)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _fit(self, staging: Staging, notify: Progress) -> ModelCard:
        """Train, write the artefact into ``staging.path`` and return the version's card (``card`` fills the common fields)."""
        raise NotImplementedError

    def card(self, **fields: Any) -> ModelCard:
        """The card of this run: the kind, name, settings and library versions, with ``fields``."""
        return ModelCard(kind=self.kind, name=self.config.name, settings=self.config.model_dump(mode="json", exclude={"resume"}),
                         library_versions=library_versions(*self.libraries), **fields)

    def stage_model(self, target: Path, marker: str, save_last: Callable[[Path], None], best_usable: bool = True) -> bool:
        """Copy the run's best model (a folder holding ``marker``) to ``target``, or else ``save_last`` there; True for
        the best."""
        best = self.run_dir / BEST_DIR
        if best_usable and best.is_dir() and (best / marker).is_file():
            shutil.copytree(best, target)
            return True
        save_last(target)
        return False

    def stage_log(self, staging: Path) -> None:
        """Copy the run's log beside the artefact."""
        log = self.run_dir / LOG_FILE
        if log.is_file():
            shutil.copy2(log, staging / LOG_FILE)
