"""Tuning: example data, LoRA fine-tuning, embedding and reranker fine-tuning, and the versioned model registry
(``models/<name>/v<N>/``). The ``tuned:`` prefix of the generators, embedders and rerankers is a built-in, registered
when this package is imported (``register_tuned_plugins()``)."""

from ragtune.tuning.base import Tuner, TrainingEvent
from ragtune.components.registry import ModelCard, ModelNotFoundError, ModelRegistry, parse_ref
from ragtune.tuning.tuned import register_tuned_plugins, resolve_tuned

__all__ = ["ModelCard", "ModelNotFoundError", "ModelRegistry", "TrainingEvent", "Tuner", "parse_ref", "register_tuned_plugins",
           "resolve_tuned"]

register_tuned_plugins()
