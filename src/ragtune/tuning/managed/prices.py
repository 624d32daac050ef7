"""The per-token price of a managed version's fine-tuned model, read from its model card into the price table.

What a managed job costs (training prices, the labelled job cost) is in ``ragtune.costs.training``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ragtune.costs.prices import ModelPrice, PriceTable
from ragtune.errors import RagtuneError
from ragtune.components.registry import ModelCard


def version_price(card: ModelCard) -> ModelPrice | None:
    """The per-token price of a managed version's fine-tuned model, from its card's ``cost`` (None: not managed, or the
    card gives no price)."""
    return inference_price(card.cost or {}) if card.kind == "managed" else None


def inference_price(cost: dict[str, Any]) -> ModelPrice | None:
    """The fine-tuned model's per-token price in a card's ``cost`` (``job_cost``), or None when it gives none."""
    inference = cost.get("inference") or {}
    if "input_per_mtok" not in inference or "output_per_mtok" not in inference:
        return None
    return ModelPrice(input_per_mtok=inference["input_per_mtok"], output_per_mtok=inference["output_per_mtok"],
                      as_of=inference.get("as_of"))


def with_version_prices(table: PriceTable, specs: Iterable[str | None], card_of: Callable[[str], ModelCard]) -> PriceTable:
    """``table`` with the card's per-token price of each managed version among ``specs`` (``tuned:NAME[@vN]``; others
    are passed over), under the spec and under its exact version; a price the table already gives is kept."""
    added: dict[str, ModelPrice] = {}
    for spec in specs:
        if not spec or not spec.startswith("tuned:"):
            continue
        try:
            card = card_of(spec.removeprefix("tuned:"))
        except RagtuneError:
            continue  # an unknown version fails where it is used, with its own message
        price = version_price(card)
        for key in (spec, f"tuned:{card.ref}"):
            if price is not None and key not in table.prices:
                added[key] = price
    return table.model_copy(update={"prices": {**table.prices, **added}}) if added else table
