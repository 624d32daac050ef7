"""The store's hosting: one rule for decide, advise and cost, labelled assumed unless a price file states it."""

import json
from pathlib import Path

import pytest

from ragtune.api import PriceTable, Workspace
from ragtune.costs.figures import Basis
from ragtune.costs.hosting import EMBEDDED, SERVER, store_gb, store_hosting

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NEEDS = {"queries_per_month": 1000, "months": 12}


def rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "candidate": c, "score": s, "latency_ms": 40})
                            + "\n" for i in range(30) for c, s in (("base", 0.2), ("rag", 0.8))))
    return path


@pytest.fixture
def support(workspace: Workspace) -> Workspace:
    workspace.ingest([str(EXAMPLES / "docs")], "support")
    return workspace


def test_decide_and_advise_give_the_same_monthly_store_figure_for_the_same_index(support, tmp_path):
    decision = support.decide_rows(rows_file(tmp_path), model="extractive", index="support", **NEEDS)
    decided = decision.candidates["rag"].cost_figures["store_hosting_usd_per_month"]
    advised = support.cost(NEEDS, index="support").variants["rag"].breakdown["monthly.vector_store"]
    assert decided["value"] == pytest.approx(advised)


def test_the_store_hosting_figure_is_assumed_and_says_where_it_came_from(support, tmp_path):
    decision = support.decide_rows(rows_file(tmp_path), model="extractive", index="support", **NEEDS)
    figure = decision.candidates["rag"].cost_figures["store_hosting_usd_per_month"]
    assert figure["basis"] == "assumed" and "embedded store" in figure["source"]


def test_a_candidate_that_does_not_retrieve_pays_no_store(support, tmp_path):
    decision = support.decide_rows(rows_file(tmp_path), model="extractive", index="support", **NEEDS)
    assert "store_hosting_usd_per_month" not in decision.candidates["base"].cost_figures


def test_the_embedded_store_costs_its_storage_only():
    prices = PriceTable.default()
    gb = store_gb(prices, chunks=1_000_000, dimension=384, chunk_bytes=1000)
    assert store_hosting(prices, EMBEDDED, 1_000_000, 384, 1000).value == pytest.approx(gb * prices.store_usd_per_gb_month)


def test_a_store_served_apart_costs_its_plan_besides_storage():
    prices = PriceTable.default()
    gb = store_gb(prices, chunks=1000, dimension=64, chunk_bytes=500)
    expected = prices.store_server_usd_per_month + gb * prices.store_usd_per_gb_month
    assert store_hosting(prices, SERVER, 1000, 64, 500).value == pytest.approx(expected)


def test_store_prices_from_a_price_file_are_stated(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"store_server_usd_per_month": 20, "store_usd_per_gb_month": 0.1,
                                "store_overhead_bytes": 100}))
    figure = store_hosting(PriceTable.load(path), SERVER, 1000, 64, 500)
    assert (figure.basis, figure.value) == (Basis.stated, pytest.approx(20 + 1000 * (256 + 500 + 100) / 1e9 * 0.1))


def test_the_advisor_config_states_the_store_base_it_sets(support):
    from ragtune.api import load_advisor_config

    config = load_advisor_config(None, ["costs.vector_store_base_usd_per_month=7", "costs.vector_store_usd_per_gb_month=0",
                                        "costs.vector_overhead_bytes=0"])
    report = support.cost(NEEDS, index="support", config=config)
    assert report.variants["rag"].breakdown["monthly.vector_store"] == pytest.approx(7.0)
