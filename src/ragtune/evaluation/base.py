"""The evaluation seam: variants, the per-question record the runner hands to evaluators, the ``RowEvaluator``
protocol, the metric catalogue, and the results file.

Contract every row evaluator keeps:

- ``evaluate(question, record)`` returns ``{metric: value}`` for one question answered by one variant; a metric
  that does not apply (no reference, no citations, not a retrieval variant) is left out, never zero.
- It declares ``primary_metric`` and ``greater_is_better`` (the metric catalogue below says it for every
  metric, which ``compare`` and the report use to call a change better or worse).
- It never calls a model: the runner does the generation (and the judge) and records it.

Results file (``eval --out``)::

    {"config": {"format_version", "index", "model", "tuned", "variants", ...},
     "rows": [{"id", "variant", "answer", "citations", ...per-question metrics}],
     "aggregates": {variant: {metric: {"mean", "ci95": [low, high], "n"}}},
     "notes": [...]}

``read_results`` refuses a file of another ``format_version`` with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from ragtune.errors import InputError, StoreError
from ragtune.evaluation.questions import Question
from ragtune.common import read_json, write_json_atomic

FORMAT_VERSION = 1
"""Version of the results file; bumped when its shape changes in a way readers notice."""


class Candidate(str, Enum):
    """The five ways to adapt one model (DESIGN.md: Variants): each eval row's variant, each ``decide`` candidate
    and, ``base`` aside, each approach the advisor can recommend."""

    base = "base"
    prompt = "prompt"
    rag = "rag"
    ft = "ft"
    rag_ft = "rag+ft"

    @property
    def retrieves(self) -> bool:
        return self in (Candidate.rag, Candidate.rag_ft)

    @property
    def tuned(self) -> bool:
        return self in (Candidate.ft, Candidate.rag_ft)

    @classmethod
    def recommendable(cls, name: str) -> "Candidate | None":
        """The approach an eval variant named ``name`` measures (``base``, the untuned model, measures ``prompt``)."""
        candidate = next((c for c in cls if c.value == name), None)
        return cls.prompt if candidate is cls.base else candidate


def parse_variants(text: str | list[str]) -> list[Candidate]:
    """``"base,rag,ft,rag+ft"`` (or a list) as variants, in order; ``InputError`` names an unknown one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    variants: list[Candidate] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            variant = Candidate(item.lower())
        except ValueError:
            raise InputError(f"unknown variant '{item}' (choose from base, prompt, rag, ft, rag+ft)") from None
        if variant not in variants:
            variants.append(variant)
    if not variants:
        raise InputError("give at least one variant (base, prompt, rag, ft, rag+ft)")
    return variants


class SchemaMode(str, Enum):
    """How a question's JSON Schema reaches the model (it is always used to score the reply)."""

    structured = "structured"  # schema in the system prompt, reply validated, repaired once (ask --json-schema)
    prompt = "prompt"  # schema in the system prompt only
    score = "score"  # the model is not told (a model tuned on the format); the reply is only scored


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: its label, its group, whether more is better, and its unit."""

    name: str
    label: str
    group: str
    greater_is_better: bool | None
    unit: str = "share"


_CATALOGUE = [
    MetricInfo("token_f1", "token F1", "answers", True),
    MetricInfo("exact_match", "exact match", "answers", True),
    MetricInfo("judge_correct", "correct (LLM judge)", "answers", True),
    MetricInfo("citation_precision", "citation precision", "citations", True),
    MetricInfo("citation_recall", "citation recall", "citations", True),
    MetricInfo("faithfulness", "faithfulness", "citations", True),
    MetricInfo("abstained", "abstained", "abstention", None),
    MetricInfo("abstain_correct", "abstained when unanswerable", "abstention", True),
    MetricInfo("false_abstention", "abstained when answerable", "abstention", False),
    MetricInfo("json_valid", "JSON parses", "format", True),
    MetricInfo("schema_valid", "fits the schema", "format", True),
    MetricInfo("output_exact", "output exactly right", "format", True),
    MetricInfo("fields_precision", "field precision", "format", True),
    MetricInfo("fields_recall", "field recall", "format", True),
    MetricInfo("fields_f1", "field F1", "format", True),
    MetricInfo("latency_ms", "latency, mean", "cost", False, "ms"),
    MetricInfo("latency_ms_p50", "latency p50", "cost", False, "ms"),
    MetricInfo("latency_ms_p95", "latency p95", "cost", False, "ms"),
    MetricInfo("input_tokens", "input tokens", "cost", False, "tokens"),
    MetricInfo("output_tokens", "output tokens", "cost", False, "tokens"),
    MetricInfo("cost_usd", "cost per query", "cost", False, "USD"),
    MetricInfo("cost_per_1k_queries", "cost per 1,000 queries", "cost", False, "USD"),
]
METRICS: dict[str, MetricInfo] = {m.name: m for m in _CATALOGUE}
_RANKED = re.compile(r"^(recall|mrr|ndcg)@(\d+)$")
GROUPS = ["answers", "retrieval", "citations", "abstention", "format", "cost"]


def metric_info(name: str) -> MetricInfo:
    """The catalogue entry of ``name`` (``recall@K``, ``mrr@K``, ``ndcg@K`` and ``field_acc.PATH`` included)."""
    if name in METRICS:
        return METRICS[name]
    ranked = _RANKED.match(name)
    if ranked:
        label = {"recall": "recall", "mrr": "MRR", "ndcg": "nDCG"}[ranked.group(1)]
        return MetricInfo(name, f"{label}@{ranked.group(2)}", "retrieval", True)
    if name.startswith("field_acc."):
        return MetricInfo(name, f"field {name.removeprefix('field_acc.')}", "format", True)
    return MetricInfo(name, name, "other", None, "")


@dataclass
class RetrievedChunk:
    """One chunk a retrieval variant's search returned for a question (best first)."""

    doc_id: str
    chunk_id: str
    text: str
    source: str = ""


@dataclass
class AnswerRecord:
    """One question answered by one variant: the ``ask --json`` document and what the runner added."""

    question_id: str
    variant: Candidate
    model: str
    answer: dict[str, Any] | None
    retrieved: list[RetrievedChunk] | None = None
    judge: dict[str, Any] | None = None
    cached: bool = False
    error: str | None = None


class RowEvaluator(Protocol):
    """Scores one question answered by one variant (see the module docstring for the contract)."""

    name: str
    primary_metric: str
    greater_is_better: bool

    def evaluate(self, question: Question, record: AnswerRecord) -> dict[str, float]: ...


@dataclass
class EvalResult:
    """An eval run: its configuration, one row per question and variant, aggregates per variant, notes."""

    config: dict[str, Any]
    rows: list[dict[str, Any]]
    aggregates: dict[str, dict[str, dict[str, Any]]]
    notes: list[str] = field(default_factory=list)

    @property
    def variants(self) -> list[str]:
        return list(self.aggregates)

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config, "rows": self.rows, "aggregates": self.aggregates, "notes": self.notes}

    def write(self, path: str | Path) -> Path:
        """Write the results JSON atomically (a reader never sees half a file); missing folders are made."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, self.to_json())
        except OSError as exc:
            raise StoreError(f"{path}: cannot write the results: {exc.strerror or exc}") from exc
        return path


def read_results(path: str | Path) -> EvalResult:
    """Read an ``eval --out`` file; ``InputError`` names the file for a missing field or another format version."""
    path = Path(path)
    data = read_json(path, "eval results file")
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise InputError(f"{path}: not an eval results file (no 'config' object)")
    version = data["config"].get("format_version")
    if version != FORMAT_VERSION:
        shown = "no format_version" if version is None else f"format_version {version}"
        raise InputError(f"{path}: results file has {shown}; this ragtune reads format_version {FORMAT_VERSION}: "
                         "run the eval again with this version")
    for key, kind in (("rows", list), ("aggregates", dict)):
        if not isinstance(data.get(key), kind):
            raise InputError(f"{path}: field '{key}' is missing or not a {kind.__name__}")
    return EvalResult(config=data["config"], rows=data["rows"], aggregates=data["aggregates"],
                      notes=list(data.get("notes") or []))
