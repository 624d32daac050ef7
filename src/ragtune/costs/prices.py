"""What answers cost: a typed price table with dated list prices for Claude models, overridable from a file.

A model's price is per million input and output tokens, plus, for models that run on your own hardware, an
optional hourly rate for the machine (charged for the seconds spent generating). Specs are matched exactly,
then by the longest key that the spec starts with (``anthropic:claude-sonnet-4-5-20250929`` takes the price
of ``anthropic:claude-sonnet-4-5``). How a model is paid for is what its generator declares (``pricing``): a
model paid by machine time (``extractive``, ``local``, ``gguf``, ``tuned`` ...) that the table does not list costs
nothing per token and the machine rate (``machine_usd_per_hour``) for its generating seconds, as ``decide`` prices it; a
model billed per token that the table does not know has no price (``None``), and reports say so.

    >>> table = PriceTable.default()
    >>> table.cost("anthropic:claude-haiku-4-5", PricingBasis.per_token, input_tokens=1000, output_tokens=200)   # 0.002 USD
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.common import validation_message
from ragtune.errors import InputError
from ragtune.generation.base import PricingBasis

PRICES_AS_OF = "2026-11"
"""The month of every default price in the package (this table and the advisor's cost model read it)."""


class ModelPrice(BaseModel):
    """The price of one model: USD per million tokens read and written, and per hour of machine time."""

    model_config = ConfigDict(extra="forbid")

    input_per_mtok: float = Field(0.0, ge=0, description="USD per million input (prompt) tokens.")
    output_per_mtok: float = Field(0.0, ge=0, description="USD per million output (generated) tokens.")
    per_hour: float = Field(0.0, ge=0, description="USD per hour of machine time while generating (own hardware).")
    as_of: str | None = Field(None, description="Date the price was read (ISO 8601).")
    training_per_mtok: float | None = Field(None, ge=0, description="USD per million trained tokens (managed fine-tuning).")
    hosting_per_hour: float | None = Field(None, ge=0, description="USD per hour a provider charges to host the model.")


_DEFAULTS: dict[str, tuple[float, float]] = {
    "anthropic:claude-opus-4-5": (5.0, 25.0),
    "anthropic:claude-opus-4-1": (15.0, 75.0),
    "anthropic:claude-opus-4": (15.0, 75.0),
    "anthropic:claude-sonnet-4-5": (3.0, 15.0),
    "anthropic:claude-sonnet-4": (3.0, 15.0),
    "anthropic:claude-3-7-sonnet": (3.0, 15.0),
    "anthropic:claude-haiku-4-5": (1.0, 5.0),
    "anthropic:claude-3-5-haiku": (0.8, 4.0),
    "anthropic:claude-3-haiku": (0.25, 1.25),
}


class PriceTable(BaseModel):
    """Prices by model spec (or spec prefix), in one currency."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field("USD", description="Currency of every price.")
    as_of: str = Field(PRICES_AS_OF, description="Date of the table (the default list prices' date unless overridden).")
    machine_usd_per_hour: float = Field(0.20, ge=0, description="A serving or training machine without a GPU, per hour "
                                        "(on-demand 4-vCPU cloud instance, as of 2026-11): own-hardware models are charged "
                                        "their measured seconds at this rate.")
    gpu_usd_per_hour: float = Field(2.50, ge=0, description="One data-centre GPU per hour (H100 on-demand, as of 2026-11): "
                                    "training that ran on CUDA is charged its measured seconds at this rate.")
    prices: dict[str, ModelPrice] = Field(default_factory=dict, description="Model spec or spec prefix -> price.")

    @classmethod
    def default(cls) -> "PriceTable":
        """The dated list prices of Claude models; own-hardware models cost nothing per token."""
        return cls(prices={spec: ModelPrice(input_per_mtok=i, output_per_mtok=o, as_of=PRICES_AS_OF)
                           for spec, (i, o) in _DEFAULTS.items()})

    @classmethod
    def load(cls, path: str | Path, base: "PriceTable | None" = None) -> "PriceTable":
        """Override ``base`` (default: the dated defaults) with a JSON or TOML file of the same shape.

        The file may hold ``prices`` (spec -> ``{input_per_mtok, output_per_mtok, per_hour, as_of}``), ``currency``
        and ``as_of``; its prices replace or add to the base's.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such price file")
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
            raise InputError(f"{path}: not a valid {kind} price file: {exc}") from exc
        if not isinstance(data, dict):
            raise InputError(f"{path}: a price file is an object with 'prices'")
        merged: dict[str, Any] = (base or cls.default()).model_dump()
        merged["prices"].update(data.get("prices") or {})
        for key in ("currency", "as_of", "machine_usd_per_hour", "gpu_usd_per_hour"):
            if key in data:
                merged[key] = data[key]
        extra = set(data) - {"prices", "currency", "as_of", "machine_usd_per_hour", "gpu_usd_per_hour"}
        if extra:
            raise InputError(f"{path}: unknown field '{sorted(extra)[0]}' (expected prices, currency, as_of, "
                             "machine_usd_per_hour, gpu_usd_per_hour)")
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            raise InputError(validation_message(exc, str(path), first_only=True)) from exc

    def price_for(self, spec: str, basis: PricingBasis) -> ModelPrice | None:
        """The price of ``spec`` (paid as ``basis`` says): exact key, else the longest key it starts with, else free per
        token at the machine rate for a model paid by machine time, else None."""
        if spec in self.prices:
            return self.prices[spec]
        matches = [key for key in self.prices if spec.startswith(key)]
        if matches:
            return self.prices[max(matches, key=len)]
        return ModelPrice(per_hour=self.machine_usd_per_hour) if basis is PricingBasis.machine_seconds else None

    def charges_tokens(self, spec: str, basis: PricingBasis) -> bool:
        """Whether ``spec`` is billed per token at a known price, rather than by the machine time it runs on."""
        price = self.price_for(spec, basis)
        tokens = price is not None and (price.input_per_mtok > 0 or price.output_per_mtok > 0)
        return basis is PricingBasis.per_token and tokens

    def cost(self, spec: str, basis: PricingBasis, input_tokens: int, output_tokens: int, seconds: float = 0.0) -> float | None:
        """What one call cost in ``currency`` (None when the table has no price for ``spec``)."""
        price = self.price_for(spec, basis)
        if price is None:
            return None
        tokens = (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
        return tokens + price.per_hour * seconds / 3600
