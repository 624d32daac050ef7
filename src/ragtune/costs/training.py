"""What fine-tuning costs: the dated training prices of managed services, and a managed job's cost labelled.

Prices are ``ModelPrice`` entries of the one price table under ``<provider>:ft:<base model>`` keys (a price file
may add or replace them); the dated list prices below fill the keys a table lacks. A cost is labelled
``measured`` (tokens the provider billed × a listed price), ``assumed`` (tokens estimated from the data) or
``unknown`` (no price).
"""

from __future__ import annotations

from typing import Any

from ragtune.costs.prices import ModelPrice, PriceTable

FINE_TUNING_AS_OF = "2025-06"
# key: (training per M tokens, fine-tuned input per M, fine-tuned output per M), list prices read FINE_TUNING_AS_OF
_FINE_TUNING: dict[str, tuple[float, float, float]] = {
    "openai:ft:gpt-4.1-nano": (1.50, 0.20, 0.80),
    "openai:ft:gpt-4.1-mini": (5.00, 0.80, 3.20),
    "openai:ft:gpt-4.1": (25.00, 3.00, 12.00),
    "openai:ft:gpt-4o-mini": (3.00, 0.30, 1.20),
    "openai:ft:gpt-4o": (25.00, 3.75, 15.00),
    # Bedrock bills customization per trained token; a custom model answers only on provisioned throughput, which
    # is priced per model unit and hour by commitment: give hosting_per_hour in a price file to have it counted.
    "bedrock:ft:anthropic.claude-3-haiku": (4.00, 0.0, 0.0),
}


def price_key(provider: str, base_model: str) -> str:
    return f"{provider}:ft:{base_model}"


def fine_tuning_price(table: PriceTable | None, provider: str, base_model: str) -> ModelPrice | None:
    """The table's price for the fine-tuned ``base_model`` (longest matching key), else the dated default, else None."""
    key = price_key(provider, base_model)
    prices = table.prices if table is not None else {}
    matches = [k for k in prices if key.startswith(k) and prices[k].training_per_mtok is not None]
    if matches:
        return prices[max(matches, key=len)]
    defaults = [k for k in _FINE_TUNING if key.startswith(k)]
    if not defaults:
        return None
    training, inp, out = _FINE_TUNING[max(defaults, key=len)]
    return ModelPrice(input_per_mtok=inp, output_per_mtok=out, training_per_mtok=training, as_of=FINE_TUNING_AS_OF)


def job_cost(price: ModelPrice | None, tokens: int | None, billed: bool, key: str,
             hosting_note: str | None = None) -> dict[str, Any]:
    """The card's ``cost``: training (tokens × price, labelled), the fine-tuned model's token price, hosting."""
    known = price is not None and price.training_per_mtok is not None and tokens is not None
    training: dict[str, Any] = {
        "tokens": tokens,
        "tokens_from": "billed by the provider" if billed else "estimated from the data (about 4 characters a token)",
        "usd": round(tokens * price.training_per_mtok / 1e6, 6) if known and price and tokens is not None
        and price.training_per_mtok is not None else None,
        "usd_per_mtok": price.training_per_mtok if price else None, "as_of": price.as_of if price else None,
        "label": ("measured" if billed else "assumed") if known else "unknown",
    }
    if not known:
        training["note"] = f"no training price for '{key}': add training_per_mtok under that key in a price file"
    inference = ({"input_per_mtok": price.input_per_mtok, "output_per_mtok": price.output_per_mtok, "as_of": price.as_of}
                 if price else {"label": "unknown"})
    if price is not None and price.hosting_per_hour is not None:
        hosting: dict[str, Any] = {"usd_per_hour": price.hosting_per_hour, "as_of": price.as_of, "label": "listed",
                                   "note": hosting_note}
    elif hosting_note:
        hosting = {"usd_per_hour": None, "label": "unknown", "note": hosting_note}
    else:
        hosting = {"usd_per_hour": 0.0, "label": "none charged", "note": "the provider charges per token only"}
    return {"key": key, "training": training, "inference": inference, "hosting": hosting}
