"""``decide`` reads what a model can do from its generator, so a third-party plugin is priced and skipped for tuning
as it declares, whatever its spec's prefix."""

from __future__ import annotations

import pytest

from ragtune.costs.prices import ModelPrice, PriceTable
from ragtune.generation import ExtractiveGenerator, generators
from ragtune.generation.base import PricingBasis


class HostedExtractive(ExtractiveGenerator):
    """Answers as ``extractive`` does, but declares itself a hosted model billed per token."""

    pricing = PricingBasis.per_token
    untrainable_why = "is a hosted model: its weights are not here"

    def __init__(self, spec: str) -> None:
        super().__init__()
        self.spec = spec


@pytest.fixture
def hosted(register_plugin):
    register_plugin(generators, "hosted", lambda rest, config, home: HostedExtractive(f"hosted:{rest}"))


@pytest.fixture
def decision(support, questions_file, hosted):
    listed = {"hosted:big": ModelPrice(input_per_mtok=2.0, output_per_mtok=8.0)}
    prices = PriceTable.default().model_copy(update={"prices": listed})
    return support.decide(questions=questions_file, index="support", model="hosted:big", candidates="base,rag,ft",
                          queries_per_month=50_000, prices=prices)


def test_a_plugin_that_declares_itself_untrainable_has_its_tuned_candidate_skipped_with_its_reason(decision):
    assert decision.candidates["ft"].skipped_reason == "hosted:big is a hosted model: its weights are not here"


def test_a_plugin_billed_per_token_is_costed_at_its_list_price(decision):
    assert "list price" in decision.candidates["rag"].cost_basis
