"""The tuning seam: a ``Tuner`` trains one kind of model and publishes it as a registry version.

Contract:

- ``__init__(config, registry)`` validates its arguments and loads nothing.
- ``train(progress)`` runs to the end and returns the published version's ``ModelCard``. It reports
  ``TrainingEvent``s to ``progress`` (start, step, eval, info). It never publishes a partial result:
  a run that fails or is killed leaves no version behind (``TuningError`` for failures, ``InputError`` for
  bad data or settings) and never alters an existing version.
- ``kind`` is the card's ``kind`` (``"lora"``, ``"embedding"``, ``"reranker"`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.common import validation_message
from ragtune.errors import ConfigError
from ragtune.tuning.registry import ModelCard


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
    time_budget_s: float | None = Field(None, gt=0, description="Stop (and publish) once training has run this long, resumed runs included.")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate (linear decay after warmup).")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="Share of steps spent warming up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    batch_size: int = Field(4, ge=1, description="Rows per device batch.")
    save_steps: int = Field(50, ge=1, description="Checkpoint every N steps (what --resume continues from).")
    eval_steps: int | None = Field(None, ge=1, description="Evaluate every N steps; by default once per epoch.")
    early_stopping: int | None = Field(None, ge=1, description="Stop after this many evaluations without a better held-out score.")
    logging_steps: int = Field(5, ge=1, description="Log the training loss every N steps.")
    seed: int = Field(0, description="Seed for splits, shuffling and initialisation.")
    device: Device = Field(Device.cpu, description="cpu (default), cuda, or auto (cuda when present).")
    resume: bool = Field(False, description="Continue the interrupted run of this name from its last checkpoint.")

    @classmethod
    def build(cls, **values: Any) -> "TrainingConfig":
        """Validate ``values``; a ``ConfigError`` names each bad setting."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(validation_message(exc)) from exc


def training_device(device: Device) -> str:
    """The torch device for ``device``: ``auto`` takes CUDA when present; ``cuda`` without one is a ``ConfigError``."""
    import torch

    if device is Device.cpu:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device is Device.cuda:
        raise ConfigError("--device cuda: no CUDA device is available here; train on the CPU (--device cpu)")
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


@runtime_checkable
class Tuner(Protocol):
    """Trains a model and publishes it in the registry."""

    kind: str

    def train(self, progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """Train to the end and publish the next version; see the module docstring for the guarantees."""
        ...
