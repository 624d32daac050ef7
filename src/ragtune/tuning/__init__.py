"""Tuning: example data, LoRA fine-tuning, and the versioned model registry (``models/<name>/v<N>/``)."""

from ragtune.tuning.base import Tuner, TrainingEvent
from ragtune.tuning.registry import ModelCard, ModelNotFoundError, ModelRegistry, parse_ref
from ragtune.tuning.tuned import resolve_tuned

__all__ = ["ModelCard", "ModelNotFoundError", "ModelRegistry", "TrainingEvent", "Tuner", "parse_ref", "resolve_tuned"]
