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
from typing import Callable, Protocol, runtime_checkable

from ragtune.tuning.registry import ModelCard


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


@runtime_checkable
class Tuner(Protocol):
    """Trains a model and publishes it in the registry."""

    kind: str

    def train(self, progress: Callable[[TrainingEvent], None] | None = None) -> ModelCard:
        """Train to the end and publish the next version; see the module docstring for the guarantees."""
        ...
