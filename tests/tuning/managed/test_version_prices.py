"""A managed version is paid per token at the fine-tuned model's price on its card: eval and decide cost its answers
by that price, never by the serving machine's hourly rate, and a price the table gives is kept."""

from __future__ import annotations

import json

import pytest

from ragtune.evaluation.config import EvalConfig
from ragtune.costs.prices import ModelPrice, PriceTable
from ragtune.tuning.managed import ManagedConfig
from ragtune.tuning.managed.prices import version_price, with_version_prices


@pytest.fixture
def intents(workspace, provider, tmp_path, jsonl, rows):
    _, url = provider
    data = jsonl(tmp_path / "intents.jsonl", rows(12))
    return workspace.tune_managed(ManagedConfig.build(name="intents", data=data, base=f"openai:gpt-4.1-mini@{url}",
                                                      poll_interval_s=0))


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q.jsonl"
    lines = [{"id": f"q{i}", "question": f"play song {i}", "reference_answer": "PlayMusic"} for i in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


def test_the_price_comes_from_the_card(intents):
    price = version_price(intents)
    assert (price.input_per_mtok, price.output_per_mtok) == (intents.cost["inference"]["input_per_mtok"], 3.20)


def test_the_table_gets_the_version_under_the_spec_and_its_exact_version(workspace, intents):
    table = with_version_prices(PriceTable.default(), ["tuned:intents", "local", None], workspace.model_card)
    assert table.prices["tuned:intents"].output_per_mtok == 3.20
    assert table.prices["tuned:intents@v1"].output_per_mtok == 3.20


def test_a_price_the_table_gives_is_kept(workspace, intents):
    given = PriceTable.default().model_copy(update={"prices": {"tuned:intents": ModelPrice(output_per_mtok=9.0)}})
    assert with_version_prices(given, ["tuned:intents"], workspace.model_card).prices["tuned:intents"].output_per_mtok == 9.0


def test_eval_costs_a_managed_version_by_its_token_price(workspace, intents, questions):
    result = workspace.evaluate(questions, EvalConfig(model="tuned:intents", variants=["base"]))
    row = result.rows[0]
    price = version_price(intents)
    expected = (row["input_tokens"] * price.input_per_mtok + row["output_tokens"] * price.output_per_mtok) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)
    assert not any("no price for" in n for n in result.notes)


def test_decide_costs_a_managed_version_by_its_token_price_not_the_machine_rate(workspace, intents, questions, tmp_path):
    d = workspace.decide(questions=questions, examples=tmp_path / "intents.jsonl", model="tuned:intents", candidates="base")
    base = d.candidates["base"]
    assert "tuned:intents list price" in base.cost_basis
    assert "prices.machine_usd_per_hour" not in base.cost_figures
