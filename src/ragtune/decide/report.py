"""The decision as a self-contained report: HTML (an inline SVG chart of quality against monthly cost, one point per
candidate with its interval and the pick marked; then the table, the rules of thumb and what would change the
answer) or Markdown. ``write_report`` picks the format from the suffix and writes atomically."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from ragtune.advisor.report import write_report_file
from ragtune.charts import COLOURS, Plot, tag
from ragtune.common import format_money, format_number
from ragtune.decide.base import Decision
from ragtune.evaluation.base import metric_info

def metric_words(name: str) -> str:
    """A metric name for people: ``token_f1+format_score`` reads ``token F1 + format score``."""
    return " + ".join(metric_info(part).label.replace("_", " ") for part in name.split("+"))


def quality_cost_svg(decision: Decision, width: int = 960, height: int = 400) -> str:
    """Quality (primary metric, 95% interval) against monthly cost at the stated volume; the pick is ringed. The
    chart scales to the width of the page (``width="100%"``)."""
    points = [(name, c, c.score, max(c.monthly_usd or 0.0, 1e-6)) for name, c in decision.candidates.items()
              if c.measured and c.score is not None]  # an unknown cost sits at the left edge
    if not points:
        return ""
    lo, hi = math.log10(min(p[3] for p in points)), math.log10(max(p[3] for p in points))
    if hi - lo < 1:
        lo, hi = lo - 0.5, hi + 0.5
    y_hi = max(1.0, max((c.ci95 or [score, score])[1] for _, c, score, _ in points))
    cur = decision.config["prices"]["currency"]
    axis = metric_words(decision.primary_metric)
    plot = Plot("quality against monthly cost", "quality against monthly cost", width, height, (70, 150, 34, 48), fluid=True)
    plot.heading(f"{axis} (mean) against monthly cost at {decision.config.get('queries_per_month', 0):,.0f} queries/month")
    px, py = plot.scales((10.0 ** lo, 10.0 ** hi), (0.0, y_hi), log_x=True)
    plot.y_grid(py, [y_hi * i / 5 for i in range(6)], lambda y: f"{y:.2f}")
    plot.x_ticks(px, px.ticks(), lambda usd: format_money(usd, cur))
    plot.axes(f"monthly cost, {cur} (log scale)", f"{axis}, mean with 95% interval")
    for i, (name, c, score, usd) in enumerate(points):
        hue = "#111827" if name == "base" else COLOURS.get(name, "#7c3aed")
        x, y = px(usd), py(score)
        low, high = c.ci95 or [score, score]
        plot.point(x, y, (py(low), py(high)), hue, name,
                   tooltip=f"{name}: {score:.3f} [{low:.3f}, {high:.3f}], {format_money(c.monthly_usd, cur, '/month')}")
        if name == decision.recommendation:
            plot.add(tag("circle", cx=x, cy=y, r=11, fill="none", stroke="#16a34a", stroke_width=2.5),
                     tag("text", "pick", x=x + 8, y=y + 16, fill="#16a34a", font_weight="bold"))
        plot.legend(i, hue, name)
    return plot.svg()


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


_FIGURE_WORDS = {"queries_per_month": "queries per month", "months": "months over which one-off costs are spread",
                 "prices.machine_usd_per_hour": "machine rate per hour", "price_per_mtok": "price per 1M tokens",
                 "store_hosting_usd_per_month": "store hosting per month"}


def figure_words(name: str) -> str:
    """A cost figure's name for people (``queries_per_month`` reads ``queries per month``)."""
    if name in _FIGURE_WORDS:
        return _FIGURE_WORDS[name]
    if name.startswith("prices."):
        return f"list price of {name.removeprefix('prices.')}"
    return name.replace("_usd", "").replace("_", " ").replace(".", " ")


def _value(name: str, value: Any, currency: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_money(value, currency) if "usd" in name else format_number(value)
    return "unknown" if value is None else str(value)


def assumed_figures(c: Any, currency: str = "USD") -> str:
    """The assumed (or unknown) cost figures of a candidate, in words; the sources are in ``cost_figures``."""
    return "; ".join(f"{figure_words(k)} {_value(k, f['value'], currency)}" for k, f in c.cost_figures.items()
                     if f["basis"] in ("assumed", "unknown")) or "—"


def _ci(c: Any) -> str:
    return "—" if not c.ci95 else f"[{c.ci95[0]:.3f}, {c.ci95[1]:.3f}]"


def runner_up(decision: Decision) -> str | None:
    """The best-scoring measured candidate other than the pick."""
    others = [(c.score, name) for name, c in decision.candidates.items()
              if c.measured and c.score is not None and name != decision.recommendation]
    return max(others)[1] if others else None


def head_to_head(decision: Decision) -> dict[str, Any]:
    """Question by question, the pick's primary score beside the runner-up's: wins, losses and ties."""
    pick, other = decision.recommendation, runner_up(decision)
    scores: dict[str, dict[str, float]] = {}
    for r in decision.rows:
        if r.get("candidate") in (pick, other) and r.get("primary") is not None:
            scores.setdefault(str(r["id"]), {})[r["candidate"]] = float(r["primary"])
    rows: list[dict[str, Any]] = [
        {"id": q, "pick": s[pick], "other": s[other],
         "outcome": "win" if s[pick] > s[other] else "loss" if s[pick] < s[other] else "tie"}
        for q, s in scores.items() if pick in s and other in s]
    rows.sort(key=lambda r: ({"loss": 0, "win": 1, "tie": 2}[r["outcome"]], r["id"]))
    count = {k: sum(r["outcome"] == k for r in rows) for k in ("win", "loss", "tie")}
    return {"pick": pick, "other": other, "rows": rows, **count}


def what_would_change(decision: Decision) -> list[str]:
    """What would change the answer: the decision's own lines, the candidates not yet known, and never nothing."""
    lines = list(decision.what_would_change)
    best = decision.best or "the best"
    for name in decision.verdict.get("not_yet_known", []):
        lines.append(f"{name} is not yet known against {best}: more held-out questions would tell whether it is as good")
    if not lines and decision.recommendation is None:
        lines.append("no candidate was measured: give a question set or per-question rows")
    if not lines:
        cur = decision.config["prices"]["currency"]
        lines.append(f"nothing measured here: only {decision.recommendation} is as good as {best} within "
                     f"{decision.verdict.get('margin', 0):g}; other questions, another volume (now "
                     f"{decision.config.get('queries_per_month', 0):,.0f} queries/month) or other prices ({cur}, as of "
                     f"{decision.config['prices']['as_of']}) could")
    return list(dict.fromkeys(lines))


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ragtune decide: {{ d.recommendation or "no pick" }}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#111827}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #d1d5db;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.pick{background:#dcfce7;font-weight:bold}.skip{color:#6b7280}
.ci,.money{white-space:nowrap}.loss{color:#b91c1c}.win{color:#15803d}summary{cursor:pointer;font-weight:bold}
.note{color:#4b5563;font-size:13px}h1 span{color:#16a34a}svg{display:block;max-width:100%}</style></head><body>
<h1>Recommendation: <span>{{ d.recommendation or "none" }}</span></h1>
<p>{{ d.primary_metric_description }}. Prices as of {{ d.config.prices.as_of }}; {{ "{:,.0f}".format(d.config.queries_per_month) }}
queries/month over {{ d.config.months }} months; model <code>{{ d.config.model }}</code>.</p>
{{ chart | safe }}
{% for w in d.verdict.warnings %}<p><b>Warning:</b> {{ w }}</p>{% endfor %}
<p>Verdicts against the best: {{ d.verdict.method }}.</p>
<table><tr><th>candidate</th><th>{{ axis }} (mean)</th><th>95% interval of the mean</th><th>verdict (Δ vs best, interval)</th>
<th>latency p50</th><th>tokens in/out (mean)</th><th>per 1k queries</th><th>monthly</th><th>one-off</th><th>also measured (mean)</th></tr>
{% for name, c in d.candidates.items() %}
{% if c.measured %}
<tr class="{{ 'pick' if name == d.recommendation else '' }}"><td>{{ name }}</td><td>{{ score(c) }}</td><td class="ci">{{ ci(c) }}</td>
<td>{{ c.verdict or "—" }}{% if name == d.best %} (best){% elif c.vs_best and c.vs_best.ci95 %}: <span class="ci">{{ vs(c) }}</span>{% endif %}</td>
<td class="money">{{ "{:,.0f}".format(c.latency_ms_p50) }} ms</td><td>{{ "{:,.0f}".format(c.input_tokens) }}/{{ "{:,.0f}".format(c.output_tokens) }}</td>
<td class="money">{{ format_money(c.cost_per_1k_queries, cur, " per 1k") }}</td><td class="money">{{ format_money(c.monthly_usd, cur, "/month") }}</td>
<td class="money">{{ format_money(c.one_off_usd, cur) }}</td><td style="text-align:left">{{ beside(c) }}</td></tr>
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
<h2>What would change the answer</h2><ul>{% for w in changes %}<li>{{ w }}</li>{% endfor %}</ul>
<h2>Costs: how each was found</h2><ul>{% for name, c in d.candidates.items() if c.measured %}<li><b>{{ name }}</b>: {{ c.cost_basis }}.
<ul>{% for k, f in c.cost_figures.items() %}<li>{{ words(k) }}: {{ value(k, f.value, cur) }}, <b>{{ f.basis }}</b> ({{ f.source }})</li>{% endfor %}</ul></li>{% endfor %}
{% for line in d.measuring() %}<li><b>measuring</b>: {{ line }}</li>{% endfor %}</ul>
<h2>Questions</h2><p>{{ d.split.test }} held out (seed {{ d.split.seed }}){% if d.split.dropped %}; {{ d.split.dropped|length }} dropped as repeats of training rows{% endif %}.</p>
{% if h2h.rows %}<details class="questions"><summary>{{ h2h.pick }} against the runner-up {{ h2h.other }}, question by question:
{{ h2h.win }} wins, {{ h2h.loss }} losses, {{ h2h.tie }} ties</summary>
<table><tr><th>question</th><th>{{ h2h.pick }}</th><th>{{ h2h.other }}</th><th>{{ h2h.pick }} is</th></tr>
{% for r in h2h.rows %}<tr class="{{ r.outcome }}"><td>{{ r.id }}</td><td>{{ "%.3f"|format(r.pick) }}</td><td>{{ "%.3f"|format(r.other) }}</td>
<td>{{ {"win": "better", "loss": "worse", "tie": "equal"}[r.outcome] }}</td></tr>{% endfor %}</table></details>{% endif %}
{% if d.notes %}<h2>Notes</h2><ul class="note">{% for n in d.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""

_MD = """# Recommendation: {{ d.recommendation or "none" }}

{{ d.primary_metric_description }}. Prices as of {{ d.config.prices.as_of }}; {{ "{:,.0f}".format(d.config.queries_per_month) }} queries/month over {{ d.config.months }} months.

{% for w in d.verdict.warnings %}
> **Warning:** {{ w }}
{% endfor %}

Verdicts against the best: {{ d.verdict.method }}.

| candidate | {{ axis }} (mean) | 95% interval | verdict | Δ vs best [interval] | latency p50 | per 1k queries | monthly | one-off | assumed |
| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |
{% for name, c in d.candidates.items() %}
{% if c.measured %}
| {{ "**" ~ name ~ "**" if name == d.recommendation else name }} | {{ score(c) }} | {{ ci(c) }} | {{ c.verdict or "—" }}{{ " (best)" if name == d.best else "" }} | {{ vs(c) }} | {{ "{:,.0f}".format(c.latency_ms_p50) }} ms | {{ format_money(c.cost_per_1k_queries, cur, " per 1k") }} | {{ format_money(c.monthly_usd, cur, "/month") }} | {{ format_money(c.one_off_usd, cur) }} | {{ assumed(c, cur) }} |
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
{% for w in changes %}
- {{ w }}
{% endfor %}
{% if d.measuring() %}

## What measuring cost
{% for line in d.measuring() %}
- {{ line }}
{% endfor %}
{% endif %}
{% if h2h.rows %}

## Questions

<details><summary>{{ h2h.pick }} against the runner-up {{ h2h.other }}: {{ h2h.win }} wins, {{ h2h.loss }} losses, {{ h2h.tie }} ties</summary>

| question | {{ h2h.pick }} | {{ h2h.other }} | {{ h2h.pick }} is |
| --- | ---: | ---: | --- |
{% for r in h2h.rows %}
| {{ r.id }} | {{ "%.3f"|format(r.pick) }} | {{ "%.3f"|format(r.other) }} | {{ {"win": "better", "loss": "worse", "tie": "equal"}[r.outcome] }} |
{% endfor %}

</details>
{% endif %}
"""


def _render(template: str, decision: Decision, autoescape: bool) -> str:
    env = Environment(autoescape=select_autoescape(default=autoescape, default_for_string=autoescape), trim_blocks=True,
                      lstrip_blocks=True)
    return env.from_string(template).render(d=decision, chart=quality_cost_svg(decision), ci=_ci, format_money=format_money,
                                            score=_score, vs=_vs, assumed=assumed_figures, beside=beside,
                                            cur=decision.config["prices"]["currency"], axis=metric_words(decision.primary_metric),
                                            changes=what_would_change(decision), h2h=head_to_head(decision),
                                            words=figure_words, value=_value)


def write_report(decision: Decision, path: str | Path) -> Path:
    """Write the decision to ``path`` (``.html``/``.htm`` or ``.md``/``.markdown``), atomically."""
    return write_report_file(path, lambda: _render(_HTML, decision, True), lambda: _render(_MD, decision, False))
