"""What measuring cost: the judge's own tokens, counted over the rows it scored and priced apart from the candidates."""

import json

import pytest

from ragtune.costs.figures import Basis
from ragtune.costs.measurement import judge_cost, judge_usage, measurement_cost
from ragtune.costs.prices import PriceTable
from ragtune.generation.base import PricingBasis

HAIKU = "anthropic:claude-haiku-4-5"


def judged(n: int, spec: str = HAIKU, tokens: tuple[int, int] | None = (1000, 100)) -> list[dict]:
    usage = {} if tokens is None else {"input_tokens": tokens[0], "output_tokens": tokens[1]}
    return [{"id": f"q{i}", "judge": {"correct": True, "reason": "", "model": spec, **usage}} for i in range(n)]


def test_the_judges_tokens_are_summed_over_its_verdicts():
    usage = judge_usage(judged(3) + [{"id": "x", "judge": {"correct": False, "reason": "abstained"}}])
    assert usage == {HAIKU: {"verdicts": 3, "reported": 3, "input_tokens": 3000, "output_tokens": 300}}


def test_the_judges_tokens_are_costed_at_its_price_and_labelled_measured():
    cost = measurement_cost(judged(10), PriceTable.default(), lambda spec: PricingBasis.per_token)
    usd = cost["judge"][HAIKU]["usd"]
    assert (usd["value"], usd["basis"]) == (pytest.approx(10 * (1000 * 1.0 + 100 * 5.0) / 1e6), "measured")


def test_a_judge_without_a_price_has_an_unknown_cost():
    figure = judge_cost("openai:gpt-x", judge_usage(judged(2, "openai:gpt-x"))["openai:gpt-x"], PriceTable.default(),
                        PricingBasis.per_token)
    assert (figure.value, figure.basis) == (None, Basis.unknown)


def test_a_judge_that_reported_no_usage_has_an_unknown_cost():
    figure = judge_cost(HAIKU, judge_usage(judged(2, tokens=None))[HAIKU], PriceTable.default(), PricingBasis.per_token)
    assert figure.basis is Basis.unknown


def test_rows_without_a_judge_cost_nothing_to_measure():
    assert measurement_cost([{"id": "q1", "score": 1.0}], PriceTable.default(), lambda spec: None) == {}


def test_decide_reports_the_judges_cost_apart_from_the_candidates(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    judge = {"correct": True, "reason": "", "model": HAIKU, "input_tokens": 2000, "output_tokens": 50}
    rows.write_text("".join(json.dumps({"id": f"q{i}", "candidate": c, "score": s, "latency_ms": 40, "judge": judge})
                            + "\n" for i in range(30) for c, s in (("base", 0.2), ("rag", 0.9))))
    code, out, err = cli("decide", "--rows", rows, "-m", "extractive", "--json")
    assert code == 0, err
    usd = json.loads(out)["measurement_cost"]["judge"][HAIKU]["usd"]
    assert (usd["value"], usd["basis"]) == (pytest.approx(60 * (2000 * 1.0 + 50 * 5.0) / 1e6), "measured")


def test_the_decide_table_and_markdown_show_what_measuring_cost(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    judge = {"correct": True, "reason": "", "model": HAIKU, "input_tokens": 2000, "output_tokens": 50}
    rows.write_text("".join(json.dumps({"id": f"q{i}", "candidate": c, "score": s, "latency_ms": 40, "judge": judge})
                            + "\n" for i in range(30) for c, s in (("base", 0.2), ("rag", 0.9))))
    report = tmp_path / "decision.md"
    code, out, err = cli("decide", "--rows", rows, "-m", "extractive", "--report", report)
    assert code == 0, err
    assert "measuring cost: the judge" in " ".join(out.split())
    assert "## What measuring cost" in report.read_text()
