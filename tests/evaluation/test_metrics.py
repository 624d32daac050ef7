"""Per-question evaluators on hand-made records, and aggregation with intervals, percentiles and cost per 1,000."""

import pytest

from ragtune.evaluation.base import AnswerRecord, RetrievedChunk, Candidate
from ragtune.evaluation.metrics import (
    AbstentionEvaluator,
    AnswerEvaluator,
    CitationEvaluator,
    CostEvaluator,
    FormatEvaluator,
    RetrievalEvaluator,
    aggregate,
    context_match,
    ranking_metrics,
    strip_markers,
)
from ragtune.costs.prices import PriceTable
from ragtune.generation.base import PricingBasis
from ragtune.evaluation.questions import Question
from ragtune.generation.citations import OverlapSupportScorer

AUDIT = "Audit entries are kept for 400 days. They can be exported as JSON Lines."
PORT = "The server listens on port 8420 by default."


def record(answer="", variant=Candidate.rag, **fields):
    doc = {"answer": answer, "citations": [], "abstained": False, "usage": {"input_tokens": 0, "output_tokens": 0},
           "latency_ms": {"total": 10.0, "generation": 8.0}}
    doc.update(fields)
    return AnswerRecord("q", variant, fields.pop("model", "extractive"), doc)


def cite(marker, text, doc_id="docs/audit-log.md", source="examples/docs/audit-log.md"):
    return {"marker": marker, "text": text, "doc_id": doc_id, "chunk_id": f"{doc_id}#0", "source": source}


def test_answers_strip_markers_and_score_abstentions_as_wrong():
    q = Question("q", "How long are audit entries kept?", reference_answers=["400 days"])
    assert strip_markers("Kept for 400 days [1][2, 3].") == "Kept for 400 days."
    scores = AnswerEvaluator().evaluate(q, record("400 days [1]."))
    assert scores == {"exact_match": 1.0, "token_f1": 1.0}
    assert AnswerEvaluator().evaluate(q, record("400 days", abstained=True)) == {"exact_match": 0.0, "token_f1": 0.0}
    judged = record("400 days")
    judged.judge = {"correct": False}
    assert AnswerEvaluator().evaluate(q, judged)["judge_correct"] == 0.0
    unanswerable = Question("u", "Boiling point of mercury?", reference_answers=["357 C"], answerable=False)
    assert AnswerEvaluator().evaluate(unanswerable, record("357 C")) == {}


def test_retrieval_against_gold_ids_source_paths_and_contexts():
    hits = [RetrievedChunk("docs/sla.md", "docs/sla.md#0", "The hosted service has a monthly target.", "examples/docs/sla.md"),
            RetrievedChunk("docs/audit-log.md", "docs/audit-log.md#1", AUDIT, "examples/docs/audit-log.md")]
    by_source = Question("q", "?", gold_doc_ids=["audit-log.md"])
    rec = record()
    rec.retrieved = hits
    scores = RetrievalEvaluator(k=1, depth=10).evaluate(by_source, rec)
    assert scores["recall@1"] == 0.0 and scores["recall@10"] == 1.0 and scores["mrr@10"] == 0.5
    assert scores["ndcg@10"] == pytest.approx(1 / 1.5849625, rel=1e-5)
    by_context = Question("q", "?", reference_contexts=["Audit entries are kept for 400 days. They can be exported as JSON Lines."])
    assert RetrievalEvaluator(k=1, depth=10).evaluate(by_context, rec)["mrr@10"] == 0.5
    assert RetrievalEvaluator(k=1).evaluate(Question("q", "?"), rec) == {}  # no gold: not measured
    base = record(variant=Candidate.base)
    assert RetrievalEvaluator(k=1).evaluate(by_source, base) == {}


def test_context_match_needs_shared_passages_not_shared_vocabulary():
    contexts = ["Northwind Vault keeps audit entries for 400 days and exports them as JSON Lines on request."]
    assert context_match("Intro. Northwind Vault keeps audit entries for 400 days and exports them as JSON Lines.", contexts) == 0
    assert context_match("JSON Lines exports of audit entries take 400 days in Northwind Vault requests.", contexts) is None


def test_citation_precision_recall_and_faithfulness():
    q = Question("q", "?", gold_doc_ids=["docs/audit-log.md"])
    evaluator = CitationEvaluator(OverlapSupportScorer(None), min_support=0.35)
    good = record("Audit entries are kept for 400 days [1]. The server listens on port 8420 [2].",
                  citations=[cite(1, AUDIT), cite(2, PORT, "docs/install-guide.txt", "examples/docs/install-guide.txt")])
    scores = evaluator.evaluate(q, good)
    assert scores["faithfulness"] == 1.0 and scores["citation_precision"] == 0.5 and scores["citation_recall"] == 1.0
    # a sentence citing a block that does not support it, and one citing nothing, are not faithful
    shaky = record("Audit entries are kept for 400 days [1]. Keys rotate every ninety days [1]. Backups run nightly at midnight.",
                   citations=[cite(1, AUDIT)])
    assert evaluator.evaluate(q, shaky)["faithfulness"] == pytest.approx(1 / 3)
    assert evaluator.evaluate(q, record("I cannot answer.", abstained=True)) == {}
    assert evaluator.evaluate(q, record("Kept 400 days.", variant=Candidate.ft)) == {}
    assert "citation_precision" not in evaluator.evaluate(q, record("Kept for 400 days in the audit store."))


def test_abstention_is_right_on_unanswerable_and_wrong_on_answerable():
    ev = AbstentionEvaluator()
    assert ev.evaluate(Question("q", "?", answerable=False), record(abstained=True)) == {"abstained": 1.0, "abstain_correct": 1.0}
    assert ev.evaluate(Question("q", "?"), record(abstained=True)) == {"abstained": 1.0, "false_abstention": 1.0}
    assert ev.evaluate(Question("q", "?"), record()) == {"abstained": 0.0, "false_abstention": 0.0}


def test_format_parse_rate_schema_validity_and_fields():
    schema = {"type": "object", "required": ["intent"], "properties": {"intent": {"enum": ["Play", "Stop"]}}}
    q = Question("q", "play jazz", reference_output={"intent": "Play", "slots": {"genre": "jazz"}}, schema=schema)
    ok = FormatEvaluator().evaluate(q, record('{"intent": "Play", "slots": {"genre": "jazz"}}'))
    assert ok["json_valid"] == ok["schema_valid"] == ok["output_exact"] == ok["fields_f1"] == 1.0
    wrong = FormatEvaluator().evaluate(q, record('sure: {"intent": "Pause", "slots": {"genre": "jazz"}}'))
    assert wrong["json_valid"] == 1.0 and wrong["schema_valid"] == 0.0 and wrong["field_acc.intent"] == 0.0
    assert wrong["field_acc.slots.genre"] == 1.0
    assert FormatEvaluator().evaluate(q, record("no json"))["json_valid"] == 0.0
    assert FormatEvaluator().evaluate(Question("q", "?"), record("{}")) == {}


def test_cost_from_the_price_table():
    ev = CostEvaluator(PriceTable.default(), lambda spec: PricingBasis.per_token)
    rec = record("x", usage={"input_tokens": 1000, "output_tokens": 200})
    rec.model = "anthropic:claude-haiku-4-5-20251001"
    scores = ev.evaluate(Question("q", "?"), rec)
    assert scores["cost_usd"] == pytest.approx(0.002) and scores["input_tokens"] == 1000 and scores["latency_ms"] == 10.0
    rec.model = "openai:some-model@http://localhost:8000/v1"
    assert "cost_usd" not in ev.evaluate(Question("q", "?"), rec)


def test_a_model_paid_by_machine_time_costs_the_machine_rate_for_the_whole_answer():
    table = PriceTable.default()
    ev = CostEvaluator(table, lambda spec: PricingBasis.machine_seconds)
    rec = record("x", latency_ms={"total": 3_600_000.0, "generation": 3_500_000.0})  # an hour answering
    assert ev.evaluate(Question("q", "?"), rec)["cost_usd"] == pytest.approx(table.machine_usd_per_hour)


def test_an_answer_decoded_in_a_batch_costs_its_share_of_the_batch():
    table = PriceTable.default()
    ev = CostEvaluator(table, lambda spec: PricingBasis.machine_seconds)
    rec = record("x", latency_ms={"total": 3_600_000.0, "generation": 3_500_000.0, "machine": 900_000.0})
    assert ev.evaluate(Question("q", "?"), rec)["cost_usd"] == pytest.approx(table.machine_usd_per_hour / 4)


def test_an_answer_decoded_in_a_batch_keeps_the_time_it_waited_as_its_latency():
    ev = CostEvaluator(PriceTable.default(), lambda spec: PricingBasis.machine_seconds)
    rec = record("x", latency_ms={"total": 3_600_000.0, "generation": 3_500_000.0, "machine": 900_000.0})
    assert ev.evaluate(Question("q", "?"), rec)["latency_ms"] == 3_600_000.0


def test_an_answer_decoded_in_a_batch_reports_its_machine_time():
    ev = CostEvaluator(PriceTable.default(), lambda spec: PricingBasis.machine_seconds)
    rec = record("x", latency_ms={"total": 3_600_000.0, "generation": 3_500_000.0, "machine": 900_000.0})
    assert ev.evaluate(Question("q", "?"), rec)["machine_ms"] == 900_000.0


def test_a_model_that_answered_on_a_gpu_costs_the_gpu_rate():
    table = PriceTable.default()
    ev = CostEvaluator(table, lambda spec: PricingBasis.machine_seconds, device="cuda")
    rec = record("x", latency_ms={"total": 3_600_000.0, "generation": 3_500_000.0})
    assert ev.evaluate(Question("q", "?"), rec)["cost_usd"] == pytest.approx(table.gpu_usd_per_hour)


def test_aggregate_adds_percentiles_and_cost_per_thousand():
    rows = [{"id": str(i), "variant": "rag", "latency_ms": float(i), "cost_usd": 0.001, "cached": True} for i in range(1, 101)]
    rows += [{"id": "x", "variant": "base", "token_f1": 0.5}]
    agg = aggregate(rows, ["base", "rag"])
    assert agg["rag"]["latency_ms_p50"]["mean"] == pytest.approx(50.5) and agg["rag"]["latency_ms_p95"]["mean"] == pytest.approx(95.05)
    low, high = agg["rag"]["latency_ms_p95"]["ci95"]
    assert low < 95.05 < high
    assert agg["rag"]["cost_per_1k_queries"]["mean"] == pytest.approx(1.0) and "cached" not in agg["rag"]
    assert list(agg["base"]) == ["token_f1"] and agg["base"]["token_f1"]["n"] == 1


def test_ranking_metrics_with_intervals():
    rankings = {"a": ["d1", "d2"], "b": ["d3", "d1"], "c": ["d9"]}
    qrels = {"a": {"d1": 1}, "b": {"d1": 1}, "c": {"d2": 0}}
    scores = ranking_metrics(rankings, qrels, ndcg_k=(10,), recall_k=(1,), mrr_k=(10,))
    assert scores["mrr@10"]["mean"] == pytest.approx(0.75) and scores["recall@1"]["mean"] == 0.5
    assert scores["mrr@10"]["n"] == 2  # the unjudged query is ignored


def test_faithfulness_scores_are_cached_by_scorer(tmp_path):
    from ragtune.evaluation.cache import GenerationCache

    class Counting(OverlapSupportScorer):
        calls = 0

        def score(self, claims, blocks):
            Counting.calls += 1
            return super().score(claims, blocks)

    cache = GenerationCache(tmp_path, "scores")
    q = Question("q", "?")
    rec = record("Audit entries are kept for 400 days [1].", citations=[cite(1, AUDIT)])
    first = CitationEvaluator(Counting(None), 0.35, cache, "overlap:lexical").evaluate(q, rec)
    again = CitationEvaluator(Counting(None), 0.35, cache, "overlap:lexical").evaluate(q, rec)
    assert first == again == {"faithfulness": 1.0} and Counting.calls == 1
    CitationEvaluator(Counting(None), 0.35, cache, "nli:other").evaluate(q, rec)
    assert Counting.calls == 2  # another scorer is scored again
