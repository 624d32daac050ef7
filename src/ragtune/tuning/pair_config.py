"""Settings shared by the retrieval tuners (``tune embeddings``, ``tune reranker``): the pairs and the training loop.

Each method's own settings extend ``PairTuneConfig`` beside its tuner (``tuning/embedding/config.py``,
``tuning/reranker/config.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.errors import ConfigError
from ragtune.tuning.base import Device
from ragtune.tuning.pairs import PairsConfig


class PairTuneConfig(BaseModel):
    """What every retrieval fine-tune needs besides the workspace."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="Registry name; each run adds a version NAME@vN.")
    base: str = Field("local", description="Model to start from: 'local' (the default embedder's MiniLM), 'local:<dir or hub id>', a folder, or 'tuned:<name>[@vN]'.")
    data: PairsConfig = Field(..., description="Where the pairs come from, negatives, held-out split.")
    epochs: float = Field(1.0, gt=0, description="Passes over the training pairs.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimiser steps (overrides epochs).")
    time_budget_s: float | None = Field(None, gt=0, description="Stop (and publish) once training has run this long, resumed runs included.")
    learning_rate: float = Field(2e-5, gt=0, description="Peak learning rate (linear decay after warmup).")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="Share of steps spent warming up.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    batch_size: int = Field(32, ge=2, description="Pairs per batch (in-batch negatives grow with it).")
    max_seq_length: int = Field(256, ge=16, le=8192, description="Longest training input in tokens; longer texts are cut (a published embedder keeps its base model's limit).")
    save_steps: int = Field(50, ge=1, description="Checkpoint every N steps (what --resume continues from).")
    eval_steps: int | None = Field(None, ge=1, description="Evaluate the held-out split every N steps (default: every epoch).")
    early_stopping: int | None = Field(None, ge=1, description="Stop after this many evaluations without a better held-out score.")
    logging_steps: int = Field(5, ge=1, description="Log the training loss every N steps.")
    seed: int = Field(0, description="Seed for shuffling and initialisation.")
    device: Device = Field(Device.cpu, description="cpu (default), cuda, or auto (cuda when present).")
    resume: bool = Field(False, description="Continue the interrupted run of this name from its last checkpoint.")

    @classmethod
    def build(cls, **values: Any) -> "PairTuneConfig":
        """Validate ``values``; a ``ConfigError`` names each bad setting."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError("; ".join(f"setting '{'.'.join(map(str, e['loc'])) or cls.__name__}': {e['msg'].removeprefix('Value error, ')}"
                                        for e in exc.errors())) from exc

    def run_fingerprint(self) -> dict[str, Any]:
        """The settings that must match for --resume to continue a run."""
        return self.model_dump(mode="json", exclude={"resume", "time_budget_s", "early_stopping", "save_steps", "logging_steps",
                                                     "max_steps", "epochs", "eval_steps"})
