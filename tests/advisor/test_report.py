import re

import pytest

from ragtune.advisor import AdvisorConfig, Facts, StatedNeeds, decide, estimate_costs
from ragtune.advisor.report import html_report, line_chart_svg, markdown_report, write_report
from ragtune.errors import InputError


@pytest.fixture(scope="module")
def advice(support_facts, facts_2000):
    facts = Facts(stated=StatedNeeds(queries_per_month=50_000, attribution_required=True), index=support_facts, examples=facts_2000)
    return decide(facts, AdvisorConfig())


def test_html_report_is_self_contained_with_cost_charts(advice):
    page = html_report(advice.costs, advice)
    assert page.startswith("<!doctype html>") and "rag+ft" in page
    assert "<script" not in page and not re.search(r'(src|href)="', page)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)  # only the SVG namespace, no network
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2
    for svg in svgs:  # one line per approach in each chart
        assert len(re.findall(r'<path d="M', svg)) == len(advice.costs.variants)
    for rule in advice.rules:
        assert rule.question in page
    assert advice.next_command in page
    # Every break-even volume appears, formatted.
    for b in advice.costs.break_even:
        assert f"{b.queries_per_month:,.0f}" in page


def test_markdown_report_has_the_tables(advice):
    text = markdown_report(advice.costs, advice)
    assert text.startswith("# ragtune advice: **rag+ft**")
    assert "| rag | " in text and "| rag+ft | " in text and "### Sensitivity" in text
    assert "Candidate." not in text and "&gt;" not in text
    for reason in advice.reasons:
        assert reason in text
    cost_only = markdown_report(advice.costs)
    assert cost_only.startswith("## Costs") and "The five questions" not in cost_only


def test_chart_escapes_names_and_caps_outliers():
    svg = line_chart_svg("a <b>", {"<x>": [(0, 1), (1, 2)], "big": [(0, 0), (1, 1000)]}, "x", "y", y_cap=10)
    assert "<x>" not in svg and "&lt;x&gt;" in svg and "a &lt;b&gt;" in svg
    assert 'clip-path="url(#plot)"' in svg
    assert ">10<" in svg and ">1k<" not in svg  # the axis stops at the cap


def test_write_report_checks_the_path(tmp_path, support_facts):
    costs = estimate_costs(Facts(stated=StatedNeeds(queries_per_month=1000), index=support_facts), AdvisorConfig())
    target = tmp_path / "costs.html"
    target.write_text("old")
    write_report(target, costs)
    assert "Cumulative cost" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["costs.html"]  # no partial file left behind
    with pytest.raises(InputError, match=r"a report is \.html or \.md"):
        write_report(tmp_path / "costs.pdf", costs)
    with pytest.raises(InputError, match="does not exist"):
        write_report(tmp_path / "missing" / "costs.md", costs)
    assert not (tmp_path / "costs.pdf").exists()


def test_facts_read_as_words_not_field_names(advice):
    text = markdown_report(advice.costs, advice)
    table = text.split("## The five questions", 1)[1].split("\n## ", 1)[0]
    assert "attribution_required" not in table
    assert "changed_share" not in table and "monthly_churn" not in table
    assert "answers must cite sources" in table


def test_advice_money_carries_the_currency_sign(advice):
    text = markdown_report(advice.costs, advice)
    assert re.search(r"\| rag \| \$[0-9.,]+ \|", text)


def test_a_required_attribution_reads_yes():
    from ragtune.advisor.base import format_value

    words = format_value({"attribution_required": True, "citable_share": 0.5})
    assert words == "answers must cite sources yes; documents citable 50%"


def test_the_reasons_say_why_the_cheapest_approach_lost(advice):
    cheapest = min(advice.costs.variants.values(), key=lambda v: v.cumulative[-1]).approach.value
    assert cheapest == "prompt" and advice.recommendation.value != "prompt"  # the case this test is about
    assert any(r.startswith("prompt is the cheapest in the cost table but does not retrieve") for r in advice.reasons)
    assert "prompt is the cheapest in the cost table" in markdown_report(advice.costs, advice)
