"""The primary metric, per-question scores and the pick (cheapest not significantly below the best)."""

import pytest

from ragtune.decide.data import FORMAT, KNOWLEDGE
from ragtune.decide.selection import PrimaryMetric, check_override, choose_metric, format_score, paired_difference, select, stratified
from ragtune.errors import InputError


def test_metric_by_task_never_exact_match():
    assert choose_metric([KNOWLEDGE], judge=False, override=None).by_task == {KNOWLEDGE: "token_f1"}
    assert choose_metric([KNOWLEDGE], judge=True, override=None).by_task == {KNOWLEDGE: "judge_correct"}
    both = choose_metric([KNOWLEDGE, FORMAT], judge=False, override=None)
    assert both.name == "token_f1+format_score" and "exact" not in both.describe()
    # in words, not field names
    assert "knowledge questions by token F1" in both.describe() and "by format score:" in both.describe()
    assert choose_metric([KNOWLEDGE], judge=False, override="exact_match").name == "exact_match"


def test_format_score_weighs_validity_and_fields_alike():
    assert format_score({"schema_valid": 1.0, "field_acc.a": 1.0, "field_acc.b": 0.0}) == 0.75
    assert format_score({"schema_valid": 0.0, "field_acc.a": 1.0, "field_acc.b": 1.0}) == 0.5
    assert format_score({"schema_valid": 0.0, "field_acc.a": 0.0}) == 0.0
    assert format_score({"json_valid": 1.0}) == 1.0  # no schema, no reference fields: parsing is all there is


def test_row_scores_failed_answers_zero_and_unanswerable_by_abstention():
    metric = PrimaryMetric(by_task={KNOWLEDGE: "token_f1"})
    assert metric.score({"answer": None, "error": "too long"}, KNOWLEDGE) == 0.0
    assert metric.score({"answer": "x", "token_f1": 0.4}, KNOWLEDGE) == 0.4
    assert metric.score({"answer": "no", "abstained": 1.0, "abstain_correct": 1.0}, KNOWLEDGE) == 1.0
    assert metric.score({"answer": "x"}, KNOWLEDGE) is None


def test_unknown_override_metric_is_named():
    with pytest.raises(InputError, match="--metric 'nope'.*token_f1"):
        check_override("nope", [{"token_f1": 0.5, "answer": "x"}])


def scores(values):
    return {f"q{i}": v for i, v in enumerate(values)}


KINDS = {f"q{i}": KNOWLEDGE for i in range(40)}


def test_cheapest_of_the_tied_is_picked():
    good = scores([0.8, 0.9, 0.7, 0.85] * 5)
    same = scores([0.8, 0.88, 0.72, 0.84] * 5)
    bad = scores([0.1, 0.2, 0.0, 0.1] * 5)
    sel = select({"ft": good, "rag": same, "base": bad}, KINDS, {"ft": 500.0, "rag": 20.0, "base": 1.0}, {}, None)
    assert sel.best == "ft" and set(sel.tied) == {"ft", "rag"} and sel.pick == "rag"
    assert sel.comparisons["base"]["significantly_below_best"] and not sel.comparisons["rag"]["significantly_below_best"]


def test_a_clear_winner_is_picked_even_when_dearer():
    good = scores([0.9, 0.8, 0.95, 0.85] * 5)
    bad = scores([0.2, 0.1, 0.3, 0.15] * 5)
    sel = select({"rag": good, "prompt": bad}, KINDS, {"rag": 100.0, "prompt": 0.0}, {}, None)
    assert sel.pick == "rag" and sel.tied == ["rag"]


def test_latency_budget_excludes_a_candidate():
    good = scores([0.9] * 10)
    ok = scores([0.5] * 10)
    sel = select({"rag+ft": good, "rag": ok}, KINDS, {"rag+ft": 1.0, "rag": 2.0}, {"rag+ft": 9000.0, "rag": 500.0}, 1000.0)
    assert sel.over_latency == ["rag+ft"] and sel.pick == "rag"
    assert "latency budget" in sel.reasons[0]


def test_tasks_weigh_by_their_share_of_questions_unless_weights_are_stated_and_intervals_are_paired():
    # a task of one question no longer carries half the score: by default each task weighs its share of the questions
    kinds = {"k1": KNOWLEDGE, "f1": FORMAT, "f2": FORMAT, "f3": FORMAT}
    s = {"k1": 1.0, "f1": 0.0, "f2": 0.0, "f3": 0.0}
    assert stratified(s, kinds)["mean"] == pytest.approx(0.25)
    assert stratified(s, kinds, weights={"knowledge": 0.7, "format": 0.3})["mean"] == pytest.approx(0.7)
    a = {f"q{i}": 0.5 + 0.01 * (i % 5) for i in range(30)}
    b = {q: v + 0.05 for q, v in a.items()}
    diff = paired_difference(a, b, KINDS)
    assert diff["delta"] == pytest.approx(0.05) and diff["ci95"][0] == pytest.approx(0.05) and diff["n"] == 30


def test_attribution_excludes_candidates_whose_citations_do_not_support_them():
    good = scores([0.8, 0.9, 0.7, 0.85] * 5)
    same = scores([0.8, 0.88, 0.72, 0.84] * 5)
    sel = select({"ft": good, "rag": same}, KINDS, {"ft": 5.0, "rag": 20.0}, {}, None, cited_share={"ft": 0.0, "rag": 1.0})
    assert sel.pick == "rag" and sel.best == "rag" and "ft" in sel.over_latency
    assert "attribution is required" in sel.reasons[0] and "ft (0% attributed)" in sel.reasons[0]
    assert select({"ft": good, "rag": same}, KINDS, {"ft": 5.0, "rag": 20.0}, {}, None).pick == "ft"  # not stated: cheaper wins
