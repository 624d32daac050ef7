import pytest

from ragtune.errors import ConfigError
from ragtune.components.registry import ModelCard, ModelNotFoundError, ModelRegistry
from ragtune.tuning.tuned import register_tuned_plugins, resolve_tuned, tuned_embedder, tuned_generator, tuned_reranker


def _version(registry, name, kind="lora", adapter=True):
    staging = registry.staging(name)
    if adapter:
        (staging / "adapter").mkdir()
        (staging / "adapter" / "adapter_config.json").write_text("{}")
    return registry.publish(staging, ModelCard(kind=kind, name=name, base_model={"spec": "local"}, files={"adapter": "adapter"}))


def test_tuned_spec_gives_base_adapter_and_card(tmp_path):
    registry = ModelRegistry(tmp_path)
    _version(registry, "intents")
    _version(registry, "intents")
    base, adapter, card = resolve_tuned("tuned:intents@v1", tmp_path)
    assert card.ref == "intents@v1" and adapter == tmp_path / "models" / "intents" / "v1" / "adapter"
    assert base.endswith("SmolLM2-135M-Instruct")
    assert resolve_tuned("tuned:intents", tmp_path)[2].ref == "intents@v2"


def test_unknown_non_lora_and_broken_versions_are_errors(tmp_path):
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ModelNotFoundError):
        resolve_tuned("tuned:nothing", tmp_path)
    _version(registry, "emb", kind="embedding")
    with pytest.raises(ConfigError, match="embedding model"):
        resolve_tuned("tuned:emb", tmp_path)
    _version(registry, "hollow", adapter=False)
    with pytest.raises(ConfigError, match="adapter of hollow@v1 is missing"):
        resolve_tuned("tuned:hollow", tmp_path)


def _model_version(registry, name, kind):
    staging = registry.staging(name)
    (staging / "model").mkdir()
    (staging / "model" / "config.json").write_text("{}")
    return registry.publish(staging, ModelCard(kind=kind, name=name, files={"model": "model"}))


def test_tuned_embedder_and_reranker_specs_resolve_to_their_artefacts(tmp_path):
    import ragtune.tuning  # noqa: F401 - registers the tuned: prefixes
    from ragtune.config import EmbedderConfig, RerankConfig
    from ragtune.embeddings import load_embedder
    from ragtune.retrieval import load_reranker

    registry = ModelRegistry(tmp_path)
    _model_version(registry, "emb", "embedding")
    second = _model_version(registry, "emb", "embedding")
    _model_version(registry, "rr", "reranker")
    embedder = load_embedder("tuned:emb", EmbedderConfig(batch_size=8), tmp_path)
    assert embedder.location == str(tmp_path / "models" / "emb" / "v2" / "model")
    assert embedder._spec == "tuned:emb@v2" and embedder._name == "tuned:emb" and embedder._version == f"v2 {second.created_at}"
    assert load_embedder("tuned:emb@v1", home=tmp_path).location.endswith("emb/v1/model")
    reranker = load_reranker("tuned:rr", RerankConfig(batch_size=4), tmp_path)
    assert (reranker.location, reranker.spec, reranker.batch_size) == (str(tmp_path / "models" / "rr" / "v1" / "model"), "tuned:rr@v1", 4)
    with pytest.raises(ConfigError, match="'tuned:rr' is a reranker model; an embedder needs an embedding model"):
        load_embedder("tuned:rr", home=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no model named 'other'"):
        load_reranker("tuned:other", home=tmp_path)
    staging = registry.staging("hollow")
    registry.publish(staging, ModelCard(kind="embedding", name="hollow", files={"model": "model"}))
    with pytest.raises(ConfigError, match="the model of hollow@v1 is missing"):
        load_embedder("tuned:hollow", home=tmp_path)


def test_register_tuned_plugins_registers_once_and_keeps_a_prefix_already_there(register_plugin):
    from ragtune.embeddings import embedders
    from ragtune.generation import generators
    from ragtune.retrieval import rerankers

    register_tuned_plugins()
    register_tuned_plugins()
    assert (generators.get("tuned"), embedders.get("tuned"), rerankers.get("tuned")) == (tuned_generator, tuned_embedder,
                                                                                          tuned_reranker)
    mine = object()
    register_plugin(generators, "tuned", mine)
    register_tuned_plugins()
    assert generators.get("tuned") is mine
