"""Settings of a LoRA run (``ragtune tune lora``), validated once at the edge."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from pydantic import Field, model_validator

from ragtune.tuning.base import Device, TrainingConfig


class LoraTargets(str, Enum):
    """Which linear layers get adapters; the module names are chosen per architecture."""

    attention = "attention"
    all_linear = "all-linear"


class LoraConfig(TrainingConfig):
    """Everything a LoRA fine-tune needs besides the workspace (the training loop's settings: ``TrainingConfig``)."""

    data: Path = Field(..., description="Training examples (JSONL).")
    base: str = Field("local", description="Base model spec: 'local', 'local:<dir or hub id>', 'gguf:<file>', a folder or a hub "
                                           "id.")
    eval_data: Path | None = Field(None, description="Held-out examples for eval loss; by default eval_fraction of data is held "
                                                     "out.")
    eval_fraction: float = Field(0.1, ge=0, lt=0.5, description="Share of data held out for eval loss when no eval_data is given "
                                                                "(0: none).")
    max_eval_rows: int = Field(200, ge=1, description="At most this many held-out rows are evaluated.")
    system: str | None = Field(None, description="System prompt for rows that carry none.")
    rank: int = Field(16, ge=1, le=512, description="LoRA rank r.")
    alpha: float = Field(32, gt=0, description="LoRA alpha (scaling = alpha / r).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA path.")
    targets: LoraTargets = Field(LoraTargets.all_linear, description="attention (q/k/v/o) or all-linear (attention + MLP).")
    target_modules: list[str] | None = Field(None, description="Explicit module names; overrides targets.")
    grad_accum: int = Field(1, ge=1, description="Batches per optimiser step.")
    max_length: int = Field(512, ge=16, description="Longest row in tokens; longer rows are dropped unless truncate.")
    truncate: bool = Field(False, description="Cut rows over max_length (prompt first) instead of dropping them.")
    early_stopping: int | None = Field(None, ge=1, description="Stop after this many evaluations without a better eval loss.")
    mixed_outputs: bool = Field(False, description="Accept text outputs beside JSON ones in one file (two tasks taught at once).")
    load_in_4bit: bool = Field(False, description="QLoRA: load the base model in 4-bit (bitsandbytes; CUDA only).")

    @model_validator(mode="after")
    def _checks(self) -> "LoraConfig":
        if self.load_in_4bit and self.device is Device.cpu:
            raise ValueError("load_in_4bit (QLoRA) needs device cuda or auto")
        return self

    def run_fingerprint(self) -> dict:
        """The settings that must match for --resume to continue a run."""
        keep = {"base", "rank", "alpha", "dropout", "targets", "target_modules", "learning_rate", "batch_size", "grad_accum",
                "max_length", "truncate", "seed", "eval_fraction", "max_eval_rows", "system", "load_in_4bit"}
        return self.model_dump(mode="json", include=keep)
