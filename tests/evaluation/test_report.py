"""Reports: a self-contained HTML page with charts and tables, a Markdown summary, and the file's suffix."""

import re
import xml.etree.ElementTree as ET

import pytest

from ragtune.errors import InputError
from ragtune.evaluation.base import FORMAT_VERSION, EvalResult
from ragtune.evaluation.metrics import aggregate
from ragtune.evaluation.report import quality_and_cost, to_html, to_markdown, write_report


@pytest.fixture
def result() -> EvalResult:
    rows = []
    for i in range(20):
        rows.append({"id": f"q{i}", "variant": "base", "question": f"Question <{i}>?", "answer": "I do not know",
                     "citations": [], "token_f1": 0.1, "latency_ms": 40.0 + i, "cost_usd": 0.001})
        rows.append({"id": f"q{i}", "variant": "rag", "question": f"Question <{i}>?", "answer": f"Answer {i} [1].",
                     "citations": [{"marker": 1}], "token_f1": 0.5 + (i % 5) / 10, "faithfulness": 1.0,
                     "latency_ms": 90.0 + i, "cost_usd": 0.003, "field_acc.intent": 1.0})
    return EvalResult(config={"format_version": FORMAT_VERSION, "questions": "/data/qa.jsonl", "question_count": 20,
                              "variants": ["base", "rag"], "model": "anthropic:claude-haiku-4-5", "index": "support"},
                      rows=rows, aggregates=aggregate(rows, ["base", "rag"]), notes=["a note & <tag>"])


def test_html_is_self_contained_with_a_chart_per_metric(result):
    page = to_html(result)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<script" not in page
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    for svg in svgs:
        ET.fromstring(svg)  # each chart is well-formed SVG
    # quality against cost, then one bar chart per shown metric
    # token F1, faithfulness, field intent, latency mean/p50/p95, cost per 1,000 (cost per query is not shown twice)
    assert "quality against cost" in svgs[0] and len(svgs) == 1 + 7
    assert "Question &lt;3&gt;?" in page and "a note &amp; &lt;tag&gt;" in page and "Question <3>?" not in page
    assert quality_and_cost(result) == ("token_f1", "cost_per_1k_queries")


def test_the_quality_against_cost_chart_is_as_wide_as_the_page_with_labelled_axes(result):
    svg = re.findall(r"<svg.*?</svg>", to_html(result), re.S)[0]
    assert 'width="100%"' in svg
    assert "token F1, mean with 95% interval" in svg


def test_markdown_table_has_means_and_half_widths(result):
    md = to_markdown(result)
    assert md.startswith("## ragtune eval: qa.jsonl (20 questions)")
    assert "| metric (mean ± 95% half-width) | base | rag |" in md and "| token F1 ↑ | 0.100 | 0.700 ± 0.0" in md
    assert "| cost per 1,000 queries ↓ | $1.00 per 1k | $3.00 per 1k |" in md and "- a note & <tag>" in md


@pytest.mark.parametrize("metric, value, text", [("cost_per_1k_queries", 0.016, "$0.016 per 1k"),
                                                  ("cost_usd", 5.3e-06, "$0.0000053"), ("cost_per_1k_queries", 0.0, "$0 per 1k")])
def test_eval_money_has_units_and_sensible_digits(metric, value, text):
    from ragtune.evaluation.report import format_value

    assert format_value(metric, value) == text


def test_free_runs_plot_latency_and_reports_pick_their_format_by_suffix(result, tmp_path):
    for row in result.rows:
        row["cost_usd"] = 0.0
    result.aggregates = aggregate(result.rows, ["base", "rag"])
    assert quality_and_cost(result) == ("token_f1", "latency_ms_p50")
    assert write_report(result, tmp_path / "out" / "r.html").read_text().startswith("<!doctype html>")
    assert write_report(result, tmp_path / "r.md").read_text().startswith("## ragtune eval")
    with pytest.raises(InputError, match="a report is .html, .md or .json"):
        write_report(result, tmp_path / "r.pdf")
