"""LoRA fine-tuning (peft): ``LoraConfig`` and ``LoraTuner``; the tuner is imported on first use (it loads transformers)."""

from typing import Any

from ragtune.tuning.lora.config import Device, LoraConfig, LoraTargets

__all__ = ["Device", "LoraConfig", "LoraTargets", "LoraTuner"]


def __getattr__(name: str) -> Any:
    if name == "LoraTuner":
        from ragtune.tuning.lora.tuner import LoraTuner

        return LoraTuner
    raise AttributeError(name)
