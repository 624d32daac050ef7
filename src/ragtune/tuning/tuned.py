"""``tuned:NAME[@vN]`` specs: from a registry reference to the artefact a kind of model needs.

- Generators (``lora``): ``resolve_tuned(spec, home)`` gives the base model folder, the adapter folder and the
  card; ``tuned_generator`` loads the base with the adapter as a local generator.
- Embedders (``embedding``): ``tuned_embedder`` is the ``tuned`` prefix of ``ragtune.embeddings.embedders``; the
  embedder's name and version (``tuned:NAME``, ``vN`` and its publication time) are what an index records. Its ONNX
  export is made in the version folder (``vN/onnx/``) on first use.
- Rerankers (``reranker``): ``tuned_reranker`` is the ``tuned`` prefix of ``ragtune.retrieval.rerankers``.

``register_tuned_plugins()`` registers the three (``tuned_generator`` in ``ragtune.generation.generators``).

A spec without ``@vN`` takes the latest version; the embedder and reranker record the version they took.
"""

from __future__ import annotations

from pathlib import Path

from ragtune.errors import ConfigError
from ragtune.tuning.base_models import resolve_base_model
from ragtune.components.registry import ModelCard, ModelRegistry

TUNED_PREFIX = "tuned:"
MODEL_DIR = "model"


def tuned_artefact(spec: str, home: Path | str, kind: str, role: str) -> tuple[Path, ModelCard]:
    """The model folder and card of ``tuned:NAME[@vN]``, which must be a ``kind`` model (``role`` says what for)."""
    registry = ModelRegistry(home)
    card = registry.card(spec.removeprefix(TUNED_PREFIX))
    if card.kind != kind:
        def a(word: str) -> str:
            return f"an {word}" if word[:1] in "aeiou" else f"a {word}"

        raise ConfigError(f"'{spec}' is {a(card.kind)} model; {role} needs {a(kind)} model "
                          f"(train one with: ragtune tune {'embeddings' if kind == 'embedding' else kind})")
    folder = registry.path(card.ref) / card.files.get("model", MODEL_DIR)
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{folder}: the model of {card.ref} is missing")
    return folder, card


def tuned_embedder(rest: str, config, home: Path):
    """Embedder resolver for ``tuned:NAME[@vN]``: the trained sentence-transformers folder of an ``embedding`` model."""
    from ragtune.embeddings import sentence_transformer_embedder

    folder, card = tuned_artefact(TUNED_PREFIX + rest, home, "embedding", "an embedder")
    return sentence_transformer_embedder(folder, config, home, spec=f"{TUNED_PREFIX}{card.ref}", onnx_dir=folder.parent / "onnx",
                                         name=f"{TUNED_PREFIX}{card.name}", version=f"v{card.version} {card.created_at}")


def tuned_reranker(rest: str, config, home: Path):
    """Reranker factory for ``tuned:NAME[@vN]``: the trained cross-encoder folder of a ``reranker`` model."""
    from ragtune.retrieval import CrossEncoderReranker

    folder, card = tuned_artefact(TUNED_PREFIX + rest, home, "reranker", "--rerank")
    weight = config.weight
    if weight is None:
        weight = float((card.scores.get("fusion") or {}).get("weight", 1.0))
    return CrossEncoderReranker(folder, batch_size=config.batch_size, device=config.device, spec=f"{TUNED_PREFIX}{card.ref}",
                                weight=weight)


def resolve_tuned(spec: str, home: Path | str) -> tuple[str, Path, ModelCard]:
    """``(base model location, adapter folder, card)`` for ``tuned:NAME[@vN]`` (latest version without ``@vN``)."""
    registry = ModelRegistry(home)
    ref = spec.removeprefix(TUNED_PREFIX)
    card = registry.card(ref)
    if card.kind == "managed":
        raise ConfigError(f"'{spec}' was trained by {card.managed.get('provider')}, which keeps its weights: it answers as "
                          f"tuned:{card.ref} through {card.managed.get('model_id')}, and there is no adapter to load or export")
    if card.kind != "lora":
        raise ConfigError(f"'{spec}' is a {card.kind} model; only lora models generate text")
    adapter = registry.path(card.ref) / card.files.get("adapter", "adapter")
    if not (adapter / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter}: the adapter of {card.ref} is missing")
    base_spec = card.base_model.get("spec", "local")
    try:
        base = resolve_base_model(base_spec).location
    except ConfigError:
        stored = card.base_model.get("location")
        if not stored or not Path(stored).is_dir():
            raise
        base = stored
    return base, adapter, card


def tuned_generator(rest: str, config, home: Path):
    """Generator factory for ``tuned:NAME[@vN]``: the base model with the LoRA adapter, as a local generator."""
    from ragtune.generation.local import LocalGenerator

    card = ModelRegistry(home).card(rest)
    if card.kind == "managed":
        return managed_generator(card, config)
    base, adapter, card = resolve_tuned(TUNED_PREFIX + rest, home)
    return LocalGenerator(base, adapter=adapter, config=config, spec=f"{TUNED_PREFIX}{card.ref}")


def managed_generator(card: ModelCard, config):
    """A ``managed`` version answers through the provider's fine-tuned model id."""
    from ragtune.generation.openai_compat import OpenAIGenerator

    managed = card.managed
    if managed.get("provider") != "openai" or not managed.get("model_id"):
        raise ConfigError(f"tuned:{card.ref} is a {managed.get('provider')} custom model ({managed.get('model_id')}): it answers "
                          "through the provider's own hosting (Bedrock: provisioned throughput), not through ragtune")
    return OpenAIGenerator(managed["model_id"], managed.get("base_url"), config, spec=f"{TUNED_PREFIX}{card.ref}")


def register_tuned_plugins() -> None:
    """Register ``tuned:`` with the generators, embedders and rerankers; a registry that already has a ``tuned``
    prefix keeps it (so calling this again changes nothing)."""
    from ragtune.embeddings import embedders
    from ragtune.generation import generators
    from ragtune.retrieval import rerankers

    for registry, factory in ((generators, tuned_generator), (embedders, tuned_embedder), (rerankers, tuned_reranker)):
        if "tuned" not in registry.names():
            registry.register("tuned", factory)
