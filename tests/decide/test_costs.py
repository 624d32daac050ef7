"""A candidate's cost from its answer rows: replies decoded in batches are costed at their share of the batch."""

import pytest

from ragtune.costs.prices import PriceTable
from ragtune.decide.config import DecideConfig
from ragtune.decide.costs import candidate_cost
from ragtune.generation.base import PricingBasis

WAITED = [{"id": f"q{i}", "latency_ms": 3_600_000.0, "input_tokens": 200, "output_tokens": 20} for i in range(4)]
BATCHED = [{**row, "machine_ms": 900_000.0} for row in WAITED]  # an hour waited, a quarter of it their own


def _cost(rows):
    return candidate_cost("base", "local", PricingBasis.machine_seconds, rows, DecideConfig(questions=None), None, 0.0,
                          "stated")


def test_a_batched_answer_is_costed_at_its_share_of_the_machine():
    assert _cost(BATCHED).per_query_usd == pytest.approx(PriceTable.default().machine_usd_per_hour / 4)


def test_an_answer_without_a_batch_share_is_costed_at_its_whole_time():
    assert _cost(WAITED).per_query_usd == pytest.approx(PriceTable.default().machine_usd_per_hour)


def test_the_latency_stays_what_the_answers_waited():
    assert _cost(BATCHED).latency_ms_mean == 3_600_000.0


def test_the_machine_time_is_a_measured_figure_beside_the_latency():
    assert _cost(BATCHED).figures.to_json()["machine_ms_mean"]["value"] == 900_000.0
