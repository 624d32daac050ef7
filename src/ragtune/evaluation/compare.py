"""What changed between two eval runs, metric by metric, with bootstrap 95% intervals of the difference.

For each variant and metric both runs measured, ``delta`` is run B minus run A. When both runs answered the
same questions the difference is paired by question id (resampled together: a tighter, fairer interval);
otherwise each run is resampled on its own. Latency p50/p95 compare percentiles, cost per 1,000 queries the
mean cost. A change counts when its interval excludes 0; it is ``better`` or ``worse`` by the metric's
direction, or just ``changed`` for a metric with none (the abstention rate). Settings that differ between
the runs (model, tuned version, index content, question set ...) are listed, since they explain changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ragtune.evaluation.base import EvalResult, metric_info
from ragtune.evaluation.report import format_value, shown_metrics
from ragtune.evaluation.stats import difference_ci95

_SETTINGS = ("questions", "question_count", "model", "models", "tuned", "index", "index_fingerprint", "k", "mode", "rerank",
             "system", "schema_mode", "repairs", "judge", "generation", "answer")
_PERCENTILES = {"latency_ms_p50": ("latency_ms", 50.0), "latency_ms_p95": ("latency_ms", 95.0)}
_SCALED = {"cost_per_1k_queries": ("cost_usd", 1000.0)}


@dataclass
class MetricChange:
    """One metric of one variant in both runs, and the difference B - A with its interval."""

    variant: str
    metric: str
    a: float
    b: float
    delta: float
    ci95: list[float]
    paired: bool
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return {"variant": self.variant, "metric": self.metric, "a": self.a, "b": self.b, "delta": self.delta,
                "ci95": self.ci95, "paired": self.paired, "verdict": self.verdict}


@dataclass
class Comparison:
    """Two runs side by side: every shared metric's change, the settings that differ, and notes."""

    a: str
    b: str
    changes: list[MetricChange]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "changes": [c.to_json() for c in self.changes], "settings_changed": self.settings,
                "notes": self.notes}

    def to_markdown(self) -> str:
        """A Markdown table of the changes (significant ones in bold) and the settings that differ."""
        lines = [f"## ragtune eval compare: {self.a} → {self.b}", "",
                 "| variant | metric | A | B | B − A (95% CI) | |", "|---|---|---:|---:|---:|---|"]
        for c in self.changes:
            diff = f"{_signed(c.metric, c.delta)} [{_signed(c.metric, c.ci95[0])}, {_signed(c.metric, c.ci95[1])}]"
            mark = {"better": "**better**", "worse": "**worse**", "changed": "**changed**"}.get(c.verdict, "")
            lines.append(f"| {c.variant} | {metric_info(c.metric).label} | {format_value(c.metric, c.a)} | "
                         f"{format_value(c.metric, c.b)} | {diff} | {mark} |")
        if self.settings:
            lines += ["", "Settings that differ:", *[f"- {k}: {v['a']!r} → {v['b']!r}" for k, v in self.settings.items()]]
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"


def _signed(metric: str, value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    text = format_value(metric, abs(value))
    return ("−" if value < 0 else "+") + text


def _values(result: EvalResult, variant: str, metric: str) -> dict[str, float]:
    return {str(r["id"]): float(r[metric]) for r in result.rows
            if r.get("variant") == variant and isinstance(r.get(metric), (int, float)) and not isinstance(r.get(metric), bool)}


def _verdict(metric: str, delta: float, changed: bool) -> str:
    if not changed:
        return "same"
    better = metric_info(metric).greater_is_better
    if better is None:
        return "changed"
    return "better" if (delta > 0) == better else "worse"


def compare_results(a: EvalResult, b: EvalResult, a_name: str = "A", b_name: str = "B") -> Comparison:
    """Every metric both runs measured for a shared variant, with B - A and its interval (module docstring)."""
    notes: list[str] = []
    variants = [v for v in a.aggregates if v in b.aggregates]
    for v in sorted(set(a.aggregates) ^ set(b.aggregates)):
        notes.append(f"variant '{v}' is only in {'A' if v in a.aggregates else 'B'}: not compared")
    metrics_b = set(shown_metrics(b))
    changes: list[MetricChange] = []
    for variant in variants:
        for metric in shown_metrics(a):
            if metric not in metrics_b or metric not in a.aggregates[variant] or metric not in b.aggregates[variant]:
                continue
            source, q, scale = metric, None, 1.0
            if metric in _PERCENTILES:
                source, q = _PERCENTILES[metric]
            elif metric in _SCALED:
                source, scale = _SCALED[metric]
            xa, xb = _values(a, variant, source), _values(b, variant, source)
            if not xa or not xb:
                continue
            shared = sorted(set(xa) & set(xb))
            paired = len(shared) == len(xa) == len(xb)
            if paired:
                diff = difference_ci95([xa[i] for i in shared], [xb[i] for i in shared], paired=True, q=q)
            else:
                diff = difference_ci95(list(xa.values()), list(xb.values()), q=q)
            delta = cast(float, diff["delta"]) * scale
            ci = [c * scale for c in cast(list[float], diff["ci95"])]
            changes.append(MetricChange(variant, metric, a.aggregates[variant][metric]["mean"],
                                        b.aggregates[variant][metric]["mean"],
                                        delta, ci, paired, _verdict(metric, delta, bool(diff["changed"]))))
    settings = {key: {"a": a.config.get(key), "b": b.config.get(key)} for key in _SETTINGS
                if a.config.get(key) != b.config.get(key)}
    if {str(r.get("id")) for r in a.rows} != {str(r.get("id")) for r in b.rows}:
        notes.append("the runs answered different questions: differences are not paired by question")
    return Comparison(a=a_name, b=b_name, changes=changes, settings=settings, notes=notes)


def compare_files(a: str | Path, b: str | Path) -> Comparison:
    """``compare_results`` of two results files (each checked for its format version)."""
    from ragtune.evaluation.base import read_results

    return compare_results(read_results(a), read_results(b), str(a), str(b))
