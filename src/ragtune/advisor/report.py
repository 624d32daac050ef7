"""Reports of a recommendation or a cost estimate: self-contained HTML (inline SVG charts, no network) and Markdown.

``write_report`` picks the format from the file's suffix and writes atomically. The charts are drawn here as
plain SVG: cumulative cost per approach over the horizon, and monthly cost against query volume (log scale)
where the lines cross at the break-even volumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

from jinja2 import Environment, select_autoescape

from ragtune.advisor.base import CostReport, Recommendation, fact_words, format_value
from ragtune.charts import COLOURS, Plot, nice_ticks, tag
from ragtune.common import format_money
from ragtune.errors import InputError, StoreError
from ragtune.common import write_text_atomic

def _short(x: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def line_chart_svg(title: str, series: Mapping[str, Sequence[tuple[float, float]]], x_label: str, y_label: str,
                   log_x: bool = False, marks: Sequence[tuple[float, str]] = (), y_cap: float | None = None,
                   width: int = 640, height: int = 320) -> str:
    """A line chart as an inline SVG element: one line per series, axes with ticks, a legend, optional x marks.

    ``y_cap`` limits the y axis; lines above it are clipped at the top of the plot.
    """
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    if not xs:
        return ""
    y_ticks = nice_ticks(min(max(ys), y_cap) if y_cap is not None and y_cap > 0 else max(ys))
    plot = Plot(title, title, width, height, (70, 120, 30, 45))
    px, py = plot.scales((min(xs), max(xs)), (0.0, y_ticks[-1] or 1.0), log_x=log_x)
    plot.heading(title)
    plot.add(f'<clipPath id="plot">{tag("rect", x=plot.left, y=plot.top, width=plot.right - plot.left, height=plot.bottom - plot.top)}'
             "</clipPath>")
    plot.y_grid(py, y_ticks, _short)
    plot.x_ticks(px, px.ticks(), _short)
    plot.axes(x_label, y_label)
    shown: list[float] = []
    for x, label in marks:  # in order of priority: a mark too close to one shown is left out
        if x <= 0 or not px.lo <= x <= px.hi or any(abs(px(x) - s) < 70 for s in shown):
            continue
        shown.append(px(x))
        plot.add(tag("line", x1=px(x), y1=plot.top, x2=px(x), y2=plot.bottom, stroke="#9ca3af", stroke_dasharray="4 3"),
                 tag("text", label, x=px(x) + 3, y=plot.top + 10, fill="#4b5563"))
    for i, (name, pts) in enumerate(series.items()):  # one path per series, and its legend entry right of the plot
        hue = COLOURS.get(name, "#111827")
        path = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y) in enumerate(pts))
        plot.add(f'<path d="{path}" fill="none" stroke="{hue}" stroke-width="2" clip-path="url(#plot)">'
                 f"{tag('title', name)}</path>")
        plot.legend(i, hue, name, line=True)
    return plot.svg()


def cost_charts(costs: CostReport) -> list[str]:
    """The two cost charts as SVG: cumulative over the horizon, and monthly cost by query volume."""
    cumulative = {name: list(enumerate(v.cumulative)) for name, v in costs.variants.items()}
    marks = [(b.queries_per_month, f"{b.cheaper_at_high_volume.value} < {b.cheaper_at_low_volume.value}")
             for b in costs.break_even if b.queries_per_month]
    top = 1.5 * max([costs.queries_per_month, *(m for m, _ in marks)] or [1000.0]) or 1000.0
    grid = [top * i / 40 for i in range(41)]
    by_volume = {name: [(q, v.one_off / costs.months + v.monthly_fixed + v.per_query * q) for q in grid]
                 for name, v in costs.variants.items()}
    # An approach far dearer than the rest would flatten every other line: cap the axis near the others.
    tops = sorted(pts[-1][1] for pts in by_volume.values())
    cap = 2.5 * tops[-2] if len(tops) > 1 else None
    return [
        line_chart_svg(f"Cumulative cost ({costs.currency}) at {costs.queries_per_month:,.0f} queries/month", cumulative,
                       "month", costs.currency),
        line_chart_svg(f"Monthly cost ({costs.currency}, one-off spread over {costs.months} months) by volume", by_volume,
                       "queries per month", f"{costs.currency} / month",
                       marks=[(costs.queries_per_month, "stated volume"), *marks], y_cap=cap),
    ]


def _num(x: float | None) -> str:
    return "—" if x is None else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.4g}")


def _months(x: float) -> str:
    return "at once" if x < 0.1 else f"in {x:.1f} months"


def _environment(autoescape: bool) -> Environment:
    env = Environment(autoescape=select_autoescape(default=autoescape, default_for_string=autoescape),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=format_money, num=_num, fmt=format_value, words=fact_words, months=_months)
    return env

_MARKDOWN = _environment(autoescape=False).from_string("""\
{% if rec %}
# ragtune advice: **{{ rec.recommendation.value }}**

## Reasons
{% for r in rec.reasons %}
{{ loop.index }}. {{ r }}
{% endfor %}
{% if rec.disagreements %}

## Measurement vs rules of thumb
{% for d in rec.disagreements %}
- {{ d }}
{% endfor %}
{% endif %}
{% if rec.warnings %}

## Warnings
{% for w in rec.warnings %}
- {{ w }}
{% endfor %}
{% endif %}

## The five questions

| rule | fact | value | threshold | verdict |
| --- | --- | --- | --- | --- |
{% for v in rec.rules %}
| {{ v.question }} | {{ v.fact | words }} | {{ v.value | fmt(v.fact) }} | {{ v.threshold | fmt(v.fact) }} | {{ "withheld" if v.withheld else (v.favours.value if v.fired and v.favours else "—") }}: {{ v.explanation }} |
{% endfor %}
{% if rec.eval %}

## Eval ({{ rec.eval.metric }})

| variant | {{ rec.eval.metric }} | ±95% |
| --- | --- | --- |
{% for name, m in rec.eval.scores.items() %}
| {{ name }} | {{ "%.3f" | format(m.mean) }} | {{ m.ci95 | num }} |
{% endfor %}

{{ rec.eval.explanation }}
{% endif %}

## What would change the answer
{% for w in rec.what_would_change %}
- {{ w }}
{% endfor %}

**Next:** `{{ rec.next_command }}`

{% endif %}
## Costs ({{ costs.currency }}, prices as of {{ costs.prices_as_of }}, {{ costs.queries_per_month | num }} queries/month, {{ costs.months }} months)

| approach | one-off | fixed / month | per 1k queries | monthly | total over {{ costs.months }} months |
| --- | --- | --- | --- | --- | --- |
{% for name, v in costs.variants.items() %}
| {{ name }} | {{ v.one_off | money(costs.currency) }} | {{ v.monthly_fixed | money(costs.currency) }} | {{ (v.per_query * 1000) | money(costs.currency) }} | {{ v.monthly | money(costs.currency) }} | {{ v.cumulative[-1] | money(costs.currency) }} |
{% endfor %}

### Break-even
{% for b in costs.break_even %}
- {{ b.cheaper_at_high_volume.value }} costs less than {{ b.cheaper_at_low_volume.value }} above **{{ b.queries_per_month | num }}** queries/month over {{ costs.months }} months{% if b.payback_months is not none %}; at the stated volume it pays back {{ b.payback_months | months }}{% endif %}.
{% else %}
- no approach overtakes another with volume
{% endfor %}

### Sensitivity (total over {{ costs.months }} months)

| input | × | value |{% for name in costs.variants %} {{ name }} |{% endfor %} cheapest |
| --- | --- | --- |{% for name in costs.variants %} --- |{% endfor %} --- |
{% for s in costs.sensitivity %}
| {{ s.parameter }} | {{ s.factor }} | {{ s.value | num }} |{% for name in costs.variants %} {{ s.total[name] | money(costs.currency) }} |{% endfor %} {{ s.cheapest.value }} |
{% endfor %}

### Assumptions
{% for a in costs.assumptions %}
- {{ a }}
{% endfor %}
{% for name, src in costs.inputs.sources.items() %}
- {{ name | words }}{% if name in costs.inputs %}: {{ costs.inputs[name] | fmt(name) }}{% endif %} ({{ src }})
{% endfor %}
""")

_HTML = _environment(autoescape=True).from_string("""\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ragtune {{ "advice: " ~ rec.recommendation.value if rec else "cost model" }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#111827}
h1 .pick{background:#eef2ff;padding:.1em .4em;border-radius:6px}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #d1d5db;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}.fired{font-weight:bold}.withheld{color:#b45309}
.disagree{background:#fef3c7;border-left:4px solid #f59e0b;padding:.5em 1em}.warn{color:#b45309}code{background:#f3f4f6;padding:2px 4px}
figure{margin:1em 0}
</style></head><body>
{% if rec %}
<h1>ragtune advice: <span class="pick">{{ rec.recommendation.value }}</span></h1>
<h2>Reasons</h2>
<ol>{% for r in rec.reasons %}<li>{{ r }}</li>{% endfor %}</ol>
{% for d in rec.disagreements %}<p class="disagree">{{ d }}</p>{% endfor %}
{% if rec.warnings %}<ul>{% for w in rec.warnings %}<li class="warn">{{ w }}</li>{% endfor %}</ul>{% endif %}
<h2>The five questions</h2>
<table><tr><th>question</th><th>fact</th><th>value</th><th>threshold</th><th>verdict</th></tr>
{% for v in rec.rules %}<tr class="{{ 'withheld' if v.withheld else ('fired' if v.fired else '') }}"><td>{{ v.question }}</td><td>{{ v.fact | words }}</td>
<td>{{ v.value | fmt(v.fact) }}</td><td>{{ v.threshold | fmt(v.fact) }}</td><td>{{ v.explanation }}</td></tr>{% endfor %}
</table>
{% if rec.eval %}<h2>Eval: {{ rec.eval.metric }}</h2>
<table><tr><th>variant</th><th>{{ rec.eval.metric }}</th><th>±95%</th></tr>
{% for name, m in rec.eval.scores.items() %}<tr><td>{{ name }}</td><td class="n">{{ "%.3f" | format(m.mean) }}</td><td class="n">{{ m.ci95 | num }}</td></tr>{% endfor %}
</table><p>{{ rec.eval.explanation }}</p>{% endif %}
<h2>What would change the answer</h2>
<ul>{% for w in rec.what_would_change %}<li>{{ w }}</li>{% endfor %}</ul>
<p><b>Next:</b> <code>{{ rec.next_command }}</code></p>
{% endif %}
<h2>Costs</h2>
<p>{{ costs.currency }}, prices as of {{ costs.prices_as_of }}, {{ costs.queries_per_month | num }} queries/month over {{ costs.months }} months.</p>
<table><tr><th>approach</th><th>one-off</th><th>fixed / month</th><th>per 1k queries</th><th>monthly</th><th>total over {{ costs.months }} months</th></tr>
{% for name, v in costs.variants.items() %}<tr><td>{{ name }}</td><td class="n">{{ v.one_off | money(costs.currency) }}</td><td class="n">{{ v.monthly_fixed | money(costs.currency) }}</td>
<td class="n">{{ (v.per_query * 1000) | money(costs.currency) }}</td><td class="n">{{ v.monthly | money(costs.currency) }}</td><td class="n">{{ v.cumulative[-1] | money(costs.currency) }}</td></tr>{% endfor %}
</table>
{% for svg in charts %}<figure>{{ svg | safe }}</figure>{% endfor %}
<h3>Break-even</h3>
<ul>{% for b in costs.break_even %}<li>{{ b.cheaper_at_high_volume.value }} costs less than {{ b.cheaper_at_low_volume.value }} above <b>{{ b.queries_per_month | num }}</b> queries/month over {{ costs.months }} months{% if b.payback_months is not none %}; at the stated volume it pays back {{ b.payback_months | months }}{% endif %}.</li>
{% else %}<li>no approach overtakes another with volume</li>{% endfor %}</ul>
<h3>Sensitivity (total over {{ costs.months }} months)</h3>
<table><tr><th>input</th><th>×</th><th>value</th>{% for name in costs.variants %}<th>{{ name }}</th>{% endfor %}<th>cheapest</th></tr>
{% for s in costs.sensitivity %}<tr><td>{{ s.parameter }}</td><td class="n">{{ s.factor }}</td><td class="n">{{ s.value | num }}</td>
{% for name in costs.variants %}<td class="n">{{ s.total[name] | money(costs.currency) }}</td>{% endfor %}<td>{{ s.cheapest.value }}</td></tr>{% endfor %}
</table>
<h3>Assumptions</h3>
<ul>{% for a in costs.assumptions %}<li>{{ a }}</li>{% endfor %}
{% for name, src in costs.inputs.sources.items() %}<li>{{ name | words }}{% if name in costs.inputs %}: {{ costs.inputs[name] | fmt(name) }}{% endif %} ({{ src }})</li>{% endfor %}</ul>
</body></html>
""")


def markdown_report(costs: CostReport, rec: Recommendation | None = None) -> str:
    """The report as Markdown (no charts: tables and sentences)."""
    return _MARKDOWN.render(rec=rec, costs=costs)


def html_report(costs: CostReport, rec: Recommendation | None = None) -> str:
    """The report as one self-contained HTML page with inline SVG charts."""
    return _HTML.render(rec=rec, costs=costs, charts=cost_charts(costs))


def write_report_file(path: str | Path, html: Callable[[], str], markdown: Callable[[], str]) -> Path:
    """Write ``html()`` or ``markdown()`` to ``path`` by its suffix (``.html``/``.htm``, ``.md``/``.markdown``), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        text = html()
    elif suffix in (".md", ".markdown"):
        text = markdown()
    else:
        raise InputError(f"{path}: a report is .html or .md")
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the report: {exc.strerror}") from exc
    return path


def write_report(path: str | Path, costs: CostReport, rec: Recommendation | None = None) -> Path:
    """Write the report to ``path`` (``.html``/``.htm`` or ``.md``/``.markdown``), atomically."""
    return write_report_file(path, lambda: html_report(costs, rec), lambda: markdown_report(costs, rec))
