"""What answers cost: a typed price table with dated list prices for Claude models, overridable from a file.

A model's price is per million input and output tokens, plus, for models that run on your own hardware, an
optional hourly rate for the machine (charged for the seconds an answer took). The table also holds the machine
rates (a machine without a GPU, one GPU: ``machine_rate`` picks by where a model ran) and the store's hosting
(``ragtune.costs.hosting``). ``stated`` says which figures a price file gave, so each figure is labelled ``stated``
or ``assumed`` (a dated default). Specs are matched exactly,
then by the longest key that the spec starts with (``anthropic:claude-sonnet-4-5-20250929`` takes the price
of ``anthropic:claude-sonnet-4-5``). How a model is paid for is what its generator declares (``pricing``): a
model paid by machine time (``extractive``, ``local``, ``gguf``, ``tuned`` ...) that the table does not list costs
nothing per token and the rate of the machine it ran on for the seconds of its answers, in ``eval`` as in ``decide``; a
model billed per token that the table does not know has no price (``None``), and reports say so.

    >>> table = PriceTable.default()
    >>> table.cost("anthropic:claude-haiku-4-5", PricingBasis.per_token, input_tokens=1000, output_tokens=200)   # 0.002 USD
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

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
                                    "training or answers that ran on CUDA are charged their measured seconds at this rate.")
    store_server_usd_per_month: float = Field(50.0, ge=0, description="A store served apart from the answering machine "
                                              "(PostgreSQL with pgvector, a managed vector database): its plan minimum per "
                                              "month (managed serverless tier, as of 2026-11).")
    store_embedded_usd_per_month: float = Field(0.0, ge=0, description="The embedded store (LanceDB in the workspace) per "
                                                "month besides its storage: it runs in the serving process.")
    store_usd_per_gb_month: float = Field(0.33, ge=0, description="Store storage per GB-month (as of 2026-11).")
    store_overhead_bytes: int = Field(200, ge=0, description="Stored bytes per chunk besides its vector and text (ids, "
                                      "metadata, index).")
    prices: dict[str, ModelPrice] = Field(default_factory=dict, description="Model spec or spec prefix -> price.")
    _stated: set[str] = PrivateAttr(default_factory=set)

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
        base = base or cls.default()
        merged: dict[str, Any] = base.model_dump()
        merged["prices"].update(data.get("prices") or {})
        fields = [k for k in cls.model_fields if k != "prices"]
        extra = set(data) - {"prices", *fields}
        if extra:
            raise InputError(f"{path}: unknown field '{sorted(extra)[0]}' (expected prices, {', '.join(fields)})")
        merged.update({k: data[k] for k in fields if k in data})
        try:
            table = cls.model_validate(merged)
        except ValidationError as exc:
            raise InputError(validation_message(exc, str(path), first_only=True)) from exc
        table._stated = base._stated | {k for k in data if k != "prices"} | {f"prices.{k}" for k in data.get("prices") or {}}
        return table

    def stated(self, field: str) -> bool:
        """Whether a price file (or the caller, through ``with_stated``) gave ``field``, rather than its dated default."""
        return field in self._stated

    def stated_price(self, spec: str) -> bool:
        """Whether the price ``spec`` is charged at (its exact key, else the longest key it starts with) is stated."""
        keys = [key for key in self.prices if spec == key or spec.startswith(key)]
        return bool(keys) and self.stated(f"prices.{spec if spec in self.prices else max(keys, key=len)}")

    def with_stated(self, **values: Any) -> "PriceTable":
        """A copy with ``values`` set and counted as stated (values of None are left as they are)."""
        given = {k: v for k, v in values.items() if v is not None}
        table = self.model_copy(update=given)
        table._stated = self._stated | set(given)
        return table

    def rates(self) -> dict[str, Any]:
        """The table's date, currency, machine rates and store prices (not the model prices), and which are stated."""
        out = self.model_dump(mode="json", exclude={"prices"})
        return {**out, "stated": sorted(k for k in out if self.stated(k))}

    def machine_rate(self, device: str | None) -> tuple[str, float]:
        """The hourly rate of the machine a model ran on, and its field: the GPU's for ``cuda``, else the machine's."""
        field = "gpu_usd_per_hour" if device == "cuda" else "machine_usd_per_hour"
        return field, float(getattr(self, field))

    def price_for(self, spec: str, basis: PricingBasis, device: str | None = None) -> ModelPrice | None:
        """The price of ``spec`` (paid as ``basis`` says): exact key, else the longest key it starts with, else free per
        token at the rate of the machine it ran on (``device``) for a model paid by machine time, else None."""
        if spec in self.prices:
            return self.prices[spec]
        matches = [key for key in self.prices if spec.startswith(key)]
        if matches:
            return self.prices[max(matches, key=len)]
        return ModelPrice(per_hour=self.machine_rate(device)[1]) if basis is PricingBasis.machine_seconds else None

    def charges_tokens(self, spec: str, basis: PricingBasis) -> bool:
        """Whether ``spec`` is billed per token at a known price, rather than by the machine time it runs on."""
        price = self.price_for(spec, basis)
        tokens = price is not None and (price.input_per_mtok > 0 or price.output_per_mtok > 0)
        return basis is PricingBasis.per_token and tokens

    def cost(self, spec: str, basis: PricingBasis, input_tokens: float, output_tokens: float, seconds: float = 0.0,
             device: str | None = None) -> float | None:
        """What one call cost in ``currency`` (None when the table has no price for ``spec``): its tokens at the token
        price, and ``seconds`` at the hourly rate of a model run on your own machine (``device``: where it ran)."""
        price = self.price_for(spec, basis, device)
        if price is None:
            return None
        tokens = (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
        return tokens + price.per_hour * seconds / 3600
