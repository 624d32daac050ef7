"""SmolLM2-135M-Instruct through transformers (loaded once per session); few tokens per test."""

import pytest

from ragtune.config import GenerationConfig
from ragtune.generation.base import GenerateOptions, Prompt
from ragtune.generation.local import LocalGenerator, StopHolder

pytestmark = pytest.mark.slow

FRANCE = Prompt(messages=[{"role": "user", "content": "What is the capital of France?"}])


def test_chat_template_and_greedy_answer(smollm):
    out = smollm.generate(FRANCE, GenerateOptions(max_new_tokens=12))
    assert "Paris" in out.text
    assert out.usage.input_tokens == len(smollm._encode(FRANCE))
    assert 1 <= out.usage.output_tokens <= 12
    again = smollm.generate(FRANCE, GenerateOptions(max_new_tokens=12))
    assert again.text == out.text  # greedy is deterministic


def test_streamed_pieces_concatenate_to_the_text(smollm):
    pieces = []
    out = smollm.generate(FRANCE, GenerateOptions(max_new_tokens=10), on_text=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == out.text


def test_sampling_repeats_with_a_seed(smollm):
    options = GenerateOptions(max_new_tokens=8, temperature=1.0, seed=7)
    assert smollm.generate(FRANCE, options).text == smollm.generate(FRANCE, options).text


def test_threads_are_pinned_and_window_reported(smollm):
    import torch

    assert torch.get_num_threads() == 1
    assert smollm.context_window == 8192
    assert smollm.count_tokens("Paris is the capital") == len(smollm.tokenizer("Paris is the capital", add_special_tokens=False)["input_ids"])


def test_stop_strings_cut_the_answer(smollm):
    prompt = Prompt(messages=[{"role": "user", "content": "Count from one to ten in words, separated by commas."}])
    out = smollm.generate(prompt, GenerateOptions(max_new_tokens=20, stop=[","]))
    assert "," not in out.text and out.text.strip()


def test_stop_holder_never_passes_on_a_stop_string():
    holder = StopHolder(["\n\n"])
    sent = [holder.feed(p) for p in ["The port", " is 8420.", "\n", "\nQuestion: next"]] + [holder.finish()]
    assert "".join(sent) == "The port is 8420."


def test_adapter_is_loaded_on_top_of_the_base_model(tmp_path):
    """A tuned model is the base model plus a peft adapter folder."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from ragtune.generation.hf_models import resolve_causal_lm

    base = AutoModelForCausalLM.from_pretrained(resolve_causal_lm(None), dtype=torch.float32)
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.fill_(0.01)
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    del base, peft_model
    gen = LocalGenerator(None, adapter=tmp_path / "adapter", config=GenerationConfig(threads=1)).load()
    assert isinstance(gen._model, PeftModel)
    lora_b = [p for n, p in gen._model.named_parameters() if "lora_B" in n]
    assert lora_b and all(torch.allclose(p, torch.full_like(p, 0.01)) for p in lora_b)
    assert gen.generate(FRANCE, GenerateOptions(max_new_tokens=4)).usage.output_tokens >= 1
