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


def percentile_ci95(values: Sequence[float], q: float, resamples: int = 2000, seed: int = 0) -> dict[str,
                                                                                                     float | int | list[float]]:
    """The ``q``-th percentile and its percentile-bootstrap 95% interval, in the shape of ``mean_ci95``
    (``"mean"`` holds the percentile, so every aggregate reads alike)."""
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return {"mean": float("nan"), "ci95": [float("nan"), float("nan")], "n": 0}
    value = float(np.percentile(data, q))
    if data.size == 1:
        return {"mean": value, "ci95": [value, value], "n": 1}
    rng = np.random.default_rng(seed)
    samples = np.percentile(rng.choice(data, size=(resamples, data.size), replace=True), q, axis=1)
    low, high = np.percentile(samples, [2.5, 97.5])
    return {"mean": value, "ci95": [float(low), float(high)], "n": int(data.size)}


def difference_ci95(a: Sequence[float], b: Sequence[float], paired: bool = False, q: float | None = None,
                    resamples: int = 2000, seed: int = 0) -> dict[str, float | int | list[float] | bool]:
    """``b - a`` of the mean (or of the ``q``-th percentile) with a bootstrap 95% interval.

    ``paired``: ``a[i]`` and ``b[i]`` belong to the same question, so they are resampled together (a tighter
    interval); otherwise each side is resampled on its own. ``changed`` is true when the interval excludes 0.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if paired and x.size != y.size:
        raise ValueError("paired samples must be of the same length")
    if x.size == 0 or y.size == 0:
        return {"delta": float("nan"), "ci95": [float("nan"), float("nan")], "changed": False, "n": 0}

    def stat(data: np.ndarray, axis: int | None = None) -> np.ndarray:
        return np.percentile(data, q, axis=axis) if q is not None else data.mean(axis=axis)

    delta = float(stat(y) - stat(x))
    rng = np.random.default_rng(seed)
    if paired:
        idx = rng.integers(0, x.size, size=(resamples, x.size))
        samples = stat(y[idx], axis=1) - stat(x[idx], axis=1)
    else:
        samples = stat(rng.choice(y, size=(resamples, y.size)), axis=1) - stat(rng.choice(x, size=(resamples, x.size)), axis=1)
    low, high = (float(v) for v in np.percentile(samples, [2.5, 97.5]))
    return {"delta": delta, "ci95": [low, high], "changed": bool(low > 0 or high < 0), "n": int(min(x.size, y.size))}
