"""Tuning: example data, LoRA fine-tuning, embedding and reranker fine-tuning, and the versioned model registry
(``models/<name>/v<N>/``). ``register_tuned_plugins()`` adds the ``tuned:`` prefix to the generators, embedders and
rerankers (a ``Workspace`` calls it)."""

from ragtune.tuning.base import Tuner, TrainingEvent
from ragtune.tuning.registry import ModelCard, ModelNotFoundError, ModelRegistry, parse_ref
from ragtune.tuning.tuned import register_tuned_plugins, resolve_tuned

__all__ = ["ModelCard", "ModelNotFoundError", "ModelRegistry", "TrainingEvent", "Tuner", "parse_ref", "register_tuned_plugins",
           "resolve_tuned"]
