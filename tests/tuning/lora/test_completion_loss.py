"""The completion-only loss: the LM head runs only where labels are supervised, and the loss and gradients are
those of the default full-sequence loss (a tiny Llama built here, with a LoRA adapter)."""

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")

from transformers import LlamaConfig, LlamaForCausalLM, TrainingArguments  # noqa: E402

from ragtune.tuning.chat import IGNORE_INDEX  # noqa: E402
from ragtune.tuning.lora.model import completion_trainer_class  # noqa: E402


def test_completion_only_loss_matches_the_full_loss(tmp_path):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=128)
    model = peft.get_peft_model(LlamaForCausalLM(config), peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                                          task_type="CAUSAL_LM", init_lora_weights=False))
    ids = torch.randint(0, 97, (2, 24))
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[0, 18:] = ids[0, 18:]  # a long prompt, a short reply
    labels[1, 12:20] = ids[1, 12:20]
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    inputs = {"input_ids": ids, "labels": labels, "attention_mask": mask}
    trainer = completion_trainer_class()(model=model, args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True,
                                                                                 report_to="none"))
    n = (labels[:, 1:] != IGNORE_INDEX).sum()

    model.zero_grad()
    full = model(**inputs).loss
    full.backward()
    full_grads = [p.grad.clone() for p in model.parameters() if p.requires_grad]

    seen = []
    original = model.forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("logits_to_keep"))
        out = original(*args, **kwargs)
        seen.append(out.logits.shape)
        return out

    model.forward = spy
    model.zero_grad()
    mine = trainer.compute_loss(model, dict(inputs), num_items_in_batch=n)
    mine.backward()
    assert torch.allclose(mine, full, atol=1e-5) and trainer.loss_is_scaled_for_ga is True
    for a, b in zip(full_grads, [p.grad for p in model.parameters() if p.requires_grad]):
        assert torch.allclose(a, b, atol=1e-5)
    assert seen[1] == (2, 12, 97)  # positions 11..22 predict the supervised tokens 12..23; the rest never reach the head
    assert torch.equal(seen[0], torch.arange(11, 23))

    seen.clear()
    mean = trainer.compute_loss(model, dict(inputs))  # without the batch count: the mean over supervised tokens
    assert torch.allclose(mean, full, atol=1e-5) and trainer.loss_is_scaled_for_ga is False
