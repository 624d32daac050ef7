"""Embedding fine-tuning (sentence-transformers): ``EmbeddingTuneConfig`` and ``EmbeddingTuner``; the tuner is
imported on first use (it loads torch)."""

from typing import Any

from ragtune.tuning.embedding.config import EmbeddingLoss, EmbeddingTuneConfig

__all__ = ["EmbeddingLoss", "EmbeddingTuneConfig", "EmbeddingTuner"]


def __getattr__(name: str) -> Any:
    if name == "EmbeddingTuner":
        from ragtune.tuning.embedding.tuner import EmbeddingTuner

        return EmbeddingTuner
    raise AttributeError(name)
