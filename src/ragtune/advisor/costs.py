"""The cost model: what each approach costs per month and over a horizon, where one overtakes another.

Every price and rate is a field of ``CostConfig`` with a dated default (``prices_as_of``); every quantity
comes from measured facts where there are some (``CostInputs`` records where each came from).

- ``rag``: embedding the corpus once, re-embedding what changes at each re-ingest, the store's hosting per
  month (the one rule of ``ragtune.costs.hosting``, the same figure ``decide`` uses), retrieval and the query's
  embedding per query, and the retrieved context's extra input tokens at the generator's price.
- ``ft``: training compute, either ``6 · N · T`` FLOPs (N parameters, T tokens × epochs) at a stated GPU
  utilisation and hourly price, or a managed service's price per training token; one retrain per
  content-change cycle; hosting of the tuned model per month; tokens at the generator's price times
  ``tuned_token_price_factor``.
- ``rag+ft``: the sum of the parts both use (its tuned part learns the format, so it is not retrained when
  content changes unless ``retrain_rag_ft_on_change``).
- ``prompt``: the untuned model with a system prompt holding few-shot examples (and the whole corpus when
  it is small enough to fit).

Costs are linear in the query volume, so the break-even volume between two approaches has a closed form:
over ``H`` months, ``one_off_a + H (fixed_a + q_a Q) = one_off_b + H (fixed_b + q_b Q)``.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragtune.evaluation.base import Candidate
from ragtune.advisor.base import BreakEven, CostReport, Facts, SensitivityRow, VariantCost
from ragtune.costs.figures import Figure
from ragtune.costs.hosting import EMBEDDED, store_hosting
from ragtune.costs.prices import PRICES_AS_OF, PriceTable  # one dated price table for the package


class TrainingMode(str, Enum):
    """Where fine-tuning runs: rented GPUs priced by FLOPs, or a managed service priced per token."""

    self_hosted = "self_hosted"
    managed = "managed"


class CostConfig(BaseModel):
    """Prices and rates of the cost model (defaults as of ``prices_as_of``; replace them with your own)."""

    model_config = ConfigDict(extra="forbid")

    prices_as_of: str = Field(PRICES_AS_OF, description="Month the default prices were taken from public price lists.")
    currency: str = Field("USD", description="Currency of every price below.")
    # retrieval
    embedding_usd_per_mtok: float = Field(0.02, ge=0,
                                          description="Embedding, per 1M tokens embedded (hosted small embedding model, as of "
                                                      "2026-11).")
    vector_store_base_usd_per_month: float | None = Field(None, ge=0, description="Store hosting per month besides storage, "
                                                          "stated (default: the price table's by store, as of 2026-11: 0 "
                                                          "embedded, 50 served apart).")
    vector_store_usd_per_gb_month: float | None = Field(None, ge=0, description="Store storage per GB-month, stated (default: "
                                                        "the price table's, 0.33 as of 2026-11).")
    vector_overhead_bytes: int | None = Field(None, ge=0,
                                              description="Stored bytes per chunk besides its vector and text, stated "
                                              "(default: the price table's, 200).")
    retrieval_usd_per_1k_queries: float = Field(0.05, ge=0,
                                                description="Vector store read charges per 1,000 queries (as of 2026-11).")
    context_chunks: int = Field(5, ge=0, description="Retrieved chunks put in the prompt per query.")
    # tokens per query
    system_prompt_tokens: float = Field(150, ge=0, description="Tokens of the instructions every variant sends.")
    query_tokens: float = Field(40, ge=0, description="Tokens of a user's question.")
    output_tokens: float = Field(200, ge=0, description="Tokens of an answer, when neither examples nor an eval measure it.")
    few_shot_examples: int = Field(3, ge=0,
                                   description="Examples placed in the prompt of untuned variants (when examples exist).")
    # generator
    generator_input_usd_per_mtok: float = Field(3.0, ge=0,
                                                description="Generator input tokens, per 1M (frontier API model, as of 2026-11).")
    generator_output_usd_per_mtok: float = Field(15.0, ge=0,
                                                 description="Generator output tokens, per 1M (frontier API model, as of "
                                                             "2026-11).")
    tuned_token_price_factor: float = Field(1.0, ge=0,
                                            description="Per-token price of the tuned model relative to the generator's.")
    # fine-tuning
    training: TrainingMode = Field(TrainingMode.self_hosted,
                                   description="self_hosted (6·N·T FLOPs on rented GPUs) or managed (price per token).")
    model_params: float = Field(8e9, gt=0, description="Parameters N of the model tuned (8B open-weight model).")
    epochs: float = Field(3, gt=0, description="Passes over the training tokens.")
    gpu_peak_flops: float = Field(989e12, gt=0, description="Peak dense bf16 FLOP/s of one training GPU (H100 SXM).")
    gpu_utilisation: float = Field(0.35, gt=0, le=1, description="Model FLOPs utilisation reached in training.")
    gpu_usd_per_hour: float = Field(2.5, ge=0,
                                    description="Rented GPU price per hour (H100 on-demand, as of 2026-11; unset: the price "
                                                "table's).")
    training_overhead_gpu_hours: float = Field(1.0, ge=0,
                                               description="GPU hours per training run besides the FLOPs (setup, evaluation, "
                                                           "checkpoints).")
    managed_training_usd_per_mtok: float = Field(3.0, ge=0,
                                                 description="Managed fine-tuning price per 1M training tokens (as of 2026-11).")
    hosting_gpus: float = Field(1, ge=0, description="GPUs dedicated to serving the tuned model (self_hosted).")
    hours_per_month: float = Field(730, gt=0, description="Hours a hosted GPU is paid for per month.")
    managed_hosting_usd_per_month: float = Field(0.0, ge=0,
                                                 description="Managed service fee per month for hosting a tuned model.")
    retrain_rag_ft_on_change: bool = Field(False,
                                           description="Retrain rag+ft's tuned model at every content change (it learns format, "
                                                       "not content).")
    sensitivity_factors: list[float] = Field(default_factory=lambda: [0.5, 2.0],
                                             description="Factors applied to each input in the sensitivity table.")


class CostInputs(BaseModel):
    """The quantities the cost model uses, and where each came from (``sources``)."""

    model_config = ConfigDict(extra="forbid")

    queries_per_month: float = Field(ge=0)
    months: int = Field(ge=1)
    corpus_tokens: float = Field(0, ge=0)
    chunks: float = Field(0, ge=0)
    chunk_tokens: float = Field(0, ge=0)
    chunk_bytes: float = Field(0, ge=0)
    embedding_dimension: int = Field(0, ge=0)
    store: str = Field(EMBEDDED, description="Where the index is stored: 'embedded' or 'server' (ragtune.costs.hosting).")
    change_cycles_per_month: float = Field(0, ge=0)
    churn_per_cycle: float = Field(0, ge=0, le=1)
    training_tokens: float = Field(0, ge=0, description="Tokens of one training epoch.")
    example_tokens: float = Field(0, ge=0, description="Mean tokens of one example (prompt + completion), for few-shot prompts.")
    output_tokens: float | None = Field(None, ge=0, description="Measured answer length, when known.")
    prompt_corpus_tokens: float = Field(0, ge=0, description="Corpus tokens the prompt variant carries in its prompt.")
    measured_tokens: dict[str, tuple[float, float]] = Field(default_factory=dict,
                                                            description="approach -> measured (input, output) tokens per query.")
    approaches: list[Candidate] = Field(description="Approaches that can be costed with the facts given.")
    sources: dict[str, str] = Field(default_factory=dict, description="quantity -> where its value came from.")


def cost_inputs(facts: Facts, prompt_corpus_limit: float) -> CostInputs:
    """The cost model's quantities from measured facts and stated needs."""
    stated, index, examples, evaluation = facts.stated, facts.index, facts.examples, facts.eval
    src: dict[str, str] = {"queries_per_month": "stated", "months": "stated"}
    values: dict[str, Any] = {"queries_per_month": stated.queries_per_month, "months": stated.months}
    approaches = [Candidate.prompt]
    if index is not None:
        approaches += [Candidate.rag, Candidate.rag_ft]
        where = f"measured: index '{index.index}'"
        values.update(corpus_tokens=index.total_tokens, chunks=index.chunks, chunk_tokens=index.chunk_tokens_mean,
                      chunk_bytes=index.chunk_bytes_mean, embedding_dimension=index.embedding_dimension, store=index.store,
                      change_cycles_per_month=index.change_cycles_per_month, churn_per_cycle=index.churn_per_cycle)
        src.update({k: where for k in ("corpus_tokens", "chunks", "chunk_tokens", "chunk_bytes", "embedding_dimension", "store",
                                       "change_cycles_per_month", "churn_per_cycle")})
        if not index.churn_measured and index.change_cycles:
            short = (f"assumed: index '{index.index}' has {index.observed_days:.1f} days of ingest history, under 30, "
                     "counted as one month")
            src.update(change_cycles_per_month=short, churn_per_cycle=short)
        if index.total_tokens <= prompt_corpus_limit:
            values["prompt_corpus_tokens"] = index.total_tokens
            src["prompt_corpus_tokens"] = f"{where} (the corpus fits in a prompt)"
    if stated.changes_per_month is not None:
        values["change_cycles_per_month"] = stated.changes_per_month
        src["change_cycles_per_month"] = "stated"
        if not values.get("churn_per_cycle"):
            values["churn_per_cycle"] = 1.0
            src["churn_per_cycle"] = "assumed: the whole corpus per stated change cycle (no change history measured)"
    if examples is not None and examples.rows:
        where = f"measured: examples '{examples.file}'"
        values.update(training_tokens=examples.total_tokens, example_tokens=examples.total_tokens / examples.rows,
                      output_tokens=examples.completion_tokens_mean)
        src.update(training_tokens=where, example_tokens=where, output_tokens=where)
    elif index is not None:
        values["training_tokens"] = index.total_tokens
        src["training_tokens"] = f"measured: index '{index.index}' (no examples: the model is tuned on the documents)"
    if values.get("training_tokens"):
        approaches.insert(2 if index is not None else 1, Candidate.ft)
    if evaluation is not None:
        for variant, metrics in evaluation.variants.items():
            approach = Candidate.recommendable(variant)
            if approach is not None and "input_tokens" in metrics and "output_tokens" in metrics:
                measured = (metrics["input_tokens"].mean, metrics["output_tokens"].mean)
                values.setdefault("measured_tokens", {})[approach.value] = measured
                src[f"tokens[{approach.value}]"] = f"measured: eval '{evaluation.file}'"
    order = [Candidate.prompt, Candidate.rag, Candidate.ft, Candidate.rag_ft]
    values["approaches"] = [a for a in order if a in approaches]
    return CostInputs(**values, sources=src)


class CostModel:
    """Prices the approaches for given quantities (see the module docstring for the model); ``prices``: the price table
    (``--prices``) whose store rule and rates the config's stated fields override."""

    def __init__(self, config: CostConfig | None = None, prices: PriceTable | None = None) -> None:
        self.config = config or CostConfig()
        self.prices = prices or PriceTable.default()
        if "gpu_usd_per_hour" not in self.config.model_fields_set:  # one GPU rate: the price table's unless set here
            self.config = self.config.model_copy(update={"gpu_usd_per_hour": self.prices.gpu_usd_per_hour})

    def store_hosting(self, q: CostInputs) -> Figure:
        """The store's monthly hosting for the index of ``q`` (``ragtune.costs.hosting``, as ``decide`` prices it)."""
        c = self.config
        prices = self.prices.with_stated(store_server_usd_per_month=c.vector_store_base_usd_per_month,
                                         store_embedded_usd_per_month=c.vector_store_base_usd_per_month,
                                         store_usd_per_gb_month=c.vector_store_usd_per_gb_month,
                                         store_overhead_bytes=c.vector_overhead_bytes)
        return store_hosting(prices, q.store, q.chunks, q.embedding_dimension, q.chunk_bytes)

    def training_run(self, tokens_per_epoch: float) -> tuple[float, dict[str, float]]:
        """Cost of one training run and its parts (FLOPs and GPU hours when self-hosted)."""
        c = self.config
        tokens = tokens_per_epoch * c.epochs
        if c.training is TrainingMode.managed:
            return tokens / 1e6 * c.managed_training_usd_per_mtok, {"training_tokens": tokens}
        flops = 6 * c.model_params * tokens
        hours = flops / (c.gpu_peak_flops * c.gpu_utilisation) / 3600 + c.training_overhead_gpu_hours
        return hours * c.gpu_usd_per_hour, {"training_tokens": tokens, "training_flops": flops, "training_gpu_hours": hours}

    def tuned_hosting(self) -> float:
        """Monthly cost of serving the tuned model."""
        c = self.config
        if c.training is TrainingMode.managed:
            return c.managed_hosting_usd_per_month
        return c.hosting_gpus * c.gpu_usd_per_hour * c.hours_per_month

    def tokens_per_query(self, approach: Candidate, q: CostInputs) -> tuple[float, float, str]:
        """(input, output) tokens of one query for ``approach``, and whether measured or modelled."""
        if approach.value in q.measured_tokens:
            tokens_in, tokens_out = q.measured_tokens[approach.value]
            return tokens_in, tokens_out, "measured"
        c = self.config
        tokens_in = c.system_prompt_tokens + c.query_tokens
        if not approach.tuned:
            tokens_in += c.few_shot_examples * q.example_tokens
        if approach.retrieves:
            tokens_in += c.context_chunks * q.chunk_tokens
        elif approach is Candidate.prompt:
            tokens_in += q.prompt_corpus_tokens
        return tokens_in, q.output_tokens if q.output_tokens is not None else c.output_tokens, "modelled"

    def variant(self, approach: Candidate, q: CostInputs) -> VariantCost:
        """The cost of one approach at the volume and horizon of ``q``."""
        c = self.config
        one_off: dict[str, float] = {}
        monthly: dict[str, float] = {}
        per_query: dict[str, float] = {}
        tokens_in, tokens_out, _ = self.tokens_per_query(approach, q)
        price = c.tuned_token_price_factor if approach.tuned else 1.0
        per_query["input_tokens"] = tokens_in * c.generator_input_usd_per_mtok / 1e6 * price
        per_query["output_tokens"] = tokens_out * c.generator_output_usd_per_mtok / 1e6 * price
        if approach.retrieves:
            one_off["embed_corpus"] = q.corpus_tokens * c.embedding_usd_per_mtok / 1e6
            monthly["vector_store"] = self.store_hosting(q).value
            monthly["re_embed"] = q.change_cycles_per_month * q.churn_per_cycle * q.corpus_tokens * c.embedding_usd_per_mtok / 1e6
            per_query["retrieval"] = c.retrieval_usd_per_1k_queries / 1000
            per_query["embed_query"] = c.query_tokens * c.embedding_usd_per_mtok / 1e6
        if approach.tuned:
            run, _ = self.training_run(q.training_tokens)
            one_off["training"] = run
            monthly["hosting"] = self.tuned_hosting()
            if approach is Candidate.ft or c.retrain_rag_ft_on_change:
                monthly["retraining"] = q.change_cycles_per_month * run
        fixed = sum(monthly.values())
        pq = sum(per_query.values())
        first = sum(one_off.values())
        month_total = fixed + pq * q.queries_per_month
        breakdown = {f"one_off.{k}": round(v, 6) for k, v in one_off.items()}
        breakdown.update({f"monthly.{k}": round(v, 6) for k, v in monthly.items()})
        breakdown.update({f"per_query.{k}": round(v, 8) for k, v in per_query.items()})
        return VariantCost(approach=approach, one_off=round(first, 6), monthly_fixed=round(fixed, 6), per_query=round(pq, 8),
                           monthly=round(month_total, 6),
                           cumulative=[round(first + month_total * m, 4) for m in range(q.months + 1)],
                           breakdown=breakdown, input_tokens_per_query=round(tokens_in, 2),
                           output_tokens_per_query=round(tokens_out, 2))

    @staticmethod
    def break_even(a: VariantCost, b: VariantCost, months: int, volume: float) -> BreakEven | None:
        """Where ``b`` (cheaper per query, dearer up front or per month) overtakes ``a`` over ``months``.

        None when ``b`` is not cheaper per query, or is cheaper over the horizon at every volume.
        """
        dq = a.per_query - b.per_query
        if dq <= 0:
            return None
        d_one_off = b.one_off - a.one_off
        d_fixed = b.monthly_fixed - a.monthly_fixed
        if d_one_off / months + d_fixed <= 0:
            return None
        q_star = (d_one_off / months + d_fixed) / dq
        saving = a.monthly - b.monthly
        payback = (0.0 if d_one_off <= 0 else d_one_off / saving) if saving > 0 else None
        q3 = max(0.0, (d_one_off / 3 + d_fixed) / dq)
        return BreakEven(cheaper_at_low_volume=a.approach, cheaper_at_high_volume=b.approach, queries_per_month=round(q_star, 2),
                         payback_months=round(payback, 3) if payback is not None else None,
                         volume_for_3_month_payback=round(q3, 2))

    def _totals(self, q: CostInputs) -> dict[Candidate, VariantCost]:
        return {a: self.variant(a, q) for a in q.approaches}

    def sensitivity(self, q: CostInputs) -> list[SensitivityRow]:
        """Cumulative cost per approach when one input at a time is scaled by each factor."""
        rows = []
        scalable_inputs = ["queries_per_month", "change_cycles_per_month", "training_tokens"]
        scalable_prices = ["generator_input_usd_per_mtok", "gpu_usd_per_hour" if self.config.training is TrainingMode.self_hosted
                           else "managed_training_usd_per_mtok", "context_chunks"]
        for name in scalable_inputs + scalable_prices:
            for factor in self.config.sensitivity_factors:
                base = getattr(q, name) if name in scalable_inputs else getattr(self.config, name)
                if not base:
                    continue  # scaling zero changes nothing
                if name in scalable_inputs:
                    value = base * factor
                    model, inputs = self, q.model_copy(update={name: value})
                else:
                    value = base * factor
                    if name == "context_chunks":
                        value = int(round(value))
                    model, inputs = CostModel(self.config.model_copy(update={name: value}), self.prices), q
                totals = {a.value: v.cumulative[-1] for a, v in model._totals(inputs).items()}
                cheapest = min(totals, key=lambda k: totals[k])
                rows.append(SensitivityRow(parameter=name, factor=factor, value=round(value, 6), total=totals,
                                           cheapest=Candidate(cheapest)))
        return rows

    def run(self, q: CostInputs, notes: list[str] | None = None) -> CostReport:
        """Every costable approach, the break-even volumes between them, and the sensitivity table."""
        c = self.config
        variants = self._totals(q)
        pairs = []
        for a in variants.values():
            for b in variants.values():
                if a.approach != b.approach:
                    be = self.break_even(a, b, q.months, q.queries_per_month)
                    if be is not None:
                        pairs.append(be)
        cheapest = min(variants.values(), key=lambda v: v.cumulative[-1]).approach
        assumptions = [f"prices as of {c.prices_as_of} in {c.currency}: replace them with yours (--config or --set)"]
        if Candidate.ft in variants or Candidate.rag_ft in variants:
            if c.training is TrainingMode.self_hosted:
                assumptions.append(f"training: 6·N·T FLOPs with N={c.model_params:.3g} parameters, {c.epochs:g} epochs, "
                                   f"{c.gpu_utilisation:.0%} of {c.gpu_peak_flops:.3g} FLOP/s at {c.gpu_usd_per_hour:g}/GPU-hour "
                                   f"+ {c.training_overhead_gpu_hours:g} GPU-hour(s) overhead per run")
                assumptions.append(f"the tuned model is hosted on {c.hosting_gpus:g} GPU(s) × {c.hours_per_month:g} h/month; "
                                   f"capacity is not modelled (raise hosting_gpus for high volumes)")
            else:
                assumptions.append(f"training: managed service at {c.managed_training_usd_per_mtok:g} per 1M "
                                   f"tokens × {c.epochs:g} epochs")
            assumptions.append("ft is retrained at every content change cycle; rag+ft's tuned part "
                               + ("is too" if c.retrain_rag_ft_on_change else "learns format only and is not"))
        if Candidate.rag in variants or Candidate.rag_ft in variants:
            store = self.store_hosting(q)
            assumptions.append(f"store hosting {store.value:g} {c.currency}/month ({store.basis.value}): {store.source}")
        if Candidate.prompt in variants and q.prompt_corpus_tokens:
            assumptions.append(f"the prompt variant carries the whole corpus ({q.prompt_corpus_tokens:,.0f} tokens) "
                               "in every prompt")
        assumptions.extend(notes or [])
        return CostReport(currency=c.currency, prices_as_of=c.prices_as_of, queries_per_month=q.queries_per_month,
                          months=q.months, variants={a.value: v for a, v in variants.items()}, break_even=pairs,
                          sensitivity=self.sensitivity(q), cheapest=cheapest, assumptions=assumptions,
                          inputs=q.model_dump(mode="json"), prices=c.model_dump(mode="json"))


def round_volume(value: float) -> float:
    """A volume rounded up to two significant figures, for sentences."""
    if value <= 0:
        return 0.0
    magnitude = 10 ** max(0, math.floor(math.log10(value)) - 1)
    return math.ceil(value / magnitude) * magnitude
