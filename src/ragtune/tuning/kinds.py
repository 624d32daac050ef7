"""The tuners by name, each built the same way: ``build_tuner(name, config, parts)``.

A factory in ``tuners`` is called as ``factory(config, parts)``: ``config`` is the tuner's own settings (for
``raft``, the ``LoraConfig`` it trains with) and ``parts`` (``TunerParts``) what it is built from besides them: the
model registry it publishes into, and what its kind reads.

- ``lora``: ``LoraConfig`` (plus ``parts.data_source`` and ``parts.attachments`` where they are given), a
  ``LoraTuner``;
- ``raft``: ``LoraConfig`` plus ``parts.raft``, ``parts.questions`` and ``parts.index_generation``, a ``RaftTuner``;
- ``embeddings``: ``EmbeddingTuneConfig`` plus ``parts.prepare`` (the pairs), an ``EmbeddingTuner``;
- ``reranker``: ``RerankerTuneConfig`` plus ``parts.prepare``, a ``RerankerTuner``;
- ``managed``: ``ManagedConfig`` plus ``parts.service`` and ``parts.base_model`` (and ``parts.prices``), a
  ``ManagedTuner`` that trains on a provider's service.

The built-in classes are imported when a tuner is built (they load torch); other packages add tuners through
the ``ragtune.tuners`` entry-point group, with the same signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ragtune.errors import ConfigError
from ragtune.plugins import Registry
from ragtune.tuning.base import Tuner
from ragtune.components.registry import ModelRegistry

if TYPE_CHECKING:
    from ragtune.costs.prices import PriceTable
    from ragtune.evaluation.questions import Question
    from ragtune.tuning.managed import FineTuningService
    from ragtune.tuning.pair_tuner import PreparePairs
    from ragtune.tuning.raft import RaftBuilder


@dataclass(frozen=True)
class TunerParts:
    """What a tuner is built from besides its own settings."""

    registry: ModelRegistry
    """Where the trained version is published."""
    prepare: "PreparePairs | None" = None
    """The pairs tuners (``embeddings``, ``reranker``): builds the training pairs when training starts."""
    raft: "RaftBuilder | None" = None
    """``raft``: builds the training rows from an index's chunks."""
    questions: "Sequence[Question]" = ()
    """``raft``: the questions the rows are built for."""
    index_generation: Callable[[], int] | None = None
    """``raft``: the index's generation now (a resumed run notes a change since its rows were built)."""
    data_source: dict[str, Any] | None = None
    """``lora``: where the rows came from, for the card's ``data.source`` (a distillation's teacher and counts)."""
    attachments: dict[str, Path] | None = None
    """``lora``: files copied into the version folder, by role."""
    service: "FineTuningService | None" = None
    """``managed``: the provider's fine-tuning service."""
    base_model: str | None = None
    """``managed``: the provider's id of the model it tunes."""
    prices: "PriceTable | None" = None
    """``managed``: the price table the job's cost is read from."""


TunerFactory = Callable[[Any, TunerParts], Tuner]

tuners: Registry[TunerFactory] = Registry("tuner", "ragtune.tuners")


def build_tuner(name: str, config: Any, parts: TunerParts) -> Tuner:
    """The tuner registered as ``name``, built from ``config`` and ``parts``; ``ConfigError`` for an unknown name."""
    factory = tuners.get(name)
    if factory is None:
        raise ConfigError(f"unknown tuner '{name}' (known: {', '.join(tuners.names())})")
    return factory(config, parts)


def _needs(value: Any, name: str, what: str) -> Any:
    if value is None:
        raise ConfigError(f"the {name} tuner needs {what}")
    return value


def _lora(config: Any, parts: TunerParts) -> Tuner:
    from ragtune.tuning.lora import LoraTuner

    return LoraTuner(config, parts.registry, data_source=parts.data_source, attachments=parts.attachments)


def _raft(config: Any, parts: TunerParts) -> Tuner:
    from ragtune.tuning.raft import RaftTuner

    builder = _needs(parts.raft, "raft", "a row builder over an index")
    generation = _needs(parts.index_generation, "raft", "the index's generation")
    return RaftTuner(builder, parts.questions, config, parts.registry, generation)


def _embeddings(config: Any, parts: TunerParts) -> Tuner:
    from ragtune.tuning.embedding import EmbeddingTuner

    return EmbeddingTuner(config, parts.registry, _needs(parts.prepare, "embeddings", "the pairs"))


def _reranker(config: Any, parts: TunerParts) -> Tuner:
    from ragtune.tuning.reranker import RerankerTuner

    return RerankerTuner(config, parts.registry, _needs(parts.prepare, "reranker", "the pairs"))


def _managed(config: Any, parts: TunerParts) -> Tuner:
    from ragtune.tuning.managed import ManagedTuner

    service = _needs(parts.service, "managed", "a provider's fine-tuning service")
    return ManagedTuner(config, parts.registry, service, _needs(parts.base_model, "managed", "the provider's model"),
                        parts.prices)


tuners.register("lora", _lora)
tuners.register("raft", _raft)
tuners.register("embeddings", _embeddings)
tuners.register("reranker", _reranker)
tuners.register("managed", _managed)
