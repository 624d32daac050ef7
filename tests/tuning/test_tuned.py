import pytest

from ragtune.errors import ConfigError
from ragtune.tuning.registry import ModelCard, ModelNotFoundError, ModelRegistry
from ragtune.tuning.tuned import resolve_tuned


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
