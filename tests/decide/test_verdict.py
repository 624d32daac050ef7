"""Verdicts against the best: as good, worse, not yet known; clusters, common questions, failures, direction."""

import numpy as np
import pytest

from ragtune.decide.data import FORMAT, KNOWLEDGE
from ragtune.decide.selection import PrimaryMetric, higher_is_better, select
from ragtune.decide.verdict import AS_GOOD, NOT_YET_KNOWN, WORSE, VerdictRules, decide_verdicts


def binary(p: float, n: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {f"q{i}": float(v) for i, v in enumerate(rng.random(n) < p)}


def kinds(n: int) -> dict[str, str]:
    return {f"q{i}": KNOWLEDGE for i in range(n)}


def test_a_cheap_candidate_15_points_worse_on_20_questions_is_not_yet_known_never_picked():
    best = binary(0.6, 20, 1)
    cheap = {q: (v if i % 7 else 0.0) for i, (q, v) in enumerate(best.items())}  # a little worse, noisy at n=20
    cheap.update({q: 0.0 for q in list(cheap)[:3]})
    sel = select({"rag+ft": best, "rag": cheap}, kinds(20), {"rag+ft": 100.0, "rag": 1.0}, {}, None)
    assert sel.verdicts.comparisons["rag"].verdict != AS_GOOD
    assert sel.pick == "rag+ft"


def test_identical_candidates_on_enough_questions_are_as_good_and_the_cheaper_is_picked():
    a = {f"q{i}": 0.5 + 0.3 * np.sin(i) for i in range(200)}
    sel = select({"ft": a, "rag": dict(a)}, kinds(200), {"ft": 500.0, "rag": 20.0}, {}, None)
    assert sel.verdicts.comparisons["rag"].verdict == AS_GOOD
    assert sel.pick == "rag" and sel.settled


def test_a_clearly_worse_candidate_is_worse_with_the_upper_end_below_zero():
    good = {f"q{i}": 0.9 for i in range(40)}
    bad = {f"q{i}": 0.2 + 0.01 * (i % 3) for i in range(40)}
    v = decide_verdicts({"rag": good, "base": bad}, kinds(40), VerdictRules())
    assert v.comparisons["base"].verdict == WORSE
    assert v.comparisons["base"].ci[1] < 0


def test_an_uncertain_cheaper_candidate_says_how_many_more_questions_would_tell():
    best = binary(0.6, 40, 3)
    other = binary(0.6, 40, 4)
    v = decide_verdicts({"rag+ft": best, "rag": other}, kinds(40), VerdictRules())
    c = v.comparisons["rag" if v.best == "rag+ft" else "rag+ft"]
    assert c.verdict == NOT_YET_KNOWN
    assert c.questions_to_settle is not None and c.questions_to_settle > 0


def test_below_the_least_sample_every_verdict_is_not_yet_known_with_a_warning():
    v = decide_verdicts({"a": {"q0": 1.0, "q1": 1.0}, "b": {"q0": 0.0, "q1": 0.0}}, kinds(2), VerdictRules())
    assert {c.verdict for c in v.comparisons.values()} == {NOT_YET_KNOWN}
    assert "only 2 question(s)" in v.warnings[0]


def test_no_questions_in_common_is_not_yet_known_never_nan():
    v = decide_verdicts({"a": {"q0": 1.0}, "b": {"q1": 0.0}}, kinds(2), VerdictRules())
    assert v.n == 0 and v.best is None
    assert {c.verdict for c in v.comparisons.values()} == {NOT_YET_KNOWN}


def test_a_question_one_candidate_could_not_be_scored_on_is_left_out_for_all_and_counted():
    a = {f"q{i}": 1.0 for i in range(30)}
    b = {**{f"q{i}": 1.0 for i in range(30)}, "q0": None}
    v = decide_verdicts({"a": a, "b": b}, kinds(30), VerdictRules())
    assert v.n == 29
    assert v.excluded == 1


def test_a_candidate_failing_too_many_questions_is_worse_whatever_its_scores():
    a = {f"q{i}": 0.0 for i in range(30)}
    v = decide_verdicts({"a": a, "b": dict(a)}, kinds(30), VerdictRules(), failed={"a": {f"q{i}" for i in range(10)}})
    assert v.comparisons["a"].verdict == WORSE
    assert "failed on 33%" in v.comparisons["a"].reason


def test_clustered_questions_give_a_wider_interval_than_independent_ones():
    rng = np.random.default_rng(0)
    per_doc = rng.normal(0, 0.3, 10)
    diffs = {f"q{i}": per_doc[i // 10] + rng.normal(0, 0.05) for i in range(100)}
    a = {q: 0.5 for q in diffs}
    b = {q: 0.5 + d for q, d in diffs.items()}
    groups = {f"q{i}": f"doc{i // 10}" for i in range(100)}
    flat = decide_verdicts({"a": a, "b": b}, kinds(100), VerdictRules()).comparisons["b"].ci
    clustered = decide_verdicts({"a": a, "b": b}, kinds(100), VerdictRules(), groups=groups).comparisons["b"].ci
    assert clustered[1] - clustered[0] > 2 * (flat[1] - flat[0])


def test_stated_weights_change_the_score_that_decides():
    k = {**{f"k{i}": KNOWLEDGE for i in range(30)}, **{f"f{i}": FORMAT for i in range(10)}}
    a = {q: (1.0 if q.startswith("k") else 0.0) for q in k}
    b = {q: (0.0 if q.startswith("k") else 1.0) for q in k}
    assert decide_verdicts({"a": a, "b": b}, k, VerdictRules()).best == "a"
    assert decide_verdicts({"a": a, "b": b}, k, VerdictRules(weights={"knowledge": 0.1, "format": 0.9})).best == "b"


def test_latency_is_lower_is_better_and_picks_the_fastest():
    metric = PrimaryMetric(by_task={KNOWLEDGE: "token_f1"}, override="latency_ms")
    assert not higher_is_better(metric)
    assert metric.score({"answer": None, "error": "x"}, KNOWLEDGE) is None  # a failure is not 0 ms
    fast = {f"q{i}": 100.0 + i for i in range(30)}
    slow = {f"q{i}": 900.0 + i for i in range(30)}
    sel = select({"base": slow, "rag": fast}, kinds(30), {"base": 1.0, "rag": 1.0}, {}, None,
                 rules=VerdictRules(higher_is_better=False))
    assert sel.best == "rag" and sel.pick == "rag"
    assert sel.verdicts.comparisons["base"].verdict == WORSE


def test_an_as_good_candidate_without_a_price_is_not_compared_on_money():
    a = {f"q{i}": 0.5 + 0.3 * np.sin(i) for i in range(100)}
    sel = select({"rag": a, "prompt": dict(a)}, kinds(100), {"rag": 10.0, "prompt": None}, {}, None)
    assert sel.pick == "rag"
    assert sel.unknown_cost == ["prompt"]


@pytest.mark.parametrize("margin", [-0.1, 0, 1, 1.5])
def test_margin_outside_zero_to_one_is_refused(margin):
    from ragtune.decide.config import DecideConfig
    from ragtune.errors import InputError
    from ragtune.evaluation.config import validated

    with pytest.raises(InputError, match="margin"):
        validated(DecideConfig, {"margin": margin})


def test_questions_sharing_a_gold_document_or_group_are_one_cluster():
    from ragtune.decide.data import question_groups
    from ragtune.evaluation.questions import Question

    qs = [Question("a", "?", gold_doc_ids=["d1"]), Question("b", "?", gold_doc_ids=["d1", "d2"]),
          Question("c", "?", gold_doc_ids=["d2"]), Question("d", "?", metadata={"group": "g"}),
          Question("e", "?", metadata={"group": "g"}), Question("f", "?")]
    g = question_groups(qs)
    assert g["a"] == g["b"] == g["c"]
    assert g["d"] == g["e"] != g["a"]
    assert len({g["f"], g["a"], g["d"]}) == 3


def test_few_sources_leave_every_verdict_not_yet_known():
    a = {f"q{i}": 1.0 for i in range(40)}
    b = {f"q{i}": 0.0 for i in range(40)}
    groups = {f"q{i}": f"doc{i % 4}" for i in range(40)}
    v = decide_verdicts({"a": a, "b": b}, kinds(40), VerdictRules(), groups=groups)
    assert v.comparisons["b"].verdict == NOT_YET_KNOWN
    assert "only 4 source(s)" in v.warnings[0]


def test_the_cheapest_as_good_changes_across_volume_where_the_cost_lines_cross():
    from ragtune.costs.candidates import CandidateCost, by_volume
    from ragtune.decide.reasons import volume_sentences

    def cost(one_off, per_query):
        return CandidateCost(1, 0, 0, 0, 0, per_query, one_off, 0.0, None, None)

    costs = {"prompt": cost(0.0, 0.01), "ft": cost(120.0, 0.001), "api": cost(0.0, None)}
    sweep = by_volume(costs, ["prompt", "ft", "api"], 1000, 12)
    assert [s["cheapest"] for s in sweep] == ["prompt"] * 3 + ["ft"] * 4  # crossing at 1,111 queries/month
    assert "at 1,000 queries/month prompt is the cheapest of those as good; at 3,000 it is ft" in volume_sentences(sweep, "ft")
