"""``tuned:NAME[@vN]`` specs: from a registry reference to the base model folder, the adapter folder and the card.

This is the hook the generator factory plugs ``tuned:`` into: ``resolve_tuned(spec, home)`` and then
load the base with the adapter (``ragtune.tuning.generate.ChatModel`` does this for generation).
"""

from __future__ import annotations

from pathlib import Path

from ragtune.errors import ConfigError
from ragtune.tuning.base_models import resolve_base_model
from ragtune.tuning.registry import ModelCard, ModelRegistry

TUNED_PREFIX = "tuned:"


def resolve_tuned(spec: str, home: Path | str) -> tuple[str, Path, ModelCard]:
    """``(base model location, adapter folder, card)`` for ``tuned:NAME[@vN]`` (latest version without ``@vN``)."""
    registry = ModelRegistry(home)
    ref = spec.removeprefix(TUNED_PREFIX)
    card = registry.card(ref)
    if card.kind != "lora":
        raise ConfigError(f"'{spec}' is a {card.kind} model; only lora models generate text")
    adapter = registry.path(card.ref) / card.files.get("adapter", "adapter")
    if not (adapter / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter}: the adapter of {card.ref} is missing")
    base_spec = card.base_model.get("spec", "local")
    try:
        base = resolve_base_model(base_spec).location
    except ConfigError:
        stored = card.base_model.get("location")
        if not stored or not Path(stored).is_dir():
            raise
        base = stored
    return base, adapter, card
