"""Aggregates with bootstrap confidence intervals, and percentiles."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def mean_ci95(values: Sequence[float], resamples: int = 2000, seed: int = 0) -> dict[str, float | int | list[float]]:
    """Mean and a percentile-bootstrap 95% interval: ``{"mean", "ci95": [low, high], "n"}``."""
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return {"mean": float("nan"), "ci95": [float("nan"), float("nan")], "n": 0}
    mean = float(data.mean())
    if data.size == 1:
        return {"mean": mean, "ci95": [mean, mean], "n": 1}
    rng = np.random.default_rng(seed)
    samples = rng.choice(data, size=(resamples, data.size), replace=True).mean(axis=1)
    low, high = np.percentile(samples, [2.5, 97.5])
    return {"mean": mean, "ci95": [float(low), float(high)], "n": int(data.size)}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``; NaN when empty."""
    data = [v for v in values if v is not None]
    return float(np.percentile(data, q)) if data else float("nan")
