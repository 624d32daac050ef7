"""Generation with a tuned adapter and ``models export`` (slow: a real one-step LoRA on SmolLM2)."""

from __future__ import annotations

import json

import pytest

from ragtune.errors import InputError
from ragtune.tuning.export import export_model
from ragtune.tuning.generate import ChatModel, load_with_adapter
from ragtune.tuning.lora import LoraConfig
from ragtune.tuning.lora.tuner import LoraTuner
from ragtune.components.registry import ModelRegistry
from ragtune.tuning.tuned import resolve_tuned

pytestmark = pytest.mark.slow
PROMPT = [{"role": "system", "content": "JSON."}, {"role": "user", "content": "play jazz on spotify"}]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    rows = [{"input": f"play song number {i}", "output": {"intent": "PlayMusic", "n": i}} for i in range(8)]
    data = root / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    LoraTuner(LoraConfig(data=data, name="gen", max_steps=2, eval_fraction=0, learning_rate=5e-3, max_length=64, batch_size=4,
                         system="JSON.", rank=4, alpha=8, targets="attention"), ModelRegistry(root / "home")).train()
    return root / "home"


def _logits(model, tokenizer):
    import torch

    ids = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        return model(input_ids=ids["input_ids"]).logits[0, -1]


def test_tuned_generation_differs_from_base_and_merge_matches_the_adapter(home):
    import torch

    base, adapter, card = resolve_tuned("tuned:gen@v1", home)
    plain, tok = load_with_adapter(base, None)
    unmerged, _ = load_with_adapter(base, adapter, merge=False)
    merged, _ = load_with_adapter(base, adapter, merge=True)
    assert not torch.allclose(_logits(plain, tok), _logits(unmerged, tok), atol=1e-3)
    assert torch.allclose(_logits(unmerged, tok), _logits(merged, tok), atol=1e-3)
    replies = ChatModel(base, adapter).generate([PROMPT, PROMPT[1:]], max_new_tokens=8, batch_size=2)
    assert len(replies) == 2 and all(isinstance(r, str) and r for r in replies)
    single, seconds = ChatModel(base, adapter).timed_generate(PROMPT, max_new_tokens=8)
    assert single == replies[0] and seconds > 0  # left-padded batches give the same greedy reply as a single row


def test_export_merged_is_a_standalone_transformers_folder(home, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = export_model("gen@v1", home, tmp_path / "merged", merge=True)
    assert (out / "config.json").is_file() and not (out / "adapter_config.json").exists()
    assert json.loads((out / "ragtune_card.json").read_text())["exported"] == {"merged": True}
    standalone = AutoModelForCausalLM.from_pretrained(str(out))
    tok = AutoTokenizer.from_pretrained(str(out))
    base, adapter, _ = resolve_tuned("gen@v1", home)
    merged, _ = load_with_adapter(base, adapter, merge=True)
    assert torch.allclose(_logits(standalone, tok), _logits(merged, tok), atol=1e-4)
    adapter_only = export_model("gen", home, tmp_path / "adapter")
    assert (adapter_only / "adapter_config.json").is_file() and (adapter_only / "ragtune_card.json").is_file()
    with pytest.raises(InputError, match="already exists"):
        export_model("gen@v1", home, tmp_path / "merged", merge=True)
