"""The advisor's typed data: measured facts, stated needs, rule verdicts, costs and the recommendation.

Everything the advisor decides from is a ``Facts`` object: what it measured in an index, an examples file
and an eval run, plus the few things a user must state (``StatedNeeds``). Rules turn facts into
``RuleVerdict``s, the cost model turns them into a ``CostReport``, and the decision is a
``Recommendation`` whose ``to_json`` is the ``advise --json`` document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragtune.evaluation.base import Candidate


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndexFacts(_Model):
    """What was measured in an index: size, change history, citability."""

    index: str = Field(description="Index name.")
    documents: int = Field(description="Documents stored now.")
    chunks: int = Field(description="Chunks stored now.")
    total_tokens: int = Field(description="Tokens of the documents' text (chunk overlap not counted twice).")
    chunk_tokens_mean: float = Field(description="Mean tokens per chunk (what one retrieved chunk adds to a prompt).")
    chunk_bytes_mean: float = Field(description="Mean UTF-8 bytes of a chunk's text (vector store size).")
    tokenizer: str = Field(description="Tokenizer that counted the tokens.")
    embedding_dimension: int = Field(description="Dimension of the index's vectors.")
    store: str = Field("embedded", description="Where the index is stored: 'embedded' (LanceDB in the serving process) or "
                                               "'server' (a store served apart, PostgreSQL with pgvector).")
    indexes_in_workspace: int = Field(description="Indexes (tenants, product lines) in the workspace.")
    ingests: int = Field(description="Committed changes in the index's history.")
    first_ingest: str | None = Field(None, description="Time of the first commit.")
    last_ingest: str | None = Field(None, description="Time of the last commit.")
    observed_days: float = Field(0.0, description="Days between the first and the last commit.")
    change_cycles: int = Field(description="Commits after the first one that changed content (a removal undone by adding the "
                                           "same content back changes nothing).")
    change_cycles_per_month: float = Field(description="Change cycles per 30 days (a history shorter than a month counts as one "
                                                       "month).")
    documents_changed: int = Field(description="Documents stored now at version 2 or later.")
    changed_share: float = Field(description="Share of documents stored now that changed at least once.")
    versions_per_document: float = Field(description="Mean version number of the stored documents.")
    content_changes: int = Field(0, description="Documents added, updated or removed after the first commit, a removal "
                                                "undone and its undoing not counted.")
    churn_per_cycle: float = Field(description="Mean share of the corpus added, updated or removed per change cycle.")
    monthly_churn: float = Field(0.0, description="Share of the corpus changed per 30 days over the history's span (a "
                                                  "history under 30 days counts as one month: see churn_measured).")
    churn_measured: bool = Field(False, description="True when the history spans 30 days or more; else monthly_churn is "
                                                    "an assumption from a history too short to give a monthly rate.")
    citable_documents: int = Field(description="Documents with a source fit for citation (a URL, a file, a titled record).")
    citable_share: float = Field(description="Share of documents with a source fit for citation.")
    notes: list[str] = Field(default_factory=list, description="How the facts were measured, where it matters.")


class ExampleIssue(_Model):
    """One problem in an examples file, located."""

    line: int | None = None
    field: str | None = None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}{f' ({self.field})' if self.field else ''}: {self.message}"


class ExampleFacts(_Model):
    """What was measured in a fine-tuning examples file."""

    file: str
    format: str | None = Field(description="Detected row format (input/output, chat, alpaca) or None if unreadable.")
    rows: int = Field(description="Usable rows.")
    invalid_rows: int = Field(description="Rows with errors.")
    format_share: float = Field(description="Share of non-blank rows that are usable rows of the detected format.")
    errors: list[ExampleIssue] = Field(default_factory=list, description="The first errors, located.")
    output_kind: str = Field(description="'json' when the outputs are JSON objects or arrays, else 'text'.")
    schema_fit: float | None = Field(None, description="Share of JSON outputs that fit the schema inferred from all of them.")
    prompt_tokens_mean: float = Field(description="Mean tokens of a row's prompt.")
    completion_tokens_mean: float = Field(description="Mean tokens of a row's completion.")
    total_tokens: int = Field(description="Tokens of all usable rows (one training epoch).")
    unique_prompt_share: float = Field(description="Share of rows whose prompt is not a duplicate of another's.")
    distinct_bigram_ratio: float = Field(description="Distinct word bigrams over all bigrams of the prompts (lexical diversity).")
    output_labels: int | None = Field(None, description="Distinct output structures (JSON key sets or 'intent'-like labels).")
    tokenizer: str = Field(description="Tokenizer that counted the tokens.")
    notes: list[str] = Field(default_factory=list)


class MetricValue(_Model):
    """One aggregate metric of one variant: its mean and 95% confidence half-width where given."""

    mean: float
    ci95: float | None = None


class EvalFacts(_Model):
    """What an eval run measured, per variant and metric."""

    file: str
    index: str | None = Field(None, description="Index the eval ran against (config.index), if any.")
    rows: int = Field(description="Rows (question × variant) in the file.")
    variants: dict[str, dict[str, MetricValue]] = Field(description="variant -> metric -> value.")
    notes: list[str] = Field(default_factory=list)

    def metric(self, variant: str, name: str) -> MetricValue | None:
        return self.variants.get(variant, {}).get(name)


class StatedNeeds(_Model):
    """What cannot be measured, so the user states it."""

    queries_per_month: float = Field(ge=0, description="Queries answered per month.")
    months: int = Field(12, ge=1, le=600, description="Horizon of the cost comparison, in months.")
    latency_budget_ms: float | None = Field(None, gt=0, description="Latency an answer may take (p50), if bounded.")
    attribution_required: bool | None = Field(None, description="Answers must cite their sources (None: not stated).")
    content_may_leave: bool | None = Field(None, description="Content may go to a training pipeline (None: not stated).")
    changes_per_month: float | None = Field(None, ge=0, description="Content change cycles per month, overriding the measured "
                                                                    "rate.")


class Facts(_Model):
    """Everything the advisor decides from."""

    stated: StatedNeeds
    index: IndexFacts | None = None
    examples: ExampleFacts | None = None
    eval: EvalFacts | None = None


class RuleVerdict(_Model):
    """What one rule concluded: the fact it read, its threshold, and which approach it favours."""

    rule: str = Field(description="Rule id.")
    question: str = Field(description="The question the rule answers.")
    fact: str = Field(description="The fact it used (name).")
    value: Any = Field(description="The fact's value (None when unknown).")
    threshold: Any = Field(None, description="The threshold it compared against.")
    fired: bool = Field(description="Whether the rule's condition holds.")
    favours: Candidate | None = Field(None, description="The approach it favours when fired.")
    withheld: bool = Field(False, description="True when the rule could not judge (bad or missing input).")
    explanation: str = Field(description="One sentence: fact, threshold, verdict.")
    would_change: str | None = Field(None, description="What would flip this rule.")


class EvalVerdict(_Model):
    """What the eval run says, and whether it overrules the rules of thumb."""

    metric: str = Field(description="The metric that decides (the task's primary metric found in the file).")
    scores: dict[str, MetricValue] = Field(description="variant -> the deciding metric.")
    best: str = Field(description="Best variant on that metric (within the latency budget).")
    rules_choice: Candidate
    rules_choice_score: float | None = None
    overrides: bool = Field(description="True when the eval's best clearly beats the rules' choice.")
    over_latency_budget: list[str] = Field(default_factory=list, description="Variants whose p50 latency exceeds the budget.")
    explanation: str


class VariantCost(_Model):
    """Cost of one approach: one-off, monthly fixed, per query, and cumulative over the horizon."""

    approach: Candidate
    one_off: float = Field(description="Paid once at the start (initial embedding, initial training).")
    monthly_fixed: float = Field(description="Paid every month whatever the volume (hosting, re-ingest, retraining).")
    per_query: float = Field(description="Paid per query (tokens, retrieval).")
    monthly: float = Field(description="Monthly cost at the stated volume: fixed + per query × volume.")
    cumulative: list[float] = Field(description="Cumulative cost after month 0..horizon (month 0 = one-off).")
    breakdown: dict[str, float] = Field(description="Line items: name -> USD (one-off, per month or per query, as the name "
                                                    "says).")
    input_tokens_per_query: float
    output_tokens_per_query: float


class BreakEven(_Model):
    """Where the approach with higher fixed costs and lower per-query costs starts to pay."""

    cheaper_at_low_volume: Candidate
    cheaper_at_high_volume: Candidate
    queries_per_month: float | None = Field(description="Volume above which the second is cheaper over the horizon (None: "
                                                        "never).")
    payback_months: float | None = Field(description="At the stated volume, months until the second's cumulative cost drops "
                                                     "below the first's (None: never).")
    volume_for_3_month_payback: float | None = Field(None, description="Volume at which the second pays back within 3 months.")


class SensitivityRow(_Model):
    """The costs when one input is scaled."""

    parameter: str
    factor: float
    value: float
    total: dict[str, float] = Field(description="approach -> cumulative cost over the horizon.")
    cheapest: Candidate


class CostReport(_Model):
    """The cost model's output (``cost --json``)."""

    currency: str
    prices_as_of: str
    queries_per_month: float
    months: int
    variants: dict[str, VariantCost]
    break_even: list[BreakEven]
    sensitivity: list[SensitivityRow]
    cheapest: Candidate
    assumptions: list[str]
    inputs: dict[str, Any] = Field(description="The quantities the model used, each with where it came from.")
    prices: dict[str, Any] = Field(description="The price configuration used.")

    def between(self, low: Candidate, high: Candidate) -> BreakEven | None:
        for b in self.break_even:
            if b.cheaper_at_low_volume == low and b.cheaper_at_high_volume == high:
                return b
        return None


class Recommendation(_Model):
    """The advisor's decision with its reasons, evidence and costs (``advise --json``)."""

    recommendation: Candidate
    reasons: list[str] = Field(description="Why, most important first.")
    rules_recommendation: Candidate = Field(description="What the rules of thumb alone say.")
    rules: list[RuleVerdict]
    eval: EvalVerdict | None = None
    disagreements: list[str] = Field(default_factory=list, description="Where measurements and rules of thumb disagree.")
    what_would_change: list[str] = Field(default_factory=list)
    next_command: str
    warnings: list[str] = Field(default_factory=list)
    facts: Facts
    costs: CostReport

    @field_validator("recommendation", "rules_recommendation")
    @classmethod
    def _an_approach(cls, value: Candidate) -> Candidate:
        if value is Candidate.base:
            raise ValueError("'base' is measured, never recommended: the untuned model is the prompt approach")
        return value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


_FACT_WORDS = {"changed_share": "documents edited", "monthly_churn": "corpus changed per month",
               "attribution_required": "answers must cite sources", "citable_share": "documents citable",
               "content_may_leave": "content may leave", "changes_per_month": "changes per month",
               "schema_fit": "outputs fitting one schema",
               "queries_per_month": "queries per month", "months": "months"}


def fact_words(fact: str) -> str:
    """A fact's name, or a comma-separated list of them, in words (``changed_share`` reads ``documents edited``)."""
    return ", ".join(_FACT_WORDS.get(p.strip(), p.strip().replace("_", " ")) for p in fact.split(",") if p.strip())


def format_value(value: object, fact: str = "") -> str:
    """A fact or threshold in words for a table cell: several facts as ``name value`` pairs, yes/no, shares (a
    ``fact`` named ``*share*``, ``*churn*`` or ``*fit*``) as percentages, numbers with separators."""
    if isinstance(value, dict):
        return "; ".join(f"{fact_words(k)} {format_value(v, k)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and any(word in fact for word in ("share", "churn", "fit")):
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)
