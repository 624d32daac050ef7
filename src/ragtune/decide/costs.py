"""What each candidate costs, from what was measured while it answered and trained.

- Per query: the measured input and output tokens at the price table's price for the spec (API models), or
  the measured seconds per answer at the serving machine's hourly price (models on your own hardware:
  ``local``, ``gguf``, ``tuned``, ``extractive``, and served models the table does not price).
- One-off: the measured training time at the price of the machine it ran on (CPU machine or GPU).
- Per month: queries x per query, plus, for tuned candidates, one retraining per content change (changes per
  month measured from the index's ingest history, or stated) and any stated hosting fee.
- The cost that ranks candidates is the total over the horizon: one-off + months x monthly.

Every figure that was not measured is listed in ``assumed`` with the field it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ragtune.decide.config import Candidate, DecideConfig
from ragtune.evaluation.stats import percentile
from ragtune.generation.base import PricingBasis

@dataclass
class Training:
    """A measured training run: its wall time and where it ran."""

    ref: str
    seconds: float
    device: str


@dataclass
class CandidateCost:
    """The measured usage and the money of one candidate."""

    n: int
    latency_ms_p50: float
    latency_ms_mean: float
    input_tokens: float
    output_tokens: float
    per_query_usd: float
    one_off_usd: float
    monthly_fixed_usd: float
    monthly_usd: float
    total_usd: float
    assumed: list[str] = field(default_factory=list)
    basis: str = ""

    @property
    def cost_per_1k_queries(self) -> float:
        return self.per_query_usd * 1000


def money(x: float) -> str:
    """An amount with cents, or four significant digits below one unit (a query costs fractions of a cent)."""
    return f"{x:,.2f}" if abs(x) >= 1 or x == 0 else f"{x:.4g}"


def candidate_cost(candidate: Candidate, spec: str, pricing: PricingBasis, rows: Sequence[dict[str, Any]], config: DecideConfig,
                   training: Training | None, changes_per_month: float, changes_source: str) -> CandidateCost:
    """The cost of one candidate from its answer rows and its training (see the module docstring); ``pricing``: how
    the model of ``spec`` is paid for, as its generator declares."""
    prices = config.prices
    answered = [r for r in rows if r.get("answer") is not None]
    latencies = [float(r.get("latency_ms", 0.0)) for r in answered]
    n_in = sum(float(r.get("input_tokens", 0.0)) for r in answered) / max(1, len(answered))
    n_out = sum(float(r.get("output_tokens", 0.0)) for r in answered) / max(1, len(answered))
    mean_ms = sum(latencies) / len(latencies) if latencies else 0.0
    assumed: list[str] = []
    price = prices.price_for(spec, pricing)
    if price is not None and prices.charges_tokens(spec, pricing):
        per_query = (n_in * price.input_per_mtok + n_out * price.output_per_mtok) / 1e6
        basis = (f"measured tokens × {spec} list price ({price.input_per_mtok:g}/{price.output_per_mtok:g} "
                 f"{prices.currency} per 1M in/out, as of {price.as_of or prices.as_of})")
        assumed.append(f"prices.{spec}: list price as of {price.as_of or prices.as_of}")
    else:
        per_query = mean_ms / 1000 * prices.machine_usd_per_hour / 3600
        basis = (f"measured {mean_ms:,.0f} ms per answer × {prices.machine_usd_per_hour:g} {prices.currency}/hour "
                 "serving machine")
        assumed.append(f"prices.machine_usd_per_hour = {prices.machine_usd_per_hour:g} (serving machine, as of {prices.as_of}); "
                       "the answers were timed on this machine")
    one_off = 0.0
    fixed = 0.0
    if candidate.tuned and training is not None:
        rate = prices.gpu_usd_per_hour if training.device == "cuda" else prices.machine_usd_per_hour
        one_off = training.seconds / 3600 * rate
        assumed.append(f"prices.{'gpu' if training.device == 'cuda' else 'machine'}_usd_per_hour = {rate:g}: "
                       f"the measured {training.seconds:,.0f} s of training ({training.ref}) at that rate")
        fixed += changes_per_month * one_off
        if changes_per_month:
            assumed.append(f"one retraining per content change: {changes_per_month:g} changes/month ({changes_source})")
        hosting = config.tuned_hosting_usd_per_month
        if hosting:
            fixed += hosting
        else:
            assumed.append("tuned_hosting_usd_per_month = 0: the adapter runs on the serving machine, paid by the second")
    monthly = fixed + per_query * config.queries_per_month
    return CandidateCost(n=len(answered), latency_ms_p50=percentile(latencies, 50) if latencies else 0.0,
                         latency_ms_mean=mean_ms, input_tokens=n_in, output_tokens=n_out, per_query_usd=per_query,
                         one_off_usd=one_off, monthly_fixed_usd=fixed, monthly_usd=monthly,
                         total_usd=one_off + config.months * monthly, assumed=assumed, basis=basis)


def break_even(pick: str, costs: dict[str, CandidateCost], months: int, candidates: Sequence[str]) -> list[dict[str, Any]]:
    """For each of ``candidates`` besides ``pick``: the monthly volume at which the two cost the same over the horizon.

    Costs are linear in the volume Q: ``one_off + months * (fixed + per_query * Q)``; the crossing volume is where the
    two lines meet (None when they never do at a positive volume).
    """
    out = []
    a = costs[pick]
    for other in candidates:
        if other == pick or other not in costs:
            continue
        b = costs[other]
        slope = months * (a.per_query_usd - b.per_query_usd)
        gap = (b.one_off_usd + months * b.monthly_fixed_usd) - (a.one_off_usd + months * a.monthly_fixed_usd)
        volume = gap / slope if slope else None
        out.append({"candidate": other, "than": pick,
                    "queries_per_month": round(volume, 1) if volume is not None and volume > 0 else None,
                    "cheaper_above": other if slope > 0 else pick if slope < 0 else None})
    return out
