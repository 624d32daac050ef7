"""Which base models can be tuned, and where their weights are.

Open-weight causal LMs only: plain ``local`` (SmolLM2-135M-Instruct), ``local:<folder or hub id>``,
``gguf:<file>`` (dequantised once), or a bare folder or hub id (Llama, Mistral, Qwen, Gemma ...). API models
(``anthropic:``, ``openai:`` ...) cannot be tuned here and are refused with a message that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragtune.errors import ConfigError

_API_PROVIDERS = {
    "anthropic": "the Anthropic API offers no fine-tuning; Claude 3 Haiku is fine-tuned through Amazon Bedrock model "
                 "customization (--base bedrock:anthropic.claude-3-haiku-20240307-v1:0:200k)",
    "claude": "the Anthropic API offers no fine-tuning; Claude 3 Haiku is fine-tuned through Amazon Bedrock model "
              "customization (--base bedrock:anthropic.claude-3-haiku-20240307-v1:0:200k)",
    "openai": "an API model's weights are not available to train here; ragtune tune lora runs it as a managed job",
    "gemini": "an API model's weights are not available to train",
    "vertex": "an API model's weights are not available to train",
    "bedrock": "an API model's weights are not available to train here; ragtune tune lora runs it as a managed job",
    "cohere": "an API model's weights are not available to train",
}


@dataclass(frozen=True)
class BaseModelRef:
    """A tunable base model: the spec as given and a location ``from_pretrained`` loads."""

    spec: str
    location: str


def resolve_base_model(spec: str | None) -> BaseModelRef:
    """Resolve a base-model spec for tuning; ``ConfigError`` for API models, ``tuned:`` and unknown models."""
    from ragtune.generation.hf_models import resolve_causal_lm

    spec = (spec or "local").strip()
    prefix, sep, rest = spec.partition(":")
    if sep and prefix.lower() in _API_PROVIDERS:
        raise ConfigError(f"cannot fine-tune '{spec}': {_API_PROVIDERS[prefix.lower()]}. Tune an open-weight model instead "
                          "(--base local, or local:<folder or hub id> such as a Llama, Mistral, Qwen or Gemma checkpoint), "
                          "then serve it as tuned:NAME")
    if spec == "local":
        return BaseModelRef(spec, resolve_causal_lm(None))
    if sep and prefix in ("local", "gguf", "hf"):
        if not rest:
            raise ConfigError(f"base model '{spec}': name a folder, hub id or file after '{prefix}:'")
        return BaseModelRef(spec, resolve_causal_lm(rest))
    if sep and prefix == "tuned":
        raise ConfigError(f"base model '{spec}': tune from the base model of that version (see: ragtune models show {rest}), "
                          "or export it merged (ragtune models export --merge) and tune the exported folder")
    if sep and len(prefix) > 1 and "/" not in prefix:
        raise ConfigError(f"base model '{spec}': unknown prefix '{prefix}:'; use local, local:<folder or hub id> or gguf:<file>")
    return BaseModelRef(spec, resolve_causal_lm(spec))


def load_tokenizer(spec: str | None) -> tuple[Any, str]:
    """The tokenizer of a base model (with a chat template) and the model's display name."""
    from transformers import AutoTokenizer

    from ragtune.tuning.chat import ensure_chat_template

    base = resolve_base_model(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base.location)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"base model '{base.spec}' ({base.location}): cannot load its tokenizer offline: {exc}") from exc
    ensure_chat_template(tokenizer)
    return tokenizer, base.location.rstrip("/").rsplit("/", 1)[-1]
