"""Tuning: example data, LoRA fine-tuning, and the versioned model registry (``models/<name>/v<N>/``)."""

from ragtune.tuning.base import Tuner, TrainingEvent
from ragtune.tuning.registry import ModelCard, ModelNotFoundError, ModelRegistry, parse_ref
from ragtune.generation import register_generator, registered_prefixes
from ragtune.tuning.tuned import resolve_tuned, tuned_generator

if "tuned" not in registered_prefixes():
    register_generator("tuned", tuned_generator)

__all__ = ["ModelCard", "ModelNotFoundError", "ModelRegistry", "TrainingEvent", "Tuner", "parse_ref", "resolve_tuned"]
