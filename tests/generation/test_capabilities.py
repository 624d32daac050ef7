"""What a generator can do is declared on it (trainable, how it is paid for, constrained decoding), not read from its
spec's prefix: the built-ins declare theirs and a third-party plugin declares its own."""

from __future__ import annotations

import pytest

from ragtune.config import GenerationConfig
from ragtune.costs.prices import PriceTable
from ragtune.generation import FakeGenerator, generators, load_generator
from ragtune.generation.base import GeneratorBase, PricingBasis, untrainable_reason


class HostedGenerator(FakeGenerator):
    """A third-party generator for a hosted API: billed per token, weights out of reach."""

    pricing = PricingBasis.per_token
    untrainable_why = "is a hosted model: its weights are not here"


class OpenWeightsGenerator(FakeGenerator):
    """A third-party generator running open weights on this machine: trainable, paid by machine time."""

    trainable = True


@pytest.fixture
def plugins(register_plugin):
    register_plugin(generators, "hosted", lambda rest, config, home: HostedGenerator(spec=f"hosted:{rest}"))
    register_plugin(generators, "openw", lambda rest, config, home: OpenWeightsGenerator(spec=f"openw:{rest}"))


@pytest.mark.parametrize("spec, pricing", [
    ("extractive", PricingBasis.machine_seconds),
    ("fake", PricingBasis.machine_seconds),
    ("local", PricingBasis.machine_seconds),
    ("anthropic:claude-haiku-4-5", PricingBasis.per_token),
    ("openai:llama@http://127.0.0.1:9/v1", PricingBasis.per_token),
])
def test_built_in_generators_declare_how_they_are_paid_for(spec, pricing):
    assert load_generator(spec, GenerationConfig()).pricing is pricing


@pytest.mark.parametrize("spec, trainable", [
    ("extractive", False), ("fake", False), ("local", True), ("anthropic:claude-haiku-4-5", False),
    ("openai:llama@http://127.0.0.1:9/v1", False),
])
def test_built_in_generators_declare_whether_they_can_be_trained(spec, trainable):
    assert load_generator(spec, GenerationConfig()).trainable is trainable


def test_an_api_model_says_why_it_cannot_be_trained():
    assert "is an API model" in untrainable_reason(load_generator("anthropic:claude-haiku-4-5"))


def test_a_local_model_with_an_adapter_is_a_tuned_model_that_cannot_be_trained_again(tmp_path):
    from ragtune.generation.local import LocalGenerator

    (tmp_path / "adapter_config.json").write_text("{}")
    tuned = LocalGenerator(adapter=tmp_path, spec="tuned:x@v1")
    assert untrainable_reason(tuned) == "tuned:x@v1 is already a tuned model: give its base model with -m"


def test_the_defaults_are_untrainable_paid_by_machine_time_and_unconstrained():
    base = GeneratorBase()
    assert (base.trainable, base.pricing, base.constrains({"type": "object"}), base.load()) == (
        False, PricingBasis.machine_seconds, False, base)


def test_a_third_party_plugin_declares_its_own_pricing(plugins):
    hosted = load_generator("hosted:big")
    assert PriceTable.default().cost(hosted.spec, hosted.pricing, 1, 1) is None  # billed per token, not in the table


def test_a_third_party_plugin_paid_by_machine_time_costs_nothing_per_token(plugins):
    mine = load_generator("openw:small")
    assert PriceTable.default().cost(mine.spec, mine.pricing, 1000, 1000) == 0.0


def test_a_third_party_plugin_declares_why_it_cannot_be_trained(plugins):
    assert untrainable_reason(load_generator("hosted:big")) == "hosted:big is a hosted model: its weights are not here"


def test_a_third_party_plugin_declares_that_it_can_be_trained(plugins):
    assert untrainable_reason(load_generator("openw:small")) is None
