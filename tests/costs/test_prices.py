"""The price table: dated Claude defaults, prefix matching, models paid by machine time, overrides from a file."""

import json
from pathlib import Path

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


def _rows(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": f"q{i}", "candidate": c, "score": s, "latency_ms": 40})
                            + "\n" for i in range(30) for c, s in (("base", 0.2), ("rag", 0.9))))
    return rows


def test_a_bad_price_field_is_named_and_exits_2_in_decide(cli, tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps({"prices": {"anthropic:claude-haiku-4-5": {"input_per_mtok": -1}}}))
    code, _, err = cli("decide", "--rows", _rows(tmp_path), "-m", "extractive", "--prices", bad)
    assert code == 2 and "input_per_mtok" in err and "prices.json" in err


def test_a_price_file_that_is_not_json_names_its_line_and_exits_2_in_cost(cli, tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text('{\n  "machine_usd_per_hour": 0.5,\n  "gpu_usd_per_hour": ,\n}\n')
    code, _, err = cli("cost", "--queries-per-month", 1000, "--prices", bad)
    assert code == 2 and "line 3" in " ".join(err.split())


def test_an_unknown_price_field_is_named_and_exits_2_in_advise(cli, tmp_path):
    bad = tmp_path / "prices.toml"
    bad.write_text("store_usd_per_month = 3\n")
    code, _, err = cli("advise", "--queries-per-month", 1000, "--prices", bad)
    assert code == 2 and "store_usd_per_month" in err


def test_a_price_file_states_what_it_gives_and_leaves_the_rest_assumed(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"gpu_usd_per_hour": 3.0, "prices": {"openai:gpt-x": {"input_per_mtok": 1.0}}}))
    table = PriceTable.load(path)
    assert (table.stated("gpu_usd_per_hour"), table.stated("machine_usd_per_hour")) == (True, False)
    assert (table.stated_price("openai:gpt-x-2025"), table.stated_price("anthropic:claude-haiku-4-5")) == (True, False)


def test_the_rate_of_a_machine_is_the_gpus_where_it_ran_on_cuda():
    table = PriceTable.default()
    assert (table.machine_rate("cuda"), table.machine_rate("cpu")) == (("gpu_usd_per_hour", table.gpu_usd_per_hour),
                                                                         ("machine_usd_per_hour", table.machine_usd_per_hour))


def test_a_rate_from_a_price_file_is_labelled_stated_in_the_decision(cli, tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"machine_usd_per_hour": 0.4}))
    code, out, err = cli("decide", "--rows", _rows(tmp_path), "-m", "extractive", "--prices", path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    figure = doc["candidates"]["base"]["cost_figures"]["prices.machine_usd_per_hour"]
    assert (figure["value"], figure["basis"]) == (0.4, "stated")
    assert doc["config"]["prices"]["stated"] == ["machine_usd_per_hour"]


def test_the_cost_model_takes_the_gpu_rate_of_the_price_file(cli, tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text("gpu_usd_per_hour = 4.0\n")
    tickets = Path(__file__).resolve().parents[2] / "examples" / "tickets.jsonl"
    code, out, err = cli("cost", "--examples", tickets, "--queries-per-month", 1000, "--prices", path, "--json")
    assert code == 0, err
    assert json.loads(out)["prices"]["gpu_usd_per_hour"] == 4.0
