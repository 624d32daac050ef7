"""The cost model shared by ``eval``, ``decide``, ``advise`` and ``cost``: one dated price table (models, machine
rates, store prices), the store's hosting, fine-tuning prices, what a candidate costs from what was measured and what
measuring cost (the judge), each figure labelled with what it rests on and its source."""

from ragtune.costs.candidates import CandidateCost, Training, break_even, by_volume
from ragtune.costs.figures import Basis, Figure, Figures
from ragtune.costs.hosting import EMBEDDED, SERVER, store_hosting
from ragtune.costs.measurement import measurement_cost
from ragtune.costs.prices import PRICES_AS_OF, ModelPrice, PriceTable

__all__ = ["EMBEDDED", "PRICES_AS_OF", "SERVER", "Basis", "CandidateCost", "Figure", "Figures", "ModelPrice", "PriceTable",
           "Training", "break_even", "by_volume", "measurement_cost", "store_hosting"]
