"""Settings shared by the retrieval tuners (``tune embeddings``, ``tune reranker``): the pairs and the training loop.

Each method's own settings extend ``PairTuneConfig`` beside its tuner (``tuning/embedding/config.py``,
``tuning/reranker/config.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ragtune.tuning.base import TrainingConfig
from ragtune.tuning.pairs import PairsConfig


class PairTuneConfig(TrainingConfig):
    """What every retrieval fine-tune needs besides the workspace (the training loop's settings: ``TrainingConfig``)."""

    base: str = Field("local", description="Model to start from: 'local' (the default embedder's MiniLM), 'local:<dir or hub "
                                           "id>', a folder, or 'tuned:<name>[@vN]'.")
    data: PairsConfig = Field(..., description="Where the pairs come from, negatives, held-out split.")
    learning_rate: float = Field(2e-5, gt=0, description="Peak learning rate (linear decay after warmup).")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="Share of steps spent warming up.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    batch_size: int = Field(32, ge=2, description="Pairs per batch (in-batch negatives grow with it).")
    max_seq_length: int = Field(256, ge=16, le=8192, description="Longest training input in tokens; longer texts are cut (a "
                                                                 "published embedder keeps its base model's limit).")

    def run_fingerprint(self) -> dict[str, Any]:
        """The settings that must match for --resume to continue a run."""
        return self.model_dump(mode="json", exclude={"resume", "time_budget_s", "early_stopping", "save_steps", "logging_steps",
                                                     "max_steps", "epochs", "eval_steps"})
