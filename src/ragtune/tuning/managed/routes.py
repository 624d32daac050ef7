"""Which ``--base`` specs are managed jobs, and the service each one trains on.

``openai:<model>[@<base url>]`` (OpenAI, or any server with the same fine-tuning surface) and
``bedrock:<model id>`` (Amazon Bedrock model customization) are managed; ``anthropic:`` is refused (the
Anthropic API has no fine-tuning; Claude 3 Haiku is fine-tuned on Bedrock). Everything else is an open-weight
model for the local LoRA tuner.
"""

from __future__ import annotations

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError
from ragtune.plugins import split_spec
from ragtune.tuning.managed.base import FineTuningService

MANAGED_PREFIXES = ("openai", "bedrock")
BEDROCK_HAIKU = "bedrock:anthropic.claude-3-haiku-20240307-v1:0:200k"
ANTHROPIC_REFUSAL = ("the Anthropic API offers no fine-tuning; Claude 3 Haiku is fine-tuned through Amazon Bedrock "
                     f"model customization: --base {BEDROCK_HAIKU}")


def is_managed(base: str) -> bool:
    """Whether ``base`` names a provider's fine-tuning service (``anthropic:`` counts: it is refused there)."""
    return split_spec(base)[0] in (*MANAGED_PREFIXES, "anthropic", "claude")


def fine_tuning_service(base: str, config: GenerationConfig, region: str | None = None) -> tuple[FineTuningService, str]:
    """The service that trains ``base`` and the provider's name of the base model; ``ConfigError`` for a provider
    without fine-tuning."""
    prefix, rest = split_spec(base)
    if prefix in ("anthropic", "claude"):
        raise ConfigError(f"cannot fine-tune '{base}': {ANTHROPIC_REFUSAL}")
    if prefix == "openai":
        from ragtune.generation.openai_compat import parse_openai_spec
        from ragtune.tuning.managed.openai_api import OpenAIFineTuning

        model, url = parse_openai_spec(rest, config)
        return OpenAIFineTuning(url, config), model
    if prefix == "bedrock":
        from ragtune.tuning.managed.bedrock import BedrockCustomization

        if not rest:
            raise ConfigError(f"base model '{base}': name a Bedrock model id, like {BEDROCK_HAIKU}")
        return BedrockCustomization(region=region), rest
    raise ConfigError(f"'{base}' is not a managed fine-tuning service (managed: {', '.join(p + ':' for p in MANAGED_PREFIXES)})")
