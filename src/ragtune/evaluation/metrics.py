"""Per-question metrics, one evaluator per family, and their aggregation per variant with bootstrap intervals.

Each evaluator reads one ``AnswerRecord`` against its ``Question`` (see ``ragtune.evaluation.base``) and
returns only the metrics that apply:

- ``AnswerEvaluator``: exact match and token F1 (SQuAD normalisation, citation markers removed) against the
  reference answers of answerable questions, and the LLM judge's verdict when the runner asked for one.
- ``RetrievalEvaluator``: recall@k, MRR and nDCG of the retrieval variants' search against gold documents
  (``gold_doc_ids``: document ids, chunk ids or source paths) or, without them, against reference contexts (a chunk
  counts as a reference context when they share passages, ``context_match``).
- ``CitationEvaluator``: citation precision and recall against the same gold, and faithfulness: the share of
  answer sentences that the blocks they cite support (``ragtune.generation.citations.faithfulness``).
- ``AbstentionEvaluator``: abstaining on unanswerable questions is right, on answerable ones wrong.
- ``FormatEvaluator``: JSON parse rate, JSON Schema validity, exact output and per-field accuracy.
- ``CostEvaluator``: latency, input and output tokens, and money from the price table.

``aggregate`` turns rows into ``{variant: {metric: {"mean", "ci95", "n"}}}``: every metric's mean with a
bootstrap 95% interval, plus latency p50/p95 and cost per 1,000 queries.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Sequence

from ragtune.errors import InputError
from ragtune.evaluation.answers import exact_match, token_f1
from ragtune.evaluation.base import AnswerRecord, RetrievedChunk, RowEvaluator
from ragtune.evaluation.cache import GenerationCache, cache_key
from ragtune.evaluation.formats import extract_json, field_scores, schema_valid
from ragtune.costs.prices import PriceTable
from ragtune.evaluation.questions import Question
from ragtune.evaluation.retrieval import mrr, ndcg_at_k, recall_at_k
from ragtune.evaluation.stats import mean_ci95, percentile_ci95
from ragtune.generation.base import ContextBlock, PricingBasis
from ragtune.generation.citations import SupportScorer, faithfulness
from ragtune.generation.text import words

_MARKERS = re.compile(r"\s*[\[【]\s*\d{1,3}(?:\s*(?:[,;]|and|[-–])\s*\d{1,3})*\s*[\]】]")
CONTEXT_MATCH = 0.5
"""Share of the smaller side's word 4-grams two texts must share for a chunk to count as a reference context."""
_SHINGLE = 4


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` citation markers."""
    return _MARKERS.sub("", text).strip()


def _shingles(text: str) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i:i + _SHINGLE]) for i in range(len(w) - _SHINGLE + 1)}


def context_match(text: str, contexts: Sequence[str], threshold: float = CONTEXT_MATCH) -> int | None:
    """The index of the first reference context that shares passages with ``text``, or None.

    Reference contexts are passages of the documents, so a chunk cut from one shares its word 4-grams: a match
    needs ``threshold`` of the smaller side's 4-grams in the other (shared vocabulary alone does not match).
    """
    mine = _shingles(text)
    if not mine:
        return None
    for i, context in enumerate(contexts):
        ref = _shingles(context)
        if ref and len(mine & ref) / min(len(mine), len(ref)) >= threshold:
            return i
    return None


def gold_id(chunk: RetrievedChunk, gold: Sequence[str]) -> str | None:
    """The gold id a chunk stands for: its chunk id, its document id, or its source path (or a tail of it)."""
    source = chunk.source.replace("\\", "/")
    for g in gold:
        if g in (chunk.chunk_id, chunk.doc_id, source) or (source.endswith("/" + g.lstrip("/")) and g.strip("/")):
            return g
    return None


def _gold(question: Question) -> tuple[dict[str, int], Callable[[RetrievedChunk], str]]:
    """Qrels of a question and the id a chunk maps onto (a gold id, or the chunk's own id when it is not gold)."""
    if question.gold_doc_ids:
        gold = question.gold_doc_ids
        return {g: 1 for g in gold}, lambda c: gold_id(c, gold) or f"#chunk-{c.chunk_id}"
    contexts = question.reference_contexts

    def to_id(chunk: RetrievedChunk) -> str:
        found = context_match(chunk.text, contexts)
        return f"#context-{found}" if found is not None else f"#chunk-{chunk.chunk_id}"

    return {f"#context-{i}": 1 for i in range(len(contexts))}, to_id


def has_gold(question: Question) -> bool:
    return bool(question.gold_doc_ids or question.reference_contexts)


class AnswerEvaluator:
    """Exact match, token F1 and the judge's verdict against reference answers."""

    name = "answers"
    primary_metric = "token_f1"
    greater_is_better = True

    def evaluate(self, question: Question, record: AnswerRecord) -> dict[str, float]:
        answer = record.answer
        if answer is None or not question.reference_answers or not question.answerable or question.schema is not None:
            return {}
        text = "" if answer.get("abstained") else strip_markers(answer.get("answer", ""))
        out = {"exact_match": exact_match(text, question.reference_answers),
               "token_f1": token_f1(text, question.reference_answers)}
        if record.judge is not None and record.judge.get("correct") is not None:
            out["judge_correct"] = float(record.judge["correct"])
        return out


class RetrievalEvaluator:
    """recall@k (at the answer's k and at the search depth), MRR and nDCG@10 of the retrieval variants."""

    name = "retrieval"
    primary_metric = "ndcg@10"
    greater_is_better = True

    def __init__(self, k: int, depth: int = 10, ndcg_k: int = 10) -> None:
        self.ks = sorted({k, depth})
        self.depth, self.ndcg_k = depth, ndcg_k

    def evaluate(self, question: Question, record: AnswerRecord) -> dict[str, float]:
        if record.retrieved is None or not has_gold(question) or not question.answerable:
            return {}
        qrels, to_id = _gold(question)
        ranking = [to_id(c) for c in record.retrieved]
        out = {f"recall@{k}": recall_at_k(ranking, qrels, k) for k in self.ks}
        out[f"mrr@{self.depth}"] = mrr(ranking, qrels, self.depth)
        out[f"ndcg@{self.ndcg_k}"] = ndcg_at_k(ranking, qrels, self.ndcg_k)
        return out


class CitationEvaluator:
    """Citation precision and recall against gold, and faithfulness of the cited answer.

    Faithfulness runs the support scorer (a model); with a ``cache`` and the scorer's name (``scorer_id``) each
    score is kept, so scoring a rerun costs nothing either.
    """

    name = "citations"
    primary_metric = "faithfulness"
    greater_is_better = True

    def __init__(self, scorer: SupportScorer | None, min_support: float, cache: GenerationCache | None = None,
                 scorer_id: str = "") -> None:
        self.scorer, self.min_support = scorer, min_support
        self.cache, self.scorer_id = cache, scorer_id

    def _faithfulness(self, scorer: SupportScorer, answer: str, blocks: list[ContextBlock]) -> float | None:
        if self.cache is None:
            return faithfulness(answer, blocks, scorer, self.min_support)
        fields = {"metric": "faithfulness", "scorer": self.scorer_id, "min_support": self.min_support, "answer": answer,
                  "blocks": [[b.number, b.text] for b in blocks]}
        key = cache_key(fields)
        cached = self.cache.get(key)
        if cached is None:
            cached = {"value": faithfulness(answer, blocks, scorer, self.min_support)}
            self.cache.put(key, fields, cached)
        return cached["value"]

    def evaluate(self, question: Question, record: AnswerRecord) -> dict[str, float]:
        answer = record.answer
        if answer is None or not (record.variant.retrieves or answer.get("index")) or answer.get("abstained") \
                or question.schema is not None:
            return {}
        citations = answer.get("citations") or []
        out: dict[str, float] = {}
        if self.scorer is not None:
            blocks = [ContextBlock(number=c["marker"], text=c.get("text", ""), chunk_id=c.get("chunk_id", ""),
                                   doc_id=c.get("doc_id", ""), source=c.get("source", "")) for c in citations]
            score = self._faithfulness(self.scorer, answer.get("answer", ""), blocks)
            if score is not None:
                out["faithfulness"] = score
        if has_gold(question) and question.answerable:
            qrels, to_id = _gold(question)
            cited = [to_id(RetrievedChunk(c.get("doc_id", ""), c.get("chunk_id", ""), c.get("text", ""), c.get("source", "")))
                     for c in citations]
            if cited:
                out["citation_precision"] = sum(1 for c in cited if c in qrels) / len(cited)
            out["citation_recall"] = len(set(cited) & set(qrels)) / len(qrels)
        return out


class AbstentionEvaluator:
    """Whether the variant abstained, and whether that was right (unanswerable) or wrong (answerable)."""

    name = "abstention"
    primary_metric = "abstain_correct"
    greater_is_better = True

    def evaluate(self, question: Question, record: AnswerRecord) -> dict[str, float]:
        if record.answer is None or question.schema is not None:
            return {}
        abstained = float(bool(record.answer.get("abstained")))
        key = "false_abstention" if question.answerable else "abstain_correct"
        return {"abstained": abstained, key: abstained}


class FormatEvaluator:
    """JSON parse rate, schema validity, exact output and per-field accuracy of structured answers."""

    name = "format"
    primary_metric = "schema_valid"
    greater_is_better = True

    def evaluate(self, question: Question, record: AnswerRecord) -> dict[str, float]:
        if record.answer is None or (question.schema is None and question.reference_output is None):
            return {}
        value = extract_json(record.answer.get("answer", ""))
        out = {"json_valid": float(isinstance(value, (dict, list)))}
        if question.schema is not None:
            out["schema_valid"] = float(value is not None and schema_valid(value, question.schema))
        if question.reference_output is not None:
            out["output_exact"] = float(value == question.reference_output)
            out.update(field_scores(value, question.reference_output))
        return out


class CostEvaluator:
    """Latency, tokens and money of one answer: the price table's ``cost`` (``ragtune.costs``), as ``decide`` prices
    it: tokens at a per-token price, or the answer's machine time at the rate of the machine it ran on (``device``).
    The machine time is the answer's total, or, when its reply was decoded in a batch, its share of it
    (``machine_ms``: the batch's time divided by its rows, where ``latency_ms`` is what the answer waited)."""

    name = "cost"
    primary_metric = "cost_usd"
    greater_is_better = False

    def __init__(self, prices: PriceTable, pricing: Callable[[str], PricingBasis], device: str | None = None) -> None:
        self.prices = prices
        self.pricing = pricing  # how the model of a spec is paid for (its generator declares it)
        self.device = device  # where a model paid by machine time answered

    def evaluate(self, question: Question, record: AnswerRecord) -> dict[str, float]:
        answer = record.answer
        if answer is None:
            return {}
        usage = answer.get("usage") or {}
        latency = answer.get("latency_ms") or {}
        n_in, n_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        out = {"latency_ms": float(latency.get("total", 0.0)), "input_tokens": float(n_in), "output_tokens": float(n_out)}
        if "machine" in latency:
            out["machine_ms"] = float(latency["machine"])
        seconds = out.get("machine_ms", out["latency_ms"]) / 1000
        cost = self.prices.cost(record.model, self.pricing(record.model), n_in, n_out, seconds, self.device)
        if cost is not None:
            out["cost_usd"] = cost
        return out


def evaluate_row(evaluators: Iterable[RowEvaluator], question: Question, record: AnswerRecord) -> dict[str, float]:
    """Every evaluator's metrics for one record, merged."""
    out: dict[str, float] = {}
    for evaluator in evaluators:
        out.update(evaluator.evaluate(question, record))
    return out


def metric_names(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The metrics present in result rows: every numeric field (booleans are not metrics)."""
    names: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                names[key] = None
    return list(names)


def aggregate(rows: Sequence[dict[str, Any]], variants: Sequence[str], seed: int = 0) -> dict[str, dict[str, dict[str, Any]]]:
    """``{variant: {metric: {"mean", "ci95", "n"}}}`` over result rows (see the module docstring)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for variant in variants:
        mine = [r for r in rows if r.get("variant") == variant]
        metrics: dict[str, dict[str, Any]] = {}
        for name in metric_names(mine):
            values = [float(r[name]) for r in mine if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)]
            metrics[name] = mean_ci95(values, seed=seed)
            if name == "latency_ms":
                metrics["latency_ms_p50"] = percentile_ci95(values, 50, seed=seed)
                metrics["latency_ms_p95"] = percentile_ci95(values, 95, seed=seed)
            if name == "cost_usd":
                per_query = metrics[name]
                metrics["cost_per_1k_queries"] = {"mean": per_query["mean"] * 1000,
                                                  "ci95": [v * 1000 for v in per_query["ci95"]], "n": per_query["n"]}
        out[variant] = metrics
    return out


def retrieved_chunks(hits: Sequence[Any]) -> list[RetrievedChunk]:
    """Search hits (anything with ``doc_id``, ``chunk_id``, ``text``, ``source``) as retrieved chunks."""
    return [RetrievedChunk(doc_id=h.doc_id, chunk_id=h.chunk_id, text=h.text, source=h.source) for h in hits]


def ranking_metrics(rankings: dict[str, Sequence[str]], qrels: dict[str, dict[str, int]], ndcg_k: Sequence[int] = (10,),
                    recall_k: Sequence[int] = (100,), mrr_k: Sequence[int] = (10,), seed: int = 0) -> dict[str, dict[str, Any]]:
    """Mean nDCG@k, recall@k and MRR@k over the judged queries, each with a bootstrap 95% interval.

    A judged query missing from ``rankings`` scores 0; unjudged queries are ignored (as BEIR does).
    """
    judged = [q for q, rels in qrels.items() if any(g > 0 for g in rels.values())]
    if not judged:
        raise InputError("no query has a relevant document in the judgements")
    metrics = [(f"ndcg@{k}", ndcg_at_k, k) for k in ndcg_k] + [(f"recall@{k}", recall_at_k, k) for k in recall_k] \
        + [(f"mrr@{k}", mrr, k) for k in mrr_k]
    return {name: mean_ci95([fn(rankings.get(q, ()), qrels[q], k) for q in judged], seed=seed) for name, fn, k in metrics}
