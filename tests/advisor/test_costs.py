import pytest

from ragtune.evaluation.base import Candidate
from ragtune.advisor import CostConfig, CostInputs, CostModel, TrainingMode

# Round prices so that every figure below can be checked by hand.
HAND = CostConfig(embedding_usd_per_mtok=0.1, vector_store_base_usd_per_month=10, vector_store_usd_per_gb_month=0,
                  retrieval_usd_per_1k_queries=1.0, context_chunks=5, system_prompt_tokens=150, query_tokens=40,
                  output_tokens=100, few_shot_examples=0, generator_input_usd_per_mtok=2.0, generator_output_usd_per_mtok=10.0,
                  training=TrainingMode.managed, managed_training_usd_per_mtok=1.0, epochs=2, managed_hosting_usd_per_month=200)


def inputs(**changes) -> CostInputs:
    values = dict(queries_per_month=50_000, months=12, corpus_tokens=1_000_000, chunks=10_000, chunk_tokens=100, chunk_bytes=400,
                  embedding_dimension=384, training_tokens=1_000_000, approaches=[Candidate.rag, Candidate.ft])
    values.update(changes)
    return CostInputs(**values)


def test_break_even_matches_a_hand_computation():
    report = CostModel(HAND).run(inputs())
    rag, ft = report.variants["rag"], report.variants["ft"]
    # rag: embed 1M tokens once at 0.1/M; a 10/month store; per query (150+40+5*100) input tokens at 2/M,
    # 100 output tokens at 10/M, 1/1k retrieval, 40 query tokens embedded at 0.1/M.
    assert rag.one_off == pytest.approx(0.10)
    assert rag.monthly_fixed == pytest.approx(10.0)
    assert rag.per_query == pytest.approx(690 * 2e-6 + 100 * 10e-6 + 0.001 + 40 * 0.1e-6)  # 0.003384
    # ft: 1M tokens x 2 epochs at 1/M once; 200/month hosting; per query 190 input + 100 output tokens.
    assert ft.one_off == pytest.approx(2.0)
    assert ft.monthly_fixed == pytest.approx(200.0)
    assert ft.per_query == pytest.approx(190 * 2e-6 + 100 * 10e-6)  # 0.00138
    # Over 12 months: 0.10 + 12 (10 + 0.003384 Q) = 2 + 12 (200 + 0.00138 Q)  =>  Q = (1.9 / 12 + 190) / 0.002004
    be = report.between(Candidate.rag, Candidate.ft)
    assert be.queries_per_month == pytest.approx(94_889.39, abs=0.01)
    assert be.volume_for_3_month_payback == pytest.approx((1.9 / 3 + 190) / 0.002004, abs=0.01)  # 95,126.41
    assert be.payback_months is None  # at 50,000 queries/month ft never catches up
    assert rag.cumulative[-1] == pytest.approx(0.10 + 12 * (10 + 0.003384 * 50_000))  # 2,150.50
    assert ft.cumulative[-1] == pytest.approx(2.0 + 12 * (200 + 0.00138 * 50_000))  # 3,230.00
    assert report.cheapest is Candidate.rag
    assert report.between(Candidate.ft, Candidate.rag) is None  # rag is not cheaper per query


def test_break_even_volume_is_where_the_totals_meet():
    model = CostModel(HAND)
    q_star = model.run(inputs()).between(Candidate.rag, Candidate.ft).queries_per_month
    at = model.run(inputs(queries_per_month=q_star))
    assert at.variants["rag"].cumulative[-1] == pytest.approx(at.variants["ft"].cumulative[-1], rel=1e-6)
    above = model.run(inputs(queries_per_month=200_000))
    assert above.cheapest is Candidate.ft
    # At 200k: rag costs 10 + 676.8, ft 200 + 276 a month: ft saves 210.8/month and pays its extra 1.9 back at once.
    assert above.between(Candidate.rag, Candidate.ft).payback_months == pytest.approx(1.9 / 210.8, abs=1e-3)


def test_self_hosted_training_uses_6NT_flops():
    config = HAND.model_copy(update={"training": TrainingMode.self_hosted, "model_params": 1e9, "gpu_peak_flops": 1e15,
                                     "gpu_utilisation": 0.5, "gpu_usd_per_hour": 2.0, "training_overhead_gpu_hours": 1.0,
                                     "hosting_gpus": 2, "hours_per_month": 730})
    model = CostModel(config)
    cost, parts = model.training_run(1_000_000)
    # 6 x 1e9 x 2e6 = 1.2e16 FLOPs at 5e14 FLOP/s = 24 s = 0.00667 h, + 1 h overhead, at 2/h.
    assert parts["training_flops"] == pytest.approx(1.2e16)
    assert parts["training_gpu_hours"] == pytest.approx(1 + 24 / 3600)
    assert cost == pytest.approx(2 * (1 + 24 / 3600))
    assert model.tuned_hosting() == pytest.approx(2 * 2.0 * 730)


def test_content_changes_cost_retraining_and_re_embedding():
    model = CostModel(HAND.model_copy(update={"vector_store_usd_per_gb_month": 1.0}))
    q = inputs(change_cycles_per_month=2, churn_per_cycle=0.25, approaches=[Candidate.rag, Candidate.ft, Candidate.rag_ft])
    report = model.run(q)
    rag, ft, both = (report.variants[a] for a in ("rag", "ft", "rag+ft"))
    # Re-embedding: 2 cycles x 25% of 1M tokens at 0.1/M; storage: 10,000 x (384*4 + 400 + 200) bytes at 1/GB.
    assert rag.breakdown["monthly.re_embed"] == pytest.approx(2 * 0.25 * 1.0 * 0.1)
    assert rag.breakdown["monthly.vector_store"] == pytest.approx(10 + 10_000 * 2136 / 1e9)
    assert ft.breakdown["monthly.retraining"] == pytest.approx(2 * 2.0)  # a full run per cycle
    assert "monthly.retraining" not in both.breakdown  # its tuned part learns format, not content
    assert both.monthly_fixed == pytest.approx(rag.monthly_fixed + 200)
    retrain = CostModel(HAND.model_copy(update={"retrain_rag_ft_on_change": True})).run(q).variants["rag+ft"]
    assert retrain.breakdown["monthly.retraining"] == pytest.approx(4.0)


def test_measured_tokens_replace_modelled_ones():
    q = inputs(measured_tokens={"rag": (2000.0, 50.0)})
    rag = CostModel(HAND).run(q).variants["rag"]
    assert (rag.input_tokens_per_query, rag.output_tokens_per_query) == (2000.0, 50.0)
    assert rag.breakdown["per_query.input_tokens"] == pytest.approx(2000 * 2e-6)


def test_sensitivity_rows_rerun_the_model():
    model = CostModel(HAND)
    report = model.run(inputs())
    row = next(r for r in report.sensitivity if r.parameter == "queries_per_month" and r.factor == 2.0)
    doubled = model.run(inputs(queries_per_month=100_000))
    assert row.total["rag"] == pytest.approx(doubled.variants["rag"].cumulative[-1])
    assert row.cheapest is doubled.cheapest
    price = next(r for r in report.sensitivity if r.parameter == "generator_input_usd_per_mtok" and r.factor == 0.5)
    assert price.value == 1.0
    assert price.total["ft"] < report.variants["ft"].cumulative[-1]
    # Inputs at zero (no change cycles here) are left out: scaling them changes nothing.
    assert not any(r.parameter == "change_cycles_per_month" for r in report.sensitivity)
