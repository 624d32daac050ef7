"""Reranker fine-tuning (a sentence-transformers ``CrossEncoder``): ``RerankerTuneConfig`` and ``RerankerTuner``;
the tuner is imported on first use (it loads torch)."""

from typing import Any

from ragtune.tuning.reranker.config import RerankerHead, RerankerLoss, RerankerTuneConfig

__all__ = ["RerankerHead", "RerankerLoss", "RerankerTuneConfig", "RerankerTuner"]


def __getattr__(name: str) -> Any:
    if name == "RerankerTuner":
        from ragtune.tuning.reranker.tuner import RerankerTuner

        return RerankerTuner
    raise AttributeError(name)
