"""A candidate's cost from what was measured while it answered and trained, each figure labelled with its source.

- Per query (``unit_cost``): the measured input and output tokens at the price table's price for the spec (API
  models), or the measured seconds per answer at the serving machine's hourly price (models on your own hardware:
  ``local``, ``gguf``, ``tuned``, ``extractive``). An API model the table does not price (give ``--prices``) has an
  *unknown* cost: it is never costed by its latency as if it ran here.
- One-off (``training_costs``): the measured training time at the price of the machine it ran on (CPU machine or GPU),
  plus a distilled model's teacher answers.
- Per month: queries x per query, plus, for tuned candidates, one retraining per content change (changes per
  month measured from the index's ingest history, or stated) and any stated hosting fee.
- Over the horizon: one-off + months x monthly; ``break_even`` and ``by_volume`` read the lines that makes.

Each figure is recorded with ``basis`` ``measured``, ``stated``, ``assumed`` or ``unknown`` and its source; the
assumed ones are also listed in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtune.common import format_money
from ragtune.costs.prices import PriceTable
from ragtune.generation.base import PricingBasis


@dataclass
class Training:
    """A measured training run: its wall time and where it ran."""

    ref: str
    seconds: float
    device: str
    teacher_usd: float | None = None  # a distilled model: what the teacher's answers cost (None: unknown)
    teacher_basis: str | None = None  # measured, assumed or unknown; None: no teacher
    teacher_source: str = ""


@dataclass
class CandidateCost:
    """The measured usage and the money of one candidate (money None: unknown, no price for the model)."""

    n: int
    latency_ms_p50: float
    latency_ms_mean: float
    input_tokens: float
    output_tokens: float
    per_query_usd: float | None
    one_off_usd: float
    monthly_fixed_usd: float
    monthly_usd: float | None
    total_usd: float | None
    assumed: list[str] = field(default_factory=list)
    basis: str = ""
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def cost_per_1k_queries(self) -> float | None:
        return None if self.per_query_usd is None else self.per_query_usd * 1000


def money(x: float | None, currency: str = "USD", per: str = "") -> str:
    """An amount with its unit and sensible digits (see ``ragtune.common.format_money``); ``unknown`` for None."""
    return format_money(x, currency, per)


def record_figure(figures: dict[str, dict[str, Any]], assumed: list[str], name: str, value: Any, basis: str,
                  source: str) -> None:
    """Record one figure with its basis and source (an assumed one is also listed in words in ``assumed``)."""
    figures[name] = {"value": value, "basis": basis, "source": source}
    if basis == "assumed":
        assumed.append(f"{name} = {value}: {source}")


Unit = Callable[[float, float, float], float]
"""The cost of one answer from its input tokens, output tokens and milliseconds."""


def unit_cost(spec: str, pricing: PricingBasis | None, prices: PriceTable, figures: dict[str, dict[str, Any]],
              assumed: list[str], mean_ms: float) -> tuple[Unit | None, str]:
    """How one answer of ``spec`` is costed (None: unknown), and the words of it; ``pricing``: how its generator says
    it is paid for (None: not known, so only a listed token price can cost it)."""
    own = pricing is PricingBasis.machine_seconds
    basis = pricing or PricingBasis.per_token
    price = prices.price_for(spec, basis)
    if not own and price is None:
        record_figure(figures, assumed, "price_per_mtok", None, "unknown", f"no price for {spec}: give --prices")
        return None, f"unknown: no price for {spec} (give --prices with its price per 1M tokens)"
    if price is not None and prices.charges_tokens(spec, basis):
        when = price.as_of or prices.as_of
        record_figure(figures, assumed, f"prices.{spec}", f"{price.input_per_mtok:g}/{price.output_per_mtok:g} per 1M in/out",
                      "assumed", f"list price as of {when}")
        words = (f"measured tokens × {spec} list price ({price.input_per_mtok:g}/{price.output_per_mtok:g} "
                 f"{prices.currency} per 1M in/out, as of {when})")
        return (lambda i, o, ms: (i * price.input_per_mtok + o * price.output_per_mtok) / 1e6), words
    if not own:  # a served model priced at 0 per token: what its provider charges is not known here
        record_figure(figures, assumed, "price_per_mtok", 0, "assumed", f"the price table gives {spec} no per-token price")
        return (lambda i, o, ms: 0.0), f"{spec}: priced at 0 per token by the price table"
    rate = prices.machine_usd_per_hour
    record_figure(figures, assumed, "prices.machine_usd_per_hour", rate, "assumed",
                  f"serving machine without a GPU, on-demand, as of {prices.as_of}; the answers were timed on this machine")
    return ((lambda i, o, ms: ms / 1000 * rate / 3600),
            f"measured {mean_ms:,.0f} ms per answer × {rate:g} {prices.currency}/hour serving machine (assumed)")


def training_costs(training: Training, prices: PriceTable, hosting: float | None, changes_per_month: float,
                   changes_source: str, figures: dict[str, dict[str, Any]], assumed: list[str]) -> tuple[float, float]:
    """The one-off cost of a tuned candidate's training (and of its teacher's answers, when distilled) and its fixed
    monthly cost (retrainings, hosting)."""
    rate = prices.gpu_usd_per_hour if training.device == "cuda" else prices.machine_usd_per_hour
    one_off = training.seconds / 3600 * rate
    record_figure(figures, assumed, "training_s", round(training.seconds, 1), "measured", f"training {training.ref}")
    record_figure(figures, assumed, f"prices.{'gpu' if training.device == 'cuda' else 'machine'}_usd_per_hour", rate,
                  "assumed", f"the measured {training.seconds:,.0f} s of training at the rate of its machine "
            f"({training.device}), as of {prices.as_of}")
    if training.teacher_basis is not None:
        record_figure(figures, assumed, "teacher_usd", training.teacher_usd, training.teacher_basis, training.teacher_source)
        one_off += training.teacher_usd or 0.0
    fixed = changes_per_month * one_off
    record_figure(figures, assumed, "retrainings_per_month", changes_per_month,
                  "stated" if changes_source == "stated" else "measured" if changes_source.startswith("measured") else "assumed",
                  f"one retraining per content change ({changes_source})")
    if hosting:
        fixed += hosting
        record_figure(figures, assumed, "tuned_hosting_usd_per_month", hosting, "stated", "--tuned-hosting")
    else:
        record_figure(figures, assumed, "tuned_hosting_usd_per_month", 0, "assumed",
                      "the adapter runs on the serving machine, paid by the second")
    return one_off, fixed


def break_even(pick: str, costs: dict[str, CandidateCost], months: int, candidates: Sequence[str]) -> list[dict[str, Any]]:
    """For each of ``candidates`` besides ``pick``: the monthly volume at which the two cost the same over the horizon.

    Costs are linear in the volume Q: ``one_off + months * (fixed + per_query * Q)``; the crossing volume is where the
    two lines meet (None when they never do at a positive volume).
    """
    out: list[dict[str, Any]] = []
    if pick not in costs:
        return out
    a = costs[pick]
    for other in candidates:
        if other == pick or other not in costs:
            continue
        b = costs[other]
        if a.per_query_usd is None or b.per_query_usd is None:
            out.append({"candidate": other, "than": pick, "queries_per_month": None, "cheaper_above": None,
                        "unknown": "no price for one of them"})
            continue
        slope = months * (a.per_query_usd - b.per_query_usd)
        gap = (b.one_off_usd + months * b.monthly_fixed_usd) - (a.one_off_usd + months * a.monthly_fixed_usd)
        volume = gap / slope if slope else None
        out.append({"candidate": other, "than": pick,
                    "queries_per_month": round(volume, 1) if volume is not None and volume > 0 else None,
                    "cheaper_above": other if slope > 0 else pick if slope < 0 else None})
    return out


VOLUME_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def by_volume(costs: dict[str, CandidateCost], candidates: Sequence[str], queries_per_month: float, months: int,
              factors: Sequence[float] = VOLUME_FACTORS) -> list[dict[str, Any]]:
    """The cheapest of ``candidates`` (those as good) over the horizon at each of ``factors`` x the stated volume
    (those without a known price left out): ``[{"queries_per_month", "cheapest", "total_usd"}]``."""
    out = []
    unit = {c: costs[c].per_query_usd for c in candidates if c in costs}
    priced = {c: u for c, u in unit.items() if u is not None}
    for f in factors:
        q = queries_per_month * f
        totals = {c: costs[c].one_off_usd + months * (costs[c].monthly_fixed_usd + u * q) for c, u in priced.items()}
        best = min(totals, key=lambda c: totals[c]) if totals else None
        out.append({"factor": f, "queries_per_month": q, "cheapest": best,
                    "total_usd": None if best is None else round(totals[best], 6)})
    return out
