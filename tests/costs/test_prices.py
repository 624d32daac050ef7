"""The price table: dated Claude defaults, prefix matching, models paid by machine time, overrides from a file."""

import json

import pytest

from ragtune.errors import InputError
from ragtune.costs.prices import PRICES_AS_OF, PriceTable
from ragtune.generation.base import PricingBasis

TOKENS, MACHINE = PricingBasis.per_token, PricingBasis.machine_seconds


def test_defaults_are_dated_and_match_dated_model_ids():
    table = PriceTable.default()
    assert table.as_of == PRICES_AS_OF and table.currency == "USD"
    sonnet = table.price_for("anthropic:claude-sonnet-4-5-20250929", TOKENS)
    assert (sonnet.input_per_mtok, sonnet.output_per_mtok, sonnet.as_of) == (3.0, 15.0, PRICES_AS_OF)
    # the longest matching key wins: claude-opus-4-5 is not priced as claude-opus-4
    assert table.price_for("anthropic:claude-opus-4-5", TOKENS).input_per_mtok == 5.0
    assert table.price_for("anthropic:claude-opus-4-20250514", TOKENS).input_per_mtok == 15.0
    assert table.cost("anthropic:claude-sonnet-4-5", TOKENS, 2_000_000, 100_000) == pytest.approx(6.0 + 1.5)


def test_a_model_paid_by_machine_time_is_free_per_token():
    assert PriceTable.default().cost("local", MACHINE, 10_000, 10_000) == 0.0


def test_a_model_billed_per_token_that_the_table_does_not_know_has_no_price():
    assert PriceTable.default().cost("openai:gpt-x@http://localhost/v1", TOKENS, 1, 1) is None


def test_a_price_file_overrides_and_adds(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"as_of": "2026-01-01", "prices": {
        "anthropic:claude-haiku-4-5": {"input_per_mtok": 2.0, "output_per_mtok": 8.0, "as_of": "2026-01-01"},
        "local": {"per_hour": 3.6}}}))
    table = PriceTable.load(path)
    assert table.as_of == "2026-01-01" and table.price_for("anthropic:claude-haiku-4-5", TOKENS).input_per_mtok == 2.0
    assert table.price_for("anthropic:claude-sonnet-4-5", TOKENS).input_per_mtok == 3.0  # defaults kept
    assert table.cost("local", MACHINE, 100, 100, seconds=10.0) == pytest.approx(0.01)  # 3.6 USD an hour for 10 s
    toml = tmp_path / "prices.toml"
    toml.write_text('[prices."openai:llama"]\ninput_per_mtok = 0.1\noutput_per_mtok = 0.2\n')
    assert PriceTable.load(toml).cost("openai:llama@http://h/v1", TOKENS, 1_000_000, 0) == pytest.approx(0.1)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not a valid JSON price file"),
    ('{"prices": {"local": {"input_per_mtok": -1}}}', "field 'prices.local.input_per_mtok'"),
    ('{"prices": {}, "currencies": "EUR"}', "unknown field 'currencies'"),
])
def test_bad_price_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        PriceTable.load(path)


def test_a_model_billed_per_token_at_a_known_price_is_charged_per_token():
    assert PriceTable.default().charges_tokens("anthropic:claude-haiku-4-5", TOKENS)


def test_a_model_paid_by_machine_time_is_not_charged_per_token_even_with_a_token_price():
    table = PriceTable.model_validate({"prices": {"local": {"input_per_mtok": 1.0}}})
    assert not table.charges_tokens("local", MACHINE)


def test_a_served_model_the_table_does_not_price_is_not_charged_per_token():
    assert not PriceTable.default().charges_tokens("openai:llama@http://127.0.0.1:8000/v1", TOKENS)
