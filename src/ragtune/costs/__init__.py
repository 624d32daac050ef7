"""The cost model shared by ``eval``, ``decide``, ``advise`` and ``cost``: one dated price table (models, machine
rates), fine-tuning prices, and what a candidate costs from what was measured, each figure labelled with its source."""

from ragtune.costs.candidates import CandidateCost, Training, break_even, by_volume, money
from ragtune.costs.prices import PRICES_AS_OF, ModelPrice, PriceTable

__all__ = ["PRICES_AS_OF", "CandidateCost", "ModelPrice", "PriceTable", "Training", "break_even", "by_volume", "money"]
