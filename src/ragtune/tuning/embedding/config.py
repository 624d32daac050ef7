"""Settings of an embedding fine-tune (``ragtune tune embeddings``), validated once at the edge."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, model_validator

from ragtune.tuning.pair_config import PairTuneConfig


class EmbeddingLoss(str, Enum):
    """Contrastive losses over in-batch (and mined) negatives."""

    mnrl = "mnrl"                # MultipleNegativesRankingLoss
    cached_mnrl = "cached-mnrl"  # CachedMultipleNegativesRankingLoss: large batches in small memory


class EmbeddingTuneConfig(PairTuneConfig):
    """Everything an embedding fine-tune needs besides the workspace."""

    loss: EmbeddingLoss = Field(EmbeddingLoss.mnrl, description="mnrl, or cached-mnrl for batches larger than memory allows.")
    mini_batch_size: int = Field(16, ge=1, description="cached-mnrl: texts per forward pass.")
    matryoshka_dims: list[int] | None = Field(None, description="Train with MatryoshkaLoss at these dimensions (largest first), "
                                                                "so embeddings truncate well.")
    output_dim: int | None = Field(None, ge=8, description="Dimension of the published embedder (truncated; needs "
                                                           "matryoshka_dims to stay good).")

    @model_validator(mode="after")
    def _dims(self) -> "EmbeddingTuneConfig":
        if self.matryoshka_dims is not None:
            if not self.matryoshka_dims or any(d < 8 for d in self.matryoshka_dims):
                raise ValueError("matryoshka_dims: give dimensions of at least 8")
            self.matryoshka_dims = sorted(set(self.matryoshka_dims), reverse=True)
        if self.output_dim and self.matryoshka_dims and self.output_dim not in self.matryoshka_dims:
            raise ValueError(f"output_dim {self.output_dim} is not one of matryoshka_dims {self.matryoshka_dims}")
        return self
