from pathlib import Path

import pytest

from ragtune.errors import ConfigError
from ragtune.tuning.base_models import resolve_base_model


@pytest.mark.parametrize("spec", ["anthropic:claude-sonnet-4-5", "Anthropic:claude-haiku"])
def test_anthropic_models_are_refused_with_a_pointer_to_open_weight_models(spec):
    with pytest.raises(ConfigError) as info:
        resolve_base_model(spec)
    message = str(info.value)
    assert "Anthropic API offers no fine-tuning" in message and "open-weight" in message and "--base local" in message


def test_other_api_models_tuned_specs_and_unknown_models_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not available to train"):
        resolve_base_model("openai:gpt-4o@http://127.0.0.1:8000/v1")
    with pytest.raises(ConfigError, match="tune from the base model"):
        resolve_base_model("tuned:intents@v1")
    with pytest.raises(ConfigError, match="unknown prefix 'foo:'"):
        resolve_base_model("foo:bar")
    with pytest.raises(ConfigError, match="no such folder"):
        resolve_base_model(str(tmp_path / "missing-model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        resolve_base_model(f"local:{tmp_path / 'empty'}")


def test_local_is_the_converted_smollm2_folder_and_hub_ids_pass_through():
    ref = resolve_base_model("local")
    assert ref.spec == "local" and (Path(ref.location) / "config.json").is_file()
    assert resolve_base_model(f"local:{ref.location}").location == ref.location
    assert resolve_base_model("Qwen/Qwen2.5-0.5B-Instruct").location == "Qwen/Qwen2.5-0.5B-Instruct"
