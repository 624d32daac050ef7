"""The model side of a LoRA run: which layers get adapters, loading the base model, batching, and a trainer whose
loss skips the LM head on prompt positions."""

from __future__ import annotations

from typing import Any

from ragtune.errors import ConfigError
from ragtune.tuning.base_models import BaseModelRef
from ragtune.tuning.chat import IGNORE_INDEX, ensure_chat_template
from ragtune.tuning.lora.config import LoraTargets

# Linear layers per architecture: (attention, MLP). Unknown architectures fall back to peft's own table
# (attention) or to peft's "all-linear" selection.
_LLAMA_LIKE = (["q_proj", "k_proj", "v_proj", "o_proj"], ["gate_proj", "up_proj", "down_proj"])
TARGET_MODULES: dict[str, tuple[list[str], list[str]]] = {
    **{t: _LLAMA_LIKE for t in ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2",
                                 "gemma3", "gemma3_text", "olmo", "olmo2", "granite", "smollm3", "cohere", "starcoder2",
                                 "deepseek_v2")},
    "phi3": (["qkv_proj", "o_proj"], ["gate_up_proj", "down_proj"]),
    "phi": (["q_proj", "k_proj", "v_proj", "dense"], ["fc1", "fc2"]),
    "gpt2": (["c_attn"], ["c_proj", "c_fc"]),
    "gpt_neox": (["query_key_value"], ["dense", "dense_h_to_4h", "dense_4h_to_h"]),
    "falcon": (["query_key_value"], ["dense", "dense_h_to_4h", "dense_4h_to_h"]),
    "opt": (["q_proj", "k_proj", "v_proj", "out_proj"], ["fc1", "fc2"]),
}


def target_modules_for(model_type: str, targets: LoraTargets) -> list[str] | str:
    """The module names LoRA wraps for an architecture (``"all-linear"`` when it is unknown and all are wanted)."""
    if model_type in TARGET_MODULES:
        attention, mlp = TARGET_MODULES[model_type]
        return list(attention) if targets is LoraTargets.attention else attention + mlp
    if targets is LoraTargets.all_linear:
        return "all-linear"
    try:
        from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as mapping
    except ImportError:  # pragma: no cover - depends on the peft version
        mapping = {}
    if model_type in mapping:
        return list(mapping[model_type])
    return "all-linear"


class Collator:
    """Pads a batch on the right: input ids with the pad token, labels with -100."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = [r["input_ids"] + [self.pad_id] * (width - len(r["input_ids"])) for r in rows]
        labels = [r["labels"] + [IGNORE_INDEX] * (width - len(r["labels"])) for r in rows]
        mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def completion_trainer_class():
    """A ``Trainer`` whose loss projects onto the vocabulary only where a label is supervised.

    The default loss computes logits for every position; with long prompts (RAG context, RAFT rows) most of
    them are thrown away by the ``-100`` labels. Passing the supervised positions as ``logits_to_keep`` skips
    the LM head (and its backward pass) for the prompt. Models whose forward has no ``logits_to_keep`` take the
    default path; so does evaluation, which needs nothing but the loss either way.
    """
    import inspect

    import torch
    from transformers import Trainer

    class CompletionOnlyTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.get("labels")
            base = self.accelerator.unwrap_model(model)
            forward = getattr(getattr(base, "get_base_model", lambda: base)(), "forward", None)
            takes_logits_to_keep = forward is not None and "logits_to_keep" in inspect.signature(forward).parameters
            if labels is None or return_outputs or not takes_logits_to_keep:
                self.loss_is_scaled_for_ga = None
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            targets = labels[:, 1:]
            keep = (targets != IGNORE_INDEX).any(dim=0).nonzero().squeeze(-1)
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask"), logits_to_keep=keep)
            logits = outputs.logits.float()
            kept = targets[:, keep]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), kept.reshape(-1),
                                                     ignore_index=IGNORE_INDEX, reduction="sum")
            if num_items_in_batch is not None:  # the supervised tokens of the whole accumulated batch
                self.loss_is_scaled_for_ga = True
                return loss / torch.as_tensor(num_items_in_batch, device=loss.device, dtype=loss.dtype)
            self.loss_is_scaled_for_ga = False
            return loss / (kept != IGNORE_INDEX).sum().clamp(min=1)

    return CompletionOnlyTrainer



def load_base(base: BaseModelRef, device: str, load_in_4bit: bool = False) -> tuple[Any, Any]:
    """Load the base model and its tokenizer for training (fp32 on CPU, bf16 on CUDA where supported)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if device == "cuda":
        kwargs["dtype"] = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if load_in_4bit:
            try:
                from transformers import BitsAndBytesConfig
                import bitsandbytes  # noqa: F401
            except ImportError as exc:
                raise ConfigError("4-bit QLoRA needs bitsandbytes: pip install bitsandbytes") from exc
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                               bnb_4bit_compute_dtype=kwargs["dtype"],
                                                               bnb_4bit_use_double_quant=True)
            kwargs["device_map"] = {"": 0}
    try:
        tokenizer = AutoTokenizer.from_pretrained(base.location)
        model = AutoModelForCausalLM.from_pretrained(base.location, **kwargs)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"base model '{base.spec}' ({base.location}): cannot load it offline: {exc}") from exc
    ensure_chat_template(tokenizer)
    if device == "cuda" and not load_in_4bit:
        model.to("cuda")
    return model, tokenizer

