"""The decide report as a manager reads it: money with units, labelled statistics, intervals that stay whole, a chart
as wide as the page with words on its axes, the pick against the runner-up question by question, and never an empty
"what would change the answer"."""

import re

import pytest

from ragtune.api import write_decision_report
from ragtune.common import format_money, format_number

from .test_rows import rows_of, write_rows


@pytest.fixture
def decision(workspace, tmp_path):
    rows = rows_of(40, {"rag": lambda i: 0.9 if i % 4 else 0.5, "base": lambda i: 0.4 if i % 5 else 0.95})
    return workspace.decide_rows(write_rows(tmp_path / "rows.jsonl", rows), model="extractive")


@pytest.fixture
def html(decision, tmp_path):
    return write_decision_report(decision, tmp_path / "d.html").read_text()


@pytest.fixture
def md(decision, tmp_path):
    return write_decision_report(decision, tmp_path / "d.md").read_text()


@pytest.mark.parametrize("amount, per, text", [(0.79, "/month", "$0.79/month"), (0.016, " per 1k", "$0.016 per 1k"),
                                               (5.329e-06, "", "$0.0000053"), (12.5, "", "$12.50"), (1234.4, "", "$1,234"),
                                               (0, "", "$0"), (None, "", "unknown"), (0.001, "", "$0.001"),
                                               (0.1, "", "$0.10")])
def test_money_has_its_unit_and_two_significant_digits_below_one(amount, per, text):
    assert format_money(amount, "USD", per) == text


@pytest.mark.parametrize("value, text", [(7e-06, "0.000007"), (0.2, "0.2"), (0.0123, "0.012"), (10_000, "10,000"),
                                         (0, "0"), (12.5, "12.5")])
def test_a_figure_is_written_without_scientific_notation(value, text):
    assert format_number(value) == text


def test_a_currency_without_a_sign_is_named_after_the_amount():
    assert format_money(0.5, "CHF", "/month") == "0.50 CHF/month"


def test_report_money_carries_units_and_no_scientific_notation(md):
    assert re.search(r"\$[0-9.,]+/month", md)
    assert re.search(r"\$[0-9.,]+ per 1k", md)
    assert not re.search(r"\d e-?\d|\de-\d", md)


def test_each_statistic_is_labelled(md):
    assert "(mean)" in md
    assert "latency p50" in md


def test_intervals_do_not_wrap_in_html(html):
    assert ".ci,.money{white-space:nowrap}" in html
    assert '<td class="ci">[' in html


def test_the_chart_uses_the_page_width_and_names_its_axis_in_words(html):
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'width="100%"' in svg
    assert "score, mean with 95% interval" in svg


def test_a_combined_metric_reads_as_words():
    from ragtune.decide.report import metric_words

    assert metric_words("token_f1+format_score") == "token F1 + format score"


def test_per_question_rows_are_collapsible_with_wins_and_losses(html, decision):
    assert "<details" in html and "<summary>" in html
    summary = html[html.index("<summary>"):html.index("</summary>")]
    assert "runner-up base" in summary
    assert "32 wins, 8 losses, 0 ties" in summary  # base 0.95 beats rag on every 5th question of 40


def test_per_question_rows_are_collapsible_in_markdown(md):
    assert "<details><summary>rag against the runner-up base" in md
    assert "| q0 | 0.500 | 0.950 | worse |" in md


def test_what_would_change_the_answer_is_never_an_empty_heading(md):
    after = md.split("## What would change the answer", 1)[1].strip()
    assert after.startswith("- ")


def test_no_internal_field_names_in_the_assumptions(md):
    assert "queries_per_month" not in md
    assert "machine_usd_per_hour" not in md
