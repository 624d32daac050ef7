"""A small greedy chat generator for base and tuned causal LMs (transformers + peft).

It exists so that tuning can evaluate and export what it trains without the generation layer; the
generator factory can replace it. Prompts go through the chat template saved with the adapter (or the base
model's), rows are generated in left-padded batches, decoding is greedy and stops at the end-of-turn token.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ragtune.errors import ConfigError
from ragtune.tuning.chat import ensure_chat_template, render_prompt


def require_peft() -> Any:
    """The peft module, or a ``ConfigError`` naming the extra to install."""
    try:
        import peft
    except ImportError as exc:
        raise ConfigError("LoRA needs peft: pip install 'ragtune[tune]'") from exc
    return peft


def load_with_adapter(base: str, adapter: Path | str | None, merge: bool = True, device: str = "cpu") -> tuple[Any, Any]:
    """The base model with ``adapter`` applied (merged into the weights when ``merge``) and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer_source = adapter if adapter and (Path(adapter) / "tokenizer_config.json").is_file() else base
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source))
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32 if device == "cpu" else torch.bfloat16)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"model '{base}': cannot load it offline: {exc}") from exc
    ensure_chat_template(tokenizer)
    if adapter is not None:
        peft = require_peft()
        model = peft.PeftModel.from_pretrained(model, str(adapter))
        if merge:
            model = model.merge_and_unload()
    model.to(device)
    model.eval()
    return model, tokenizer


class ChatModel:
    """Greedy generation from chat messages with a base model, optionally with a LoRA adapter."""

    def __init__(self, base: str, adapter: Path | str | None = None, device: str = "cpu") -> None:
        self.base, self.adapter, self.device = base, adapter, device
        self._model: Any = None
        self._tokenizer: Any = None

    def load(self) -> "ChatModel":
        if self._model is None:
            self._model, self._tokenizer = load_with_adapter(self.base, self.adapter, merge=True, device=self.device)
        return self

    @property
    def tokenizer(self) -> Any:
        return self.load()._tokenizer

    def generate(self, conversations: list[list[dict[str, str]]], max_new_tokens: int = 64, batch_size: int = 8) -> list[str]:
        """The assistant's reply to each conversation (greedy, at most ``max_new_tokens`` tokens)."""
        import torch

        self.load()
        tok, model = self._tokenizer, self._model
        tok.padding_side = "left"
        stop = [t for t in {tok.eos_token_id,
                            tok.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tok.get_vocab() else None}
                if t is not None]
        replies: list[str] = []
        for start in range(0, len(conversations), batch_size):
            prompts = [render_prompt(tok, messages) for messages in conversations[start:start + batch_size]]
            batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            with torch.inference_mode():
                out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stop,
                                     pad_token_id=tok.pad_token_id)
            for row in out[:, batch["input_ids"].shape[1]:]:
                replies.append(tok.decode(row, skip_special_tokens=True).strip())
        return replies

    def timed_generate(self, messages: list[dict[str, str]], max_new_tokens: int = 64) -> tuple[str, float]:
        """One reply and its latency in seconds."""
        started = time.perf_counter()
        reply = self.generate([messages], max_new_tokens=max_new_tokens, batch_size=1)[0]
        return reply, time.perf_counter() - started
