"""Tuning: example data, LoRA fine-tuning, embedding and reranker fine-tuning, and the versioned model registry
(``models/<name>/v<N>/``). Importing it registers the ``tuned:`` prefix for generators, embedders and rerankers."""

from ragtune.embeddings import resolvers as _embedder_resolvers
from ragtune.generation import register_generator, registered_prefixes
from ragtune.retrieval import register_reranker
from ragtune.tuning.base import Tuner, TrainingEvent
from ragtune.tuning.registry import ModelCard, ModelNotFoundError, ModelRegistry, parse_ref
from ragtune.tuning.tuned import resolve_tuned, tuned_embedder, tuned_generator, tuned_reranker

if "tuned" not in registered_prefixes():
    register_generator("tuned", tuned_generator)
_embedder_resolvers.setdefault("tuned", tuned_embedder)
register_reranker("tuned", tuned_reranker, replace=True)

__all__ = ["ModelCard", "ModelNotFoundError", "ModelRegistry", "TrainingEvent", "Tuner", "parse_ref", "resolve_tuned"]
