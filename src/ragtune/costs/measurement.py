"""What measuring cost: the judge's own tokens, counted over the rows it scored and priced with the one price table.

It is a one-off cost of the measurement, reported beside the candidates and never in their serving cost. Each row a
judge scored carries ``judge: {model, input_tokens, output_tokens}`` (the usage the judge's model reported; a verdict
read from the cache counts too: its tokens were paid by the run that made it). The money is ``measured`` (reported
tokens × a price per token), or ``unknown`` when the judge's model has no price, reported no usage, or is paid by
machine time (a judge's seconds are not recorded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ragtune.costs.figures import Basis, Figure
from ragtune.costs.prices import PriceTable
from ragtune.generation.base import PricingBasis


def judge_usage(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per judge model: the verdicts, and the input and output tokens reported (``reported``: verdicts with usage)."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        judge = row.get("judge")
        if not isinstance(judge, dict) or not isinstance(judge.get("model"), str):
            continue
        usage = out.setdefault(judge["model"], {"verdicts": 0, "reported": 0, "input_tokens": 0, "output_tokens": 0})
        usage["verdicts"] += 1
        if isinstance(judge.get("input_tokens"), int) and isinstance(judge.get("output_tokens"), int):
            usage["reported"] += 1
            usage["input_tokens"] += judge["input_tokens"]
            usage["output_tokens"] += judge["output_tokens"]
    return out


def judge_cost(spec: str, usage: dict[str, int], prices: PriceTable, pricing: PricingBasis | None) -> Figure:
    """The money of one judge's ``usage`` (from ``judge_usage``), labelled (see the module docstring)."""
    if not usage["reported"]:
        return Figure(None, Basis.unknown, f"{spec} reported no token usage for its {usage['verdicts']} verdicts")
    if pricing is PricingBasis.machine_seconds:
        return Figure(None, Basis.unknown, f"{spec} is paid by machine time and a judge's seconds are not recorded")
    cost = prices.cost(spec, pricing or PricingBasis.per_token, usage["input_tokens"], usage["output_tokens"])
    if cost is None:
        return Figure(None, Basis.unknown, f"no price for the judge {spec}: give --prices")
    price = prices.price_for(spec, pricing or PricingBasis.per_token)
    when = (price.as_of if price is not None else None) or prices.as_of
    unreported = usage["verdicts"] - usage["reported"]
    return Figure(round(cost, 6), Basis.measured,
                  f"{usage['input_tokens']:,} input and {usage['output_tokens']:,} output tokens {spec} reported over "
                  f"{usage['reported']} verdicts × its {'stated price' if prices.stated_price(spec) else 'list price'} "
                  f"as of {when}" + (f" ({unreported} verdicts without usage not counted)" if unreported else ""))


def measurement_cost(rows: Iterable[dict[str, Any]], prices: PriceTable,
                     pricing: Callable[[str], PricingBasis | None]) -> dict[str, Any]:
    """``{"judge": {model: {verdicts, input_tokens, output_tokens, usd: figure}}}`` over ``rows`` ({} without a judge);
    ``pricing``: how a model spec is paid for, as its generator declares (None: not known)."""
    judges = {spec: {**usage, "usd": judge_cost(spec, usage, prices, pricing(spec)).to_json()}
              for spec, usage in judge_usage(rows).items()}
    return {"judge": judges} if judges else {}


def measurement_words(cost: dict[str, Any], currency: str, money: Callable[[float | None, str], str]) -> list[str]:
    """One sentence per judge: what its verdicts cost and what the figure rests on."""
    return [f"the judge {spec}: {j['verdicts']} verdicts, {j['input_tokens']:,} input and {j['output_tokens']:,} output "
            f"tokens, {money(j['usd']['value'], currency)} ({j['usd']['basis']}: {j['usd']['source']}); a one-off cost "
            "of measuring, not part of any candidate's serving cost"
            for spec, j in (cost.get("judge") or {}).items()]
