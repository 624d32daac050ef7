"""Reports of an eval run: a self-contained HTML page (tables and inline SVG charts, no network needed to open it)
and a Markdown summary for pull requests.

The page shows the run's settings, quality against cost per variant (the quality metric is the first of
judge correctness, token F1, exact output, field F1, schema validity and faithfulness that the run measured;
cost is money per 1,000 queries, or latency p50 when every variant is free), one bar chart per metric with its
95% interval, the full table, the notes, and every question's answers side by side.
``write_report`` picks the format from the file's suffix and writes atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from jinja2 import Environment, select_autoescape

from ragtune.charts import AXIS, COLOURS, Plot, nice_ticks, tag
from ragtune.common import format_money, write_text_atomic
from ragtune.errors import InputError, StoreError
from ragtune.evaluation.base import GROUPS, METRICS, EvalResult, metric_info

QUALITY_ORDER = ["judge_correct", "token_f1", "output_exact", "fields_f1", "schema_valid", "faithfulness", "citation_precision"]
_HIDDEN = {"cost_usd"}
_MAX_FIELD_METRICS = 12


def format_value(metric: str, value: float | None) -> str:
    """A metric's value for people: shares with three decimals, milliseconds, tokens, money."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    unit = metric_info(metric).unit
    if unit == "ms":
        return f"{value:,.1f} ms" if abs(value) < 10 else f"{value:,.0f} ms"
    if unit == "tokens":
        return f"{value:,.0f}"
    if unit == "USD":
        return format_money(value, "USD", " per 1k" if metric == "cost_per_1k_queries" else "")
    return f"{value:.3f}"


def _half_width(agg: dict[str, Any]) -> float | None:
    ci = agg.get("ci95")
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or any(v is None or math.isnan(v) for v in ci):
        return None
    return (ci[1] - ci[0]) / 2


def shown_metrics(result: EvalResult) -> list[str]:
    """The metrics to show, by group (answers, retrieval, citations, abstention, format, cost) and catalogue order."""
    present: dict[str, None] = {}
    for metrics in result.aggregates.values():
        present.update(dict.fromkeys(metrics))
    fields = [m for m in present if m.startswith("field_acc.")]
    names = [m for m in present if m not in _HIDDEN and (not m.startswith("field_acc.") or len(fields) <= _MAX_FIELD_METRICS)]
    groups = {g: i for i, g in enumerate([*GROUPS, "other"])}
    catalogue = list(METRICS)
    return sorted(names, key=lambda m: (groups.get(metric_info(m).group, 99),
                                        catalogue.index(m) if m in METRICS else len(catalogue) + names.index(m)))


def quality_and_cost(result: EvalResult) -> tuple[str | None, str | None]:
    """The metric plotted as quality and the one plotted as cost (see the module docstring)."""
    present = {m for metrics in result.aggregates.values() for m in metrics}
    quality = next((m for m in QUALITY_ORDER if m in present), None)
    costs = [metrics.get("cost_per_1k_queries", {}).get("mean") for metrics in result.aggregates.values()]
    cost = "cost_per_1k_queries" if any(c for c in costs if c and not math.isnan(c)) else (
        "latency_ms_p50" if "latency_ms_p50" in present else None)
    return quality, cost


# --- charts (inline SVG) ---------------------------------------------------------------------------------


def _axis_max(values: Sequence[float | None]) -> float:
    return nice_ticks(max([v for v in values if v is not None and not math.isnan(v)] or [1.0]), 1)[-1]


def bar_chart_svg(metric: str, bars: Sequence[tuple[str, float | None, list[float] | None]], width: int = 320) -> str:
    """Horizontal bars, one per variant, with the 95% interval as a whisker."""
    info = metric_info(metric)
    row, top = 26, 26
    height = top + row * len(bars) + 8
    scale_max = 1.0 if info.unit == "share" else _axis_max([hi for _, m, ci in bars for hi in ([ci[1]] if ci else [m])])
    plot = Plot(info.label, info.label, width, height, (64, 64, top, 8))
    x = lambda v: plot.scales((0.0, scale_max), (0.0, 1.0))[0](max(0.0, min(v, scale_max)))  # noqa: E731
    plot.heading(info.label, x=4)
    plot.add(tag("line", x1=plot.left, y1=top - 4, x2=plot.left, y2=height - 6, stroke=AXIS, cls="axis"))
    for i, (variant, mean, ci) in enumerate(bars):
        if mean is None or math.isnan(mean):
            continue
        whisker = (x(ci[0]), x(ci[1])) if ci and not any(math.isnan(c) for c in ci) else None
        plot.hbar(top + i * row + 3, row - 10, x(mean), whisker, COLOURS.get(variant, "#7c3aed"), variant,
                  format_value(metric, mean))
    return plot.svg()


def scatter_svg(points: Sequence[tuple[str, float | None, float | None, list[float] | None]], x_metric: str, y_metric: str,
                width: int = 960, height: int = 360) -> str:
    """Quality (y, with its interval) against cost (x) per variant, as wide as the page (``width="100%"``)."""
    xs = [p[1] for p in points if p[1] is not None and not math.isnan(p[1])]
    x_max = _axis_max(xs) if xs and max(xs) > 0 else 1.0
    y_max = 1.0 if metric_info(y_metric).unit == "share" else _axis_max([p[2] for p in points])
    x_label, y_label = metric_info(x_metric).label, metric_info(y_metric).label
    plot = Plot(f"{y_label} against {x_label}", "quality against cost", width, height, (64, 110, 20, 46), fluid=True)
    px, py = plot.scales((0.0, x_max), (0.0, y_max))
    plot.y_grid(py, [y_max * i / 4 for i in range(5)], lambda t: format_value(y_metric, t))
    plot.x_ticks(px, [x_max * i / 4 for i in range(5)], lambda t: format_value(x_metric, t).removesuffix(" per 1k"))
    plot.axes(f"{x_label} (lower is cheaper)", f"{y_label}, mean with 95% interval")
    for variant, xv, yv, ci in points:
        if xv is None or yv is None or math.isnan(xv) or math.isnan(yv):
            continue
        whisker = (py(ci[0]), py(ci[1])) if ci and not any(math.isnan(c) for c in ci) else None
        plot.point(px(xv), py(yv), whisker, COLOURS.get(variant, "#7c3aed"), variant, r=6)
    return plot.svg()


# --- Markdown and HTML -------------------------------------------------------------------------------------


def _cell(metric: str, agg: dict[str, Any] | None) -> str:
    if not agg:
        return "–"
    half = _half_width(agg)
    value = format_value(metric, agg.get("mean"))
    if half is None or half == 0:
        return value
    per = " per 1k" if value.endswith(" per 1k") else ""
    return f"{value.removesuffix(per)} ± {format_value(metric, half).lstrip('$').removesuffix(per)}{per}"


def metric_table(result: EvalResult) -> list[tuple[str, list[str]]]:
    """One ``(label with direction arrow, [cell per variant])`` per shown metric; a cell is ``mean ± half-width``."""
    table = []
    for metric in shown_metrics(result):
        info = metric_info(metric)
        arrow = "" if info.greater_is_better is None else (" ↑" if info.greater_is_better else " ↓")
        table.append((info.label + arrow, [_cell(metric, result.aggregates[v].get(metric)) for v in result.variants]))
    return table


def _title(result: EvalResult) -> str:
    cfg = result.config
    source = Path(cfg["questions"]).name if cfg.get("questions") else "question set"
    return f"ragtune eval: {source} ({cfg.get('question_count', '?')} questions)"


def _settings(result: EvalResult) -> list[tuple[str, str]]:
    cfg = result.config
    items = [("variants", ", ".join(cfg.get("variants", []))), ("model", cfg.get("model")), ("tuned", cfg.get("tuned")),
             ("index", cfg.get("index")), ("k", cfg.get("k")), ("retrieval", cfg.get("mode")),
             ("schema mode", cfg.get("schema_mode")), ("judge", cfg.get("judge")),
             ("prices as of", (cfg.get("prices") or {}).get("as_of")), ("created", cfg.get("created_at")),
             ("ragtune", cfg.get("ragtune_version"))]
    return [(k, str(v)) for k, v in items if v not in (None, "", [])]


def to_markdown(result: EvalResult) -> str:
    """A Markdown summary: settings, one table of every metric (mean ± 95% half-width) per variant, and the notes."""
    variants = result.variants
    lines = [f"## {_title(result)}", "", " · ".join(f"**{k}** {v}" for k, v in _settings(result)[:8]), "",
             "| metric (mean ± 95% half-width) | " + " | ".join(variants) + " |", "|---|" + "---:|" * len(variants)]
    for label, cells in metric_table(result):
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if result.notes:
        lines += ["", *[f"- {n}" for n in result.notes]]
    lines += ["", "± is the half-width of a bootstrap 95% interval; ↑ more is better, ↓ less is better."]
    return "\n".join(lines) + "\n"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#111827;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}td.a{text-align:left;max-width:420px}.settings td{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #f3f4f6;border-radius:6px}
svg .t{font-size:12px;font-weight:600;fill:#111827}svg .l{font-size:11px;fill:#4b5563}svg .v{font-size:11px;fill:#111827}
svg .axis{stroke:#9ca3af;fill:none}svg .grid{stroke:#f3f4f6}svg .ci{stroke:#111827;stroke-width:1.5;fill:none}
.key span{display:inline-block;margin-right:14px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.notes li{margin:2px 0}details{margin:6px 0}small{color:#6b7280}
</style></head><body>
<h1>{{ title }}</h1>
<table class="settings">{% for k, v in settings %}<tr><td><b>{{ k }}</b></td><td>{{ v }}</td></tr>{% endfor %}</table>
<p class="key">{% for v in variants %}<span><i style="background:{{ colours[v] }}"></i>{{ v }}</span>{% endfor %}</p>
{% if scatter %}<h2>Quality against cost</h2>{{ scatter | safe }}{% endif %}
{% for group, charts in groups %}<h2>{{ group | capitalize }}</h2><div class="charts">{% for c in charts %}{{ c | safe }}{% endfor %}</div>{% endfor %}
<h2>All metrics</h2>
<table><tr><th>metric (mean ± 95% half-width)</th>{% for v in variants %}<th>{{ v }}</th>{% endfor %}</tr>
{% for label, cells in table %}<tr><td>{{ label }}</td>{% for c in cells %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
<small>± is the half-width of a bootstrap 95% interval; ↑ more is better, ↓ less is better.</small>
{% if notes %}<h2>Notes</h2><ul class="notes">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<h2>Questions</h2>
{% for q in questions %}<details><summary><b>{{ q.id }}</b> {{ q.question }}</summary>
<table>{% for a in q.answers %}<tr><td>{{ a.variant }}</td><td class="a">{{ a.answer }}</td><td>{{ a.score }}</td></tr>{% endfor %}</table></details>
{% endfor %}{% if more_questions %}<p><small>{{ more_questions }} more questions in the results JSON.</small></p>{% endif %}
</body></html>
"""
_MAX_QUESTIONS = 300


def to_html(result: EvalResult) -> str:
    """The self-contained HTML page (see the module docstring)."""
    variants = result.variants
    metrics = shown_metrics(result)
    quality, cost = quality_and_cost(result)
    scatter = None
    if quality and cost:
        points = [(v, result.aggregates[v].get(cost, {}).get("mean"), result.aggregates[v].get(quality, {}).get("mean"),
                   result.aggregates[v].get(quality, {}).get("ci95")) for v in variants if quality in result.aggregates[v]]
        scatter = scatter_svg(points, cost, quality) if points else None
    groups: dict[str, list[str]] = {}
    for metric in metrics:
        bars = [(v, result.aggregates[v][metric].get("mean"), result.aggregates[v][metric].get("ci95"))
                for v in variants if metric in result.aggregates[v]]
        groups.setdefault(metric_info(metric).group, []).append(bar_chart_svg(metric, bars))
    table = metric_table(result)
    by_question: dict[str, dict[str, Any]] = {}
    score = quality or "token_f1"
    for row in result.rows:
        entry = by_question.setdefault(row["id"], {"id": row["id"], "question": row.get("question", ""), "answers": []})
        value = row.get(score)
        shown = f"{metric_info(score).label} {format_value(score, value)}" if value is not None else ""
        answer = row.get("answer") or row.get("error") or ""
        entry["answers"].append({"variant": row["variant"], "answer": answer, "score": shown})
    questions = list(by_question.values())
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(_PAGE).render(
        title=_title(result), settings=_settings(result), variants=variants, colours={v: COLOURS.get(v, "#7c3aed") for v in variants},
        scatter=scatter, groups=[(g, charts) for g, charts in groups.items()], table=table, notes=result.notes,
        questions=questions[:_MAX_QUESTIONS], more_questions=max(0, len(questions) - _MAX_QUESTIONS))


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (missing folders are made); ``StoreError`` when it cannot be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return path


def write_report(result: EvalResult, path: str | Path) -> Path:
    """Write ``result`` as HTML (``.html``/``.htm``), Markdown (``.md``) or the results JSON (``.json``)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        return write_text(path, to_html(result))
    if suffix in (".md", ".markdown"):
        return write_text(path, to_markdown(result))
    if suffix == ".json":
        return result.write(path)
    raise InputError(f"{path}: a report is .html, .md or .json")
