import pytest

from ragtune.errors import ConfigError, InputError
from ragtune.tuning.lora import LoraConfig, LoraTargets
from ragtune.tuning.lora.model import target_modules_for


def test_build_names_each_bad_setting():
    with pytest.raises(ConfigError) as info:
        LoraConfig.build(data="x.jsonl", name="n", rank=0, dropout=1.5)
    assert "field 'rank'" in str(info.value) and "field 'dropout'" in str(info.value)
    with pytest.raises(ConfigError, match="field 'unknown'"):
        LoraConfig.build(data="x.jsonl", name="n", unknown=1)
    with pytest.raises(ConfigError, match="needs device cuda"):
        LoraConfig.build(data="x.jsonl", name="n", load_in_4bit=True)


def test_resume_fingerprint_ignores_budgets_but_not_the_recipe():
    a = LoraConfig(data="x.jsonl", name="n", max_steps=10, time_budget_s=60)
    b = LoraConfig(data="x.jsonl", name="n", max_steps=99, resume=True)
    c = LoraConfig(data="x.jsonl", name="n", rank=4)
    assert a.run_fingerprint() == b.run_fingerprint() != c.run_fingerprint()


@pytest.mark.parametrize("model_type,targets,expected", [
    ("llama", LoraTargets.attention, ["q_proj", "k_proj", "v_proj", "o_proj"]),
    ("qwen2", LoraTargets.all_linear, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    ("gemma3_text", LoraTargets.attention, ["q_proj", "k_proj", "v_proj", "o_proj"]),
    ("gpt2", LoraTargets.attention, ["c_attn"]),
    ("gpt_neox", LoraTargets.all_linear, ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]),
    ("some_new_arch", LoraTargets.all_linear, "all-linear"),
])
def test_target_modules_are_chosen_per_architecture(model_type, targets, expected):
    assert target_modules_for(model_type, targets) == expected


def test_the_lora_tuner_is_a_tuner(tmp_path):
    from ragtune.tuning import ModelRegistry, Tuner
    from ragtune.tuning.lora.tuner import LoraTuner

    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a", "output": "b"}\n')
    tuner = LoraTuner(LoraConfig(data=data, name="n"), ModelRegistry(tmp_path))
    assert isinstance(tuner, Tuner) and tuner.kind == "lora"
    with pytest.raises(InputError, match="no such file"):
        LoraTuner(LoraConfig(data=tmp_path / "missing.jsonl", name="n"), ModelRegistry(tmp_path))
