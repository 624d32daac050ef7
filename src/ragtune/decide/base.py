"""The decision's typed result: each candidate measured (or why not), the pick, and the evidence beside it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragtune.errors import StoreError
from ragtune.common import format_money, write_json_atomic
from ragtune.costs.measurement import measurement_words

FORMAT_VERSION = 1
"""Version of the ``decide --out`` file."""


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@dataclass
class CandidateResult:
    """One candidate: measured with its scores and costs, or skipped with the reason."""

    name: str
    measured: bool
    skipped_reason: str | None = None
    model: str | None = None
    n: int = 0
    score: float | None = None
    ci95: list[float] | None = None
    by_task: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    latency_ms_p50: float | None = None
    input_tokens: float | None = None
    output_tokens: float | None = None
    cost_per_1k_queries: float | None = None
    monthly_usd: float | None = None
    one_off_usd: float | None = None
    total_usd: float | None = None
    cost_basis: str | None = None
    assumed: list[str] = field(default_factory=list)
    training: dict[str, Any] | None = None
    cited_share: float | None = None  # with attribution required: share of answered knowledge questions attributed
    vs_best: dict[str, Any] | None = None
    verdict: str | None = None  # against the best: "as good", "worse" or "not yet known"
    verdict_reason: str | None = None
    cost_figures: dict[str, dict[str, Any]] = field(default_factory=dict)  # figure -> {value, basis, source}

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Decision:
    """The outcome of ``decide`` (``decide --json``); ``rows`` are added to the ``--out`` file."""

    recommendation: str | None
    primary_metric: str
    primary_metric_description: str
    reasons: list[str]
    candidates: dict[str, CandidateResult]
    best: str | None
    tied_with_best: list[str]
    rules_recommendation: str
    rules: list[dict[str, Any]]
    disagreements: list[str]
    what_would_change: list[str]
    break_even: list[dict[str, Any]]
    facts: dict[str, Any]
    split: dict[str, Any]
    notes: list[str]
    config: dict[str, Any]
    run: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    verdict: dict[str, Any] = field(default_factory=dict)  # margin, as good / worse / not yet known, method, warnings
    repeats: dict[str, Any] | None = None  # with --repeats: seeds, each repeat's pick and means, how stable the pick is
    measurement_cost: dict[str, Any] = field(default_factory=dict)  # the judge's tokens and money: a one-off, not serving

    def measuring(self) -> list[str]:
        """What measuring cost (the judge's tokens), one sentence per judge, with its label and source."""
        return measurement_words(self.measurement_cost, self.config.get("prices", {}).get("currency", "USD"), format_money)

    def to_json(self, rows: bool = False) -> dict[str, Any]:
        """The decision as JSON-ready data: a figure that is not a number (NaN, infinite) is written as null."""
        data = {k: v for k, v in self.__dict__.items() if k != "rows"}
        data["candidates"] = {name: c.to_json() for name, c in self.candidates.items()}
        data["format_version"] = FORMAT_VERSION
        if rows:
            data["rows"] = self.rows
        return _finite(data)

    def write(self, path: str | Path) -> Path:
        """Write the decision with its per-question rows, atomically (missing folders are made)."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, self.to_json(rows=True))
        except OSError as exc:
            raise StoreError(f"{path}: cannot write the decision: {exc.strerror or exc}") from exc
        return path
