"""The tuners by name: ``tuners.get(name)`` is a factory that takes the tuner's own arguments and builds it.

- ``lora``: ``(config, registry)``, a ``LoraTuner``;
- ``raft``: ``(builder, questions, lora, registry, current_generation)``, a ``RaftTuner``;
- ``embeddings``: ``(config, registry, prepare)``, an ``EmbeddingTuner``;
- ``reranker``: ``(config, registry, prepare)``, a ``RerankerTuner``.

The built-in classes are imported when a tuner is built (they load torch); other packages add tuners through
the ``ragtune.tuners`` entry-point group.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable

from ragtune.plugins import Registry
from ragtune.tuning.base import Tuner

TunerFactory = Callable[..., Tuner]

tuners: Registry[TunerFactory] = Registry("tuner", "ragtune.tuners")


def _imported(module: str, name: str) -> TunerFactory:
    """A factory that builds ``module.name``, imported on first use."""

    def build(*args: Any, **kwargs: Any) -> Tuner:
        return getattr(import_module(module), name)(*args, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Build a ``{module}.{name}``."
    return build


tuners.register("lora", _imported("ragtune.tuning.lora", "LoraTuner"))
tuners.register("raft", _imported("ragtune.tuning.raft", "RaftTuner"))
tuners.register("embeddings", _imported("ragtune.tuning.embedding", "EmbeddingTuner"))
tuners.register("reranker", _imported("ragtune.tuning.reranker", "RerankerTuner"))
