import json

import pytest

from ragtune.evaluation.base import Candidate
from ragtune.advisor import AdvisorConfig, Facts, StatedNeeds, decide, eval_facts, load_advisor_config, measure_facts
from ragtune.advisor.decision import stated_needs
from ragtune.errors import ConfigError, IndexNotFoundError, InputError

from .conftest import retrieved_answer, tuned_answer


def broken_every(n: int):
    """Answers with the labelled JSON, cut short on every n-th row."""
    def answer(i: int, row: dict, hits: list) -> str:
        text = json.dumps(row["output"])
        return text[:5] if i % n == 0 else text
    return answer


def needs(**kw) -> StatedNeeds:
    return StatedNeeds(**{"queries_per_month": 50_000, **kw})


SCENARIOS = {
    # name: (index, examples, stated needs, right answer)
    "large changing corpus needing attribution": ("support", None, {"attribution_required": True}, Candidate.rag),
    "thousands of consistent JSON examples, no documents": (None, "2000", {}, Candidate.ft),
    "both needs": ("support", "2000", {"attribution_required": True}, Candidate.rag_ft),
    "a few hundred examples, no corpus": (None, "300", {}, Candidate.prompt),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenarios_with_known_answers(name, support_facts, facts_2000, facts_300):
    index, examples, stated, expected = SCENARIOS[name]
    facts = Facts(stated=needs(**stated), index=support_facts if index else None,
                  examples={"2000": facts_2000, "300": facts_300}.get(examples))
    rec = decide(facts, AdvisorConfig())
    assert rec.recommendation is expected, rec.reasons
    assert rec.rules_recommendation is expected and not rec.disagreements
    fired = {v.rule for v in rec.rules if v.fired}
    if expected.retrieves:
        assert {"changing_content", "attribution"} <= fired
        assert rec.reasons[0].startswith(next(v.explanation for v in rec.rules if v.rule == "changing_content")[:20])
    if expected.tuned:
        assert "labelled_examples" in fired and "consistent_format" in fired
        assert rec.next_command.startswith("ragtune tune lora --examples ")
    if expected is Candidate.prompt:
        assert "labelled_examples" not in fired
        assert any("700 more clean examples" in w for w in rec.what_would_change)
    # Every reason names a fact; the costs of what was recommended are among them.
    assert any(r.startswith(f"cost: {expected.value} is ") for r in rec.reasons)
    json.dumps(rec.to_json())


def test_eval_where_rag_loses_to_ft_on_a_format_task_wins_over_the_rules(support_facts, facts_300, make_eval):
    path = make_eval("support", {"rag": retrieved_answer, "ft": tuned_answer})
    facts = Facts(stated=needs(), index=support_facts, examples=facts_300, eval=eval_facts(path))
    rec = decide(facts, AdvisorConfig())
    assert rec.rules_recommendation is Candidate.rag
    assert rec.recommendation is Candidate.ft
    assert rec.eval.metric == "schema_valid" and rec.eval.overrides
    assert rec.eval.scores["ft"].mean == pytest.approx(0.9) and rec.eval.scores["rag"].mean == 0.0
    assert rec.disagreements and "the rules of thumb say rag, the eval says ft" in rec.disagreements[0]
    assert rec.reasons[0].startswith("measured: ft scores 0.900 schema_valid against 0.000 for rag")


def test_eval_that_agrees_or_cannot_separate_keeps_the_rules_choice(support_facts, make_eval):
    agree = make_eval("support", {"rag": tuned_answer, "ft": retrieved_answer})
    rec = decide(Facts(stated=needs(), index=support_facts, eval=eval_facts(agree)), AdvisorConfig())
    assert rec.recommendation is Candidate.rag and not rec.eval.overrides and "agrees" in rec.eval.explanation
    # ft a little better than rag, inside the 95% intervals: too close to overrule.
    close = make_eval("support", {"rag": broken_every(10), "ft": broken_every(15)})  # 0.90 against 0.93
    rec = decide(Facts(stated=needs(), index=support_facts, eval=eval_facts(close)), AdvisorConfig())
    assert rec.eval.best == "ft" and not rec.eval.overrides and rec.recommendation is Candidate.rag
    assert "intervals overlap" in rec.eval.explanation


def test_eval_without_the_rules_choice_does_not_overrule(support_facts, make_eval):
    path = make_eval("support", {"base": retrieved_answer, "ft": tuned_answer})
    rec = decide(Facts(stated=needs(), index=support_facts, eval=eval_facts(path)), AdvisorConfig())
    assert rec.recommendation is Candidate.rag and not rec.eval.overrides
    assert "did not measure rag" in rec.eval.explanation


def test_an_eval_won_by_the_base_model_recommends_a_prompt_never_base(support_facts, make_eval):
    path = make_eval("support", {"base": tuned_answer, "rag": retrieved_answer})
    rec = decide(Facts(stated=needs(), index=support_facts, eval=eval_facts(path)), AdvisorConfig())
    assert rec.eval.best == "base" and rec.eval.overrides
    assert rec.recommendation is Candidate.prompt
    assert rec.to_json()["recommendation"] == "prompt"


def test_the_approach_each_measured_candidate_stands_for():
    assert {c.value: Candidate.recommendable(c.value) for c in Candidate} == {
        "base": Candidate.prompt, "prompt": Candidate.prompt, "rag": Candidate.rag, "ft": Candidate.ft,
        "rag+ft": Candidate.rag_ft}
    assert Candidate.recommendable("distilled") is None


def test_a_recommendation_of_base_is_refused(support_facts, make_eval):
    rec = decide(Facts(stated=needs(), index=support_facts), AdvisorConfig())
    with pytest.raises(ValueError, match="never recommended"):
        type(rec).model_validate({**rec.model_dump(), "recommendation": "base"})


def test_latency_budget_rules_out_a_slow_variant(support_facts, make_eval):
    slow = {"rag": {"latency_ms_p50": {"mean": 4000}}, "ft": {"latency_ms_p50": {"mean": 300}}}
    path = make_eval("support", {"rag": tuned_answer, "ft": retrieved_answer}, extra=slow)
    within = decide(Facts(stated=needs(), index=support_facts, eval=eval_facts(path)), AdvisorConfig())
    assert within.recommendation is Candidate.rag
    tight = decide(Facts(stated=needs(latency_budget_ms=1000), index=support_facts, eval=eval_facts(path)), AdvisorConfig())
    assert tight.recommendation is Candidate.ft and tight.eval.over_latency_budget == ["rag"]
    assert "exceeds the latency budget (4,000 ms p50 > 1,000 ms)" in tight.eval.explanation


def test_examples_with_errors_withhold_the_fine_tuning_verdict(facts_broken):
    rec = decide(Facts(stated=needs(), examples=facts_broken), AdvisorConfig())
    assert facts_broken.rows >= 1000  # enough rows: only the errors hold fine-tuning back
    assert rec.recommendation is Candidate.prompt
    withheld = {v.rule for v in rec.rules if v.withheld}
    assert withheld == {"consistent_format", "labelled_examples"}
    assert rec.warnings and all(f"line {n}" in rec.warnings[0] for n in (5, 10))
    assert rec.next_command == f"ragtune data check {facts_broken.file}"


def served(facts):
    """The index as if in a store served apart, which pays its plan every month (the embedded store pays storage only)."""
    return facts.model_copy(update={"store": "server"})


def test_small_static_corpus_costs_decide_between_prompt_and_retrieval(news_facts):
    busy = decide(Facts(stated=needs(), index=news_facts), AdvisorConfig())
    assert busy.rules_recommendation is Candidate.prompt and busy.recommendation is Candidate.rag
    assert "the corpus fits in a prompt, but at 50,000 queries/month" in busy.reasons[0]
    served = news_facts.model_copy(update={"store": "server"})  # a store served apart pays its plan every month
    quiet = decide(Facts(stated=needs(queries_per_month=10), index=served), AdvisorConfig())
    assert quiet.recommendation is Candidate.prompt
    assert quiet.costs.variants["prompt"].cumulative[-1] < quiet.costs.variants["rag"].cumulative[-1]


def test_an_embedded_store_costs_its_storage_only_so_retrieval_is_cheap_even_when_quiet(news_facts):
    quiet = decide(Facts(stated=needs(queries_per_month=10), index=news_facts), AdvisorConfig())
    assert quiet.costs.variants["rag"].cumulative[-1] < quiet.costs.variants["prompt"].cumulative[-1]


def test_the_cheapest_approach_that_lost_is_told_why(news_facts, make_eval):
    # At 10 queries/month carrying the corpus in the prompt is cheapest; the eval measured rag far better.
    path = make_eval("news", {"base": retrieved_answer, "rag": tuned_answer})
    rec = decide(Facts(stated=needs(queries_per_month=10), index=served(news_facts), eval=eval_facts(path)), AdvisorConfig())
    assert rec.costs.cheapest is Candidate.prompt
    assert rec.recommendation is Candidate.rag
    assert "prompt is the cheapest in the cost table but scored 0.000 schema_valid in the eval against 0.900 for rag" \
        in rec.reasons


def test_the_cheapest_approach_without_retrieval_loses_to_the_retrieval_rules(news_facts):
    rec = decide(Facts(stated=needs(queries_per_month=10, attribution_required=True), index=served(news_facts)), AdvisorConfig())
    assert rec.costs.cheapest is Candidate.prompt and rec.recommendation is Candidate.rag
    assert any(r.startswith("prompt is the cheapest in the cost table but does not retrieve") and
               "Must answers cite their sources?" in r for r in rec.reasons)


def test_content_that_may_not_leave(news_facts, facts_2000):
    config = load_advisor_config(settings=["costs.training=\"managed\""])
    rec = decide(Facts(stated=needs(content_may_leave=False), index=news_facts, examples=facts_2000), config)
    assert rec.recommendation is Candidate.rag_ft
    assert rec.costs.prices["training"] == "self_hosted"
    assert any("self-hosted GPUs" in a for a in rec.costs.assumptions)
    assert any("not a managed fine-tuning service" in w for w in rec.warnings)


def test_what_would_change_names_the_break_even_volume(support_facts, facts_2000):
    rec = decide(Facts(stated=needs(), index=support_facts, examples=facts_2000), AdvisorConfig())
    be = rec.costs.between(Candidate.rag, Candidate.rag_ft)
    assert be is not None and be.queries_per_month > 50_000
    assert any(w.startswith("below ") and "rag costs less than rag+ft" in w for w in rec.what_would_change)
    only_rag = decide(Facts(stated=needs(), index=support_facts, examples=facts_2000),
                      load_advisor_config(settings=["rules.labelled_examples=5000"]))
    assert only_rag.recommendation is Candidate.rag
    assert any("rag+ft costs less than rag over 12 months" in w and "pays back in 3 months" in w
               for w in only_rag.what_would_change)


def test_measure_facts_checks_the_inputs(advisor_ws, make_eval, counter):
    other = make_eval("billing", {"rag": retrieved_answer, "ft": tuned_answer})
    with pytest.raises(InputError, match="ran against index 'billing', not 'support'"):
        measure_facts(advisor_ws.store, needs(), index="support", evaluation=other, counter=counter)
    with pytest.raises(IndexNotFoundError):
        measure_facts(advisor_ws.store, needs(), index="nope", counter=counter)
    with pytest.raises(InputError, match="nothing to measure"):
        measure_facts(advisor_ws.store, needs())


@pytest.mark.parametrize("values,message", [
    ({"queries_per_month": -5}, "queries-per-month: input should be greater than or equal to 0"),
    ({"queries_per_month": 10, "months": 0}, "months: input should be greater than or equal to 1"),
    ({"queries_per_month": 10, "latency_budget_ms": -1}, "latency-budget-ms"),
    ({"queries_per_month": 10, "changes_per_month": -2}, "changes-per-month"),
])
def test_nonsensical_numbers_are_input_errors(values, message):
    with pytest.raises(InputError, match=message):
        stated_needs(**values)


def test_advisor_config_from_file_and_settings(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('[advisor.costs]\ngpu_usd_per_hour = 3.2\nprices_as_of = "2027-01"\n[advisor.rules]\nknowledge_tokens = 50000\n')
    config = load_advisor_config(path, ["costs.epochs=1", "rules.format_fit=0.95", "tokenizer=regex"])
    assert (config.costs.gpu_usd_per_hour, config.costs.prices_as_of, config.costs.epochs) == (3.2, "2027-01", 1)
    assert (config.rules.knowledge_tokens, config.rules.format_fit, config.tokenizer) == (50_000, 0.95, "regex")
    with pytest.raises(ConfigError, match="field 'costs.gpu_usd_per_hour'"):
        load_advisor_config(settings=["costs.gpu_usd_per_hour=-1"])
    with pytest.raises(ConfigError, match="field 'costs.gpu_price'"):
        load_advisor_config(settings=["costs.gpu_price=2"])
    with pytest.raises(InputError, match="expected SECTION.FIELD=VALUE"):
        load_advisor_config(settings=["costs.epochs"])
    bad = tmp_path / "bad.toml"
    bad.write_text("[costs\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_advisor_config(bad)


def test_every_price_is_described_and_dated():
    from ragtune.advisor import CostConfig

    for name, field in CostConfig.model_fields.items():
        assert field.description, name
        if name.endswith(("_usd_per_mtok", "_usd_per_hour", "_usd_per_month", "_usd_per_gb_month", "_usd_per_1k_queries")):
            assert field.default == 0 or "as of 2026-11" in field.description or "hosting" in name, name


def test_workspace_advise_and_cost_measure_and_decide(advisor_ws, examples_2000, make_eval):
    config = load_advisor_config(settings=["tokenizer=regex"])
    rec = advisor_ws.advise({"queries_per_month": 50_000, "attribution_required": True}, index="support",
                            examples=examples_2000, config=config)
    assert rec.recommendation is Candidate.rag_ft
    assert rec.facts.index.tokenizer == "word-pieces (estimate)" and rec.facts.examples.rows == 2000
    doc = rec.to_json()
    assert {"recommendation", "reasons", "facts", "costs"} <= set(doc) and doc["recommendation"] == "rag+ft"
    costs = advisor_ws.cost({"queries_per_month": 50_000, "months": 24}, index="support", examples=examples_2000, config=config)
    assert set(costs.variants) == {"prompt", "rag", "ft", "rag+ft"}
    assert all(len(v.cumulative) == 25 for v in costs.variants.values())
    assert costs.variants["rag"].monthly == pytest.approx(rec.costs.variants["rag"].monthly)
    with pytest.raises(InputError, match="months"):
        advisor_ws.cost({"queries_per_month": 50_000, "months": 0}, index="support", config=config)
