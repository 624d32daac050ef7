"""A candidate's cost from what was measured while it answered and trained, each figure labelled with its source.

- Per query (``unit_cost``): the measured input and output tokens at the price table's price for the spec (API
  models), or the measured seconds per answer at the hourly rate of the machine they answered on, CPU or GPU
  (models on your own hardware: ``local``, ``gguf``, ``tuned``, ``extractive``). An API model the table does not
  price (give ``--prices``) has an *unknown* cost: it is never costed by its latency as if it ran here.
- One-off (``training_costs``): the measured training time at the price of the machine it ran on (CPU machine or GPU),
  plus a distilled model's teacher answers.
- Per month: queries x per query, plus the store's hosting for a candidate that retrieves (``ragtune.costs.hosting``)
  and, for tuned candidates, one retraining per content change (``changes_per_month``: measured from the index's
  ingest history, or stated) and any stated hosting fee.
- Over the horizon: one-off + months x monthly; ``break_even`` and ``by_volume`` read the lines that makes.

Each figure is recorded with ``basis`` ``measured``, ``stated``, ``assumed`` or ``unknown`` and its source; the
assumed ones are also listed in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtune.costs.figures import Basis, Figures, stated_or_assumed
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
    managed: dict[str, Any] | None = None  # a provider's job: its card's ``cost``, trained tokens and whether billed

    @classmethod
    def of(cls, record: dict[str, Any]) -> "Training":
        """The training of a kept record of the run's state."""
        return cls(record["ref"], float(record["seconds"]), record["device"], managed=record.get("managed"))

    @property
    def cost_unknown(self) -> bool:
        """Whether a one-off cost is not known (no price for the teacher or for the provider's training)."""
        managed = ((self.managed or {}).get("cost") or {}).get("training") or {}
        return self.teacher_basis == "unknown" or (self.managed is not None and managed.get("usd") is None)


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
    basis: str = ""
    figures: Figures = field(default_factory=Figures)

    @property
    def cost_per_1k_queries(self) -> float | None:
        return None if self.per_query_usd is None else self.per_query_usd * 1000

    @property
    def assumed(self) -> list[str]:
        return self.figures.assumed


Unit = Callable[[float, float, float], float]
"""The cost of one answer from its input tokens, output tokens and milliseconds."""


def _machine(device: str | None) -> str:
    return "one GPU" if device == "cuda" else "a serving machine without a GPU"


def unit_cost(spec: str, pricing: PricingBasis | None, prices: PriceTable, figures: Figures, mean_ms: float,
              device: str | None = None) -> tuple[Unit | None, str]:
    """How one answer of ``spec`` is costed (None: unknown), and the words of it; ``pricing``: how its generator says
    it is paid for (None: not known, so only a listed token price can cost it); ``device``: where a model paid by
    machine time ran (``cuda``: the GPU's rate; anything else or None: the machine's)."""
    own = pricing is PricingBasis.machine_seconds
    basis = pricing or PricingBasis.per_token
    price = prices.price_for(spec, basis, device)
    if not own and price is None:
        figures.add("price_per_mtok", None, Basis.unknown, f"no price for {spec}: give --prices")
        return None, f"unknown: no price for {spec} (give --prices with its price per 1M tokens)"
    if price is not None and prices.charges_tokens(spec, basis):
        when = price.as_of or prices.as_of
        figures.add(f"prices.{spec}", f"{price.input_per_mtok:g}/{price.output_per_mtok:g} per 1M in/out",
                    stated_or_assumed(prices.stated_price(spec)),
                    f"{'price file' if prices.stated_price(spec) else 'list price'} as of {when}")
        words = (f"measured tokens × {spec} list price ({price.input_per_mtok:g}/{price.output_per_mtok:g} "
                 f"{prices.currency} per 1M in/out, as of {when})")
        return (lambda i, o, ms: (i * price.input_per_mtok + o * price.output_per_mtok) / 1e6), words
    if not own:  # a served model priced at 0 per token: what its provider charges is not known here
        figures.add("price_per_mtok", 0, Basis.assumed, f"the price table gives {spec} no per-token price")
        return (lambda i, o, ms: 0.0), f"{spec}: priced at 0 per token by the price table"
    name, rate = prices.machine_rate(device)
    where = "where the answers ran was not recorded" if device is None else f"the answers were timed on {device}"
    figures.add(f"prices.{name}", rate, stated_or_assumed(prices.stated(name)),
                f"{_machine(device)}, on-demand, as of {prices.as_of}; {where}")
    return ((lambda i, o, ms: ms / 1000 * rate / 3600),
            f"measured {mean_ms:,.0f} ms per answer × {rate:g} {prices.currency}/hour for {_machine(device)} "
            f"({'stated' if prices.stated(name) else 'assumed'})")


def changes_per_month(stated: float | None, index: Any) -> tuple[float, str]:
    """Content changes per month, each one retraining of a tuned candidate, and where the figure came from: ``stated``,
    else measured from the ingest history of ``index`` (an advisor's ``IndexFacts``; assumed when that history spans
    under a month), else none."""
    if stated is not None:
        return stated, "stated"
    if index is None:
        return 0.0, "no index: no content changes measured"
    if index.observed_days < 30:
        return index.change_cycles_per_month, (f"assumed: index '{index.index}' has only {index.observed_days:.0f} days "
                                               "of ingest history, under a month")
    return index.change_cycles_per_month, f"measured: index '{index.index}' ingest history"


def training_costs(training: Training, prices: PriceTable, hosting: float | None, changes_per_month: float,
                   changes_source: str, figures: Figures) -> tuple[float, float]:
    """The one-off cost of a tuned candidate's training (and of its teacher's answers, when distilled) and its fixed
    monthly cost (retrainings, hosting); a provider's job is costed from its card (``provider_training``)."""
    hosted = 0.0
    if training.managed is not None:
        one_off, hosted = provider_training(training, figures)
    else:
        name, rate = prices.machine_rate(training.device)
        one_off = training.seconds / 3600 * rate
        figures.add("training_s", round(training.seconds, 1), Basis.measured, f"training {training.ref}")
        figures.add(f"prices.{name}", rate, stated_or_assumed(prices.stated(name)),
                    f"the measured {training.seconds:,.0f} s of training at the rate of its machine ({training.device}), "
                    f"as of {prices.as_of}")
    if training.teacher_basis is not None:
        figures.add("teacher_usd", training.teacher_usd, training.teacher_basis, training.teacher_source)
        one_off += training.teacher_usd or 0.0
    fixed = changes_per_month * one_off
    figures.add("retrainings_per_month", changes_per_month,
                Basis.stated if changes_source == "stated" else Basis.measured if changes_source.startswith("measured")
                else Basis.assumed, f"one retraining per content change ({changes_source})")
    if hosting:
        fixed += hosting
        figures.add("tuned_hosting_usd_per_month", hosting, Basis.stated, "--tuned-hosting")
    elif training.managed is not None:
        fixed += hosted  # the provider's hosting figure is in ``figures`` already
    else:
        figures.add("tuned_hosting_usd_per_month", 0, Basis.assumed,
                    "the adapter runs on the serving machine, paid by the second")
    return one_off, fixed


HOURS_PER_MONTH = 730


def provider_training(training: Training, figures: Figures) -> tuple[float, float]:
    """The one-off training cost and the monthly hosting of a provider's job, from its card's ``cost``: trained tokens
    (billed: measured; estimated from the data: assumed) × the dated training price, and the provider's hosting."""
    managed = training.managed or {}
    cost = managed.get("cost") or {}
    job, tokens, key = managed.get("job_id"), managed.get("trained_tokens"), cost.get("key")
    train, hosting = cost.get("training") or {}, cost.get("hosting") or {}
    figures.add("training_s", round(training.seconds, 1), Basis.measured,
                f"following {managed.get('provider')} job {job} to its end (the provider's machines are billed by token)")
    figures.add("trained_tokens", tokens, Basis.measured if managed.get("billed") else Basis.assumed,
                f"{train.get('tokens_from', 'trained tokens')} (job {job})")
    if train.get("usd_per_mtok") is not None:
        figures.add(f"prices.{key}", f"{train['usd_per_mtok']:g} per 1M trained tokens", Basis.assumed,
                    f"the provider's list training price as of {train.get('as_of')}")
        source = f"{tokens:,} trained tokens × {train['usd_per_mtok']:g} per 1M (as of {train.get('as_of')})"
    else:
        source = train.get("note", f"no training price for '{key}'")
    figures.add("training_usd", train.get("usd"), train.get("label", "unknown"), source)
    per_hour = hosting.get("usd_per_hour")
    monthly = per_hour * HOURS_PER_MONTH if per_hour else 0.0
    hours = f"{per_hour:g} per hour × {HOURS_PER_MONTH} hours; " if per_hour else ""
    figures.add("tuned_hosting_usd_per_month", None if per_hour is None else monthly,
                Basis.unknown if per_hour is None else Basis.assumed, f"{managed.get('provider')}: {hours}{hosting.get('note')}")
    return float(train.get("usd") or 0.0), monthly


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
