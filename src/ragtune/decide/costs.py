"""What each candidate costs, from what was measured while it answered and trained, with every figure labelled.

- Per query: the measured input and output tokens at the price table's price for the spec (API models), or
  the measured seconds per answer at the serving machine's hourly price (models on your own hardware:
  ``local``, ``gguf``, ``tuned``, ``extractive``). An API model the table does not price (give ``--prices``) has an
  *unknown* cost: it is never costed by its latency as if it ran here.
- Failed answers are costed like the others: their time and tokens were spent.
- One-off: the measured training time at the price of the machine it ran on (CPU machine or GPU); a provider's
  job: its trained tokens (billed: measured; estimated: assumed) at the dated training price, from its card.
- Per month: queries x per query, plus, for tuned candidates, one retraining per content change (changes per
  month measured from the index's ingest history, or stated) and any stated hosting fee (a provider's hosting
  where it charges for it).
- The cost that ranks candidates is the total over the horizon: one-off + months x monthly.

``figures`` holds every figure with ``basis`` ``measured``, ``stated`` or ``assumed`` and its source; ``assumed``
lists the assumed ones in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ragtune.common import format_money
from ragtune.decide.config import Candidate, DecideConfig
from ragtune.evaluation.stats import mean_ci95, percentile
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
    assumed: list[str] = field(default_factory=list)
    basis: str = ""
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def cost_per_1k_queries(self) -> float | None:
        return None if self.per_query_usd is None else self.per_query_usd * 1000


def money(x: float | None, currency: str = "USD", per: str = "") -> str:
    """An amount with its unit and sensible digits (see ``ragtune.common.format_money``); ``unknown`` for None."""
    return format_money(x, currency, per)


def _figure(figures: dict[str, dict[str, Any]], assumed: list[str], name: str, value: Any, basis: str, source: str) -> None:
    figures[name] = {"value": value, "basis": basis, "source": source}
    if basis == "assumed":
        assumed.append(f"{name} = {value}: {source}")


Unit = Callable[[float, float, float], float]
"""The cost of one answer from its input tokens, output tokens and milliseconds."""


def _unit_cost(spec: str, pricing: PricingBasis | None, config: DecideConfig, figures: dict[str, dict[str, Any]],
               assumed: list[str], mean_ms: float) -> tuple[Unit | None, str]:
    """How one answer of ``spec`` is costed (None: unknown), and the words of it; ``pricing``: how its generator says
    it is paid for (None: not known, so only a listed token price can cost it)."""
    prices = config.prices
    own = pricing is PricingBasis.machine_seconds
    basis = pricing or PricingBasis.per_token
    price = prices.price_for(spec, basis)
    if not own and price is None:
        _figure(figures, assumed, "price_per_mtok", None, "unknown", f"no price for {spec}: give --prices")
        return None, f"unknown: no price for {spec} (give --prices with its price per 1M tokens)"
    if price is not None and prices.charges_tokens(spec, basis):
        when = price.as_of or prices.as_of
        _figure(figures, assumed, f"prices.{spec}", f"{price.input_per_mtok:g}/{price.output_per_mtok:g} per 1M in/out",
                "assumed", f"list price as of {when}")
        words = (f"measured tokens × {spec} list price ({price.input_per_mtok:g}/{price.output_per_mtok:g} "
                 f"{prices.currency} per 1M in/out, as of {when})")
        return (lambda i, o, ms: (i * price.input_per_mtok + o * price.output_per_mtok) / 1e6), words
    if not own:  # a served model priced at 0 per token: what its provider charges is not known here
        _figure(figures, assumed, "price_per_mtok", 0, "assumed", f"the price table gives {spec} no per-token price")
        return (lambda i, o, ms: 0.0), f"{spec}: priced at 0 per token by the price table"
    rate = prices.machine_usd_per_hour
    _figure(figures, assumed, "prices.machine_usd_per_hour", rate, "assumed",
            f"serving machine without a GPU, on-demand, as of {prices.as_of}; the answers were timed on this machine")
    return ((lambda i, o, ms: ms / 1000 * rate / 3600),
            f"measured {mean_ms:,.0f} ms per answer × {rate:g} {prices.currency}/hour serving machine (assumed)")


def _training_costs(training: Training, config: DecideConfig, changes_per_month: float, changes_source: str,
                    figures: dict[str, dict[str, Any]], assumed: list[str]) -> tuple[float, float]:
    """The one-off cost of a tuned candidate's training (and of its teacher's answers, when distilled) and its fixed
    monthly cost (retrainings, hosting)."""
    prices = config.prices
    hosted = 0.0
    if training.managed is not None:
        one_off, hosted = _provider_training(training, figures, assumed)
    else:
        rate = prices.gpu_usd_per_hour if training.device == "cuda" else prices.machine_usd_per_hour
        one_off = training.seconds / 3600 * rate
        _figure(figures, assumed, "training_s", round(training.seconds, 1), "measured", f"training {training.ref}")
        _figure(figures, assumed, f"prices.{'gpu' if training.device == 'cuda' else 'machine'}_usd_per_hour", rate,
                "assumed", f"the measured {training.seconds:,.0f} s of training at the rate of its machine "
                f"({training.device}), as of {prices.as_of}")
    if training.teacher_basis is not None:
        _figure(figures, assumed, "teacher_usd", training.teacher_usd, training.teacher_basis, training.teacher_source)
        one_off += training.teacher_usd or 0.0
    fixed = changes_per_month * one_off
    _figure(figures, assumed, "retrainings_per_month", changes_per_month,
            "stated" if changes_source == "stated" else "measured" if changes_source.startswith("measured") else "assumed",
            f"one retraining per content change ({changes_source})")
    hosting = config.tuned_hosting_usd_per_month
    if hosting:
        fixed += hosting
        _figure(figures, assumed, "tuned_hosting_usd_per_month", hosting, "stated", "--tuned-hosting")
    elif training.managed is not None:
        fixed += hosted  # the provider's hosting figure is in ``figures`` already
    else:
        _figure(figures, assumed, "tuned_hosting_usd_per_month", 0, "assumed",
                "the adapter runs on the serving machine, paid by the second")
    return one_off, fixed


HOURS_PER_MONTH = 730


def _provider_training(training: Training, figures: dict[str, dict[str, Any]], assumed: list[str]) -> tuple[float, float]:
    """The one-off training cost and the monthly hosting of a provider's job, from its card's ``cost``: trained tokens
    (billed: measured; estimated from the data: assumed) × the dated training price, and the provider's hosting."""
    managed = training.managed or {}
    cost = managed.get("cost") or {}
    job, tokens, key = managed.get("job_id"), managed.get("trained_tokens"), cost.get("key")
    train, hosting = cost.get("training") or {}, cost.get("hosting") or {}
    _figure(figures, assumed, "training_s", round(training.seconds, 1), "measured",
            f"following {managed.get('provider')} job {job} to its end (the provider's machines are billed by token)")
    _figure(figures, assumed, "trained_tokens", tokens, "measured" if managed.get("billed") else "assumed",
            f"{train.get('tokens_from', 'trained tokens')} (job {job})")
    if train.get("usd_per_mtok") is not None:
        _figure(figures, assumed, f"prices.{key}", f"{train['usd_per_mtok']:g} per 1M trained tokens", "assumed",
                f"the provider's list training price as of {train.get('as_of')}")
        source = f"{tokens:,} trained tokens × {train['usd_per_mtok']:g} per 1M (as of {train.get('as_of')})"
    else:
        source = train.get("note", f"no training price for '{key}'")
    _figure(figures, assumed, "training_usd", train.get("usd"), train.get("label", "unknown"), source)
    per_hour = hosting.get("usd_per_hour")
    monthly = per_hour * HOURS_PER_MONTH if per_hour else 0.0
    hours = f"{per_hour:g} per hour × {HOURS_PER_MONTH} hours; " if per_hour else ""
    _figure(figures, assumed, "tuned_hosting_usd_per_month", None if per_hour is None else monthly,
            "unknown" if per_hour is None else "assumed", f"{managed.get('provider')}: {hours}{hosting.get('note')}")
    return float(train.get("usd") or 0.0), monthly


def candidate_cost(candidate: Candidate | str, spec: str, pricing: PricingBasis | None, rows: Sequence[dict[str, Any]],
                   config: DecideConfig, training: Training | None, changes_per_month: float,
                   changes_source: str) -> CandidateCost:
    """The cost of one candidate from its answer rows (failed ones too) and its training (see the module docstring);
    ``pricing``: how the model of ``spec`` is paid for, as its generator declares (None: not known)."""
    candidate = Candidate(candidate)  # a candidate beyond the five is costed as the one it acts as
    latencies = [float(r["latency_ms"]) for r in rows if isinstance(r.get("latency_ms"), (int, float))]
    n_in = sum(float(r.get("input_tokens") or 0.0) for r in rows) / max(1, len(rows))
    n_out = sum(float(r.get("output_tokens") or 0.0) for r in rows) / max(1, len(rows))
    mean_ms = sum(latencies) / len(latencies) if latencies else 0.0
    assumed: list[str] = []
    figures: dict[str, dict[str, Any]] = {}
    _figure(figures, assumed, "latency_ms_mean", round(mean_ms, 1), "measured", f"{len(latencies)} answers timed here")
    _figure(figures, assumed, "tokens_in_out", [round(n_in, 1), round(n_out, 1)], "measured", f"{len(rows)} answers")
    stated = config.model_fields_set
    _figure(figures, assumed, "queries_per_month", config.queries_per_month,
            "stated" if "queries_per_month" in stated else "assumed", "--queries-per-month" if "queries_per_month" in stated
            else "the default volume: state yours with --queries-per-month")
    _figure(figures, assumed, "months", config.months, "stated" if "months" in stated else "assumed",
            "--months" if "months" in stated else "the default horizon: state yours with --months")
    unit, basis = _unit_cost(spec, pricing, config, figures, assumed, mean_ms)
    per_query = None if unit is None else unit(n_in, n_out, mean_ms)
    if unit is not None and rows:
        spread = mean_ci95([unit(float(r.get("input_tokens") or 0.0), float(r.get("output_tokens") or 0.0),
                                 float(r["latency_ms"]) if isinstance(r.get("latency_ms"), (int, float)) else mean_ms)
                            for r in rows])
        low, high = cast(list[float], spread["ci95"])
        _figure(figures, assumed, "per_query_usd", per_query, "measured",
                f"95% interval {low:.4g} to {high:.4g} from the spread over {len(rows)} answers")
        figures["per_query_usd"]["ci95"] = [low, high]
    if candidate.retrieves:
        _figure(figures, assumed, "store_hosting_usd_per_month", 0, "assumed",
                "the embedded store runs on the serving machine (a managed vector store costs extra: see ragtune cost)")
    one_off, fixed = 0.0, 0.0
    if candidate.tuned and training is not None:
        one_off, fixed = _training_costs(training, config, changes_per_month, changes_source, figures, assumed)
    monthly = None if per_query is None else fixed + per_query * config.queries_per_month
    if training is not None and training.cost_unknown:
        monthly = None  # a one-off cost (the teacher's answers, the provider's training) is not known: neither is the total
    return CandidateCost(n=len(rows), latency_ms_p50=percentile(latencies, 50) if latencies else 0.0,
                         latency_ms_mean=mean_ms, input_tokens=n_in, output_tokens=n_out, per_query_usd=per_query,
                         one_off_usd=one_off, monthly_fixed_usd=fixed, monthly_usd=monthly,
                         total_usd=None if monthly is None else one_off + config.months * monthly, assumed=assumed,
                         basis=basis, figures=figures)


def changes_per_month(stated: float | None, facts: Any) -> tuple[float, str]:
    """Content change cycles per month (each one retrains a tuned candidate) and where the figure comes from: stated,
    else the index's ingest history (assumed when under a month of it), else none without an index."""
    if stated is not None:
        return stated, "stated"
    index = facts.index
    if index is not None and index.observed_days < 30:
        return index.change_cycles_per_month, (f"assumed: index '{index.index}' has only {index.observed_days:.0f} days of "
                                               "ingest history, under a month")
    if index is not None:
        return index.change_cycles_per_month, f"measured: index '{index.index}' ingest history"
    return 0.0, "no index: no content changes measured"


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
