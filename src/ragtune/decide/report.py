"""The decision as a self-contained report: HTML (an inline SVG chart of quality against monthly cost, one point per
candidate with its interval and the pick marked; then the table, the rules of thumb and what would change the
answer) or Markdown. ``write_report`` picks the format from the suffix and writes atomically."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from ragtune.advisor.report import COLOURS, write_report_file
from ragtune.decide.base import Decision
from ragtune.decide.costs import money

_COLOURS = {"base": "#111827", **COLOURS}


def quality_cost_svg(decision: Decision, width: int = 680, height: int = 360) -> str:
    """Quality (primary metric, 95% interval) against monthly cost at the stated volume; the pick is ringed."""
    points = [(name, c) for name, c in decision.candidates.items() if c.measured and c.score is not None]
    if not points:
        return ""
    left, right, top, bottom = 70, 150, 34, 48
    pw, ph = width - left - right, height - top - bottom
    costs = [max(c.monthly_usd or 0.0, 1e-6) for _, c in points]  # an unknown cost sits at the left edge
    lo, hi = math.log10(min(costs)), math.log10(max(costs))
    if hi - lo < 1:
        lo, hi = lo - 0.5, hi + 0.5
    y_hi = max(1.0, max((c.ci95 or [c.score, c.score])[1] for _, c in points))

    def px(usd: float) -> float:
        return left + (math.log10(max(usd, 1e-6)) - lo) / (hi - lo) * pw

    def py(y: float) -> float:
        return top + ph - y / y_hi * ph

    cur = decision.config["prices"]["currency"]
    volume = decision.config.get("queries_per_month", 0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="quality against monthly cost" font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(decision.primary_metric)} against monthly cost '
             f'at {volume:,.0f} queries/month</text>']
    for i in range(6):
        y = y_hi * i / 5
        parts.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + pw}" y2="{py(y):.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    for e in range(math.floor(lo), math.ceil(hi) + 1):
        if lo <= e <= hi:
            x = left + (e - lo) / (hi - lo) * pw
            parts.append(f'<line x1="{x:.1f}" y1="{top + ph}" x2="{x:.1f}" y2="{top + ph + 4}" stroke="#374151"/>'
                         f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{10.0 ** e:g}</text>')
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#374151"/>'
                 f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#374151"/>'
                 f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">{escape(cur)} per month (log scale)</text>'
                 f'<text x="14" y="{top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 {top + ph / 2})">'
                 f'{escape(decision.primary_metric)}</text>')
    for i, (name, c) in enumerate(points):
        colour = _COLOURS.get(name, "#7c3aed")
        x, y = px(c.monthly_usd or 0.0), py(c.score)
        low, high = c.ci95 or [c.score, c.score]
        parts.append(f'<line x1="{x:.1f}" y1="{py(low):.1f}" x2="{x:.1f}" y2="{py(high):.1f}" stroke="{colour}" stroke-width="2"/>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"><title>{escape(name)}: {c.score:.3f} '
                     f'[{low:.3f}, {high:.3f}], {money(c.monthly_usd)} {escape(cur)}/month</title></circle>'
                     f'<text x="{x + 8:.1f}" y="{y - 6:.1f}">{escape(name)}</text>')
        if name == decision.recommendation:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="11" fill="none" stroke="#16a34a" stroke-width="2.5"/>'
                         f'<text x="{x + 8:.1f}" y="{y + 16:.1f}" fill="#16a34a" font-weight="bold">pick</text>')
        ly = top + 14 + i * 18
        parts.append(f'<circle cx="{left + pw + 20}" cy="{ly}" r="5" fill="{colour}"/>'
                     f'<text x="{left + pw + 30}" y="{ly + 4}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


BESIDE = (("citation_precision", "citation precision"), ("faithfulness", "faithfulness"), ("abstained", "abstained"),
          ("schema_valid", "schema valid"))


def beside(c: Any) -> str:
    """The secondary metrics measured for a candidate (citations, abstention, format validity), compactly."""
    parts = [f"{label} {c.metrics[name]['mean']:.2f}" for name, label in BESIDE
             if name in c.metrics and c.metrics[name].get("n")]
    return ", ".join(parts) or "—"


def _score(c: Any) -> str:
    return "—" if c.score is None else f"{c.score:.3f}"


def _vs(c: Any) -> str:
    v = c.vs_best or {}
    return "—" if not v.get("ci95") else f"{v['delta']:+.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]"


def _assumed(c: Any) -> str:
    """The assumed (or unknown) cost figures of a candidate, compactly; the sources are in ``cost_figures``."""
    return "; ".join(f"{k} = {f['value']}" for k, f in c.cost_figures.items() if f["basis"] in ("assumed", "unknown")) or "—"


def _ci(c: Any) -> str:
    return "—" if not c.ci95 else f"[{c.ci95[0]:.3f}, {c.ci95[1]:.3f}]"


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ragtune decide: {{ d.recommendation or "no pick" }}</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#111827}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #d1d5db;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.pick{background:#dcfce7;font-weight:bold}.skip{color:#6b7280}
.note{color:#4b5563;font-size:13px}h1 span{color:#16a34a}</style></head><body>
<h1>Recommendation: <span>{{ d.recommendation or "none" }}</span></h1>
<p>{{ d.primary_metric_description }}. Prices as of {{ d.config.prices.as_of }}; {{ "{:,.0f}".format(d.config.queries_per_month) }}
queries/month over {{ d.config.months }} months; model <code>{{ d.config.model }}</code>.</p>
{{ chart | safe }}
{% for w in d.verdict.warnings %}<p><b>Warning:</b> {{ w }}</p>{% endfor %}
<p>Verdicts against the best: {{ d.verdict.method }}.</p>
<table><tr><th>candidate</th><th>score</th><th>95% CI</th><th>verdict (Δ vs best, interval)</th><th>p50 ms</th><th>tokens in/out</th>
<th>per 1k queries</th><th>monthly</th><th>one-off</th><th>also measured</th></tr>
{% for name, c in d.candidates.items() %}
{% if c.measured %}
<tr class="{{ 'pick' if name == d.recommendation else '' }}"><td>{{ name }}</td><td>{{ score(c) }}</td><td>{{ ci(c) }}</td>
<td>{{ c.verdict or "—" }}{% if name == d.best %} (best){% elif c.vs_best and c.vs_best.ci95 %}: {{ "%+.3f"|format(c.vs_best.delta) }} [{{ "%.3f"|format(c.vs_best.ci95[0]) }}, {{ "%.3f"|format(c.vs_best.ci95[1]) }}]{% endif %}</td>
<td>{{ "{:,.0f}".format(c.latency_ms_p50) }}</td><td>{{ "{:,.0f}".format(c.input_tokens) }}/{{ "{:,.0f}".format(c.output_tokens) }}</td>
<td>{{ money(c.cost_per_1k_queries) }}</td><td>{{ money(c.monthly_usd) }}</td><td>{{ money(c.one_off_usd) }}</td>
<td style="text-align:left">{{ beside(c) }}</td></tr>
{% else %}
<tr class="skip"><td>{{ name }}</td><td colspan="9">skipped: {{ c.skipped_reason }}</td></tr>
{% endif %}
{% endfor %}</table>
<h2>Why</h2><ol>{% for r in d.reasons %}<li>{{ r }}</li>{% endfor %}</ol>
{% if d.disagreements %}<h2>Measured against the rules of thumb</h2><ul>{% for x in d.disagreements %}<li>{{ x }}</li>{% endfor %}</ul>{% endif %}
<h2>The rules of thumb (alone they say: {{ d.rules_recommendation }})</h2>
<table><tr><th>question</th><th>verdict</th><th>explanation</th></tr>
{% for v in d.rules %}<tr><td>{{ v.question }}</td><td>{{ "withheld" if v.withheld else (v.favours if v.fired and v.favours else "—") }}</td>
<td style="text-align:left">{{ v.explanation }}</td></tr>{% endfor %}</table>
<h2>What would change the answer</h2><ul>{% for w in d.what_would_change %}<li>{{ w }}</li>{% endfor %}</ul>
<h2>Costs: how each was found</h2><ul>{% for name, c in d.candidates.items() if c.measured %}<li><b>{{ name }}</b>: {{ c.cost_basis }}.
Assumed: {{ c.assumed | join("; ") }}<ul>{% for k, f in c.cost_figures.items() %}<li>{{ k }} = {{ f.value }}: <b>{{ f.basis }}</b> ({{ f.source }})</li>{% endfor %}</ul></li>{% endfor %}</ul>
<h2>Questions</h2><p>{{ d.split.test }} held out (seed {{ d.split.seed }}){% if d.split.dropped %}; {{ d.split.dropped|length }} dropped as repeats of training rows{% endif %}.</p>
{% if d.notes %}<h2>Notes</h2><ul class="note">{% for n in d.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""

_MD = """# Recommendation: {{ d.recommendation or "none" }}

{{ d.primary_metric_description }}. Prices as of {{ d.config.prices.as_of }}; {{ "{:,.0f}".format(d.config.queries_per_month) }} queries/month over {{ d.config.months }} months.

{% for w in d.verdict.warnings %}
> **Warning:** {{ w }}
{% endfor %}

Verdicts against the best: {{ d.verdict.method }}.

| candidate | score | 95% CI | verdict | Δ vs best [interval] | p50 ms | per 1k queries | monthly | one-off | assumed |
| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |
{% for name, c in d.candidates.items() %}
{% if c.measured %}
| {{ "**" ~ name ~ "**" if name == d.recommendation else name }} | {{ score(c) }} | {{ ci(c) }} | {{ c.verdict or "—" }}{{ " (best)" if name == d.best else "" }} | {{ vs(c) }} | {{ "{:,.0f}".format(c.latency_ms_p50) }} | {{ money(c.cost_per_1k_queries) }} | {{ money(c.monthly_usd) }} | {{ money(c.one_off_usd) }} | {{ assumed(c) }} |
{% else %}
| {{ name }} | skipped: {{ c.skipped_reason }} | | | | | | | | |
{% endif %}
{% endfor %}

## Why
{% for r in d.reasons %}
{{ loop.index }}. {{ r }}
{% endfor %}

## Rules of thumb (alone: {{ d.rules_recommendation }})
{% for v in d.rules %}
- {{ v.question }} {{ v.explanation }}
{% endfor %}
{% for x in d.disagreements %}
- **measured vs rules:** {{ x }}
{% endfor %}

## What would change the answer
{% for w in d.what_would_change %}
- {{ w }}
{% endfor %}
"""


def _render(template: str, decision: Decision, autoescape: bool) -> str:
    env = Environment(autoescape=select_autoescape(default=autoescape, default_for_string=autoescape), trim_blocks=True,
                      lstrip_blocks=True)
    return env.from_string(template).render(d=decision, chart=quality_cost_svg(decision), ci=_ci, money=money,
                                            score=_score, vs=_vs, assumed=_assumed,
                                            beside=beside)


def write_report(decision: Decision, path: str | Path) -> Path:
    """Write the decision to ``path`` (``.html``/``.htm`` or ``.md``/``.markdown``), atomically."""
    return write_report_file(path, lambda: _render(_HTML, decision, True), lambda: _render(_MD, decision, False))
