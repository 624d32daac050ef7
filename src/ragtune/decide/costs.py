"""What each candidate of ``decide`` costs: its answer rows and training through the cost model
(``ragtune.costs.candidates``), with the volume and horizon ``decide`` was given.

Failed answers are costed like the others: their time and tokens were spent. A provider's job (``Training.managed``)
is costed from its card: trained tokens (billed: measured; estimated: assumed) at the dated training price, and the
provider's hosting where it charges for it. ``figures`` holds every figure with
``basis`` ``measured``, ``stated`` or ``assumed`` and its source; ``assumed`` lists the assumed ones in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from ragtune.costs.candidates import CandidateCost, Training, training_costs, unit_cost
from ragtune.costs.figures import Basis, Figure, Figures, stated_or_assumed
from ragtune.decide.config import DecideConfig
from ragtune.evaluation.base import Candidate
from ragtune.evaluation.stats import mean_ci95, percentile
from ragtune.generation.base import PricingBasis


def candidate_cost(candidate: Candidate | str, spec: str, pricing: PricingBasis | None, rows: Sequence[dict[str, Any]],
                   config: DecideConfig, training: Training | None, changes_per_month: float, changes_source: str,
                   store: Figure | None = None, device: str | None = None) -> CandidateCost:
    """The cost of one candidate from its answer rows (failed ones too) and its training (see the module docstring);
    ``pricing``: how the model of ``spec`` is paid for, as its generator declares (None: not known); ``store``: the
    monthly hosting of the index (``ragtune.costs.hosting``), paid by a candidate that retrieves (None: no index was
    measured); ``device``: where a model paid by machine time answered (None: not recorded)."""
    candidate = Candidate(candidate)  # a candidate beyond the five is costed as the one it acts as
    latencies = [float(r["latency_ms"]) for r in rows if isinstance(r.get("latency_ms"), (int, float))]
    machine = [m for m in map(machine_ms, rows) if m is not None]
    n_in = sum(float(r.get("input_tokens") or 0.0) for r in rows) / max(1, len(rows))
    n_out = sum(float(r.get("output_tokens") or 0.0) for r in rows) / max(1, len(rows))
    mean_ms = sum(latencies) / len(latencies) if latencies else 0.0
    machine_mean = sum(machine) / len(machine) if machine else mean_ms
    figures = Figures()
    figures.add("latency_ms_mean", round(mean_ms, 1), Basis.measured, f"{len(latencies)} answers timed here")
    if machine_mean != mean_ms:
        figures.add("machine_ms_mean", round(machine_mean, 1), Basis.measured,
                    "each answer's share of the batch its reply was decoded in: the machine time it is costed at")
    figures.add("tokens_in_out", [round(n_in, 1), round(n_out, 1)], Basis.measured, f"{len(rows)} answers")
    stated = config.model_fields_set
    figures.add("queries_per_month", config.queries_per_month, stated_or_assumed("queries_per_month" in stated),
                "--queries-per-month" if "queries_per_month" in stated
                else "the default volume: state yours with --queries-per-month")
    figures.add("months", config.months, stated_or_assumed("months" in stated),
                "--months" if "months" in stated else "the default horizon: state yours with --months")
    unit, basis = unit_cost(spec, pricing, config.prices, figures, machine_mean, device)
    per_query = None if unit is None else unit(n_in, n_out, machine_mean)
    if unit is not None and rows:
        spread = mean_ci95([unit(float(r.get("input_tokens") or 0.0), float(r.get("output_tokens") or 0.0),
                                 _or(machine_ms(r), machine_mean)) for r in rows])
        low, high = cast(list[float], spread["ci95"])
        figures.add("per_query_usd", per_query, Basis.measured,
                    f"95% interval {low:.4g} to {high:.4g} from the spread over {len(rows)} answers", ci95=(low, high))
    one_off, fixed = 0.0, 0.0
    if candidate.retrieves:
        hosting = store or Figure(None, Basis.unknown, "no index was measured: give --index to price the store")
        figures.put("store_hosting_usd_per_month", hosting)
        fixed += hosting.value or 0.0
    if candidate.tuned and training is not None:
        one_off, tuned_fixed = training_costs(training, config.prices, config.tuned_hosting_usd_per_month,
                                              changes_per_month, changes_source, figures)
        fixed += tuned_fixed
    monthly = None if per_query is None else fixed + per_query * config.queries_per_month
    if training is not None and training.cost_unknown:
        monthly = None  # a one-off cost (the teacher's answers, the provider's training) is not known: neither is the total
    return CandidateCost(n=len(rows), latency_ms_p50=percentile(latencies, 50) if latencies else 0.0,
                         latency_ms_mean=mean_ms, input_tokens=n_in, output_tokens=n_out, per_query_usd=per_query,
                         one_off_usd=one_off, monthly_fixed_usd=fixed, monthly_usd=monthly,
                         total_usd=None if monthly is None else one_off + config.months * monthly, basis=basis,
                         figures=figures)


def machine_ms(row: dict[str, Any]) -> float | None:
    """The machine time an answer row is costed at: its share of a batch (``machine_ms``) when its reply was decoded
    in one, else its latency; None when the row has neither."""
    for key in ("machine_ms", "latency_ms"):
        if isinstance(row.get(key), (int, float)):
            return float(row[key])
    return None


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
