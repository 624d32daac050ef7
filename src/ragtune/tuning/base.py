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
from typing import Callable, Protocol, runtime_checkable

from ragtune.tuning.registry import ModelCard


class Device(str, Enum):
    """Where training runs."""

    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


def training_device(device: Device) -> str:
    """The torch device for ``device``: ``auto`` takes CUDA when present; ``cuda`` without one is a ``ConfigError``."""
    import torch

    from ragtune.errors import ConfigError

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
